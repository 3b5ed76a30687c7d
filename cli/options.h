// Command-line options of `lmz` and their parser. Parsing only checks the
// options themselves; whether a file can be read or written is decided when
// each file is processed (commands.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libcodec/model_registry.h"

namespace lmz::cli {

enum class Mode {
  kCompress,    // default
  kDecompress,  // -d
  kTest,        // -t: decompress, verify, write nothing
  kList,        // -l or `lmz info`
  kRange,       // --range OFFSET:LENGTH
  kHelp,        // -h
  kVersion,     // -V
};

// Whether the windows are coded by lmzd (daemon/client.h) or in this process.
enum class DaemonUse {
  kAuto,      // the daemon when its socket answers, else in-process
  kRequired,  // --daemon: the daemon or an error
  kForbidden  // --local: never contact the daemon
};

// Whether a progress line is drawn (progress.h decides what "auto" means).
enum class ProgressUse { kAuto, kAlways, kNever };

// A byte range of the decompressed data; length absent means "to the end".
struct ByteRange {
  uint64_t offset = 0;
  std::optional<uint64_t> length;
};

struct Options {
  Mode mode = Mode::kCompress;
  std::vector<std::string> inputs;            // "-" is standard input; empty means "-"
  std::string output;                         // -o FILE; empty: derived from the input
  bool to_stdout = false;                     // -c
  bool remove_source = false;                 // --rm (the default is to keep it, like -k)
  bool force = false;                         // -f
  bool recursive = false;                     // -r: the files under directory inputs
  bool json = false;                          // --json (with -l / info)
  int verbosity = 1;                          // 0: -q, 1: default, 2: -v, 3: -vv
  ProgressUse progress = ProgressUse::kAuto;  // --progress, --no-progress
  ByteRange range;                            // --range

  // Compression level (-1 .. -19, --fast, --best; levels.h) and -e. Unset:
  // the default settings. Options given explicitly win over the level's.
  std::optional<int> level;
  bool extreme = false;
  // Most threads that code at once (-T N; 0: one per hardware thread).
  uint32_t threads = 0;

  // Codec settings; unset values leave the level's or the library's defaults.
  std::string model;                     // --model NAME|PATH; empty: the default model
  std::optional<std::string> log_model;  // --log-model NAME|PATH|same
  std::string models_dir;                // --models-dir DIR
  Device device = Device::kAuto;
  std::optional<uint32_t> block_size;
  std::optional<uint32_t> window_size;
  std::optional<uint32_t> log_window_size;
  std::optional<int> zstd_level;
  bool no_neural = false;  // --no-neural

  DaemonUse daemon = DaemonUse::kAuto;  // --daemon, --local
  std::string socket;                   // --socket PATH; empty: $LMZ_SOCKET or the default
};

// Parses argv (argv[0] is the program name). Throws UsageError with a
// message that names the offending argument.
Options parse_options(const std::vector<std::string>& args);

// "123", "64K", "1M", "2G" (binary multiples, K = 1024). Throws UsageError
// naming `what` when `text` is not such a number or overflows 64 bits.
uint64_t parse_size(std::string_view text, std::string_view what);

// "OFFSET:LENGTH" or "OFFSET:" (to the end), each a parse_size() number.
ByteRange parse_range(std::string_view text);

// The --help text and the --version line.
std::string help_text();
std::string version_text();

}  // namespace lmz::cli
