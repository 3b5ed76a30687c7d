#include "cli/commands.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <new>
#include <optional>

#include <fmt/format.h>

#include "cli/exit_codes.h"
#include "cli/file_io.h"
#include "cli/listing.h"
#include "cli/progress.h"
#include "format/archive_reader.h"
#include "format/archive_writer.h"
#include "libcodec/errors.h"

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
  fmt::print(stderr, "lmz: {}\n", line);
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Where one job writes: standard output, or a new file.
struct Destination {
  bool to_stdout = false;
  std::string path;  // when !to_stdout
};

// Decides the output of `input` for a job that writes data (compress,
// decompress, range). Throws UsageError when no name can be derived.
Destination destination_for(const Options& opts, const InputFile& input) {
  Destination dest;
  if (opts.to_stdout || opts.output == "-") {
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

// An opened destination: a sink over stdout or over a temporary file that
// commit() renames into place.
class OpenedOutput {
 public:
  OpenedOutput(const Destination& dest, const Options& opts, const InputFile& input) {
    if (dest.to_stdout) {
      fd_sink_.emplace(STDOUT_FILENO, "(stdout)");
    } else {
      mode_t mode = input.is_stdin() ? 0666 : input.stat().st_mode;
      file_.emplace(dest.path, opts.force, mode);
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
  std::optional<OutputFile> file_;
  std::optional<FdSink> fd_sink_;
  std::optional<CountingSink> counter_;
  std::optional<struct timespec> mtime_;
};

WriterOptions writer_options(const Options& opts) {
  WriterOptions w;
  if (opts.block_size) w.block_size = *opts.block_size;
  if (opts.window_size) w.window_size = *opts.window_size;
  if (opts.log_window_size) w.log_window_size = *opts.log_window_size;
  if (opts.zstd_level) w.zstd_level = *opts.zstd_level;
  w.allow_neural = !opts.no_neural;
  return w;
}

bool progress_enabled(const Options& opts) {
  return opts.verbosity > 0 && isatty(STDERR_FILENO);
}

void compress_one(const Options& opts, CodecBackend& backend, const std::string& path) {
  InputFile input(path);
  Destination dest = destination_for(opts, input);
  if (dest.to_stdout && isatty(STDOUT_FILENO) && !opts.force) {
    throw UsageError(
        "refusing to write compressed data to a terminal; redirect standard output, use -o FILE, "
        "or -f to force");
  }
  WindowCodec& codec = backend.compress_codec();  // before creating any file
  WindowCodec* log_codec = backend.log_codec(codec);
  auto start = std::chrono::steady_clock::now();
  OpenedOutput output(dest, opts, input);
  ArchiveWriter writer(output.sink(), codec, writer_options(opts), log_codec);
  FdSource source(input.fd(), input.display_name());
  Progress progress(progress_enabled(opts), input.display_name(), input.size_hint());
  // The writer codes blocks in batches, some only in finish(): report the
  // output as each block is written, too.
  writer.set_progress(
      [&](const WriterStats& s) { progress.update(source.bytes_read(), s.archive_bytes); });
  Bytes buffer(kReadChunk);
  while (size_t n = source.read(buffer)) {
    writer.write(ByteView(buffer.data(), n));
    progress.update(source.bytes_read(), output.sink().count());
  }
  writer.finish();
  output.commit();
  progress.clear();
  if (opts.remove_source && !input.is_stdin()) remove_file(path);
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
    print_line(fmt::format(
        "{}: {} -> {} ({}), {} blocks ({} neural, {} zstd, {} stored), {:.2f} s, {:.2f} MB/s "
        "-> {}",
        input.display_name(), s.raw_bytes, s.archive_bytes, ratio, s.blocks, s.neural_blocks,
        s.zstd_blocks, s.stored_blocks, secs,
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

// Decompresses (or, for -t, verifies) one input.
void decompress_one(const Options& opts, CodecBackend& backend, const std::string& path) {
  InputFile input(path);
  refuse_terminal_input(opts, input);
  auto start = std::chrono::steady_clock::now();
  bool test_only = opts.mode == Mode::kTest;
  std::optional<OpenedOutput> output;
  std::optional<CountingSink> discard;
  if (test_only) {
    discard.emplace(nullptr);
  } else {
    output.emplace(destination_for(opts, input), opts, input);
  }
  CountingSink& sink = test_only ? *discard : output->sink();
  FdSource source(input.fd(), input.display_name());
  Progress progress(progress_enabled(opts), input.display_name(), input.size_hint());
  decompress_stream(source, sink, backend.resolver(),
                    [&](const ReadProgress& p) { progress.update(p.archive_bytes, p.raw_bytes); });
  // Trailing bytes after the last archive are not silently ignored:
  // decompress_stream reads to the end of input, so nothing is left here.
  if (output) output->commit();
  progress.clear();
  if (output && opts.remove_source && !input.is_stdin()) remove_file(path);
  if (opts.verbosity >= 2) {
    double secs = seconds_since(start);
    print_line(fmt::format("{}: {}{} -> {} bytes, {:.2f} s, {:.2f} MB/s{}", input.display_name(),
                           test_only ? "OK, " : "", source.bytes_read(), sink.count(), secs,
                           secs > 0 ? static_cast<double>(sink.count()) / 1e6 / secs : 0.0,
                           output ? " -> " + output->name() : std::string()));
  }
}

// Reads --range OFFSET:LENGTH of one archive through the index.
void range_one(const Options& opts, CodecBackend& backend, const std::string& path) {
  InputFile input(path);
  FdRandomAccessSource archive(input.fd(), input.display_name());
  RandomAccessReader reader(archive, backend.resolver());
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

std::string list_one(const Options& opts, CodecBackend& backend, const std::string& path) {
  InputFile input(path);
  FdRandomAccessSource archive(input.fd(), input.display_name());
  RandomAccessReader reader(archive, backend.resolver());
  if (opts.json) return info_json(input.display_name(), reader.info());
  return info_text(input.display_name(), reader.info(), opts.verbosity);
}

}  // namespace

int exit_code_for(const std::exception& error) {
  if (dynamic_cast<const UsageError*>(&error) != nullptr) return kExitUsage;
  if (dynamic_cast<const CorruptInput*>(&error) != nullptr) return kExitCorrupt;
  if (dynamic_cast<const ModelMismatch*>(&error) != nullptr) return kExitModelMismatch;
  if (dynamic_cast<const IoError*>(&error) != nullptr) return kExitIo;
  return kExitInternal;
}

int run_command(const Options& opts, CodecBackend& backend) {
  int status = kExitOk;
  std::vector<std::string> json_objects;
  for (const std::string& path : opts.inputs) {
    std::string name = path == "-" ? "(stdin)" : path;
    try {
      switch (opts.mode) {
        case Mode::kCompress:
          compress_one(opts, backend, path);
          break;
        case Mode::kDecompress:
        case Mode::kTest:
          decompress_one(opts, backend, path);
          break;
        case Mode::kRange:
          range_one(opts, backend, path);
          break;
        case Mode::kList: {
          std::string text = list_one(opts, backend, path);
          if (opts.json) {
            json_objects.push_back(std::move(text));
          } else {
            fmt::print("{}", text);
          }
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
  }
  if (opts.json) {
    if (opts.inputs.size() == 1) {
      if (!json_objects.empty()) fmt::print("{}\n", json_objects[0]);
    } else {
      fmt::print("[");
      for (size_t i = 0; i < json_objects.size(); ++i) {
        fmt::print("{}{}", i == 0 ? "" : ",\n ", json_objects[i]);
      }
      fmt::print("]\n");
    }
  }
  std::fflush(stdout);
  return status;
}

}  // namespace lmz::cli
