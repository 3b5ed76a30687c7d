#!/usr/bin/env bash
# Installs the Debian bookworm packages lmz needs to build, test and
# benchmark. Does nothing (and needs no root) when they are all present.
set -euo pipefail

packages=(
  cmake ninja-build g++ pkg-config
  libtorch-dev libopenblas0-pthread
  libboost-dev libboost-test-dev
  libzstd-dev libxxhash-dev libfmt-dev libsystemd-dev
  xz-utils zstd time
  clang-14 libfuzzer-14-dev libclang-rt-14-dev
)

missing=()
for pkg in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  if [[ "$status" != "install ok installed" ]]; then
    missing+=("$pkg")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#packages[@]} packages are installed"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
if [[ $(id -u) -eq 0 ]]; then
  sudo=()
elif command -v sudo >/dev/null; then
  sudo=(sudo)
else
  echo "install-deps: need root (or sudo) to install: ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update
"${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
