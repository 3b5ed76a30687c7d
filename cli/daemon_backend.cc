#include "cli/daemon_backend.h"

#include <cstdlib>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <utility>

#include <fmt/format.h>

#include "cli/daemon_link.h"
#include "cli/model_identity.h"
#include "cli/progress.h"
#include "cli/remote_codec.h"
#include "daemon/client.h"
#include "libcodec/errors.h"
#include "libcodec/window_codec.h"

namespace lmz::cli {
namespace {

void print_note(const std::string& text) {
  print_stderr_line(text);
}

std::string describe_model(const ModelId& id) {
  return fmt::format("'{}' (hash {})", id.name, id.hash.hex());
}

class DaemonBackend final : public CodecBackend {
 public:
  DaemonBackend(const BackendOptions& options, bool required, std::unique_ptr<DaemonLink> link,
                int verbosity)
      : options_(options), required_(required), verbosity_(verbosity), link_(std::move(link)) {}

  WindowCodec* log_codec(const WindowCodec& main) override {
    std::lock_guard lock(mutex_);
    return local().log_codec(main);
  }

  WindowCodec& compress_codec() override {
    std::lock_guard lock(mutex_);
    if (compress_codec_ != nullptr) return *compress_codec_;
    std::optional<ModelId> model = requested_model();
    if (!model) {
      // Neither this machine nor lmzd knows the name: the in-process
      // backend reports it the way it always does (UsageError).
      return local().compress_codec();
    }
    std::string why_not = why_not_served(model->hash, options_.stage);
    if (why_not.empty()) {
      if (verbosity_ >= 2) {
        print_note(fmt::format("compressing with model {} on lmzd at {} ({})",
                               describe_model(*model), link_->path(), link_->info().device));
      }
      compress_codec_ = &remote_codec(*model, options_.stage);
      return *compress_codec_;
    }
    if (required_) {
      throw ModelMismatch(fmt::format(
          "--daemon: lmzd at {} cannot compress with model {}: {}. lmzd serves {}; install the "
          "model where lmzd finds models (or start lmzd with --model {}), or use --local",
          link_->path(), describe_model(*model), why_not, describe_model(link_->info().model),
          model->name));
    }
    if (verbosity_ >= 2) {
      print_note(
          fmt::format("lmzd at {} cannot compress with model {} ({}); compressing in "
                      "this process",
                      link_->path(), describe_model(*model), why_not));
    }
    compress_codec_ = &local().compress_codec();
    return *compress_codec_;
  }

  CodecResolver resolver() override {
    return [this](const Hash128& hash, const std::string& name, StageId stage) -> WindowCodec& {
      std::lock_guard lock(mutex_);
      ModelId model{name, hash};
      std::string why_not = why_not_served(hash, stage);
      if (why_not.empty()) return remote_codec(model, stage);
      if (required_) {
        throw ModelMismatch(fmt::format(
            "--daemon: the archive was made with model {}, which lmzd at {} cannot decode: {}. "
            "lmzd serves {}; install the model where lmzd finds models, or use --local",
            describe_model(model), link_->path(), why_not, describe_model(link_->info().model)));
      }
      if (verbosity_ >= 2 && noted_local_.insert({hash.hex(), stage}).second) {
        print_note(fmt::format("lmzd at {} cannot decode model {} ({}); decoding in this process",
                               link_->path(), describe_model(model), why_not));
      }
      return local().resolver()(hash, name, stage);
    };
  }

 private:
  // The model the user asked for: --model, else $LMZ_MODEL, else lmzd's.
  // nullopt when a name was given that neither the models directory here
  // nor lmzd's own model answers to.
  std::optional<ModelId> requested_model() {
    std::string asked = options_.model;
    if (asked.empty()) {
      const char* env = std::getenv("LMZ_MODEL");
      if (env != nullptr) asked = env;
    }
    const ModelId& served = link_->info().model;
    if (asked.empty()) return served;
    std::optional<ModelId> found =
        identify_model(asked, ModelRegistry(options_.models).models_dir());
    // A name installed only where lmzd looks (its models directory may not
    // be ours) is still that model when lmzd calls its own model so.
    if (!found && asked == served.name) found = served;
    if (!found && required_) {
      throw UsageError(
          fmt::format("no model '{}': it is not installed in {} and lmzd at {} serves {}", asked,
                      ModelRegistry(options_.models).models_dir().string(), link_->path(),
                      describe_model(served)));
    }
    return found;
  }

  // Empty when lmzd codes windows of model `hash` and stage `stage`, else
  // lmzd's reason. Asks once per model and stage, with a one-byte window:
  // the protocol finds a model by hash among lmzd's models.
  std::string why_not_served(const Hash128& hash, StageId stage) {
    auto key = std::make_pair(hash.hex(), stage);
    if (auto it = served_.find(key); it != served_.end()) return it->second;
    std::string why_not;
    try {
      const uint8_t probe[1] = {'\n'};
      const ByteView window(probe, 1);
      link_->run([&](DaemonClient& client) {
        client.encode_windows(hash, stage, std::span<const ByteView>(&window, 1));
      });
    } catch (const ModelMismatch&) {
      // lmzd's message speaks of an archive and of its own directory; ours
      // names both models, which is what the user can act on.
      why_not = "it has no model with that hash";
    } catch (const UsageError& e) {  // a stage this lmzd does not know
      why_not = e.what();
    } catch (const IoError& e) {
      if (required_) throw;
      why_not = fmt::format("it stopped answering: {}", e.what());
    }
    served_[key] = why_not;
    return why_not;
  }

  WindowCodec& remote_codec(const ModelId& model, StageId stage) {
    auto& slot = remote_[std::make_pair(model.hash.hex(), stage)];
    if (slot) return *slot;
    RemoteWindowCodec::Fallback fallback;
    if (!required_) {
      fallback = [this, model, stage]() -> WindowCodec& {
        std::lock_guard lock(mutex_);
        if (verbosity_ >= 1 && !noted_gone_) {
          print_note(fmt::format("warning: lmzd at {} stopped answering; going on in this process",
                                 link_->path()));
          noted_gone_ = true;
        }
        return local().resolver()(model.hash, model.name, stage);
      };
    }
    slot = std::make_unique<RemoteWindowCodec>(*link_, model, stage, std::move(fallback),
                                               options_.meter);
    return *slot;
  }

  CodecBackend& local() {
    if (!local_) local_ = make_in_process_backend(options_);
    return *local_;
  }

  const BackendOptions options_;
  const bool required_;
  const int verbosity_;
  std::unique_ptr<DaemonLink> link_;
  std::recursive_mutex mutex_;
  WindowCodec* compress_codec_ = nullptr;
  std::map<std::pair<std::string, StageId>, std::string> served_;
  std::map<std::pair<std::string, StageId>, std::unique_ptr<RemoteWindowCodec>> remote_;
  std::set<std::pair<std::string, StageId>> noted_local_;
  bool noted_gone_ = false;
  std::unique_ptr<CodecBackend> local_;
};

}  // namespace

std::unique_ptr<CodecBackend> make_backend(const BackendOptions& options, DaemonUse use,
                                           const std::string& socket, int verbosity) {
  if (use == DaemonUse::kForbidden) return make_in_process_backend(options);
  const std::string socket_path = socket.empty() ? default_socket_path() : socket;
  const bool required = use == DaemonUse::kRequired;
  std::optional<DaemonClient> client;
  try {
    client = DaemonClient::connect(socket_path);
  } catch (const Error& e) {
    if (required) {
      throw IoError(fmt::format(
          "--daemon: cannot use lmzd at {}: {}. Check that lmzd runs there and that you may use "
          "its socket (members of group lmz may), or use --local",
          socket_path, e.what()));
    }
    if (verbosity >= 1) {
      print_note(fmt::format("warning: cannot use lmzd at {} ({}); working in this process",
                             socket_path, e.what()));
    }
    return make_in_process_backend(options);
  }
  if (!client) {
    if (required) {
      throw IoError(fmt::format(
          "--daemon: no lmzd answers at {}. Start it (systemctl start lmzd.socket, or lmzd "
          "--socket {}), point --socket or $LMZ_SOCKET at its socket, or use --local",
          socket_path, socket_path));
    }
    if (verbosity >= 2)
      print_note(fmt::format("no lmzd at {}; working in this process", socket_path));
    return make_in_process_backend(options);
  }
  if (verbosity >= 2) {
    print_note(fmt::format("using lmzd at {} (model {}, {})", socket_path,
                           describe_model(client->info().model), client->info().device));
  }
  auto link = std::make_unique<DaemonLink>(socket_path, std::move(*client), options.threads);
  return std::make_unique<DaemonBackend>(options, required, std::move(link), verbosity);
}

}  // namespace lmz::cli
