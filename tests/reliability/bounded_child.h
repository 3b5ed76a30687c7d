// Runs a piece of code in a forked child whose address space is limited, and
// measures how much its peak resident memory grew. The memory-bound tests use
// it to show that a reader fed a lying length fails cleanly without
// allocating what the length claims: an allocation beyond the headroom fails
// (std::bad_alloc) instead of passing unnoticed, and a smaller one shows up
// as VmHWM growth.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <functional>
#include <string>

namespace lmz::test {

struct ChildOutcome {
  enum Kind { kThrewExpected, kReturned, kBadAlloc, kOtherException, kCrashed } kind = kCrashed;
  std::string message;       // what() of the exception, or how the child died
  long hwm_growth_kib = -1;  // VmHWM after minus VmRSS before; -1 when unknown
};

// Forks; the child limits its address space to its current size plus
// `headroom_bytes`, resets its VmHWM (/proc/self/clear_refs), runs `body`
// and reports. `body` is expected to throw an exception derived from
// `Expected` (checked with the `is_expected` predicate).
ChildOutcome run_bounded(const std::function<void()>& body,
                         const std::function<bool(const std::exception&)>& is_expected,
                         size_t headroom_bytes);

// Text for test messages.
std::string describe(const ChildOutcome& outcome);

// Peak resident memory (VmHWM) and current resident memory (VmRSS) of a
// process, in KiB, from /proc/PID/status; -1 when unreadable.
long vm_hwm_kib(pid_t pid);
long vm_rss_kib(pid_t pid);
// Resets a process's VmHWM to its current RSS (/proc/PID/clear_refs).
bool reset_hwm(pid_t pid);
// Open descriptors of a process (entries of /proc/PID/fd); -1 when unreadable.
long open_fds(pid_t pid);

}  // namespace lmz::test
