#include "cli/backend.h"

#include "libcodec/model_registry.h"
#include "libcodec/order2_model.h"
#include "libcodec/predictor.h"
#include "libcodec/window_codec.h"

namespace lmz::cli {
namespace {

class InProcessBackend final : public CodecBackend {
 public:
  explicit InProcessBackend(const BackendOptions& options)
      : registry_(options.models),
        model_(options.model),
        log_model_(options.log_model),
        stage_(options.stage) {}

  WindowCodec& compress_codec() override {
    if (codec_ == nullptr) {
      Predictor& model =
          model_.empty() ? registry_.default_model() : registry_.by_name_or_path(model_);
      codec_ = &registry_.codec(model, stage_);
    }
    return *codec_;
  }

  WindowCodec* log_codec(const WindowCodec& main) override {
    if (log_model_ == "same" || main.model().name == kOrder2ModelName) return nullptr;
    Predictor& model = registry_.by_name_or_path(log_model_);
    if (model.id().hash == main.model().hash) return nullptr;
    return &registry_.codec(model, stage_);
  }

  CodecResolver resolver() override {
    return [this](const Hash128& hash, const std::string& name, StageId stage) -> WindowCodec& {
      return registry_.codec(registry_.by_hash(hash, name), stage);
    };
  }

 private:
  ModelRegistry registry_;
  std::string model_;
  std::string log_model_;
  StageId stage_;
  WindowCodec* codec_ = nullptr;
};

}  // namespace

std::unique_ptr<CodecBackend> make_in_process_backend(const BackendOptions& options) {
  return std::make_unique<InProcessBackend>(options);
}

}  // namespace lmz::cli
