// lmz: compress and decompress .lmz archives (see `lmz --help`).
// This file only parses the command line, chooses the backend and maps
// errors to exit codes; the jobs are in commands.cc, the coding in the
// library.
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli/backend.h"
#include "cli/commands.h"
#include "cli/daemon_backend.h"
#include "cli/exit_codes.h"
#include "cli/levels.h"
#include "cli/options.h"
#include "cli/progress.h"
#include "cli/signal_cleanup.h"

namespace {

// The one place that decides how the CLI codes windows: on lmzd or in this
// process (daemon_backend.h). -l reads only footers and indexes: it never
// needs a codec, so it never contacts lmzd.
std::unique_ptr<lmz::cli::CodecBackend> make_backend(const lmz::cli::Options& opts,
                                                     lmz::cli::WorkMeter& meter) {
  using namespace lmz::cli;
  CodecSettings settings = resolve_settings(opts);
  BackendOptions backend;
  backend.models.models_dir = opts.models_dir;
  backend.models.device = opts.device;
  backend.model = settings.model;
  backend.log_model = settings.log_model;
  backend.stage = settings.stage;
  backend.log_stage = settings.log_stage;
  backend.threads = opts.threads;
  backend.meter = &meter;
  DaemonUse daemon = opts.mode == Mode::kList ? DaemonUse::kForbidden : opts.daemon;
  return make_backend(backend, daemon, opts.socket, opts.verbosity);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace lmz::cli;
  install_signal_cleanup();
  std::vector<std::string> args(argv, argv + argc);
  try {
    Options opts = parse_options(args);
    if (opts.mode == Mode::kHelp) {
      fmt::print("{}", help_text());
      return kExitOk;
    }
    if (opts.mode == Mode::kVersion) {
      fmt::print("{}", version_text());
      return kExitOk;
    }
    if (opts.threads != 0) {
      // The codecs get the bound (BackendOptions::threads); libtorch, loaded
      // later with the neural engine, would start a pool of its own on each
      // thread that calls it. One thread each keeps lmz within -T N. A
      // value the user set is left alone.
      setenv("OMP_NUM_THREADS", "1", 0);
    }
    WorkMeter meter;
    auto backend = make_backend(opts, meter);
    return run_command(opts, *backend, &meter);
  } catch (const std::exception& error) {
    print_stderr_line(error.what());
    return exit_code_for(error);
  }
}
