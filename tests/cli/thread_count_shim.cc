// Preloaded into lmz by cli_usability_test (LD_PRELOAD): counts the threads
// the process starts through pthread_create (std::thread, std::async,
// OpenMP and libtorch's pools all do) and writes the most that were alive
// at once, besides the main thread, to $LMZ_THREAD_LOG at exit. So a test
// can check -T N without watching the process while it runs.
#include <dlfcn.h>
#include <pthread.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <new>

namespace {

std::atomic<int> g_live{0};
std::atomic<int> g_most{0};

struct Start {
  void* (*routine)(void*);
  void* arg;
};

void* counted(void* raw) {
  Start start = *static_cast<Start*>(raw);
  delete static_cast<Start*>(raw);
  struct Leave {
    ~Leave() { g_live.fetch_sub(1); }
  } leave;
  return start.routine(start.arg);
}

__attribute__((destructor)) void report() {
  const char* path = std::getenv("LMZ_THREAD_LOG");
  if (path == nullptr) return;
  if (FILE* f = std::fopen(path, "w")) {
    std::fprintf(f, "%d\n", g_most.load());
    std::fclose(f);
  }
}

}  // namespace

extern "C" int pthread_create(pthread_t* thread, const pthread_attr_t* attr,
                              void* (*routine)(void*), void* arg) {
  using Create = int (*)(pthread_t*, const pthread_attr_t*, void* (*)(void*), void*);
  static Create real = reinterpret_cast<Create>(dlsym(RTLD_NEXT, "pthread_create"));
  auto* start = new (std::nothrow) Start{routine, arg};
  if (start == nullptr) return EAGAIN;
  int live = g_live.fetch_add(1) + 1;
  int most = g_most.load();
  while (live > most && !g_most.compare_exchange_weak(most, live)) {
  }
  int rc = real(thread, attr, counted, start);
  if (rc != 0) {
    g_live.fetch_sub(1);
    delete start;
  }
  return rc;
}
