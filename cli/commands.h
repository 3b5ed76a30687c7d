// The jobs `lmz` runs on each input file: compress, decompress, test, list
// and read a range. They bind files and pipes to the container library and
// leave everything else to it.
#pragma once

#include <exception>
#include <string>
#include <vector>

#include "cli/backend.h"
#include "cli/options.h"

namespace lmz::cli {

class WorkMeter;

// Processes every input of `opts` (one after another, going on after a
// failure; with -r the files under directories) and returns the exit status
// of the first failure, or 0. Errors are reported on standard error as
// "lmz: FILE: message". `meter` is the one the backend counts its work on
// (for the progress line; may be null).
int run_command(const Options& opts, CodecBackend& backend, const WorkMeter* meter = nullptr);

// The documented exit status (exit_codes.h) for an exception.
int exit_code_for(const std::exception& error);

// The inputs of `opts` with -r applied: a directory becomes the files under
// it, sorted, that the mode processes (compression skips .lmz files,
// decompression takes only them; symbolic links are skipped unless -f, and
// lmz's temporary files always). Without -r the list is unchanged.
std::vector<std::string> expand_inputs(const Options& opts);

}  // namespace lmz::cli
