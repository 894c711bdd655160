#!/usr/bin/env bash
# Configures and builds one preset (release by default; `debug` = ASan + UBSan): every target, or only the
# targets named after it (scripts/run.sh builds just what it starts: attn_cli, lessons, attn_python).
#   bash scripts/build.sh [PRESET [TARGET...]]
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-release}"
shift || true
cmake --preset "$preset" >/dev/null
if [ $# -gt 0 ]; then
  cmake --build --preset "$preset" -j "$(nproc)" --target "$@"
else
  cmake --build --preset "$preset" -j "$(nproc)"
fi
