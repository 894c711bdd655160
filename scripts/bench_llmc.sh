#!/usr/bin/env bash
# GPT-2 124M training steps (B = 4, T = 64): llm.c's CPU trainer (train_gpt2.c, fp32, OpenMP) beside ours, on
# this machine, in one run. llm.c is not vendored: give the path of a checkout (git clone
# https://github.com/karpathy/llm.c); its checkpoint and tokens are generated here (random weights, the
# same sizes: speed does not depend on them). Prints both medians and the ratio.
#   bash scripts/bench_llmc.sh /path/to/llm.c [steps (default 8)]
set -euo pipefail
cd "$(dirname "$0")/.."
llmc="${1:?usage: bash scripts/bench_llmc.sh /path/to/llm.c [steps]}"
steps="${2:-8}"
attn="build/release/bin/attn"
[[ -f "$llmc/train_gpt2.c" ]] || { echo "bench_llmc: no train_gpt2.c in $llmc" >&2; exit 2; }
[[ -x "$attn" ]] || { echo "bench_llmc: build first (bash scripts/build.sh release)" >&2; exit 2; }
threads="$(nproc)"
root="$(pwd)"
# The checkpoint and token files (numpy: Debian's python3-numpy, which python3-torch brings).
if [[ ! -f "$llmc/gpt2_124M.bin" || ! -f "$llmc/dev/data/tinyshakespeare/tiny_shakespeare_train.bin" ||
      ! -f "$llmc/dev/data/tinyshakespeare/tiny_shakespeare_val.bin" ]]; then
  (cd "$llmc" && /usr/bin/python3 "$root/bench/llmc_checkpoint.py")
fi
(cd "$llmc" && gcc -Ofast -Wno-unused-result -march=native -fopenmp -DOMP train_gpt2.c -lm -o train_gpt2)
# llm.c runs 40 steps with validation and sampling in between; time its first `steps` steps after step 0.
# (Line-buffered, and stopped as soon as enough steps are read: its validation and sampling take minutes.)
# (pipefail off here: head closing the pipe early is the point, and ends llm.c with SIGPIPE.)
set +o pipefail
llmc_ms=$(cd "$llmc" && OMP_NUM_THREADS="$threads" timeout 900 stdbuf -oL ./train_gpt2 2>/dev/null |
  grep --line-buffered -o 'took [0-9.]* ms' | head -n "$((steps + 1))" | tail -n "$steps" | awk '{print $2}' | sort -n |
  awk '{a[NR]=$1} END {if (NR == 0) exit 1; print (NR % 2 ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2)}')
set -o pipefail
[[ -n "$llmc_ms" ]] || { echo "bench_llmc: llm.c printed no step times (run ./train_gpt2 in $llmc to see why)" >&2; exit 1; }
ours_ms=$("$attn" bench gpt --kinds train --configs 124m --impl ours --threads "$threads" --json 2>/dev/null |
  grep '"impl":"ours"' | grep -o '"ms":[0-9.]*' | cut -d: -f2)
echo "machine: $("$attn" info | grep '^CPU' | sed 's/CPU *//') · $threads threads"
awk -v l="$llmc_ms" -v o="$ours_ms" -v n="$steps" 'BEGIN {
  printf "GPT-2 124M train step, B 4 x T 64: llm.c %.0f ms (median of %d steps), ours %.0f ms -> ours %.2fx faster\n", l, n, o, l / o }'
