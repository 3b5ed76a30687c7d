// Where the CLI's window coding runs: in this process, with the model loaded
// through ModelRegistry (below), or on lmzd (daemon_backend.h). The commands
// (commands.h) only see this interface.
#pragma once

#include <memory>
#include <string>

#include "format/archive_reader.h"
#include "libcodec/coding_stage.h"
#include "libcodec/model_registry.h"

namespace lmz {
class WindowCodec;
}

namespace lmz::cli {

class CodecBackend {
 public:
  virtual ~CodecBackend() = default;

  // The codec to compress with (the user's --model, or the default model).
  // Loads the model on first use. Throws UsageError for an unknown model.
  virtual WindowCodec& compress_codec() = 0;

  // The codec for blocks the classifier finds log-like, or null when they
  // go to `main` like the rest: null unless `main` is a neural model and
  // the options name another log model (spec/MODEL.md, "Default model").
  // Always in this process: the stand-in is cheap, and an archive must not
  // depend on where it was made.
  virtual WindowCodec* log_codec(const WindowCodec& main) = 0;

  // Finds the codec for the model an archive names; throws ModelMismatch
  // (naming the hash) when it is not installed.
  virtual CodecResolver resolver() = 0;
};

class WorkMeter;

struct BackendOptions {
  ModelOptions models;               // models directory and device
  std::string model;                 // empty: the registry's default model
  std::string log_model = "order2";  // for log-like blocks; "same": model
  StageId stage = default_stage();   // coding stage for compression
  // Coding stage of the log model: the mixing stage even at levels whose
  // main model codes directly (a log is small only through the in-window
  // models: order2 coded directly is larger than zstd).
  StageId log_stage = default_stage();
  // Most threads one codec call codes with (0: one per hardware thread),
  // and, on lmzd, most connections used at once.
  size_t threads = 0;
  // Counts the raw bytes coded, for the progress line (may be null; must
  // outlive the backend).
  WorkMeter* meter = nullptr;
};

// The in-process backend.
std::unique_ptr<CodecBackend> make_in_process_backend(const BackendOptions& options);

}  // namespace lmz::cli
