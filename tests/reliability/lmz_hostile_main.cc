// lmz_hostile: the hostile-client load of tests/reliability as a program, for
// longer runs (bench/reliability/hostile.sh). Prints a table; exits 1 when a
// well-behaved round trip failed, the daemon misreacted, leaked or died.
//   lmz_hostile [--hostile N] [--threads N] [--good N] [--baseline S]
//               [--input-kib N] [--idle-ms N] [-- LMZD-ARGS...]
#include <cstdio>
#include <cstdlib>
#include <string>

#include "tests/reliability/hostile_load.h"

int main(int argc, char** argv) {
  lmz::test::HostileConfig cfg;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> long {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "lmz_hostile: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return std::strtol(argv[++i], nullptr, 10);
    };
    if (a == "--hostile") {
      cfg.hostile_connections = static_cast<int>(next());
    } else if (a == "--threads") {
      cfg.hostile_threads = static_cast<int>(next());
    } else if (a == "--good") {
      cfg.good_clients = static_cast<int>(next());
    } else if (a == "--baseline") {
      cfg.baseline_seconds = static_cast<double>(next());
    } else if (a == "--input-kib") {
      cfg.good_input_bytes = static_cast<size_t>(next()) << 10;
    } else if (a == "--idle-ms") {
      cfg.idle_timeout_ms = static_cast<uint32_t>(next());
    } else if (a == "--") {
      for (++i; i < argc; ++i) cfg.lmzd_args.push_back(argv[i]);
    } else {
      std::fprintf(stderr, "lmz_hostile: unknown argument %s\n", a.c_str());
      return 2;
    }
  }
  lmz::test::HostileReport r = lmz::test::run_hostile_load(cfg);
  std::printf("%s", lmz::test::format_report(cfg, r).c_str());
  bool ok = r.hostile_done == cfg.hostile_connections && r.hostile_unexpected == 0 &&
            r.good_failures == 0 && r.alive_after && r.connections_after == 1 &&
            r.fds_after <= r.fds_before + 1 && r.exited_zero_on_sigterm;
  return ok ? 0 : 1;
}
