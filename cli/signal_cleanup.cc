#include "cli/signal_cleanup.h"

#include <unistd.h>

#include <csignal>
#include <cstring>

namespace lmz::cli {
namespace {

// Written only with the signals blocked, read only by the handler.
char g_temp_path[4096];
volatile std::sig_atomic_t g_temp_registered = 0;

constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};

extern "C" void on_fatal_signal(int sig) {
  if (g_temp_registered) unlink(g_temp_path);
  std::signal(sig, SIG_DFL);
  raise(sig);
}

// Blocks the handled signals while the registration changes, so the handler
// never sees a half-written path.
class SignalBlock {
 public:
  SignalBlock() {
    sigset_t set;
    sigemptyset(&set);
    for (int sig : kSignals) sigaddset(&set, sig);
    sigprocmask(SIG_BLOCK, &set, &old_);
  }
  ~SignalBlock() { sigprocmask(SIG_SETMASK, &old_, nullptr); }

 private:
  sigset_t old_;
};

}  // namespace

void install_signal_cleanup() {
  for (int sig : kSignals) {
    struct sigaction action {};
    action.sa_handler = on_fatal_signal;
    sigemptyset(&action.sa_mask);
    sigaction(sig, &action, nullptr);
  }
}

void register_temp_file(const char* path) {
  SignalBlock block;
  size_t length = std::strlen(path);
  if (length >= sizeof(g_temp_path)) {
    g_temp_registered = 0;
    return;
  }
  std::memcpy(g_temp_path, path, length + 1);
  g_temp_registered = 1;
}

void unregister_temp_file() {
  SignalBlock block;
  g_temp_registered = 0;
}

}  // namespace lmz::cli
