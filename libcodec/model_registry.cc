#include "libcodec/model_registry.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <system_error>

#include "libcodec/engine/load.h"
#include "libcodec/errors.h"
#include "libcodec/order2_model.h"
#include "libcodec/predictor.h"
#include "libcodec/window_codec.h"

namespace lmz {
namespace {

constexpr const char* kModelFileSuffix = ".lmzm";

std::filesystem::path resolve_models_dir(const std::filesystem::path& given) {
  if (!given.empty()) return given;
  if (const char* env = std::getenv("LMZ_MODELS_DIR"); env != nullptr && *env != '\0') return env;
  std::error_code ec;
  // An installed tree moved as a whole (`cmake --install --prefix P`, a
  // package) finds its models beside the running program: P/bin/lmz and
  // P/sbin/lmzd both reach P/share/lmz/models.
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    auto beside = (exe.parent_path() / LMZ_MODELS_INSTALL_RELPATH).lexically_normal();
    if (std::filesystem::is_directory(beside, ec)) return beside;
  }
  // A build that was never installed finds the models in its source tree,
  // so that the README's first command runs on the shipped default model.
  if (!std::filesystem::is_directory(LMZ_MODELS_INSTALL_DIR, ec) &&
      std::filesystem::is_directory(LMZ_SOURCE_MODELS_DIR, ec)) {
    return LMZ_SOURCE_MODELS_DIR;
  }
  return LMZ_MODELS_INSTALL_DIR;
}

bool is_model_file(const std::filesystem::directory_entry& entry) {
  std::error_code ec;
  return entry.is_regular_file(ec) && entry.path().extension() == kModelFileSuffix;
}

}  // namespace

Device parse_device(std::string_view text) {
  if (text == "auto") return Device::kAuto;
  if (text == "cpu") return Device::kCpu;
  if (text == "cuda") return Device::kCuda;
  throw UsageError(fmt::format("unknown device '{}': expected auto, cpu or cuda", text));
}

ModelRegistry::ModelRegistry(ModelOptions options)
    : models_dir_(resolve_models_dir(options.models_dir)), device_(options.device) {}

ModelRegistry::~ModelRegistry() = default;

Predictor& ModelRegistry::default_model() {
  return by_name_or_path(default_model_name());
}

std::string ModelRegistry::default_model_name() const {
  // The rule (spec/MODEL.md, "Default model"): $LMZ_MODEL if set; else the
  // best installed model the device can run at a usable speed.
  if (const char* env = std::getenv("LMZ_MODEL"); env != nullptr && *env != '\0') return env;
  if (neural_engine_available()) {
    auto installed = [&](const char* name) {
      std::error_code ec;
      return std::filesystem::is_regular_file(models_dir_ / (name + std::string(kModelFileSuffix)),
                                              ec);
    };
    // Asking for CUDA loads the engine, so ask only when it matters.
    if (installed("large") &&
        (device_ == Device::kCuda || (device_ == Device::kAuto && cuda_available()))) {
      return "large";
    }
    if (installed("small")) return "small";
  }
  return kOrder2ModelName;
}

Predictor& ModelRegistry::by_name_or_path(std::string_view name_or_path) {
  std::string name(name_or_path);
  if (name == kOrder2ModelName) {
    std::lock_guard lock(mutex_);
    auto& slot = loaded_[name];
    if (!slot) slot = make_order2_model();
    return *slot;
  }
  std::filesystem::path path(name);
  if (name.find('/') == std::string::npos && path.extension() != kModelFileSuffix) {
    path = models_dir_ / (name + kModelFileSuffix);
  }
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    throw UsageError(fmt::format("no model '{}': {} does not exist (models directory: {})", name,
                                 path.string(), models_dir_.string()));
  }
  return load_file(path);
}

Predictor& ModelRegistry::by_hash(const Hash128& hash, std::string_view archive_model_name) {
  Predictor& standin = by_name_or_path(kOrder2ModelName);
  if (standin.id().hash == hash) return standin;
  {
    std::lock_guard lock(mutex_);
    for (auto& [key, model] : loaded_) {
      if (model->id().hash == hash) return *model;
    }
  }
  std::error_code ec;
  std::vector<std::filesystem::path> candidates;
  for (const auto& entry : std::filesystem::directory_iterator(models_dir_, ec)) {
    if (is_model_file(entry)) candidates.push_back(entry.path());
  }
  std::sort(candidates.begin(), candidates.end());
  // Try the file named like the archive's model first: usually the one.
  auto named = models_dir_ / (std::string(archive_model_name) + kModelFileSuffix);
  std::stable_partition(candidates.begin(), candidates.end(),
                        [&](const std::filesystem::path& p) { return p == named; });
  for (const auto& path : candidates) {
    try {
      Predictor& model = load_file(path);
      if (model.id().hash == hash) return model;
    } catch (const Error&) {
      // A broken or foreign file in the directory must not hide the others.
    }
  }
  throw ModelMismatch(
      fmt::format("the archive was made with model '{}' (hash {}), which is not installed in {}; "
                  "install that model or point --models-dir (or $LMZ_MODELS_DIR) at it",
                  archive_model_name, hash.hex(), models_dir_.string()));
}

WindowCodec& ModelRegistry::codec(Predictor& model, StageId stage) {
  std::lock_guard lock(mutex_);
  auto& slot = codecs_[{&model, stage}];
  if (!slot) slot = make_local_window_codec(model, stage);
  return *slot;
}

Predictor& ModelRegistry::load_file(const std::filesystem::path& path) {
  std::error_code ec;
  auto canonical = std::filesystem::weakly_canonical(path, ec);
  std::string key = ec ? path.string() : canonical.string();
  {
    std::lock_guard lock(mutex_);
    if (auto it = loaded_.find(key); it != loaded_.end()) return *it->second;
  }
  auto model = load_neural_model(path, device_);
  std::lock_guard lock(mutex_);
  auto& slot = loaded_[key];
  if (!slot) slot = std::move(model);
  return *slot;
}

}  // namespace lmz
