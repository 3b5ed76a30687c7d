// Finds the model to compress with, and the model an archive names.
//
// Models are the built-in stand-in ("order2", order2_model.h) and model files
// (spec/MODEL.md) in a models directory. Loading a model file needs the
// neural engine (libcodec/engine); a build without libtorch refuses model
// files with a clear message.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "libcodec/coding_stage.h"
#include "libcodec/types.h"

namespace lmz {

class Predictor;
class WindowCodec;

enum class Device { kAuto, kCpu, kCuda };

// Parses "auto", "cpu" or "cuda"; throws UsageError otherwise.
Device parse_device(std::string_view text);

struct ModelOptions {
  // Directory holding installed model files. Empty: $LMZ_MODELS_DIR if set,
  // else the install directory chosen at build time.
  std::filesystem::path models_dir;
  Device device = Device::kAuto;
};

class ModelRegistry {
 public:
  explicit ModelRegistry(ModelOptions options);
  ~ModelRegistry();
  ModelRegistry(const ModelRegistry&) = delete;
  ModelRegistry& operator=(const ModelRegistry&) = delete;

  const std::filesystem::path& models_dir() const { return models_dir_; }

  // The model compression uses when the user names none. The rule is
  // documented in spec/MODEL.md and is the same for the CLI and the daemon.
  Predictor& default_model();
  // The same model's name for by_name_or_path, without loading any model.
  std::string default_model_name() const;

  // A model by name (a built-in name, or NAME.lmzm in the models directory)
  // or by path to a model file. Throws UsageError if there is no such model.
  Predictor& by_name_or_path(std::string_view name_or_path);

  // The model whose content hash is `hash`, searched among the built-in
  // models and the models directory. Throws ModelMismatch naming the hash,
  // `archive_model_name` (the name the archive recorded) and the directory
  // searched when none matches.
  Predictor& by_hash(const Hash128& hash, std::string_view archive_model_name);

  // An in-process window codec for `model` and `stage`, created once and
  // kept for the registry's lifetime.
  WindowCodec& codec(Predictor& model, StageId stage);

 private:
  Predictor& load_file(const std::filesystem::path& path);

  std::filesystem::path models_dir_;
  Device device_;
  std::mutex mutex_;
  std::map<std::string, std::unique_ptr<Predictor>>
      loaded_;  // key: canonical path or built-in name
  std::map<std::pair<const Predictor*, StageId>, std::unique_ptr<WindowCodec>> codecs_;
};

}  // namespace lmz
