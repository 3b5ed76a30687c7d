// A bounded load of misbehaving clients against a real lmzd (issue 7 item
// 6), over a loopback Unix socket, while well-behaved clients keep
// compressing and decompressing. Used by hostile_clients_test (a short run
// under CTest) and lmz_hostile (bench/reliability/hostile.sh, a longer run
// that prints a table). Everything stops by itself.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace lmz::test {

struct HostileConfig {
  int hostile_connections = 1000;       // misbehaving connections in all
  int hostile_threads = 24;             // of them at once
  int good_clients = 4;                 // well-behaved clients, one thread each
  double baseline_seconds = 8;          // well-behaved clients alone, before the attack
  size_t good_input_bytes = 24u << 10;  // input of one well-behaved round trip
  uint32_t idle_timeout_ms = 1000;      // lmzd's, so silent connections end soon
  std::vector<std::string> lmzd_args;   // more lmzd settings
};

struct HostileReport {
  // Misbehaving connections by kind, and those whose outcome was not the
  // expected one (the daemon did not close a connection it should have, or
  // did not answer a request it should have).
  std::map<std::string, int> hostile_by_kind;
  int hostile_done = 0;
  int hostile_unexpected = 0;
  std::string first_unexpected;

  // Well-behaved round trips (compress, then decompress, then compare).
  uint64_t baseline_round_trips = 0, attack_round_trips = 0;
  uint64_t baseline_bytes = 0, attack_bytes = 0;
  double baseline_seconds = 0, attack_seconds = 0;
  uint64_t good_failures = 0;
  std::string first_failure;

  // lmzd, from /proc/PID: resident memory at start, peak (VmHWM) over the
  // run, descriptors before, at most during, and after the run.
  long rss_start_kib = 0, hwm_kib = 0;
  long hwm_baseline_kib = 0;  // VmHWM at the end of the well-behaved-only phase
  long fds_before = 0, fds_peak = 0, fds_after = 0;
  long connections_after = -1;  // STATUS "connections" at the end (the asker included)
  std::string connections_total;
  bool alive_after = false;  // a round trip and STATUS worked after the attack
  bool exited_zero_on_sigterm = false;

  double baseline_throughput() const;  // raw MB/s of round trips
  double attack_throughput() const;
};

HostileReport run_hostile_load(const HostileConfig& config);

// A table of the report, for people.
std::string format_report(const HostileConfig& config, const HostileReport& report);

}  // namespace lmz::test
