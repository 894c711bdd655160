#!/usr/bin/env bash
# Sets up, builds and runs every test: the GoogleTest suite (each test its own CTest entry) and the live
# PyTorch cross-checks — first in the optimized build, then again under AddressSanitizer + UBSan, followed by
# a short libFuzzer run of the fuzz targets (ATTN_FUZZ_RUNS inputs each from a fixed seed, 3000 by default —
# reproducible, a few seconds per target; 0 skips it). The command-line target is left to `scripts/fuzz.sh cli`:
# it links every subcommand, and building those with clang for a few seconds of fuzzing cost CI four minutes (its
# corpus is replayed by CTest in both builds all the same).
# `scripts/test.sh release` or `scripts/test.sh debug` runs just one of the two (debug with the fuzz run).
set -euo pipefail
cd "$(dirname "$0")/.."
presets=("${@:-release}")
[ $# -eq 0 ] && presets=(release debug)
bash scripts/setup.sh
# ctest -j runs two tests at once on 2 cores, each with OpenMP's 2 threads: oversubscribed, libgomp's default
# spin-wait (300,000 spins at every barrier) burns the slice the other process needs. Passive waiting took the
# release pass from 705 s to 557 s on a 2-core EPYC (2026-12-06; results identical). An explicit setting wins.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}"
for preset in "${presets[@]}"; do
  echo "== $preset build =="
  bash scripts/build.sh "$preset"
  ctest --preset "$preset" -j "$(nproc)" --no-tests=error
done
for preset in "${presets[@]}"; do
  if [ "$preset" = debug ] && [ "${ATTN_FUZZ_RUNS:-3000}" != 0 ]; then
    echo "== fuzz: every target but cli, ${ATTN_FUZZ_RUNS:-3000} inputs each =="
    targets="$(ls fuzz/fuzz_*.cpp | xargs -n1 basename | sed 's/^fuzz_//; s/\.cpp$//' | grep -vx cli | paste -sd, -)"
    bash scripts/fuzz.sh "$targets" "${ATTN_FUZZ_RUNS:-3000}runs"
  fi
done
