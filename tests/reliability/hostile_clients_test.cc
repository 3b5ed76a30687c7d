// lmzd under hostile clients (issue 7 item 6), short configuration: 1,000
// misbehaving connections against a real lmzd while four well-behaved
// clients keep compressing and decompressing. Asserts that every
// well-behaved round trip is correct, that the daemon reacts to every
// misbehaving connection as the protocol says, that it leaks no connection
// or descriptor, that its memory stays bounded, and that it still serves
// (and stops cleanly) afterwards. bench/reliability/hostile.sh runs longer.
#define BOOST_TEST_MODULE hostile_clients
#include <boost/test/unit_test.hpp>

#include <cstdio>

#include "tests/reliability/hostile_load.h"

BOOST_AUTO_TEST_CASE(lmzd_serves_well_behaved_clients_through_1000_hostile_connections) {
  lmz::test::HostileConfig cfg;
  cfg.hostile_connections = 1000;
  cfg.baseline_seconds = 6;
  lmz::test::HostileReport r = lmz::test::run_hostile_load(cfg);
  std::printf("%s", lmz::test::format_report(cfg, r).c_str());
  BOOST_TEST(r.hostile_done == 1000);
  BOOST_TEST(r.hostile_unexpected == 0, r.first_unexpected);
  BOOST_TEST(r.good_failures == 0u, r.first_failure);
  BOOST_TEST(r.baseline_round_trips > 0u);
  BOOST_TEST(r.attack_round_trips >= 4u);  // every well-behaved client kept going
  BOOST_TEST(r.alive_after);
  BOOST_TEST(r.connections_after == 1);
  BOOST_TEST(r.fds_after <= r.fds_before + 1);  // no descriptor leak
  BOOST_TEST(r.hwm_kib < 1024 * 1024);          // far below a GiB
  BOOST_TEST(r.exited_zero_on_sigterm);
}
