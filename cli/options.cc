#include "cli/options.h"

#include <fmt/format.h>

#include <charconv>
#include <limits>

#include "cli/exit_codes.h"
#include "libcodec/engine/load.h"
#include "libcodec/errors.h"

namespace lmz::cli {
namespace {

// Options that take a value, long form without the leading "--".
bool long_option_takes_value(std::string_view name) {
  return name == "output" || name == "range" || name == "model" || name == "log-model" ||
         name == "models-dir" || name == "device" || name == "block-size" ||
         name == "window-size" || name == "log-window-size" || name == "zstd-level" ||
         name == "socket";
}

uint32_t parse_u32_size(std::string_view text, std::string_view what) {
  uint64_t value = parse_size(text, what);
  if (value == 0 || value > std::numeric_limits<uint32_t>::max()) {
    throw UsageError(fmt::format("{} must be between 1 and 4G, got '{}'", what, text));
  }
  return static_cast<uint32_t>(value);
}

int parse_level(std::string_view text) {
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 1 || value > 22) {
    throw UsageError(fmt::format("--zstd-level must be an integer from 1 to 22, got '{}'", text));
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
    opts.block_size = parse_u32_size(need(), "--block-size");
  } else if (name == "window-size") {
    opts.window_size = parse_u32_size(need(), "--window-size");
  } else if (name == "log-window-size") {
    opts.log_window_size = parse_u32_size(need(), "--log-window-size");
  } else if (name == "zstd-level") {
    opts.zstd_level = parse_level(need());
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
  size_t i = 1;
  // `lmz info FILE...` is `lmz -l FILE...` (a file named "info" is ./info).
  if (args.size() > 1 && args[1] == "info") {
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
      if (long_option_takes_value(name)) {
        if (!has_value) {
          if (i + 1 >= args.size()) throw UsageError(fmt::format("--{} needs a value", name));
          value = args[++i];
        }
        apply(opts, name, &value, saw_decompress);
      } else {
        if (has_value) throw UsageError(fmt::format("--{} takes no value", name));
        apply(opts, name, nullptr, saw_decompress);
      }
      continue;
    }
    // A cluster of short options: -dkf, -oFILE, -o FILE.
    for (size_t k = 1; k < arg.size(); ++k) {
      std::string name(1, arg[k]);
      if (name == "o") {
        std::string value = arg.substr(k + 1);
        if (value.empty()) {
          if (i + 1 >= args.size()) throw UsageError("-o needs a file name");
          value = args[++i];
        }
        apply(opts, name, &value, saw_decompress);
        break;
      }
      apply(opts, name, nullptr, saw_decompress);
    }
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
                        ratio, model (also `lmz info FILE`)
      --json            with -l: print one JSON object per file (an array for
                        several files)
      --range OFF:LEN   decompress only the bytes [OFF, OFF+LEN) of the
                        archive's data (OFF: for the rest); decodes only the
                        windows that cover the range. K, M, G suffixes (1K=1024)

Output:
  -c, --stdout          write to standard output; several files are written
                        one after another (concatenated archives stay valid)
  -o, --output FILE     write to FILE (one input only)
  -k, --keep            keep the input file (the default)
      --rm              delete the input file after success
  -f, --force           overwrite existing output files; write compressed data
                        to a terminal; compress a file that already ends in .lmz
  -q, --quiet           no progress and no warnings
  -v, --verbose         print a summary line per file (-vv: per block for -l)

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
                        (default: $LMZ_MODELS_DIR, else {},
                        else the source tree's models/ for an uninstalled build)
      --device DEV      auto, cpu or cuda (default auto: cuda when present);
                        lmzd runs on its own device
      --block-size N    raw bytes per block (default 1M)
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

Files are written under a temporary name in the destination directory, synced
and renamed when complete: on any error nothing is left under the output name.
Progress is shown on standard error when it is a terminal (not with -q).

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
  lmz --model order2 data.txt    compress with the built-in context model
  lmz --daemon -v big.log        compress through lmzd, or fail if it is down
)",
      LMZ_MODELS_INSTALL_DIR, kExitOk, kExitUsage, kExitCorrupt, kExitModelMismatch, kExitIo,
      kExitInternal);
}

}  // namespace lmz::cli
