#!/usr/bin/env bash
# Sets up, builds and runs every test: the GoogleTest suite (each test its own CTest entry) and the
# live PyTorch cross-check. Pass `debug` to run the suite under AddressSanitizer + UBSan instead.
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-release}"
bash scripts/setup.sh
bash scripts/build.sh "$preset"
ctest --preset "$preset" -j "$(nproc)"
