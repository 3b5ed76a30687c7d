#include "cli/options.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <limits>

#include "cli/exit_codes.h"
#include "cli/levels.h"
#include "format/layout.h"
#include "libcodec/engine/load.h"
#include "libcodec/errors.h"

namespace lmz::cli {
namespace {

// Long options, without the leading "--", and whether each takes a value.
struct LongOption {
  std::string_view name;
  bool takes_value;
};
constexpr LongOption kLongOptions[] = {
    {"compress", false},       {"decompress", false},  {"uncompress", false},
    {"test", false},           {"list", false},        {"range", true},
    {"stdout", false},         {"to-stdout", false},   {"output", true},
    {"keep", false},           {"rm", false},          {"force", false},
    {"recursive", false},      {"json", false},        {"quiet", false},
    {"verbose", false},        {"help", false},        {"version", false},
    {"progress", false},       {"no-progress", false}, {"fast", false},
    {"best", false},           {"extreme", false},     {"threads", true},
    {"model", true},           {"log-model", true},    {"models-dir", true},
    {"device", true},          {"block-size", true},   {"window-size", true},
    {"log-window-size", true}, {"zstd-level", true},   {"no-neural", false},
    {"daemon", false},         {"local", false},       {"socket", true},
    {"single-thread", false},
};

const LongOption* find_long_option(std::string_view name) {
  for (const LongOption& o : kLongOptions) {
    if (o.name == name) return &o;
  }
  return nullptr;
}

// Short options that take a value (-o FILE, -oFILE, -T N, -TN).
bool short_option_takes_value(char c) {
  return c == 'o' || c == 'T';
}

uint32_t parse_u32_size(std::string_view text, std::string_view what, uint64_t max,
                        std::string_view max_text) {
  uint64_t value = parse_size(text, what);
  if (value == 0 || value > max) {
    throw UsageError(fmt::format("{} must be between 1 and {}, got '{}'", what, max_text, text));
  }
  return static_cast<uint32_t>(value);
}

int parse_int(std::string_view text, int min, int max, std::string_view what) {
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max) {
    throw UsageError(
        fmt::format("{} must be an integer from {} to {}, got '{}'", what, min, max, text));
  }
  return value;
}

// Applies one option. `value` is set for options that take one.
void apply(Options& opts, std::string_view name, const std::string* value, bool& saw_decompress) {
  auto need = [&]() -> const std::string& { return *value; };
  if (name == "z" || name == "compress") {
    saw_decompress = false;
  } else if (name == "d" || name == "decompress" || name == "uncompress") {
    saw_decompress = true;
  } else if (name == "t" || name == "test") {
    opts.mode = Mode::kTest;
  } else if (name == "l" || name == "list") {
    opts.mode = Mode::kList;
  } else if (name == "range") {
    opts.range = parse_range(need());
    if (opts.mode != Mode::kList && opts.mode != Mode::kTest) opts.mode = Mode::kRange;
  } else if (name == "c" || name == "stdout" || name == "to-stdout") {
    opts.to_stdout = true;
  } else if (name == "o" || name == "output") {
    if (need().empty()) throw UsageError("-o needs a file name");
    opts.output = need();
  } else if (name == "k" || name == "keep") {
    opts.remove_source = false;
  } else if (name == "rm") {
    opts.remove_source = true;
  } else if (name == "f" || name == "force") {
    opts.force = true;
  } else if (name == "r" || name == "recursive") {
    opts.recursive = true;
  } else if (name == "json") {
    opts.json = true;
  } else if (name == "q" || name == "quiet") {
    opts.verbosity = 0;
  } else if (name == "v" || name == "verbose") {
    opts.verbosity = std::max(opts.verbosity, 1) + 1;
  } else if (name == "h" || name == "help") {
    opts.mode = Mode::kHelp;
  } else if (name == "V" || name == "version") {
    opts.mode = Mode::kVersion;
  } else if (name == "progress") {
    opts.progress = ProgressUse::kAlways;
  } else if (name == "no-progress") {
    opts.progress = ProgressUse::kNever;
  } else if (name == "fast") {
    opts.level = kMinLevel;
  } else if (name == "best") {
    opts.level = kMaxLevel;
  } else if (name == "e" || name == "extreme") {
    opts.extreme = true;
  } else if (name == "T" || name == "threads") {
    opts.threads =
        static_cast<uint32_t>(parse_int(need(), 0, 4096, name == "T" ? "-T" : "--threads"));
  } else if (name == "single-thread") {
    opts.threads = 1;
  } else if (name == "model") {
    if (need().empty()) throw UsageError("--model needs a model name or path");
    opts.model = need();
  } else if (name == "log-model") {
    if (need().empty()) throw UsageError("--log-model needs a model name, a path or \"same\"");
    opts.log_model = need();
  } else if (name == "models-dir") {
    opts.models_dir = need();
  } else if (name == "device") {
    opts.device = parse_device(need());
  } else if (name == "block-size") {
    opts.block_size = parse_u32_size(need(), "--block-size", format::kMaxBlockSize, "64M");
  } else if (name == "window-size") {
    opts.window_size = parse_u32_size(need(), "--window-size", format::kMaxBlockSize, "64M");
  } else if (name == "log-window-size") {
    opts.log_window_size =
        parse_u32_size(need(), "--log-window-size", format::kMaxBlockSize, "64M");
  } else if (name == "zstd-level") {
    opts.zstd_level = parse_int(need(), 1, 22, "--zstd-level");
  } else if (name == "no-neural") {
    opts.no_neural = true;
  } else if (name == "daemon") {
    if (opts.daemon == DaemonUse::kForbidden) {
      throw UsageError("--daemon and --local exclude each other");
    }
    opts.daemon = DaemonUse::kRequired;
  } else if (name == "local") {
    if (opts.daemon == DaemonUse::kRequired) {
      throw UsageError("--daemon and --local exclude each other");
    }
    opts.daemon = DaemonUse::kForbidden;
  } else if (name == "socket") {
    if (need().empty()) throw UsageError("--socket needs the path of lmzd's socket");
    opts.socket = need();
  } else {
    std::string shown = name.size() == 1 ? fmt::format("-{}", name) : fmt::format("--{}", name);
    throw UsageError(fmt::format("unknown option '{}' (see lmz --help)", shown));
  }
}

// A cluster of short options: -dkf, -19, -9v, -oFILE, -o FILE, -T2, -T 2.
void apply_short_cluster(Options& opts, const std::vector<std::string>& args, size_t& i,
                         bool& saw_decompress) {
  const std::string& arg = args[i];
  for (size_t k = 1; k < arg.size(); ++k) {
    char c = arg[k];
    if (c >= '0' && c <= '9') {
      // A level: the digits that follow each other (-19, -3v).
      size_t end = k;
      while (end < arg.size() && arg[end] >= '0' && arg[end] <= '9') ++end;
      std::string digits = arg.substr(k, end - k);
      int level = 0;
      std::from_chars(digits.data(), digits.data() + digits.size(), level);
      if (digits.size() > 2 || level < kMinLevel || level > kMaxLevel) {
        throw UsageError(fmt::format("unknown compression level '-{}': levels are -{} to -{}",
                                     digits, kMinLevel, kMaxLevel));
      }
      opts.level = level;
      k = end - 1;
      continue;
    }
    std::string name(1, c);
    if (short_option_takes_value(c)) {
      std::string value = arg.substr(k + 1);
      if (value.empty()) {
        if (i + 1 >= args.size()) {
          throw UsageError(c == 'o' ? std::string("-o needs a file name")
                                    : fmt::format("-{} needs a value", c));
        }
        value = args[++i];
      }
      apply(opts, name, &value, saw_decompress);
      return;
    }
    apply(opts, name, nullptr, saw_decompress);
  }
}

}  // namespace

uint64_t parse_size(std::string_view text, std::string_view what) {
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end == text.data()) {
    throw UsageError(
        fmt::format("{}: '{}' is not a number (examples: 4096, 64K, 1M, 2G)", what, text));
  }
  std::string_view suffix(end, text.data() + text.size() - end);
  int shift = 0;
  if (suffix == "K" || suffix == "k" || suffix == "KiB") {
    shift = 10;
  } else if (suffix == "M" || suffix == "MiB") {
    shift = 20;
  } else if (suffix == "G" || suffix == "GiB") {
    shift = 30;
  } else if (suffix == "T" || suffix == "TiB") {
    shift = 40;
  } else if (!suffix.empty()) {
    throw UsageError(
        fmt::format("{}: unknown suffix '{}' in '{}' (use K, M, G or T)", what, suffix, text));
  }
  if (shift > 0 && value > (std::numeric_limits<uint64_t>::max() >> shift)) {
    throw UsageError(fmt::format("{}: '{}' is too large", what, text));
  }
  return value << shift;
}

ByteRange parse_range(std::string_view text) {
  auto colon = text.find(':');
  if (colon == std::string_view::npos) {
    throw UsageError(
        fmt::format("--range wants OFFSET:LENGTH (or OFFSET: for the rest), got '{}'", text));
  }
  ByteRange range;
  range.offset = parse_size(text.substr(0, colon), "--range offset");
  std::string_view length = text.substr(colon + 1);
  if (!length.empty()) range.length = parse_size(length, "--range length");
  return range;
}

Options parse_options(const std::vector<std::string>& args) {
  Options opts;
  bool saw_decompress = false;
  // Called as unlmz: lmz -d; as lmzcat: lmz -dc (links installed beside lmz).
  if (!args.empty()) {
    std::string_view program = args[0];
    if (auto slash = program.rfind('/'); slash != std::string_view::npos) {
      program.remove_prefix(slash + 1);
    }
    if (program == "unlmz" || program == "lmzcat") saw_decompress = true;
    if (program == "lmzcat") opts.to_stdout = true;
  }
  size_t i = 1;
  // `lmz info FILE...` is `lmz -l FILE...`. A file named "info" is
  // compressed with `lmz ./info` or `lmz -- info`.
  const bool info_command = args.size() > 1 && args[1] == "info";
  if (info_command) {
    opts.mode = Mode::kList;
    i = 2;
  }
  bool options_done = false;
  for (; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (options_done || arg == "-" || arg.size() < 2 || arg[0] != '-') {
      opts.inputs.push_back(arg);
      continue;
    }
    if (arg == "--") {
      options_done = true;
      continue;
    }
    if (arg[1] == '-') {  // --name, --name=value, --name value
      std::string name = arg.substr(2);
      std::string value;
      bool has_value = false;
      if (auto eq = name.find('='); eq != std::string::npos) {
        value = name.substr(eq + 1);
        name.resize(eq);
        has_value = true;
      }
      const LongOption* option = find_long_option(name);
      if (option == nullptr) {
        throw UsageError(fmt::format("unknown option '--{}' (see lmz --help)", name));
      }
      if (option->takes_value) {
        if (!has_value) {
          if (i + 1 >= args.size()) throw UsageError(fmt::format("--{} needs a value", name));
          value = args[++i];
        }
        apply(opts, name, &value, saw_decompress);
      } else {
        if (has_value) {
          throw UsageError(fmt::format("--{} takes no value (got '--{}={}')", name, name, value));
        }
        apply(opts, name, nullptr, saw_decompress);
      }
      continue;
    }
    apply_short_cluster(opts, args, i, saw_decompress);
  }
  if (info_command && opts.inputs.empty()) {
    throw UsageError(
        "`lmz info` lists archives: give it one or more FILEs (to compress a file named "
        "\"info\", use `lmz ./info` or `lmz -- info`)");
  }
  if (opts.mode == Mode::kCompress && saw_decompress) opts.mode = Mode::kDecompress;
  if (opts.mode == Mode::kHelp || opts.mode == Mode::kVersion) return opts;
  if (opts.inputs.empty()) opts.inputs.push_back("-");

  // Combinations that cannot mean anything.
  if (opts.json && opts.mode != Mode::kList) {
    throw UsageError("--json works only with -l/--list or `lmz info`");
  }
  if (!opts.output.empty() && opts.to_stdout) throw UsageError("-o and -c exclude each other");
  if (!opts.output.empty() && opts.inputs.size() > 1) {
    throw UsageError("-o takes one input file; use -c to concatenate several");
  }
  if (!opts.output.empty() && (opts.mode == Mode::kTest || opts.mode == Mode::kList)) {
    throw UsageError("-o makes no sense with -t or -l: they write no data");
  }
  if (opts.mode == Mode::kRange && opts.inputs.size() != 1) {
    throw UsageError("--range reads from exactly one archive file");
  }
  if (opts.remove_source && (opts.to_stdout || opts.mode == Mode::kTest ||
                             opts.mode == Mode::kList || opts.mode == Mode::kRange)) {
    throw UsageError("--rm needs an output file: it is not allowed with -c, -t, -l or --range");
  }
  return opts;
}

std::string version_text() {
  return fmt::format("lmz {} (container format v1, neural engine: {})\n", LMZ_VERSION,
                     neural_engine_available() ? "built in" : "not built");
}

std::string help_text() {
  return fmt::format(
      R"(Usage: lmz [OPTION]... [FILE]...
       lmz info [--json] FILE...

Compress or decompress FILEs in the .lmz format: a byte-level language model
predicts each byte and a range coder stores it; blocks that are not text go to
zstd, or are stored when neither makes them smaller. Archives are seekable:
--range reads a byte range without decoding the whole archive.

With no FILE, or when FILE is -, read standard input and write standard output.
By default FILE is compressed to FILE.lmz and FILE is kept (like zstd); use
--rm to delete it once the output is complete and synced to disk.

Operation (default: compress):
  -z, --compress        compress
  -d, --decompress      decompress FILE.lmz to FILE (other names need -o or -c)
  -t, --test            decompress and verify every checksum; write nothing
  -l, --list            describe archives: members, blocks, codecs, sizes,
                        ratio, model (also `lmz info FILE`); -v adds the
                        content of each member, -vv one line per block
      --json            with -l: one JSON object per file and line
                        (doc/info-json.md)
      --range OFF:LEN   decompress only the bytes [OFF, OFF+LEN) of the
                        archive's data (OFF: for the rest); decodes only the
                        windows that cover the range. K, M, G suffixes (1K=1024)

Levels (compression; explicit codec options below override a level's values):
  -1 .. -19             presets of model, stage and window sizes, from zstd
                        only (-1) to the GPU model with 1 MiB windows (-19);
                        the table: `man lmz` or bench/levels.md. Without a
                        level: the default model rule (see --model), the
                        mixing stage, 16K/256K windows
      --fast, --best    -1 and -19
  -e, --extreme         code log-like blocks with the level's neural model too
                        (about 6% smaller logs, 10x slower on a CPU)
  -T, --threads N       code with at most N threads (0: one per hardware thread,
                        the default); lmz's main thread waits meanwhile
      --single-thread   -T 1

Output:
  -c, --stdout          write to standard output; several files are written
                        one after another (concatenated archives stay valid)
  -o, --output FILE     write to FILE (one input only); a character device or
                        FIFO is written into (-o /dev/null needs no -f)
  -k, --keep            keep the input file (the default)
      --rm              delete the input file after success (regular files
                        only: FIFOs and devices are kept)
  -f, --force           overwrite existing output files; replace a symbolic
                        link given as the output (the link, not its target);
                        follow symbolic links given as inputs; read devices;
                        write compressed data to a terminal; compress a file
                        that already ends in .lmz
  -r, --recursive       process the files in directories given as inputs
  -q, --quiet           no progress and no warnings
  -v, --verbose         print a summary line per file (and which model and
                        whether lmzd were used); -vv: more
      --progress        draw the progress line even when the data goes to
                        standard output (it always needs a terminal on stderr)
      --no-progress     never draw it

Codec:
      --model NAME|PATH model to compress with: a name installed in the models
                        directory, a .lmzm file, or "order2" (the small
                        built-in context model). Default: $LMZ_MODEL, else
                        lmzd's model when lmz uses lmzd, else "large" on
                        CUDA, else "small", else "order2" (the first one
                        installed; spec/MODEL.md). Decompression uses the model
                        the archive names (found by its hash).
      --log-model NAME|PATH|same
                        model for the blocks the classifier finds log-like
                        when --model is a neural model (default "order2":
                        on logs the mixing stage's own models do nearly all
                        the work, and the stand-in runs 10-100x faster than
                        a neural model); "same" codes them with --model.
      --models-dir DIR  where installed models are looked up
                        (default: $LMZ_MODELS_DIR, else share/lmz/models
                        beside the installed lmz, else {})
      --device DEV      auto, cpu or cuda (default auto: cuda when present);
                        lmzd runs on its own device
      --block-size N    raw bytes per block, 1 to 64M (default 1M)
      --window-size N   raw bytes per independently coded window of prose
                        (default 16K; smaller: faster --range, larger: smaller)
      --log-window-size N  the same for log-like text (default 256K)
      --zstd-level N    zstd level for blocks that are not text, 1-22
      --no-neural       code every block with zstd or store it (no model)

Daemon (lmzd keeps a model loaded, on a GPU if there is one, and batches the
work of all its clients):
      --daemon          code through lmzd; fail (status 4) when its socket
                        does not answer, and (status 3) when lmzd lacks the
                        model asked for or the one an archive names
      --local           never contact lmzd; code in this process
      --socket PATH     lmzd's socket (default: $LMZ_SOCKET, else
                        /run/lmz/lmzd.sock)
  With neither flag lmz uses lmzd when its socket answers and works in this
  process otherwise (-v says which). With the same model, archives are byte
  for byte the same either way. Without --model (and $LMZ_MODEL) lmz
  compresses with lmzd's model; a model lmzd does not have (by --model, or
  named by an archive) is coded in this process instead. Decompression, -t
  and --range have lmzd decode only the windows they need; lmz reads the
  files, lmzd never opens them.

  -h, --help            show this help
  -V, --version         show the version

New files are written under a temporary name in the destination directory,
synced and renamed when complete: on any error nothing is left under the
output name. lmz creates, replaces and removes only regular files; symbolic
links given as inputs are skipped unless -f. Progress is shown on standard
error when it is a terminal and the data does not go to standard output (not
with -q).

Exit status:
  {}  success
  {}  usage error: bad option, unknown suffix, output exists (use -f), refusing
     to write compressed data to a terminal
  {}  corrupt input: not an lmz archive, truncated, checksum mismatch
  {}  model mismatch: the archive's model is not installed (with --daemon:
     lmzd does not have the model)
  {}  I/O error: a file cannot be opened, read, written or renamed; with
     --daemon, lmzd's socket does not answer or the connection broke
  {}  internal error (a bug, or out of memory)
With several files, lmz goes on after a failure and exits with the status of
the first file that failed.

Examples:
  lmz notes.txt                  compress to notes.txt.lmz, keep notes.txt
  lmz -d notes.txt.lmz           decompress to notes.txt
  lmz --rm *.log                 compress each log, delete the originals
  journalctl | lmz > j.lmz       compress a pipe
  lmz -dc j.lmz | grep sshd      decompress to standard output
  lmz -t j.lmz && echo ok        verify an archive
  lmz info --json j.lmz          sizes, blocks, codecs and model as JSON
  lmz --range 1M:4K j.lmz        4 KiB of the data starting at offset 1 MiB
  lmz -19 -T4 notes.txt          the best level, on 4 threads
  lmz -r --rm logs/              compress every file under logs/
  lmz --model order2 data.txt    compress with the built-in context model
  lmz --daemon -v big.log        compress through lmzd, or fail if it is down
)",
      LMZ_MODELS_INSTALL_DIR, kExitOk, kExitUsage, kExitCorrupt, kExitModelMismatch, kExitIo,
      kExitInternal);
}

}  // namespace lmz::cli
