#!/usr/bin/env bash
# Installs the build tree BUILD into a temporary prefix, moves the tree
# elsewhere (a relocated install: nothing may depend on the prefix it was
# installed to, except the systemd units, which name it), and checks what a
# user and a packager see there. Usage: install_test.sh BUILD SOURCE engine|noengine
set -euo pipefail
build=$1
source=$2
engine=$3
work=$(mktemp -d "${TMPDIR:-/tmp}/lmz-install-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() { echo "install_test: FAIL: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$work/prefix" > "$work/install.log"
mv "$work/prefix" "$work/moved"
p=$work/moved
unset LMZ_MODELS_DIR LMZ_MODEL LMZ_ENGINE_LIB
export LMZ_SOCKET=/nonexistent/lmzd.sock

# Programs, helpers, man pages, completions, docs, units, models.
for f in bin/lmz bin/unlmz bin/lmzcat bin/lmzgrep bin/lmzless sbin/lmzd \
         share/man/man1/lmz.1 share/man/man8/lmzd.8 share/man/man1/unlmz.1 \
         share/bash-completion/completions/lmz share/zsh/vendor-completions/_lmz \
         share/fish/vendor_completions.d/lmz.fish share/doc/lmz/spec/FORMAT.md \
         share/doc/lmz/info-json.md share/doc/lmz/examples/lmzd.conf include/lmz.h \
         lib/systemd/system/lmzd.service lib/systemd/system/lmzd.socket; do
  [[ -e $p/$f || -L $p/$f ]] || fail "$f is not installed"
done
[[ ! -e $p/share/lmz/models/tiny.lmzm ]] || fail "the test model tiny is installed"
grep -q "ExecStart=$work/prefix/sbin/lmzd " "$p/lib/systemd/system/lmzd.service" ||
  fail "lmzd.service does not name the install prefix: $(grep ExecStart= "$p/lib/systemd/system/lmzd.service")"
grep -q "/usr/local" "$p/lib/systemd/system/lmzd.service" && fail "lmzd.service names /usr/local"
man -l "$p/share/man/man1/lmz.1" 2>/dev/null | grep -q -- "--threads" || fail "man lmz does not render"
man -l "$p/share/man/man8/lmzd.8" 2>/dev/null | grep -q "lmzd" || fail "man lmzd does not render"
# Every long option of --help is in the man page (one source of truth each,
# kept in step).
for option in $("$p/bin/lmz" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
  grep -q -- "\`$option" "$source/man/lmz.1.md" || fail "lmz --help has $option, man/lmz.1.md does not"
done

# The relocated lmz finds its own models (and engine) and names the model.
cd "$work"
head -c 30000 "$source/README.md" > text
if [[ $engine == engine ]]; then
  out=$("$p/bin/lmz" --local -v text 2>&1) || fail "lmz failed: $out"
  grep -q "model small" <<<"$out" || fail "the relocated lmz did not use its model small: $out"
else
  "$p/bin/lmz" --local -v text
fi
"$p/bin/lmz" -t text.lmz || fail "lmz -t of the relocated lmz's archive failed"
cmp <("$p/bin/lmzcat" text.lmz) text || fail "lmzcat"
mv text text.orig
"$p/bin/unlmz" text.lmz && cmp text text.orig || fail "unlmz"
LMZ="$p/bin/lmz" "$p/bin/lmzgrep" -c "lmz" text.lmz | grep -q '^[1-9]' || fail "lmzgrep"

# The C example against the installed package: CMake and pkg-config.
cmake -S "$p/share/doc/lmz/examples/c" -B "$work/example" -DCMAKE_PREFIX_PATH="$p" > "$work/example.log" ||
  { cat "$work/example.log"; fail "find_package(lmz)"; }
cmake --build "$work/example" > "$work/example-build.log" || { cat "$work/example-build.log"; fail "building the example"; }
"$work/example/lmz_example" order2 || fail "the example (CMake) failed"
pc=$(find "$p" -name lmz.pc -path '*pkgconfig*' | head -1)
[[ -n $pc ]] || fail "no lmz.pc"
libdir=$(PKG_CONFIG_PATH=$(dirname "$pc") pkg-config --variable=libdir lmz)
cc "$p/share/doc/lmz/examples/c/lmz_example.c" -o "$work/example-pc" \
  $(PKG_CONFIG_PATH=$(dirname "$pc") pkg-config --cflags --libs lmz) -Wl,-rpath,"$libdir" ||
  fail "building the example with pkg-config"
"$work/example-pc" order2 || fail "the example (pkg-config) failed"
if [[ $engine == engine ]]; then
  # The library finds the models beside itself too, whatever program uses it
  # (an unknown model fails the compression).
  "$work/example-pc" small || fail "liblmz did not find its model small"
fi
echo "install_test: 1 passed, 0 failed"
