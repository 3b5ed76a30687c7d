// The jobs `lmz` runs on each input file: compress, decompress, test, list
// and read a range. They bind files and pipes to the container library and
// leave everything else to it.
#pragma once

#include <exception>

#include "cli/backend.h"
#include "cli/options.h"

namespace lmz::cli {

// Processes every input of `opts` (one after another, going on after a
// failure) and returns the exit status of the first failure, or 0. Errors
// are reported on standard error as "lmz: FILE: message".
int run_command(const Options& opts, CodecBackend& backend);

// The documented exit status (exit_codes.h) for an exception.
int exit_code_for(const std::exception& error);

}  // namespace lmz::cli
