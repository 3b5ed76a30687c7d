#include "cli/backend.h"

#include "libcodec/model_registry.h"
#include "libcodec/predictor.h"
#include "libcodec/window_codec.h"

namespace lmz::cli {
namespace {

class InProcessBackend final : public CodecBackend {
 public:
  explicit InProcessBackend(const BackendOptions& options)
      : registry_(options.models), model_(options.model), stage_(options.stage) {}

  WindowCodec& compress_codec() override {
    if (codec_ == nullptr) {
      Predictor& model =
          model_.empty() ? registry_.default_model() : registry_.by_name_or_path(model_);
      codec_ = &registry_.codec(model, stage_);
    }
    return *codec_;
  }

  CodecResolver resolver() override {
    return [this](const Hash128& hash, const std::string& name, StageId stage) -> WindowCodec& {
      return registry_.codec(registry_.by_hash(hash, name), stage);
    };
  }

 private:
  ModelRegistry registry_;
  std::string model_;
  StageId stage_;
  WindowCodec* codec_ = nullptr;
};

}  // namespace

std::unique_ptr<CodecBackend> make_in_process_backend(const BackendOptions& options) {
  return std::make_unique<InProcessBackend>(options);
}

}  // namespace lmz::cli
