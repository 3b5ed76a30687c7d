// Crash safety (issue 7 item 5): the real `lmz` binary is killed with SIGKILL
// at random moments while it compresses or decompresses a few MB, with the
// default output name, -k, --rm and -o. After every kill the destination
// name either does not exist or holds the complete result (byte-identical to
// the archive / data of an uninterrupted run), and the source exists unless
// the destination is complete and --rm was given. Temporary files
// (".NAME.XXXXXX.lmz-tmp") are the only other debris a SIGKILL may leave.
#define BOOST_TEST_MODULE crash_safety
#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const fs::path& p, const std::string& data) {
  std::ofstream(p, std::ios::binary).write(data.data(), static_cast<std::streamsize>(data.size()));
}

// Text (neural blocks with the stand-in model), then random bytes (stored
// blocks), then text again: a few MB that lmz gets through in a fraction of
// a second, so that kills land in every phase, the commit included.
std::string make_input() {
  std::mt19937_64 rng(7);
  static const char* const kWords[] = {"lmz",  "window", "block", "archive", "model",
                                       "byte", "crash",  "kill",  "rename",  "sync"};
  std::string text;
  while (text.size() < 8000) {
    text += kWords[rng() % 10];
    text += rng() % 8 == 0 ? ".\n" : " ";
  }
  std::string data = text;
  for (int i = 0; i < 3000000; ++i) data.push_back(static_cast<char>(rng()));
  return data + text;
}

// Starts lmz with `args` in `dir` (stdin, stdout, stderr on /dev/null).
pid_t spawn_lmz(const fs::path& dir, const std::vector<std::string>& args) {
  std::vector<std::string> all = {LMZ_CLI_PATH};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    if (::chdir(dir.c_str()) != 0) ::_exit(126);
    int null = ::open("/dev/null", O_RDWR);
    ::dup2(null, 0);
    ::dup2(null, 1);
    ::dup2(null, 2);
    ::setenv("LMZ_SOCKET", "/nonexistent/lmzd.sock", 1);  // always in-process
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return pid;
}

// Runs lmz to completion; returns its exit status.
int run_lmz(const fs::path& dir, const std::vector<std::string>& args) {
  int status = 0;
  ::waitpid(spawn_lmz(dir, args), &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

struct Scenario {
  std::string name;
  bool compress;
  std::vector<std::string> args;  // the input name is appended
  std::string source;             // file the command reads
  std::string destination;        // file it must create
  bool removes_source;
};

struct Counts {
  int runs = 0;
  int killed = 0;              // SIGKILL arrived while lmz ran
  int killed_with_output = 0;  // ... and the destination was already complete
  int completed = 0;           // lmz had exited before the kill
  int temp_leftovers = 0;      // temporary files a kill left behind
  int source_removed = 0;      // --rm runs whose source was gone (output complete)
};

}  // namespace

BOOST_AUTO_TEST_CASE(sigkill_at_random_moments_never_leaves_a_partial_output) {
  fs::path root = fs::temp_directory_path() / ("lmz-crash-" + std::to_string(::getpid()));
  fs::create_directories(root);
  const std::string data = make_input();
  const fs::path ref = root / "ref";
  fs::create_directories(ref);
  write_file(ref / "data", data);
  const std::vector<std::string> codec = {"--model", "order2", "--zstd-level", "1", "-q"};
  std::vector<std::string> args = codec;
  args.push_back("data");
  BOOST_TEST_REQUIRE(run_lmz(ref, args) == 0);
  const std::string archive = read_file(ref / "data.lmz");
  BOOST_TEST_REQUIRE(archive.size() > 3000000u);

  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> a = codec;
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  };
  const std::vector<Scenario> scenarios = {
      {"compress", true, with({}), "data", "data.lmz", false},
      {"compress -k", true, with({"-k"}), "data", "data.lmz", false},
      {"compress --rm", true, with({"--rm"}), "data", "data.lmz", true},
      {"compress -o", true, with({"-o", "out.lmz"}), "data", "out.lmz", false},
      {"compress -o --rm", true, with({"--rm", "-o", "out.lmz"}), "data", "out.lmz", true},
      {"decompress", false, {"-d", "-q"}, "data.lmz", "data", false},
      {"decompress -k", false, {"-d", "-q", "-k"}, "data.lmz", "data", false},
      {"decompress --rm", false, {"-d", "-q", "--rm"}, "data.lmz", "data", true},
      {"decompress -o", false, {"-d", "-q", "-o", "out"}, "data.lmz", "out", false},
  };

  // How long an uninterrupted run of each takes: kills are spread over it.
  std::vector<double> full_seconds;
  const fs::path work = root / "work";
  auto prepare = [&](const Scenario& s) {
    fs::remove_all(work);
    fs::create_directories(work);
    write_file(work / s.source, s.compress ? data : archive);
  };
  for (const Scenario& s : scenarios) {
    prepare(s);
    std::vector<std::string> a = s.args;
    a.push_back(s.source);
    auto start = Clock::now();
    BOOST_TEST_REQUIRE(run_lmz(work, a) == 0, s.name);
    full_seconds.push_back(std::chrono::duration<double>(Clock::now() - start).count());
    BOOST_TEST_REQUIRE((read_file(work / s.destination) == (s.compress ? archive : data)), s.name);
    BOOST_TEST_MESSAGE(s.name << ": " << full_seconds.back() << " s uninterrupted");
  }

  std::mt19937_64 rng(20261202);
  Counts counts;
  // A loaded machine makes every run slower; the bound only stops a run
  // that could never reach the counts.
  const auto deadline = Clock::now() + std::chrono::seconds(240);
  while ((counts.killed < 200 || counts.runs < 240) && Clock::now() < deadline) {
    size_t which = static_cast<size_t>(counts.runs) % scenarios.size();
    const Scenario& s = scenarios[which];
    prepare(s);
    std::vector<std::string> a = s.args;
    a.push_back(s.source);
    // Every other run uniform over 110% of an uninterrupted run (kills land
    // in every phase), the others near its end, where the output is synced,
    // renamed and the source removed. The estimate of a run's length follows
    // the runs that finish first (the machine's load changes it).
    double& t = full_seconds[which];
    double delay = counts.runs % 2 == 0
                       ? std::uniform_real_distribution<double>(0, 1.1 * t)(rng)
                       : std::uniform_real_distribution<double>(0.75 * t, 1.05 * t)(rng);
    auto start = Clock::now();
    pid_t pid = spawn_lmz(work, a);
    int status = 0;
    bool exited = false;
    while (std::chrono::duration<double>(Clock::now() - start).count() < delay) {
      if (::waitpid(pid, &status, WNOHANG) == pid) {
        exited = true;
        t = 0.7 * t + 0.3 * std::chrono::duration<double>(Clock::now() - start).count();
        break;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
    if (!exited) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      if (delay > t) t = 0.7 * t + 0.3 * 1.2 * delay;  // slower than thought
    }
    ++counts.runs;
    bool killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
    if (killed) {
      ++counts.killed;
    } else {
      ++counts.completed;
      BOOST_TEST_REQUIRE((WIFEXITED(status) && WEXITSTATUS(status) == 0), s.name);
    }

    const std::string& expected = s.compress ? archive : data;
    const std::string& source_bytes = s.compress ? data : archive;
    bool has_output = fs::exists(work / s.destination);
    if (has_output) {
      BOOST_TEST_REQUIRE((read_file(work / s.destination) == expected),
                         s.name << ": a partial or wrong output after a kill at " << delay
                                << " s (run " << counts.runs << ")");
      if (killed) ++counts.killed_with_output;
    }
    if (fs::exists(work / s.source)) {
      BOOST_TEST_REQUIRE((read_file(work / s.source) == source_bytes),
                         s.name << ": source changed");
    } else {
      BOOST_TEST_REQUIRE(s.removes_source, s.name << ": the source disappeared");
      BOOST_TEST_REQUIRE(has_output, s.name << ": the source was removed before the output "
                                               "was complete (kill at "
                                            << delay << " s)");
      ++counts.source_removed;
    }
    if (!killed) BOOST_TEST_REQUIRE(has_output, s.name << ": finished without its output");
    // Anything else in the directory must be a temporary file.
    for (const auto& e : fs::directory_iterator(work)) {
      std::string name = e.path().filename().string();
      if (name == s.source || name == s.destination) continue;
      bool temp =
          name.size() > 9 && name[0] == '.' && name.compare(name.size() - 8, 8, ".lmz-tmp") == 0;
      BOOST_TEST_REQUIRE(temp, s.name << ": unexpected file " << name);
      ++counts.temp_leftovers;
    }
  }
  std::printf(
      "crash safety: %d runs, %d killed by SIGKILL (%d after the output was complete), %d "
      "finished before the kill, %d --rm sources removed, %d temporary files left by kills; "
      "no partial output, no early source removal\n",
      counts.runs, counts.killed, counts.killed_with_output, counts.completed,
      counts.source_removed, counts.temp_leftovers);
  BOOST_TEST_MESSAGE("kills: " << counts.killed << " of " << counts.runs << " runs");
  BOOST_TEST(counts.killed >= 200);
  fs::remove_all(root);
}
