// Files and pipes for the CLI: sources and sinks over file descriptors, a
// random-access source over a regular file, and the one rule by which lmz
// treats what a path names, for inputs, outputs and --rm alike:
//
//   lmz creates, replaces, sets the permissions of and removes only regular
//   files. A character device or a FIFO (named pipe) given as the output is
//   written into, as zstd does: no temporary file, no rename, no chmod, no
//   -f needed (`-o /dev/null` just works); a block device as the output needs
//   -f and is written into too. A symbolic link is never written through or
//   replaced silently: an output path that is a link to a device or FIFO is
//   written into (nothing is replaced); any other link is refused without
//   -f, and with -f the link itself is replaced, never the file it points
//   to. Input paths that are symbolic links are skipped unless -f (then the
//   link is followed for reading, and --rm removes the link, not its target).
//   Devices and sockets are not read as inputs unless -f; FIFOs are read.
//   --rm removes only regular files (and, with -f, links); a FIFO or device
//   input is kept.
//
// New regular files are written under a temporary name in the destination
// directory and renamed into place only when complete, so no partial file is
// ever left under the output name.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <memory>
#include <string>

#include "format/io.h"

namespace lmz::cli {

// What a path names, without following a final symbolic link (lstat).
enum class FileKind {
  kMissing,
  kRegular,
  kDirectory,
  kSymlink,
  kCharDevice,
  kBlockDevice,
  kFifo,
  kSocket,
};

// The kind of `path` (lstat); kMissing when it does not exist. Throws
// IoError for any other failure (e.g. a directory on the way is unreadable).
FileKind file_kind(const std::string& path);
// The kind of what `st` describes.
FileKind file_kind_of(const struct stat& st);
// "a FIFO", "a character device", ... for messages.
const char* describe_kind(FileKind kind);

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

// How an input path may be opened (the rule above).
struct InputPolicy {
  // Follow a symbolic link, read a device or socket (-f).
  bool force = false;
  // Refuse symbolic links unless `force` (compress and decompress, which
  // write beside the input and may remove it; -l, -t and --range only read).
  bool refuse_symlinks = true;
};

// An open input file (or standard input for "-").
class InputFile {
 public:
  // Opens `path` for reading; "-" is standard input. Throws IoError when it
  // cannot be opened, UsageError when it is a directory, or (unless the
  // policy allows it) a symbolic link, a device or a socket.
  explicit InputFile(const std::string& path, InputPolicy policy = {});
  ~InputFile();
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;

  int fd() const { return fd_; }
  bool is_stdin() const { return is_stdin_; }
  const struct stat& stat() const { return stat_; }
  // Whether the path itself is a symbolic link (followed because of -f).
  bool via_symlink() const { return via_symlink_; }
  // Size when known (a regular file), else 0.
  uint64_t size_hint() const;
  // The name for messages: the path, or "(stdin)".
  const std::string& display_name() const { return name_; }

 private:
  int fd_ = -1;
  bool is_stdin_ = false;
  bool via_symlink_ = false;
  std::string name_;
  struct stat stat_ {};
};

// An output destination opened by open_output(): a new regular file under a
// temporary name that commit() renames into place, or an existing device or
// FIFO written into directly.
class Output {
 public:
  virtual ~Output() = default;
  virtual int fd() const = 0;
  virtual const std::string& path() const = 0;
  // Whether this is an existing device or FIFO written into (no rename).
  virtual bool writes_in_place() const = 0;
  // Sets the modification time of the result (a new file only).
  virtual void set_mtime(const struct timespec& mtime) = 0;
  // Completes the output: a new file is synced and renamed into place (and
  // its directory synced); a device or FIFO is closed. Throws IoError or
  // UsageError. Without commit() a new file leaves nothing behind.
  virtual void commit() = 0;
};

// Opens `path` as the output by the rule above. `force` is -f; `mode` gives
// the permission bits of a new file (taken from the source file, like zstd
// and xz). Throws UsageError when the rule refuses (exists without -f, a
// symbolic link without -f, a directory or socket), IoError when the
// directory is not writable or the device cannot be opened.
std::unique_ptr<Output> open_output(const std::string& path, bool force, mode_t mode);

// Whether `path`, given as -o, means standard output (-o -, /dev/stdout,
// /dev/fd/1, /proc/self/fd/1), as -c does.
bool names_stdout(const std::string& path);

// True when both refer to the same file (device and inode).
bool same_file(const struct stat& a, const struct stat& b);

// --rm: removes the input `path` that `input` read, by the rule above: a
// regular file (still the same file), or with -f the symbolic link itself.
// Returns false, removing nothing, when the path names a FIFO, a device or
// a socket; throws IoError when the unlink fails or the path now names
// another file than the one read.
bool remove_input(const std::string& path, const InputFile& input);

// The pattern of lmz's temporary files: ".NAME.XXXXXX.lmz-tmp" beside NAME.
inline constexpr const char* kTempSuffix = ".lmz-tmp";

// Removes lmz's own temporary files for `path` (".NAME.??????.lmz-tmp" in
// its directory) whose last change is older than `min_age_seconds`: what a
// lmz killed by SIGKILL or a power loss left behind (signals that can be
// caught remove it at once). Younger ones may belong to a lmz still
// running. Returns how many were removed; never throws.
int remove_stale_temp_files(const std::string& path, int64_t min_age_seconds);

// How old a temporary file must be before remove_stale_temp_files takes it.
inline constexpr int64_t kStaleTempSeconds = 3600;

}  // namespace lmz::cli
