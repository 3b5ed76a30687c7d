// Codes independent windows: each window's bytes are coded with a fresh
// predictor state and a fresh range coder, so any window can be decoded on
// its own (random access) and many windows can share one model batch.
//
// This is the seam between the container (format/) or the daemon (daemon/)
// and the model: the writer cuts a block into windows and hands them here;
// the daemon implements the same interface with a scheduler that packs the
// windows of all its clients into shared batches.
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "libcodec/coding_stage.h"
#include "libcodec/errors.h"
#include "libcodec/types.h"

namespace lmz {

class Predictor;

// One coded window, as stored in a neural block.
struct EncodedWindowView {
  ByteView coded;       // the window's range-coder bytes
  size_t raw_size = 0;  // how many bytes it decodes to
};

class WindowCodec {
 public:
  virtual ~WindowCodec() = default;

  // The model every window is coded with.
  virtual const ModelId& model() const = 0;

  // The coding stage every window goes through (recorded in the archive).
  virtual StageId stage() const = 0;

  // Raw bytes a caller should gather per encode or decode call for this
  // codec to run at full speed, or 0 for no preference (the caller's own
  // batch size). The resident codec on a GPU wants thousands of windows in
  // one call; batching never changes a coded byte.
  virtual uint64_t preferred_batch_bytes() const { return 0; }

  // Codes each window independently; result[i] holds window i's bytes.
  // Thread-safe.
  virtual std::vector<Bytes> encode(std::span<const ByteView> windows) = 0;

  // Decodes window i into out[i] (out[i].size() == windows[i].raw_size).
  // Throws CorruptInput naming the window (its index in this call) when its
  // bytes are not a valid coding. Never reads outside windows[i].coded.
  // Thread-safe.
  virtual void decode(std::span<const EncodedWindowView> windows,
                      std::span<const MutableByteView> out) = 0;
};

// Throws UsageError unless out.size() == windows.size() and every out[i]
// holds windows[i].raw_size bytes (WindowCodec::decode's requirement).
void check_decode_buffers(std::span<const EncodedWindowView> windows,
                          std::span<const MutableByteView> out);

// The errors every window codec reports for window `index` (its index in
// the call): coded bytes that cannot be valid, detected at raw byte `at`;
// coded bytes that do not end exactly where the raw bytes do.
CorruptInput invalid_coding_error(size_t index, size_t at, size_t raw_size);
CorruptInput inexact_end_error(size_t index, const EncodedWindowView& window);

// The in-process codec: the predictor's resident codec where it has one for
// `stage` (Predictor::make_resident_codec: the per-byte loop on the model's
// device), else a loop that runs the predictor in this process, batching up
// to predictor.preferred_batch_size() windows per model batch.
// `predictor` must outlive the codec.
// Every window is coded through a fresh stage of kind `stage` (coding_stage.h).
// Each call uses up to `threads` threads (0: one per hardware thread); the
// coded bytes never depend on it.
std::unique_ptr<WindowCodec> make_local_window_codec(Predictor& predictor, StageId stage,
                                                     size_t threads = 0);

}  // namespace lmz
