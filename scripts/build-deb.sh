#!/usr/bin/env bash
# Builds the Debian packages from this tree (debian/, dpkg-buildpackage) in a
# scratch copy, runs lintian on them, and checks them installed:
#
#   scripts/build-deb.sh [OUTDIR]            build + lintian (default OUTDIR: ../lmz-debs)
#   scripts/build-deb.sh --check OUTDIR      install OUTDIR/*.deb here (dpkg -i, as
#                                            root) and check them, then purge them
#   scripts/build-deb.sh --chroot OUTDIR     the same inside a fresh bookworm chroot
#                                            made with debootstrap (needs the Debian
#                                            mirror and a few GB)
#
# The checks: lmz compresses and decompresses with the installed model,
# `man lmz` renders, `pkg-config --cflags lmz` and `find_package(lmz)` work
# (the C example builds and runs), and the Python module imports. lmzd under
# systemd cannot run in a chroot: the units are checked with
# systemd-analyze verify where it exists.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

check_installed() {
  local t
  t=$(mktemp -d)
  cd "$t"
  # Documents are compressed by dh_compress.
  zcat -f /usr/share/doc/lmz/spec/FORMAT.md* | head -c 50000 > text
  lmz -v --local text
  lmz -t text.lmz
  cmp <(lmzcat text.lmz) text
  lmz -l text.lmz | grep -q "model small"
  man lmz | grep -q -- "--threads"
  man lmzd | grep -q "socket"
  pkg-config --cflags lmz
  pkg-config --libs lmz
  cmake -S /usr/share/doc/liblmz-dev/examples/c -B build >/dev/null
  cmake --build build >/dev/null
  ./build/lmz_example small
  /usr/bin/python3 -c 'import lmz; assert lmz.decompress(lmz.compress(b"hi" * 1000, level=6)) == b"hi" * 1000; print("python3-lmz", lmz.version())'
  if command -v systemd-analyze >/dev/null; then
    systemd-analyze verify /lib/systemd/system/lmzd.socket /lib/systemd/system/lmzd.service || true
  fi
  getent group lmz >/dev/null && echo "group lmz exists"
  echo "build-deb: installed packages check: 1 passed, 0 failed"
}

case ${1:-} in
  --check)
    out=$2
    apt-get install -y "$out"/lmz_*.deb "$out"/liblmz0_*.deb "$out"/liblmz-dev_*.deb "$out"/python3-lmz_*.deb
    status=0
    bash -euo pipefail -c "$(declare -f check_installed); check_installed" || status=$?
    apt-get purge -y lmz liblmz0 liblmz-dev python3-lmz >/dev/null
    exit $status
    ;;
  --chroot)
    out=$(cd "$2" && pwd)
    chroot_dir=$(mktemp -d /var/tmp/lmz-chroot.XXXXXX)
    debootstrap --variant=minbase bookworm "$chroot_dir" http://deb.debian.org/debian
    cp "$out"/*.deb "$chroot_dir/tmp/"
    mount --bind /proc "$chroot_dir/proc"
    trap 'umount "$chroot_dir/proc"' EXIT
    chroot "$chroot_dir" sh -c 'apt-get update && apt-get install -y man-db pkg-config cmake gcc libc6-dev python3 /tmp/*.deb'
    { echo "set -euo pipefail"; declare -f check_installed; echo check_installed; } > "$chroot_dir/tmp/check.sh"
    chroot "$chroot_dir" bash /tmp/check.sh
    exit $?
    ;;
esac

out=${1:-$root/../lmz-debs}
mkdir -p "$out"
work=$(mktemp -d "${TMPDIR:-/tmp}/lmz-deb.XXXXXX")
mkdir "$work/lmz-0.1.0"
(cd "$root" && git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf -) |
  tar -xf - -C "$work/lmz-0.1.0"
(cd "$work/lmz-0.1.0" && DEB_BUILD_OPTIONS="nocheck parallel=${LMZ_JOBS:-2}" dpkg-buildpackage -us -uc -b)
cp "$work"/*.deb "$work"/*.changes "$out"/
lintian --fail-on error,warning "$out"/*.changes
echo "build-deb: packages in $out"
