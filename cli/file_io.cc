#include "cli/file_io.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
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

}  // namespace

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

InputFile::InputFile(const std::string& path) {
  if (path == "-") {
    fd_ = STDIN_FILENO;
    is_stdin_ = true;
    name_ = "(stdin)";
  } else {
    name_ = path;
    fd_ = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) throw IoError(fmt::format("cannot open: {}", errno_text(errno)));
  }
  if (fstat(fd_, &stat_) != 0) {
    int err = errno;
    if (!is_stdin_) close(fd_);
    throw IoError(fmt::format("cannot stat: {}", errno_text(err)));
  }
  if (S_ISDIR(stat_.st_mode)) {
    if (!is_stdin_) close(fd_);
    throw UsageError("is a directory -- ignored");
  }
}

InputFile::~InputFile() {
  if (!is_stdin_ && fd_ >= 0) close(fd_);
}

uint64_t InputFile::size_hint() const {
  return S_ISREG(stat_.st_mode) ? static_cast<uint64_t>(stat_.st_size) : 0;
}

OutputFile::OutputFile(std::string path, bool overwrite, mode_t mode)
    : path_(std::move(path)), overwrite_(overwrite) {
  struct stat st {};
  if (!overwrite_ && lstat(path_.c_str(), &st) == 0) {
    throw UsageError(fmt::format("{} already exists; use -f to overwrite it", path_));
  }
  if (overwrite_ && stat(path_.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    throw UsageError(fmt::format("{} is a directory", path_));
  }
  std::string dir = directory_of(path_);
  std::string name = base_name_of(path_);
  const std::string suffix = ".lmz-tmp";
  std::string pattern = fmt::format("{}/.{}.XXXXXX{}", dir, name, suffix);
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  fd_ = mkostemps(buffer.data(), static_cast<int>(suffix.size()), O_CLOEXEC);
  if (fd_ < 0) {
    throw IoError(fmt::format("cannot create a file in {}: {}", dir, errno_text(errno)));
  }
  temp_path_ = buffer.data();
  register_temp_file(temp_path_.c_str());
  // mkstemp creates the file 0600; give it the source's permissions, less
  // the umask, as a plain open() would.
  mode_t mask = umask(0);
  umask(mask);
  if (fchmod(fd_, mode & 07777 & ~mask) != 0) {
    int err = errno;
    discard();
    throw IoError(fmt::format("cannot set the permissions of {}: {}", temp_path_, errno_text(err)));
  }
}

OutputFile::~OutputFile() {
  if (!committed_) discard();
}

void OutputFile::set_mtime(const struct timespec& mtime) {
  struct timespec times[2];
  times[0].tv_sec = 0;
  times[0].tv_nsec = UTIME_OMIT;
  times[1] = mtime;
  futimens(fd_, times);  // best effort, like zstd: the data matters, not the time
}

void OutputFile::commit() {
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

void OutputFile::discard() noexcept {
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

bool same_file(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

void remove_file(const std::string& path) {
  if (unlink(path.c_str()) != 0) {
    throw IoError(fmt::format("cannot remove {}: {}", path, errno_text(errno)));
  }
}

}  // namespace lmz::cli
