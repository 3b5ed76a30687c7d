#include "cli/file_io.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <vector>

#include <fmt/format.h>

#include "cli/signal_cleanup.h"
#include "libcodec/errors.h"

namespace lmz::cli {
namespace {

std::string errno_text(int err) {
  return std::strerror(err);
}

std::string directory_of(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string base_name_of(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

void fsync_directory(const std::string& dir) {
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw IoError(fmt::format("cannot open directory {}: {}", dir, errno_text(errno)));
  int rc = fsync(fd);
  int err = errno;
  close(fd);
  // Some file systems cannot sync a directory; the rename itself succeeded.
  if (rc != 0 && err != EINVAL && err != ENOTSUP) {
    throw IoError(fmt::format("cannot sync directory {}: {}", dir, errno_text(err)));
  }
}

// Whether `name` is one of lmz's temporary names for the file `base`:
// "." + base + "." + six characters + kTempSuffix.
bool is_temp_name_for(const std::string& name, const std::string& base) {
  const std::string prefix = "." + base + ".";
  const std::string suffix = kTempSuffix;
  return name.size() == prefix.size() + 6 + suffix.size() && name.rfind(prefix, 0) == 0 &&
         name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// A new regular file under a temporary name (".NAME.XXXXXX.lmz-tmp" in the
// same directory) that commit() syncs and renames to `path`. Holds an
// advisory lock on it while open, so that remove_stale_temp_files() of
// another lmz never takes a file that is still being written.
class ReplacingFile final : public Output {
 public:
  ReplacingFile(std::string path, bool overwrite, mode_t mode)
      : path_(std::move(path)), overwrite_(overwrite) {
    std::string dir = directory_of(path_);
    std::string name = base_name_of(path_);
    const std::string suffix = kTempSuffix;
    std::string pattern = fmt::format("{}/.{}.XXXXXX{}", dir, name, suffix);
    std::vector<char> buffer(pattern.begin(), pattern.end());
    buffer.push_back('\0');
    fd_ = mkostemps(buffer.data(), static_cast<int>(suffix.size()), O_CLOEXEC);
    if (fd_ < 0) {
      throw IoError(fmt::format("cannot create a file in {}: {}", dir, errno_text(errno)));
    }
    temp_path_ = buffer.data();
    register_temp_file(temp_path_.c_str());
    flock(fd_, LOCK_EX | LOCK_NB);  // best effort: the age bound still protects
    // mkstemp creates the file 0600; give it the source's permissions, less
    // the umask, as a plain open() would.
    mode_t mask = umask(0);
    umask(mask);
    if (fchmod(fd_, mode & 07777 & ~mask) != 0) {
      int err = errno;
      discard();
      throw IoError(
          fmt::format("cannot set the permissions of {}: {}", temp_path_, errno_text(err)));
    }
  }
  ~ReplacingFile() override {
    if (!committed_) discard();
  }

  int fd() const override { return fd_; }
  const std::string& path() const override { return path_; }
  bool writes_in_place() const override { return false; }

  void set_mtime(const struct timespec& mtime) override {
    struct timespec times[2];
    times[0].tv_sec = 0;
    times[0].tv_nsec = UTIME_OMIT;
    times[1] = mtime;
    futimens(fd_, times);  // best effort, like zstd: the data matters, not the time
  }

  void commit() override {
    if (fsync(fd_) != 0) {
      int err = errno;
      discard();
      throw IoError(fmt::format("cannot sync {}: {}", temp_path_, errno_text(err)));
    }
    if (close(fd_) != 0) {
      int err = errno;
      fd_ = -1;
      discard();
      throw IoError(fmt::format("cannot close {}: {}", temp_path_, errno_text(err)));
    }
    fd_ = -1;
    int rc = 0;
    if (overwrite_) {
      // Replaces a regular file or a symbolic link itself (rename never
      // follows a link at the destination).
      rc = rename(temp_path_.c_str(), path_.c_str());
    } else {
      // Atomically refuse to replace a file that appeared while we worked.
      rc = renameat2(AT_FDCWD, temp_path_.c_str(), AT_FDCWD, path_.c_str(), RENAME_NOREPLACE);
      if (rc != 0 && (errno == EINVAL || errno == ENOSYS)) {
        struct stat st {};
        if (lstat(path_.c_str(), &st) == 0) {
          errno = EEXIST;
          rc = -1;
        } else {
          rc = rename(temp_path_.c_str(), path_.c_str());
        }
      }
    }
    if (rc != 0) {
      int err = errno;
      discard();
      if (err == EEXIST) {
        throw UsageError(fmt::format("{} already exists; use -f to overwrite it", path_));
      }
      throw IoError(fmt::format("cannot rename {} to {}: {}", temp_path_, path_, errno_text(err)));
    }
    committed_ = true;
    unregister_temp_file();
    fsync_directory(directory_of(path_));
  }

 private:
  void discard() noexcept {
    if (fd_ >= 0) {
      close(fd_);
      fd_ = -1;
    }
    if (!temp_path_.empty()) {
      unlink(temp_path_.c_str());
      unregister_temp_file();
      temp_path_.clear();
    }
  }

  std::string path_;
  std::string temp_path_;
  bool overwrite_;
  int fd_ = -1;
  bool committed_ = false;
};

// An existing character device, block device or FIFO, written into as it is.
class InPlaceFile final : public Output {
 public:
  explicit InPlaceFile(std::string path) : path_(std::move(path)) {
    // No O_CREAT: if the device vanished meanwhile, nothing is created.
    do {
      fd_ = open(path_.c_str(), O_WRONLY | O_CLOEXEC | O_NOCTTY);
    } while (fd_ < 0 && errno == EINTR);
    if (fd_ < 0) throw IoError(fmt::format("cannot open {}: {}", path_, errno_text(errno)));
    struct stat st {};
    FileKind kind = fstat(fd_, &st) == 0 ? file_kind_of(st) : FileKind::kMissing;
    if (kind != FileKind::kCharDevice && kind != FileKind::kBlockDevice &&
        kind != FileKind::kFifo) {
      close(fd_);
      fd_ = -1;
      throw UsageError(fmt::format("{} changed while lmz opened it", path_));
    }
  }
  ~InPlaceFile() override {
    if (fd_ >= 0) close(fd_);
  }

  int fd() const override { return fd_; }
  const std::string& path() const override { return path_; }
  bool writes_in_place() const override { return true; }
  void set_mtime(const struct timespec&) override {}

  void commit() override {
    int fd = fd_;
    fd_ = -1;
    if (close(fd) != 0 && errno != EINTR) {
      throw IoError(fmt::format("cannot close {}: {}", path_, errno_text(errno)));
    }
  }

 private:
  std::string path_;
  int fd_ = -1;
};

}  // namespace

FileKind file_kind_of(const struct stat& st) {
  if (S_ISREG(st.st_mode)) return FileKind::kRegular;
  if (S_ISDIR(st.st_mode)) return FileKind::kDirectory;
  if (S_ISLNK(st.st_mode)) return FileKind::kSymlink;
  if (S_ISCHR(st.st_mode)) return FileKind::kCharDevice;
  if (S_ISBLK(st.st_mode)) return FileKind::kBlockDevice;
  if (S_ISFIFO(st.st_mode)) return FileKind::kFifo;
  return FileKind::kSocket;
}

FileKind file_kind(const std::string& path) {
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return FileKind::kMissing;
    throw IoError(fmt::format("cannot stat {}: {}", path, errno_text(errno)));
  }
  return file_kind_of(st);
}

const char* describe_kind(FileKind kind) {
  switch (kind) {
    case FileKind::kMissing:
      return "missing";
    case FileKind::kRegular:
      return "a regular file";
    case FileKind::kDirectory:
      return "a directory";
    case FileKind::kSymlink:
      return "a symbolic link";
    case FileKind::kCharDevice:
      return "a character device";
    case FileKind::kBlockDevice:
      return "a block device";
    case FileKind::kFifo:
      return "a FIFO";
    case FileKind::kSocket:
      return "a socket";
  }
  return "a special file";
}

size_t FdSource::read(MutableByteView out) {
  while (true) {
    ssize_t n = ::read(fd_, out.data(), out.size());
    if (n >= 0) {
      bytes_read_ += static_cast<uint64_t>(n);
      return static_cast<size_t>(n);
    }
    if (errno == EINTR) continue;
    throw IoError(fmt::format("read error at byte {}: {}", bytes_read_, errno_text(errno)));
  }
}

void FdSink::write(ByteView bytes) {
  const uint8_t* p = bytes.data();
  size_t left = bytes.size();
  while (left > 0) {
    ssize_t n = ::write(fd_, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw IoError(fmt::format("cannot write {}: {}", name_, errno_text(errno)));
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
}

FdRandomAccessSource::FdRandomAccessSource(int fd, std::string name)
    : fd_(fd), name_(std::move(name)) {
  struct stat st {};
  if (fstat(fd_, &st) != 0) {
    throw IoError(fmt::format("cannot stat {}: {}", name_, errno_text(errno)));
  }
  if (!S_ISREG(st.st_mode)) {
    throw UsageError("needs a regular file to seek in (not a pipe or terminal)");
  }
  size_ = static_cast<uint64_t>(st.st_size);
}

void FdRandomAccessSource::read_at(uint64_t offset, MutableByteView out) const {
  if (offset > size_ || out.size() > size_ - offset) {
    throw CorruptInput(
        fmt::format("read of {} bytes at offset {} is past the end of the {}-byte "
                    "archive",
                    out.size(), offset, size_));
  }
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = pread(fd_, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw IoError(fmt::format("read error at offset {}: {}", offset + done, errno_text(errno)));
    }
    if (n == 0) {
      throw IoError(fmt::format("the file shrank while being read (offset {})", offset + done));
    }
    done += static_cast<size_t>(n);
  }
}

InputFile::InputFile(const std::string& path, InputPolicy policy) {
  if (path == "-") {
    fd_ = STDIN_FILENO;
    is_stdin_ = true;
    name_ = "(stdin)";
  } else {
    name_ = path;
    FileKind kind = file_kind(path);
    via_symlink_ = kind == FileKind::kSymlink;
    if (via_symlink_ && policy.refuse_symlinks && !policy.force) {
      throw UsageError("is a symbolic link -- ignored (use -f to follow it)");
    }
    // A FIFO's open waits for a writer, as `cat` does.
    fd_ = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd_ < 0) throw IoError(fmt::format("cannot open: {}", errno_text(errno)));
  }
  if (fstat(fd_, &stat_) != 0) {
    int err = errno;
    if (!is_stdin_) close(fd_);
    throw IoError(fmt::format("cannot stat: {}", errno_text(err)));
  }
  if (is_stdin_) return;
  FileKind kind = file_kind_of(stat_);
  if (kind == FileKind::kDirectory) {
    close(fd_);
    throw UsageError("is a directory -- ignored (use -r to process the files in it)");
  }
  if ((kind == FileKind::kCharDevice || kind == FileKind::kBlockDevice ||
       kind == FileKind::kSocket) &&
      !policy.force) {
    close(fd_);
    throw UsageError(
        fmt::format("is {}, not a regular file -- ignored (use -f to read it, or redirect it to "
                    "standard input)",
                    describe_kind(kind)));
  }
}

InputFile::~InputFile() {
  if (!is_stdin_ && fd_ >= 0) close(fd_);
}

uint64_t InputFile::size_hint() const {
  return S_ISREG(stat_.st_mode) ? static_cast<uint64_t>(stat_.st_size) : 0;
}

bool names_stdout(const std::string& path) {
  return path == "-" || path == "/dev/stdout" || path == "/dev/fd/1" || path == "/proc/self/fd/1";
}

std::unique_ptr<Output> open_output(const std::string& path, bool force, mode_t mode) {
  FileKind kind = file_kind(path);
  if (kind == FileKind::kSymlink) {
    // What the link points to: a device or FIFO is written into (nothing is
    // replaced); anything else would be replaced through the link.
    struct stat target {};
    FileKind target_kind =
        stat(path.c_str(), &target) == 0 ? file_kind_of(target) : FileKind::kMissing;
    if (target_kind == FileKind::kCharDevice || target_kind == FileKind::kFifo ||
        (target_kind == FileKind::kBlockDevice && force)) {
      return std::make_unique<InPlaceFile>(path);
    }
    if (!force) {
      throw UsageError(fmt::format(
          "{} is a symbolic link; lmz does not write through it (use -f to replace the link "
          "itself; the file it points to is never touched)",
          path));
    }
    return std::make_unique<ReplacingFile>(path, true, mode);
  }
  switch (kind) {
    case FileKind::kMissing:
      return std::make_unique<ReplacingFile>(path, false, mode);
    case FileKind::kRegular:
      if (!force) throw UsageError(fmt::format("{} already exists; use -f to overwrite it", path));
      return std::make_unique<ReplacingFile>(path, true, mode);
    case FileKind::kDirectory:
      throw UsageError(fmt::format("{} is a directory", path));
    case FileKind::kCharDevice:
    case FileKind::kFifo:
      return std::make_unique<InPlaceFile>(path);
    case FileKind::kBlockDevice:
      if (!force) {
        throw UsageError(fmt::format(
            "{} is a block device; use -f to write into it (it is never replaced)", path));
      }
      return std::make_unique<InPlaceFile>(path);
    case FileKind::kSocket:
    case FileKind::kSymlink:
      break;
  }
  throw UsageError(fmt::format("{} is {}; lmz cannot write there", path, describe_kind(kind)));
}

bool same_file(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

bool remove_input(const std::string& path, const InputFile& input) {
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0) {
    throw IoError(fmt::format("cannot remove {}: {}", path, errno_text(errno)));
  }
  FileKind kind = file_kind_of(st);
  if (kind == FileKind::kSymlink && input.via_symlink()) {
    // -f followed the link for reading; the link is what goes.
  } else if (kind == FileKind::kRegular && file_kind_of(input.stat()) == FileKind::kRegular) {
    if (!same_file(st, input.stat())) {
      throw IoError(fmt::format("not removing {}: it was replaced while lmz read it", path));
    }
  } else {
    return false;
  }
  if (unlink(path.c_str()) != 0) {
    throw IoError(fmt::format("cannot remove {}: {}", path, errno_text(errno)));
  }
  return true;
}

int remove_stale_temp_files(const std::string& path, int64_t min_age_seconds) {
  const std::string dir = directory_of(path);
  const std::string base = base_name_of(path);
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return 0;
  std::vector<std::string> stale;
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  while (struct dirent* entry = readdir(d)) {
    std::string name = entry->d_name;
    if (!is_temp_name_for(name, base)) continue;
    struct stat st {};
    if (fstatat(dirfd(d), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (!S_ISREG(st.st_mode) || now - static_cast<int64_t>(st.st_mtime) < min_age_seconds) {
      continue;
    }
    // A running lmz holds a lock on its temporary file.
    int fd = openat(dirfd(d), name.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0) continue;
    bool free = flock(fd, LOCK_EX | LOCK_NB) == 0;
    close(fd);
    if (free) stale.push_back(name);
  }
  int removed = 0;
  for (const std::string& name : stale) {
    if (unlinkat(dirfd(d), name.c_str(), 0) == 0) ++removed;
  }
  closedir(d);
  return removed;
}

}  // namespace lmz::cli
