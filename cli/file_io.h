// Files and pipes for the CLI: sources and sinks over file descriptors, a
// random-access source over a regular file, and OutputFile, which writes
// under a temporary name in the destination directory and renames it into
// place only when complete, so no partial file is ever left under the
// output name.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <string>

#include "format/io.h"

namespace lmz::cli {

// Reads a file descriptor front to back (a file, a pipe, a terminal).
// Does not own the descriptor. `name` is used in error messages.
class FdSource final : public ByteSource {
 public:
  FdSource(int fd, std::string name) : fd_(fd), name_(std::move(name)) {}
  size_t read(MutableByteView out) override;
  uint64_t bytes_read() const { return bytes_read_; }

 private:
  int fd_;
  std::string name_;
  uint64_t bytes_read_ = 0;
};

// Writes everything to a file descriptor. Does not own the descriptor.
class FdSink final : public ByteSink {
 public:
  FdSink(int fd, std::string name) : fd_(fd), name_(std::move(name)) {}
  void write(ByteView bytes) override;

 private:
  int fd_;
  std::string name_;
};

// Counts the bytes that pass through to another sink (or nowhere, when
// `next` is null: that is the sink of `lmz -t`).
class CountingSink final : public ByteSink {
 public:
  explicit CountingSink(ByteSink* next) : next_(next) {}
  void write(ByteView bytes) override {
    if (next_ != nullptr) next_->write(bytes);
    count_ += bytes.size();
  }
  uint64_t count() const { return count_; }

 private:
  ByteSink* next_;
  uint64_t count_ = 0;
};

// Random access with pread() on a regular file. Does not own the descriptor.
class FdRandomAccessSource final : public RandomAccessSource {
 public:
  // Throws UsageError when `fd` is not a regular file (a pipe cannot seek).
  FdRandomAccessSource(int fd, std::string name);
  uint64_t size() const override { return size_; }
  void read_at(uint64_t offset, MutableByteView out) const override;

 private:
  int fd_;
  std::string name_;
  uint64_t size_ = 0;
};

// An open input file (or standard input for "-").
class InputFile {
 public:
  // Opens `path` for reading; "-" is standard input. Throws IoError when it
  // cannot be opened and UsageError when it is a directory or other
  // non-regular file (pipes and devices are fine when named explicitly).
  explicit InputFile(const std::string& path);
  ~InputFile();
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;

  int fd() const { return fd_; }
  bool is_stdin() const { return is_stdin_; }
  const struct stat& stat() const { return stat_; }
  // Size when known (a regular file), else 0.
  uint64_t size_hint() const;
  // The name for messages: the path, or "(stdin)".
  const std::string& display_name() const { return name_; }

 private:
  int fd_ = -1;
  bool is_stdin_ = false;
  std::string name_;
  struct stat stat_ {};
};

// A new file written under a temporary name (".NAME.XXXXXX.lmz-tmp" in the
// same directory) that commit() syncs and renames to `path`. If the object
// is destroyed without commit(), or commit() fails, the temporary file is
// removed and nothing exists under `path` that was not there before.
class OutputFile {
 public:
  // Creates the temporary file. Unless `overwrite`, throws UsageError when
  // `path` already exists. `mode` gives the permission bits of the new file
  // (taken from the source file, like zstd and xz). Throws IoError when the
  // directory is not writable.
  OutputFile(std::string path, bool overwrite, mode_t mode);
  ~OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  int fd() const { return fd_; }
  const std::string& path() const { return path_; }

  // Sets the modification time of the result (copied from the source).
  void set_mtime(const struct timespec& mtime);

  // fsync()s the data, renames the temporary file to `path` (refusing to
  // replace a file that appeared meanwhile unless `overwrite`), and fsync()s
  // the directory so the rename is durable. Throws IoError or UsageError.
  void commit();

 private:
  void discard() noexcept;

  std::string path_;
  std::string temp_path_;
  bool overwrite_;
  int fd_ = -1;
  bool committed_ = false;
};

// True when both refer to the same file (device and inode).
bool same_file(const struct stat& a, const struct stat& b);

// Removes `path` (the source, for --rm). Throws IoError.
void remove_file(const std::string& path);

}  // namespace lmz::cli
