// What each request does, on a handler thread: the same library code the
// CLI runs in-process (ArchiveWriter, decompress_stream, WindowCodec), with
// the scheduler's codec in place of the in-process one. Each handler ends the
// request with exactly one final frame (END, RESULT or ERROR).
#pragma once

#include "daemon/protocol.h"
#include "daemon/request.h"

namespace lmz {
class ModelRegistry;
class Predictor;
class WindowCodec;
}  // namespace lmz

namespace lmz::daemon {

class Scheduler;

// The model side shared by all handlers; thread-safe.
struct ModelService {
  ModelRegistry& registry;
  Scheduler& scheduler;
  Predictor& default_model;  // the model compress requests get when they name none

  // The scheduled codec for the model with `hash` (all zero: the default
  // model) and `stage`. Throws ModelMismatch when the daemon has no such model.
  WindowCodec& codec(const Hash128& hash, StageId stage);

  // The codec for log-like blocks when compressing with `main`: the
  // stand-in model with `stage`, in this process, when `main` is a neural
  // model; null otherwise (the rule of `lmz`, spec/MODEL.md).
  WindowCodec* log_codec(const WindowCodec& main, StageId stage);
};

void handle_compress(Request& request, const proto::CompressParams& params, ModelService& models);
void handle_decompress(Request& request, ModelService& models);
// Bounds of the one-frame window requests.
struct WindowLimits {
  uint32_t max_windows = 0;  // windows per request
  uint32_t max_result = 0;   // RESULT payload bytes (the frame limit)
};

// `payload` is the request frame's payload (kept alive by the caller).
// Decode: the raw sizes must add up to at most max_result. Encode: the raw
// windows to at most max_result / 2, so the coded result fits in one frame.
void handle_decode_windows(Request& request, ByteView payload, const WindowLimits& limits,
                           ModelService& models);
void handle_encode_windows(Request& request, ByteView payload, const WindowLimits& limits,
                           ModelService& models);

}  // namespace lmz::daemon
