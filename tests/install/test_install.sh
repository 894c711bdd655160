#!/usr/bin/env bash
# The C++ way in, tested as a user would take it (CTest label `install`, optimized builds):
#   1. cmake --install into a fresh prefix; examples/consumer configured against it with find_package, built, run;
#   2. cpack makes the .deb; unpacked into a clean directory, its `attn` runs and the consumer builds against it.
# Usage: test_install.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build="$(cd "$1" && pwd)"
src="$(cd "$2" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# Runs a command quietly; on failure prints what it said.
quiet() { local out; out="$("$@" 2>&1)" || { echo "$out"; echo "failed: $*" >&2; return 1; }; }

echo "== cmake --install"
quiet cmake --install "$build" --prefix "$work/prefix"
test -f "$work/prefix/include/attn/attention/sdpa.h"
test -x "$work/prefix/bin/attn"
quiet cmake -S "$src/examples/consumer" -B "$work/consumer" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$work/prefix"
quiet cmake --build "$work/consumer"
"$work/consumer/consumer"

echo "== cpack -G DEB"
(cd "$work" && quiet cpack -G DEB --config "$build/CPackConfig.cmake" -B "$work/pkg")
deb="$(ls "$work"/pkg/explore-attention_*.deb)"
echo "package: $(basename "$deb"), $(du -h "$deb" | cut -f1)"
dpkg-deb -f "$deb" Package Version Depends
dpkg-deb -x "$deb" "$work/root"
"$work/root/usr/bin/attn" version
# The installed attn reads the models it ships from <prefix>/share/explore-attention, not from this checkout.
(cd "$work" && "$work/root/usr/bin/attn" info) | grep -F "data        $work/root/usr/share/explore-attention "
test -f "$work/root/usr/share/explore-attention/models/gpt-moby-dick/config.json"
# the default model (no --model) comes from there too
(cd "$work" && "$work/root/usr/bin/attn" viz --text "Call me Ishmael." --out "$work/page.html") | grep -q "wrote"
(cd "$work" && "$work/root/usr/bin/attn" translate --model "$work/root/usr/share/explore-attention/models/translate-transformer" \
  "Ich habe keine Zeit.") | grep -q .
quiet cmake -S "$src/examples/consumer" -B "$work/consumer-deb" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$work/root/usr"
quiet cmake --build "$work/consumer-deb"
"$work/consumer-deb/consumer"
echo "install test passed"
