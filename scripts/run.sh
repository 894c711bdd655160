#!/usr/bin/env bash
# The main job: sets up, builds, then runs every lesson that exists, writing its figures under out/.
# (When the Attention Explorer lands, this starts it instead.)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh release
out="${ATTN_OUT:-out}"
./build/release/bin/attn info
./build/release/bin/attn lesson run all --out "$out"
echo "run: lessons finished; figures are in $out/"
