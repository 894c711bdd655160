#!/usr/bin/env bash
# The speed tables of the small-shape work (issue 17), kept per machine: every run writes
#   docs/bench/<cpu model>-<isa>/attention-small.txt   fused vs composed vs PyTorch at T = 32..256 (B·H 8 and 32)
#   docs/bench/<cpu model>-<isa>/gpt.txt               GPT training steps and KV-cache decoding
# so the latest report of each CPU model seen stays beside the others (AVX2-only and AVX-512, AMD and
# Intel). Usage:
#   bash scripts/bench_report.sh            the release build (-march=native)
#   bash scripts/bench_report.sh avx2       the AVX2-only build (cmake --preset avx2 && cmake --build --preset avx2)
# Run it on an otherwise idle machine: each case is timed in its own process, ratios in one run.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-release}"
attn="build/$build/bin/attn"
[[ -x "$attn" ]] || { echo "bench_report: $attn is not built (bash scripts/build.sh $build)" >&2; exit 2; }
dir="docs/bench/$("$attn" info --slug)"
mkdir -p "$dir"
header() {
  echo "# $(date -u +%Y-%m-%d) · commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown) · build $build"
  echo "# $*"
}
run() {  # run <file> <attn args...>
  local out="$dir/$1"; shift
  echo "bench_report: $attn $* -> $out" >&2
  { header "attn $*"; "$attn" "$@" 2>/dev/null; } > "$out.tmp"
  mv "$out.tmp" "$out"
}
run attention-small.txt bench attention --T 32,64,128,256 --D 64 --H 32 --impl composed,fused,torch
run attention-small-bh8.txt bench attention --T 32,64,128,256 --D 32 --H 8 --impl composed,fused,torch
run gpt.txt bench gpt
run vit.txt bench vit
echo "bench_report: wrote $dir" >&2
