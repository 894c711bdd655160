#!/usr/bin/env bash
# Sets up, builds and runs every test: the GoogleTest suite (each test its own CTest entry) and the live
# PyTorch cross-checks — first in the optimized build, then again under AddressSanitizer + UBSan.
# `scripts/test.sh release` or `scripts/test.sh debug` runs just one of the two.
set -euo pipefail
cd "$(dirname "$0")/.."
presets=("${@:-release}")
[ $# -eq 0 ] && presets=(release debug)
bash scripts/setup.sh
for preset in "${presets[@]}"; do
  echo "== $preset build =="
  bash scripts/build.sh "$preset"
  ctest --preset "$preset" -j "$(nproc)"
done
