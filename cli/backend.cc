#include "cli/backend.h"

#include <fmt/format.h>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>

#include "cli/model_identity.h"
#include "cli/progress.h"
#include "libcodec/errors.h"
#include "libcodec/model_registry.h"
#include "libcodec/order2_model.h"
#include "libcodec/predictor.h"
#include "libcodec/window_codec.h"

namespace lmz::cli {
namespace {

// A codec whose model is loaded on its first use: the archive header needs
// only the model's identity, which the file gives without loading it, and
// input that turns out to be all logs or binary (coded with order2 or zstd)
// never needs the model, nor the engine and libtorch (about a second and
// 170 MB on a CPU).
class DeferredCodec final : public WindowCodec {
 public:
  DeferredCodec(ModelId id, StageId stage, std::function<WindowCodec&()> load)
      : id_(std::move(id)), stage_(stage), load_(std::move(load)) {}

  const ModelId& model() const override { return id_; }
  StageId stage() const override { return stage_; }
  // Loads the model: callers ask only when they have windows for it (the
  // writer after its first batch, a reader at a member's first neural block).
  uint64_t preferred_batch_bytes() const override { return loaded().preferred_batch_bytes(); }
  std::vector<Bytes> encode(std::span<const ByteView> windows) override {
    return loaded().encode(windows);
  }
  void decode(std::span<const EncodedWindowView> windows,
              std::span<const MutableByteView> out) override {
    loaded().decode(windows, out);
  }

 private:
  // The first call loads (several threads may decode at once); a call
  // whose load throws leaves it to the next.
  WindowCodec& loaded() const {
    std::lock_guard lock(mutex_);
    if (codec_ == nullptr) {
      WindowCodec& codec = load_();
      // The header already names id_: the file must not have changed since.
      if (codec.model().hash != id_.hash) {
        throw UsageError(fmt::format("model {} changed while lmz was running (hash {}, now {})",
                                     id_.name, id_.hash.hex(), codec.model().hash.hex()));
      }
      codec_ = &codec;
    }
    return *codec_;
  }

  ModelId id_;
  StageId stage_;
  std::function<WindowCodec&()> load_;
  mutable std::mutex mutex_;
  mutable WindowCodec* codec_ = nullptr;  // guarded by mutex_
};

// A predictor that counts the bytes its batches observe (one per coded
// byte, in encoding and decoding alike) on the progress meter. The counting
// costs one relaxed atomic add per model step of a batch.
class CountingBatch final : public PredictorBatch {
 public:
  CountingBatch(std::unique_ptr<PredictorBatch> batch, WorkMeter& meter)
      : batch_(std::move(batch)), meter_(meter) {}
  size_t size() const override { return batch_->size(); }
  void predict(std::span<const uint32_t> slots, std::span<Cdf> out) override {
    batch_->predict(slots, out);
  }
  void observe(std::span<const uint32_t> slots, std::span<const uint8_t> bytes) override {
    batch_->observe(slots, bytes);
    meter_.add(bytes.size());
  }
  void predict_and_observe(std::span<const uint32_t> slots, size_t steps,
                           std::span<const uint8_t> bytes, std::span<Cdf> out) override {
    batch_->predict_and_observe(slots, steps, bytes, out);
    meter_.add(bytes.size());
  }

 private:
  std::unique_ptr<PredictorBatch> batch_;
  WorkMeter& meter_;
};

class CountingPredictor final : public Predictor {
 public:
  CountingPredictor(Predictor& model, WorkMeter& meter) : model_(model), meter_(meter) {}
  const ModelId& id() const override { return model_.id(); }
  std::unique_ptr<PredictorBatch> start_batch(size_t windows) override {
    return std::make_unique<CountingBatch>(model_.start_batch(windows), meter_);
  }
  size_t preferred_batch_size() const override { return model_.preferred_batch_size(); }
  // The model's device-resident codec where it has one (a GPU): its work is
  // not counted per step, so the progress line advances per batch there.
  std::unique_ptr<WindowCodec> make_resident_codec(StageId stage) override {
    return model_.make_resident_codec(stage);
  }

 private:
  Predictor& model_;
  WorkMeter& meter_;
};

class InProcessBackend final : public CodecBackend {
 public:
  explicit InProcessBackend(const BackendOptions& options)
      : registry_(options.models),
        model_(options.model),
        log_model_(options.log_model),
        stage_(options.stage),
        log_stage_(options.log_stage),
        threads_(options.threads),
        meter_(options.meter) {}

  WindowCodec& compress_codec() override {
    if (codec_ == nullptr) {
      const std::string name = model_.empty() ? registry_.default_model_name() : model_;
      auto load = [this, name]() -> WindowCodec& {
        return codec_for(registry_.by_name_or_path(name), stage_);
      };
      // A model file is identified now and loaded when a block needs it;
      // the built-in model (and a name that is not a file, for the
      // registry's error) directly.
      std::optional<ModelId> id;
      if (name != kOrder2ModelName) id = identify_model(name, registry_.models_dir());
      if (id) {
        deferred_.emplace(*id, stage_, load);
        codec_ = &*deferred_;
      } else {
        codec_ = &load();
      }
    }
    return *codec_;
  }

  WindowCodec* log_codec(const WindowCodec& main) override {
    if (log_model_ == "same" || main.model().name == kOrder2ModelName) return nullptr;
    Predictor& model = registry_.by_name_or_path(log_model_);
    if (model.id().hash == main.model().hash) return nullptr;
    return &codec_for(model, log_stage_);
  }

  // The codec for an archive's model, also loaded only when a block needs
  // it: an archive whose blocks are all logs, binary or stored decodes
  // without loading the model it names (or having it installed).
  CodecResolver resolver() override {
    return [this](const Hash128& hash, const std::string& name, StageId stage) -> WindowCodec& {
      Predictor& standin = registry_.by_name_or_path(kOrder2ModelName);
      if (standin.id().hash == hash) return codec_for(standin, stage);
      std::lock_guard lock(resolved_mutex_);
      auto& slot = resolved_[{hash.hex(), stage}];
      if (slot == nullptr) {
        slot = std::make_unique<DeferredCodec>(
            ModelId{name, hash}, stage, [this, hash, name, stage]() -> WindowCodec& {
              return codec_for(registry_.by_hash(hash, name), stage);
            });
      }
      return *slot;
    };
  }

 private:
  // The codec of `model` and `stage`, made once, with this run's thread
  // bound and (for the progress line) its work counted. Thread-safe.
  WindowCodec& codec_for(Predictor& model, StageId stage) {
    std::lock_guard lock(codecs_mutex_);
    auto& slot = codecs_[{&model, stage}];
    if (slot.codec == nullptr) {
      Predictor* predictor = &model;
      if (meter_ != nullptr) {
        slot.counting = std::make_unique<CountingPredictor>(model, *meter_);
        predictor = slot.counting.get();
      }
      slot.codec = make_local_window_codec(*predictor, stage, threads_);
    }
    return *slot.codec;
  }

  struct CodecSlot {
    std::unique_ptr<CountingPredictor> counting;
    std::unique_ptr<WindowCodec> codec;
  };

  ModelRegistry registry_;
  std::string model_;
  std::string log_model_;
  StageId stage_;
  StageId log_stage_;
  size_t threads_;
  WorkMeter* meter_;
  std::mutex codecs_mutex_;
  std::map<std::pair<const Predictor*, StageId>, CodecSlot> codecs_;
  std::optional<DeferredCodec> deferred_;
  WindowCodec* codec_ = nullptr;
  std::mutex resolved_mutex_;
  std::map<std::pair<std::string, StageId>, std::unique_ptr<DeferredCodec>> resolved_;
};

}  // namespace

std::unique_ptr<CodecBackend> make_in_process_backend(const BackendOptions& options) {
  return std::make_unique<InProcessBackend>(options);
}

}  // namespace lmz::cli
