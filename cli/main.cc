// lmz: compress and decompress .lmz archives (see `lmz --help`).
// This file only parses the command line and maps errors to exit codes;
// the jobs are in commands.cc, the coding in the library.
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli/backend.h"
#include "cli/commands.h"
#include "cli/daemon_backend.h"
#include "cli/exit_codes.h"
#include "cli/options.h"
#include "cli/signal_cleanup.h"

namespace {

// The one place that decides how the CLI codes windows: on lmzd or in this
// process (daemon_backend.h).
std::unique_ptr<lmz::cli::CodecBackend> make_backend(const lmz::cli::Options& opts) {
  lmz::cli::BackendOptions backend;
  backend.models.models_dir = opts.models_dir;
  backend.models.device = opts.device;
  backend.model = opts.model;
  backend.log_model = opts.log_model;
  return lmz::cli::make_backend(backend, opts.daemon, opts.socket, opts.verbosity);
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
    auto backend = make_backend(opts);
    return run_command(opts, *backend);
  } catch (const std::exception& error) {
    fmt::print(stderr, "lmz: {}\n", error.what());
    return exit_code_for(error);
  }
}
