#include "cli/commands.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <new>
#include <optional>

#include <fmt/format.h>

#include "cli/exit_codes.h"
#include "cli/file_io.h"
#include "cli/levels.h"
#include "cli/listing.h"
#include "cli/progress.h"
#include "format/archive_reader.h"
#include "format/archive_writer.h"
#include "libcodec/errors.h"
#include "libcodec/window_codec.h"

namespace lmz::cli {
namespace {

constexpr const char* kSuffix = ".lmz";
constexpr size_t kReadChunk = 256 << 10;
constexpr uint64_t kRangeChunk = 4 << 20;

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

void print_line(const std::string& line) {
  print_stderr_line(line);
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// What every job of one run shares.
struct Job {
  const Options& opts;
  CodecBackend& backend;
  const WorkMeter* meter;
  CodecSettings settings;
};

// Where one job writes: standard output, or a path (file_io.h's rule).
struct Destination {
  bool to_stdout = false;
  std::string path;  // when !to_stdout
};

// Decides the output of `input` for a job that writes data (compress,
// decompress, range). Throws UsageError when no name can be derived.
Destination destination_for(const Options& opts, const InputFile& input) {
  Destination dest;
  if (opts.to_stdout || (!opts.output.empty() && names_stdout(opts.output))) {
    dest.to_stdout = true;
  } else if (!opts.output.empty()) {
    dest.path = opts.output;
  } else if (input.is_stdin() || opts.mode == Mode::kRange) {
    dest.to_stdout = true;
  } else if (opts.mode == Mode::kCompress) {
    const std::string& name = input.display_name();
    if (ends_with(name, kSuffix) && !opts.force) {
      throw UsageError(
          "already has the .lmz suffix -- ignored (use -d to decompress it, or -f to compress "
          "it again)");
    }
    dest.path = name + kSuffix;
  } else {
    const std::string& name = input.display_name();
    if (!ends_with(name, kSuffix) || name.size() == 4 || ends_with(name, "/.lmz")) {
      throw UsageError(
          "unknown suffix (expected .lmz): cannot choose an output name; use -o FILE or -c");
    }
    dest.path = name.substr(0, name.size() - 4);
  }
  if (!dest.to_stdout) {
    struct stat st {};
    if (stat(dest.path.c_str(), &st) == 0 && same_file(st, input.stat())) {
      throw UsageError(fmt::format("the output {} is the input file", dest.path));
    }
  }
  return dest;
}

void refuse_terminal_output(const Options& opts, int fd) {
  if (opts.mode == Mode::kCompress && isatty(fd) && !opts.force) {
    throw UsageError(
        "refusing to write compressed data to a terminal; redirect standard output, use -o FILE, "
        "or -f to force");
  }
}

// An opened destination: a sink over stdout, over a new file that commit()
// renames into place, or over a device or FIFO written into.
class OpenedOutput {
 public:
  OpenedOutput(const Destination& dest, const Options& opts, const InputFile& input) {
    if (dest.to_stdout) {
      refuse_terminal_output(opts, STDOUT_FILENO);
      fd_sink_.emplace(STDOUT_FILENO, "(stdout)");
    } else {
      // What a lmz killed by SIGKILL left of an earlier run for this name.
      remove_stale_temp_files(dest.path, kStaleTempSeconds);
      mode_t mode =
          input.is_stdin() || !S_ISREG(input.stat().st_mode) ? 0666 : input.stat().st_mode;
      file_ = open_output(dest.path, opts.force, mode);
      if (file_->writes_in_place()) refuse_terminal_output(opts, file_->fd());
      fd_sink_.emplace(file_->fd(), dest.path);
      if (!input.is_stdin() && S_ISREG(input.stat().st_mode)) {
        mtime_ = input.stat().st_mtim;
      }
    }
    counter_.emplace(&*fd_sink_);
  }

  CountingSink& sink() { return *counter_; }

  // Completes a file destination (sync, rename); nothing for stdout.
  void commit() {
    if (!file_) return;
    if (mtime_) file_->set_mtime(*mtime_);
    file_->commit();
  }

  std::string name() const { return file_ ? file_->path() : std::string("(stdout)"); }

 private:
  std::unique_ptr<Output> file_;
  std::optional<FdSink> fd_sink_;
  std::optional<CountingSink> counter_;
  std::optional<struct timespec> mtime_;
};

// --rm after a job wrote its output.
void remove_source(const Options& opts, const std::string& path, const InputFile& input) {
  if (!opts.remove_source || input.is_stdin()) return;
  if (!remove_input(path, input) && opts.verbosity >= 1) {
    print_line(fmt::format("{}: {}, not a regular file: kept (--rm removes only regular files)",
                           path, describe_kind(file_kind_of(input.stat()))));
  }
}

InputPolicy writing_policy(const Options& opts) {
  return InputPolicy{opts.force, true};
}

InputPolicy reading_policy(const Options& opts) {
  return InputPolicy{opts.force, false};
}

std::string models_text(const WindowCodec& codec, const WindowCodec* log_codec,
                        const WriterStats& s) {
  std::string text = fmt::format("model {}", codec.model().name);
  if (log_codec != nullptr) text += fmt::format(" (logs: {})", log_codec->model().name);
  if (s.neural_blocks == 0) text += " (not used: every block went to zstd or was stored)";
  return text;
}

void compress_one(const Job& job, const std::string& path) {
  const Options& opts = job.opts;
  InputFile input(path, writing_policy(opts));
  Destination dest = destination_for(opts, input);
  if (dest.to_stdout) refuse_terminal_output(opts, STDOUT_FILENO);
  WindowCodec& codec = job.backend.compress_codec();  // before creating any file
  WindowCodec* log_codec = job.backend.log_codec(codec);
  auto start = std::chrono::steady_clock::now();
  OpenedOutput output(dest, opts, input);
  ArchiveWriter writer(output.sink(), codec, job.settings.writer, log_codec);
  FdSource source(input.fd(), input.display_name());
  Progress progress(progress_wanted(opts.progress, opts.verbosity, dest.to_stdout),
                    input.display_name(), false, input.size_hint(), job.meter);
  writer.set_progress(
      [&](const WriterStats& s) { progress.blocks_done(s.written_raw_bytes, s.archive_bytes); });
  Bytes buffer(kReadChunk);
  while (size_t n = source.read(buffer)) {
    progress.input_read(source.bytes_read());
    writer.write(ByteView(buffer.data(), n));
  }
  writer.finish();
  output.commit();
  progress.clear();
  remove_source(opts, path, input);
  if (opts.verbosity >= 2) {
    const WriterStats& s = writer.stats();
    double secs = seconds_since(start);
    std::string ratio =
        s.raw_bytes > 0
            ? fmt::format(
                  "{:.2f}%, {:.3f} bits/byte",
                  100.0 * static_cast<double>(s.archive_bytes) / static_cast<double>(s.raw_bytes),
                  8.0 * static_cast<double>(s.archive_bytes) / static_cast<double>(s.raw_bytes))
            : std::string("empty");
    print_line(
        fmt::format("{}: {} -> {} ({}), {} ({} neural, {} zstd, {} stored), {}, {:.2f} s, "
                    "{:.2f} MB/s -> {}",
                    input.display_name(), plural(s.raw_bytes, "byte", "bytes"), s.archive_bytes,
                    ratio, plural(s.blocks, "block", "blocks"), s.neural_blocks, s.zstd_blocks,
                    s.stored_blocks, models_text(codec, log_codec, s), secs,
                    secs > 0 ? static_cast<double>(s.raw_bytes) / 1e6 / secs : 0.0, output.name()));
  }
}

void refuse_terminal_input(const Options& opts, const InputFile& input) {
  if (input.is_stdin() && isatty(STDIN_FILENO) && !opts.force) {
    throw UsageError(
        "refusing to read compressed data from a terminal; redirect standard input or name a "
        "file");
  }
}

// The raw size of a seekable archive from its footers, for the progress
// line; 0 when it is not seekable or its footers cannot be read (the
// decoder then says what is wrong).
uint64_t archive_raw_size(const InputFile& input) {
  if (!S_ISREG(input.stat().st_mode)) return 0;
  try {
    FdRandomAccessSource archive(input.fd(), input.display_name());
    RandomAccessReader reader(archive,
                              [](const Hash128&, const std::string& name, StageId) -> WindowCodec& {
                                throw ModelMismatch(fmt::format("model {} not needed here", name));
                              });
    return reader.raw_size();
  } catch (const std::exception&) {
    return 0;
  }
}

// Decompresses (or, for -t, verifies) one input.
void decompress_one(const Job& job, const std::string& path) {
  const Options& opts = job.opts;
  bool test_only = opts.mode == Mode::kTest;
  InputFile input(path, test_only ? reading_policy(opts) : writing_policy(opts));
  refuse_terminal_input(opts, input);
  auto start = std::chrono::steady_clock::now();
  std::optional<OpenedOutput> output;
  std::optional<CountingSink> discard;
  bool to_stdout = false;
  if (test_only) {
    discard.emplace(nullptr);
  } else {
    Destination dest = destination_for(opts, input);
    to_stdout = dest.to_stdout;
    output.emplace(dest, opts, input);
  }
  CountingSink& sink = test_only ? *discard : output->sink();
  FdSource source(input.fd(), input.display_name());
  bool show = progress_wanted(opts.progress, opts.verbosity, to_stdout);
  Progress progress(show, input.display_name(), true, show ? archive_raw_size(input) : 0,
                    job.meter);
  decompress_stream(source, sink, job.backend.resolver(),
                    [&](const ReadProgress& p) { progress.blocks_done(p.raw_bytes, 0); });
  // Trailing bytes after the last archive are not silently ignored:
  // decompress_stream reads to the end of input, so nothing is left here.
  if (output) output->commit();
  progress.clear();
  if (output) remove_source(opts, path, input);
  if (opts.verbosity >= 2) {
    double secs = seconds_since(start);
    print_line(fmt::format("{}: {}{} -> {}, {:.2f} s, {:.2f} MB/s{}", input.display_name(),
                           test_only ? "OK, " : "", plural(source.bytes_read(), "byte", "bytes"),
                           plural(sink.count(), "byte", "bytes"), secs,
                           secs > 0 ? static_cast<double>(sink.count()) / 1e6 / secs : 0.0,
                           output ? " -> " + output->name() : std::string()));
  }
}

// Reads --range OFFSET:LENGTH of one archive through the index.
void range_one(const Job& job, const std::string& path) {
  const Options& opts = job.opts;
  InputFile input(path, reading_policy(opts));
  FdRandomAccessSource archive(input.fd(), input.display_name());
  RandomAccessReader reader(archive, job.backend.resolver());
  uint64_t size = reader.raw_size();
  uint64_t begin = std::min(opts.range.offset, size);
  uint64_t end = size;
  if (opts.range.length && *opts.range.length < size - begin) end = begin + *opts.range.length;
  OpenedOutput output(destination_for(opts, input), opts, input);
  for (uint64_t at = begin; at < end;) {
    uint64_t n = std::min(kRangeChunk, end - at);
    Bytes bytes = reader.read(at, n);
    if (bytes.size() != n) {
      throw CorruptInput(fmt::format("the index promised {} bytes at offset {}, the data gave {}",
                                     n, at, bytes.size()));
    }
    output.sink().write(bytes);
    at += n;
  }
  output.commit();
}

std::string list_one(const Job& job, const std::string& path) {
  InputFile input(path, reading_policy(job.opts));
  FdRandomAccessSource archive(input.fd(), input.display_name());
  RandomAccessReader reader(archive, job.backend.resolver());
  if (job.opts.json) return info_json(input.display_name(), reader.info());
  return info_text(input.display_name(), reader.info(), job.opts.verbosity);
}

// Whether -r takes the file `name` for the run's mode.
bool wanted_by_recursion(const Options& opts, const std::string& name) {
  if (ends_with(name, kTempSuffix)) return false;
  if (opts.mode == Mode::kCompress) return !ends_with(name, kSuffix);
  return ends_with(name, kSuffix);
}

}  // namespace

std::vector<std::string> expand_inputs(const Options& opts) {
  if (!opts.recursive) return opts.inputs;
  std::vector<std::string> out;
  for (const std::string& input : opts.inputs) {
    std::error_code ec;
    if (input == "-" ||
        !std::filesystem::is_directory(std::filesystem::symlink_status(input, ec))) {
      out.push_back(input);
      continue;
    }
    std::vector<std::string> found;
    namespace fs = std::filesystem;
    // Symbolic links to directories are not followed (a loop cannot be).
    for (auto it = fs::recursive_directory_iterator(
             input, fs::directory_options::skip_permission_denied, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      fs::file_status st = it->symlink_status(ec);
      if (ec) break;
      bool take = fs::is_regular_file(st) ||
                  (fs::is_symlink(st) && opts.force && fs::is_regular_file(it->status(ec)));
      if (take && wanted_by_recursion(opts, it->path().filename().string())) {
        found.push_back(it->path().string());
      }
    }
    if (ec) {
      // Reported like any input lmz cannot read: run_command names it.
      out.push_back(input);
      continue;
    }
    std::sort(found.begin(), found.end());
    out.insert(out.end(), found.begin(), found.end());
  }
  return out;
}

int exit_code_for(const std::exception& error) {
  if (dynamic_cast<const UsageError*>(&error) != nullptr) return kExitUsage;
  if (dynamic_cast<const CorruptInput*>(&error) != nullptr) return kExitCorrupt;
  if (dynamic_cast<const ModelMismatch*>(&error) != nullptr) return kExitModelMismatch;
  if (dynamic_cast<const IoError*>(&error) != nullptr) return kExitIo;
  return kExitInternal;
}

int run_command(const Options& opts, CodecBackend& backend, const WorkMeter* meter) {
  int status = kExitOk;
  Job job{opts, backend, meter, resolve_settings(opts)};
  std::vector<std::string> inputs = expand_inputs(opts);
  if (!opts.output.empty() && inputs.size() > 1) {
    throw UsageError("-o takes one input file; use -c to concatenate several");
  }
  for (const std::string& path : inputs) {
    std::string name = path == "-" ? "(stdin)" : path;
    try {
      switch (opts.mode) {
        case Mode::kCompress:
          compress_one(job, path);
          break;
        case Mode::kDecompress:
        case Mode::kTest:
          decompress_one(job, path);
          break;
        case Mode::kRange:
          range_one(job, path);
          break;
        case Mode::kList: {
          std::string text = list_one(job, path);
          // JSON: one object per file and line (doc/info-json.md).
          fmt::print("{}{}", text, opts.json ? "\n" : "");
          break;
        }
        case Mode::kHelp:
        case Mode::kVersion:
          break;
      }
    } catch (const std::bad_alloc&) {
      print_line(fmt::format("{}: out of memory", name));
      if (status == kExitOk) status = kExitInternal;
    } catch (const std::exception& error) {
      print_line(fmt::format("{}: {}", name, error.what()));
      if (status == kExitOk) status = exit_code_for(error);
    }
    std::fflush(stdout);
  }
  return status;
}

}  // namespace lmz::cli
