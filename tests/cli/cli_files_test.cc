// The rule by which lmz treats what a path names (cli/file_io.h): outputs
// that are devices, FIFOs or symbolic links, inputs that are links, FIFOs
// or devices, --rm, -r, and the temporary files a SIGKILL leaves behind.
// Each case runs the real lmz.
#define BOOST_TEST_MODULE cli_files_test
#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <csignal>
#include <thread>

#include "harness.h"

namespace lmz::cli_test {
namespace {

namespace fs = std::filesystem;

bool path_is_char_device(const fs::path& p) {
  struct stat st {};
  return lstat(p.c_str(), &st) == 0 && S_ISCHR(st.st_mode);
}
bool path_is_fifo(const fs::path& p) {
  struct stat st {};
  return lstat(p.c_str(), &st) == 0 && S_ISFIFO(st.st_mode);
}
bool path_is_symlink(const fs::path& p) {
  struct stat st {};
  return lstat(p.c_str(), &st) == 0 && S_ISLNK(st.st_mode);
}

// A character device like /dev/null (1, 3) in `dir`, when this process may
// make one (root); else empty, and the caller uses /dev/null itself where
// that is safe.
fs::path make_null_device(const TempDir& dir) {
  fs::path p = dir / "mynull";
  if (mknod(p.c_str(), S_IFCHR | 0666, makedev(1, 3)) != 0) return {};
  return p;
}

std::vector<std::string> order2(std::vector<std::string> args) {
  args.insert(args.begin(), {"--model", "order2", "--local"});
  return args;
}

BOOST_AUTO_TEST_CASE(output_to_a_character_device_writes_into_it) {
  TempDir dir;
  write_file(dir / "a.log", log_text(20'000, 1));
  fs::path dev = make_null_device(dir);
  if (dev.empty()) {
    BOOST_TEST_MESSAGE("not root: mknod impossible; the device case runs on /dev/null only");
  } else {
    // With and without -f: the device stays a device (it used to become a
    // regular file holding the archive with -f, and was refused without).
    for (const char* force : {"", "-f"}) {
      std::vector<std::string> args = order2({"-o", "mynull", "a.log"});
      if (*force) args.insert(args.begin(), force);
      RunResult r = run_lmz(args, in_dir(dir.path()));
      BOOST_TEST(r.exit_code == 0, force << ": " << describe(r));
      BOOST_TEST(path_is_char_device(dev), force << ": the device was replaced");
    }
  }
  // -o /dev/null needs no -f, and leaves /dev/null a device.
  RunResult null_out = run_lmz(order2({"-o", "/dev/null", "a.log"}), in_dir(dir.path()));
  BOOST_TEST(null_out.exit_code == 0, describe(null_out));
  BOOST_TEST(path_is_char_device("/dev/null"));
  // Decompression too.
  BOOST_REQUIRE(run_lmz(order2({"a.log"}), in_dir(dir.path())).exit_code == 0);
  RunResult d = run_lmz({"-d", "-o", "/dev/null", "a.log.lmz"}, in_dir(dir.path()));
  BOOST_TEST(d.exit_code == 0, describe(d));
  // No temporary file was left anywhere.
  for (const std::string& name : dir.list()) BOOST_TEST(name.find("lmz-tmp") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(output_to_a_fifo_writes_into_it) {
  TempDir dir;
  Blob data = english_text(50'000, 2);
  write_file(dir / "a.txt", data);
  BOOST_REQUIRE(mkfifo((dir / "pipe").c_str(), 0600) == 0);
  for (const char* force : {"", "-f"}) {
    std::vector<std::string> args = order2({"-o", "pipe", "a.txt"});
    if (*force) args.insert(args.begin(), force);
    LmzProcess lmz(args, in_dir(dir.path()));
    Blob archive = read_fifo(dir / "pipe");
    RunResult r = lmz.wait();
    BOOST_TEST(r.exit_code == 0, force << ": " << describe(r));
    BOOST_TEST(path_is_fifo(dir / "pipe"), force << ": the FIFO was replaced");
    RunResult back = run_lmz({"-dc"}, with_stdin(archive));
    BOOST_TEST(back.exit_code == 0, describe(back));
    BOOST_TEST((back.out == data));
  }
}

BOOST_AUTO_TEST_CASE(symlink_destinations_are_never_replaced_silently) {
  TempDir dir;
  write_file(dir / "a.txt", english_text(5000, 3));
  write_file(dir / "target", "precious");
  fs::create_symlink("target", dir / "link");
  // Without -f: refused, link and target untouched.
  RunResult r = run_lmz(order2({"-o", "link", "a.txt"}), in_dir(dir.path()));
  BOOST_TEST(r.exit_code == 1, describe(r));
  BOOST_TEST(r.err.find("symbolic link") != std::string::npos, r.err);
  BOOST_TEST(path_is_symlink(dir / "link"));
  BOOST_TEST(read_file(dir / "target") == "precious");
  // A dangling link too.
  fs::create_symlink("nowhere", dir / "dangling");
  RunResult dangling = run_lmz(order2({"-o", "dangling", "a.txt"}), in_dir(dir.path()));
  BOOST_TEST(dangling.exit_code == 1, describe(dangling));
  BOOST_TEST(!fs::exists(dir / "nowhere"));
  // With -f: the link itself is replaced by the archive, never its target.
  RunResult f = run_lmz(order2({"-f", "-o", "link", "a.txt"}), in_dir(dir.path()));
  BOOST_TEST(f.exit_code == 0, describe(f));
  BOOST_TEST(!path_is_symlink(dir / "link"));
  BOOST_TEST(read_file(dir / "target") == "precious");
  RunResult t = run_lmz({"-t", "link"}, in_dir(dir.path()));
  BOOST_TEST(t.exit_code == 0, describe(t));
  // A link to a device or FIFO is written into: nothing is replaced.
  fs::create_symlink("/dev/null", dir / "null-link");
  RunResult n = run_lmz(order2({"-o", "null-link", "a.txt"}), in_dir(dir.path()));
  BOOST_TEST(n.exit_code == 0, describe(n));
  BOOST_TEST(path_is_symlink(dir / "null-link"));
  BOOST_TEST(path_is_char_device("/dev/null"));
}

BOOST_AUTO_TEST_CASE(symlink_inputs_are_skipped_unless_forced) {
  TempDir dir;
  Blob data = english_text(5000, 4);
  write_file(dir / "real.log", data);
  fs::create_symlink("real.log", dir / "link.log");
  // `lmz --rm link.log` used to follow the link and then remove it.
  RunResult r = run_lmz(order2({"--rm", "link.log"}), in_dir(dir.path()));
  BOOST_TEST(r.exit_code == 1, describe(r));
  BOOST_TEST(r.err.find("symbolic link") != std::string::npos, r.err);
  BOOST_TEST(path_is_symlink(dir / "link.log"));
  BOOST_TEST(!fs::exists(dir / "link.log.lmz"));
  BOOST_TEST((read_file(dir / "real.log") == data));
  // With -f the link is followed for reading, and --rm removes the link,
  // never the file it points to.
  RunResult f = run_lmz(order2({"-f", "--rm", "link.log"}), in_dir(dir.path()));
  BOOST_TEST(f.exit_code == 0, describe(f));
  BOOST_TEST(!path_is_symlink(dir / "link.log"));
  BOOST_TEST((read_file(dir / "real.log") == data));
  RunResult back = run_lmz({"-dc", "link.log.lmz"}, in_dir(dir.path()));
  BOOST_TEST((back.out == data));
  // Reading-only modes follow links: -t, -l.
  fs::create_symlink("link.log.lmz", dir / "archive-link.lmz");
  BOOST_TEST(run_lmz({"-t", "archive-link.lmz"}, in_dir(dir.path())).exit_code == 0);
  BOOST_TEST(run_lmz({"-l", "archive-link.lmz"}, in_dir(dir.path())).exit_code == 0);
}

BOOST_AUTO_TEST_CASE(rm_removes_only_regular_files) {
  TempDir dir;
  // A FIFO input is read and kept (it used to be unlinked).
  BOOST_REQUIRE(mkfifo((dir / "fifo").c_str(), 0600) == 0);
  Blob data = log_text(10'000, 5);
  LmzProcess lmz(order2({"--rm", "-o", "out.lmz", "fifo"}), in_dir(dir.path()));
  {
    int fd = open((dir / "fifo").c_str(), O_WRONLY);
    BOOST_REQUIRE(fd >= 0);
    BOOST_REQUIRE(write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size()));
    close(fd);
  }
  RunResult r = lmz.wait();
  BOOST_TEST(r.exit_code == 0, describe(r));
  BOOST_TEST(path_is_fifo(dir / "fifo"), "--rm removed the FIFO");
  BOOST_TEST(r.err.find("kept") != std::string::npos, r.err);
  BOOST_TEST((run_lmz({"-dc", "out.lmz"}, in_dir(dir.path())).out == data));
  // A device is not read without -f; with -f it is read and kept.
  fs::path dev = make_null_device(dir);
  if (!dev.empty()) {
    RunResult refused = run_lmz(order2({"--rm", "-o", "dev.lmz", "mynull"}), in_dir(dir.path()));
    BOOST_TEST(refused.exit_code == 1, describe(refused));
    BOOST_TEST(refused.err.find("not a regular file") != std::string::npos, refused.err);
    RunResult forced =
        run_lmz(order2({"-f", "--rm", "-o", "dev.lmz", "mynull"}), in_dir(dir.path()));
    BOOST_TEST(forced.exit_code == 0, describe(forced));
    BOOST_TEST(path_is_char_device(dev), "--rm removed the device");
  } else {
    RunResult refused = run_lmz(order2({"--rm", "-o", "dev.lmz", "/dev/null"}), in_dir(dir.path()));
    BOOST_TEST(refused.exit_code == 1, describe(refused));
  }
}

BOOST_AUTO_TEST_CASE(recursive_takes_the_files_under_directories) {
  TempDir dir;
  fs::create_directories(dir / "logs/sub");
  write_file(dir / "logs/a.log", log_text(3000, 6));
  write_file(dir / "logs/sub/b.txt", english_text(3000, 7));
  write_file(dir / "logs/old.lmz", "an archive already");
  fs::create_symlink("a.log", dir / "logs/link.log");
  // Without -r a directory is refused and named.
  RunResult plain = run_lmz(order2({"logs"}), in_dir(dir.path()));
  BOOST_TEST(plain.exit_code == 1, describe(plain));
  BOOST_TEST(plain.err.find("-r") != std::string::npos, plain.err);
  RunResult r = run_lmz(order2({"-r", "--rm", "logs"}), in_dir(dir.path()));
  BOOST_TEST(r.exit_code == 0, describe(r));
  BOOST_TEST(fs::exists(dir / "logs/a.log.lmz"));
  BOOST_TEST(fs::exists(dir / "logs/sub/b.txt.lmz"));
  BOOST_TEST(!fs::exists(dir / "logs/a.log"));
  BOOST_TEST(!fs::exists(dir / "logs/old.lmz.lmz"));
  BOOST_TEST(!fs::exists(dir / "logs/link.log.lmz"));  // links skipped
  BOOST_TEST(path_is_symlink(dir / "logs/link.log"));
  RunResult d = run_lmz({"-d", "-r", "--rm", "logs"}, in_dir(dir.path()));
  BOOST_TEST(d.exit_code == 2, describe(d));  // old.lmz is no archive: named, others done
  BOOST_TEST(d.err.find("old.lmz") != std::string::npos, d.err);
  BOOST_TEST((read_file(dir / "logs/a.log") == log_text(3000, 6)));
  BOOST_TEST((read_file(dir / "logs/sub/b.txt") == english_text(3000, 7)));
}

// Names of lmz's temporary files in `dir`.
std::vector<std::string> temp_files(const TempDir& dir) {
  std::vector<std::string> out;
  for (const std::string& name : dir.list()) {
    if (name.find(".lmz-tmp") != std::string::npos) out.push_back(name);
  }
  return out;
}

void make_old(const fs::path& p) {
  struct timespec times[2];
  times[0].tv_sec = times[1].tv_sec = time(nullptr) - 2 * 86400;
  times[0].tv_nsec = times[1].tv_nsec = 0;
  BOOST_REQUIRE(utimensat(AT_FDCWD, p.c_str(), times, 0) == 0);
}

BOOST_AUTO_TEST_CASE(stale_temporary_files_of_a_killed_lmz_are_removed) {
  TempDir dir;
  Blob data = english_text(30'000, 8);
  write_file(dir / "a.txt", data);
  // A real SIGKILL: lmz reads a FIFO nobody closes, so it is still writing
  // when it dies, and its temporary file stays behind.
  BOOST_REQUIRE(mkfifo((dir / "in").c_str(), 0600) == 0);
  {
    LmzProcess lmz(order2({"-o", "a.txt.lmz", "in"}), in_dir(dir.path()));
    int fd = open((dir / "in").c_str(), O_WRONLY);
    BOOST_REQUIRE(fd >= 0);
    BOOST_REQUIRE(write(fd, "some", 4) == 4);
    // The temporary file exists once lmz opened its output (it opens it
    // before reading); wait for that event.
    for (int i = 0; i < 30000 && temp_files(dir).empty(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    BOOST_REQUIRE(temp_files(dir).size() == 1u);
    kill(lmz.pid(), SIGKILL);
    lmz.wait();
    close(fd);
  }
  std::vector<std::string> left = temp_files(dir);
  BOOST_REQUIRE(left.size() == 1u);
  BOOST_TEST(left[0].rfind(".a.txt.lmz.", 0) == 0, left[0]);
  // A recent one may belong to a lmz still running: kept. Old ones are
  // removed when lmz next writes that name, unless a lmz holds their lock.
  write_file(dir / ".a.txt.lmz.RECENT.lmz-tmp", "x");
  write_file(dir / ".a.txt.lmz.LOCKED.lmz-tmp", "x");
  write_file(dir / ".other.lmz.OLDONE.lmz-tmp", "x");  // another name: not ours to judge
  make_old(dir / left[0]);
  make_old(dir / ".a.txt.lmz.LOCKED.lmz-tmp");
  make_old(dir / ".other.lmz.OLDONE.lmz-tmp");
  int locked = open((dir / ".a.txt.lmz.LOCKED.lmz-tmp").c_str(), O_RDONLY);
  BOOST_REQUIRE(locked >= 0);
  BOOST_REQUIRE(flock(locked, LOCK_EX) == 0);
  RunResult r = run_lmz(order2({"a.txt"}), in_dir(dir.path()));
  BOOST_TEST(r.exit_code == 0, describe(r));
  close(locked);
  BOOST_TEST(temp_files(dir) ==
             (std::vector<std::string>{".a.txt.lmz.LOCKED.lmz-tmp", ".a.txt.lmz.RECENT.lmz-tmp",
                                       ".other.lmz.OLDONE.lmz-tmp"}));
}

}  // namespace
}  // namespace lmz::cli_test
