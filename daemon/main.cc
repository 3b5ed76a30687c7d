// lmzd: the lmz daemon. Parses its settings, loads the model, and serves
// (daemon/server.h). Exit codes: 0 after a clean stop, 1 on a failure to
// start, 2 on a usage error.
#include <csignal>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "daemon/config.h"
#include "daemon/handlers.h"
#include "daemon/log.h"
#include "daemon/protocol.h"
#include "daemon/scheduler.h"
#include "daemon/server.h"
#include "libcodec/engine/load.h"
#include "libcodec/errors.h"
#include "libcodec/model_registry.h"
#include "libcodec/order2_model.h"
#include "libcodec/predictor.h"

namespace {

// What the handshake and STATUS report as the device: where the model
// actually runs. The stand-in model always runs on the CPU; a neural model
// runs where --device put it, auto resolving as the engine does (CUDA when
// libtorch sees a usable GPU).
std::string device_name(const lmz::Predictor& model, const std::string& device) {
  if (model.id().name == lmz::kOrder2ModelName) return "cpu";
  if (device == "auto") return lmz::cuda_available() ? "cuda" : "cpu";
  return device;
}

int serve(const lmz::daemon::DaemonConfig& config) {
  using namespace lmz;
  ModelRegistry registry(ModelOptions{config.models_dir, parse_device(config.device)});
  Predictor& model =
      config.model.empty() ? registry.default_model() : registry.by_name_or_path(config.model);
  size_t batch = config.batch_windows != 0 ? config.batch_windows : model.preferred_batch_size();
  daemon::log("model {} ({}), {} windows per batch, models directory {}", model.id().name,
              proto::hash_hex(model.id().hash), batch, registry.models_dir().string());
  daemon::Scheduler scheduler(batch);
  daemon::ModelService models{registry, scheduler, model};
  daemon::Server server(config, models, device_name(model, config.device));
  server.run();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  lmz::daemon::ParsedArgs parsed;
  try {
    parsed = lmz::daemon::parse_args(args);
  } catch (const lmz::UsageError& e) {
    std::fprintf(stderr, "lmzd: %s\nTry 'lmzd --help'.\n", e.what());
    return 2;
  }
  if (parsed.help) {
    std::fputs(lmz::daemon::usage_text().c_str(), stdout);
    return 0;
  }
  if (parsed.version) {
    std::printf("lmzd %s (protocol %u)\n", LMZ_VERSION, unsigned{lmz::proto::kProtocolVersion});
    return 0;
  }
  // A client that disconnects must not kill the daemon with SIGPIPE.
  std::signal(SIGPIPE, SIG_IGN);
  try {
    return serve(parsed.config);
  } catch (const lmz::UsageError& e) {
    lmz::daemon::log("{}", e.what());
    return 2;
  } catch (const std::exception& e) {
    lmz::daemon::log("cannot start: {}", e.what());
    return 1;
  }
}
