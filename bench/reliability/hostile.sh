#!/bin/sh
# Longer run of the hostile-client load (tests/reliability/hostile_load.cc):
# misbehaving connections against a real lmzd while well-behaved clients keep
# compressing and decompressing; prints a table (throughput alone and under
# attack, the daemon's peak memory and descriptors). Loopback Unix socket
# only; stops by itself. Exits non-zero if a well-behaved round trip failed,
# the daemon misreacted, leaked, or did not stop cleanly.
#
#   bench/reliability/hostile.sh [BUILD_DIR] [-- lmz_hostile options]
#   e.g. bench/reliability/hostile.sh build-rel --hostile 10000 --threads 32 --good 4
set -eu
here=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$here/build-rel}
[ $# -gt 0 ] && shift
bin=$build/tests/reliability/lmz_hostile
if [ ! -x "$bin" ]; then
  echo "hostile.sh: $bin not found; build it: ninja -C $build lmz_hostile lmzd" >&2
  exit 2
fi
if [ $# -eq 0 ]; then
  set -- --hostile 5000 --threads 32 --good 4 --baseline 15
fi
echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $(uname -n), $(nproc) cores: lmz_hostile $*"
exec "$bin" "$@"
