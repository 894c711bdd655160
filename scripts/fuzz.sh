#!/usr/bin/env bash
# Runs the fuzz targets (fuzz/fuzz_*.cpp: every parser of bytes from outside) under libFuzzer with ASan + UBSan,
# each for SECONDS, and prints per target the executions, their rate, the corpus and the findings.
#
#   bash scripts/fuzz.sh                 every target, 60 s each
#   bash scripts/fuzz.sh png 600         one target for 10 minutes (png,idx,…: several)
#   bash scripts/fuzz.sh all 3000runs    a fixed number of inputs per target from a fixed seed (-runs, -seed=1):
#                                        reproducible; what the test command runs after the debug pass
#
# Builds the `fuzz` preset (clang, build/fuzz) first. Each target starts from fuzz/corpus/<target>/ (the seeds
# and every input that ever crashed it) plus what earlier runs here found (build/fuzz/corpus/<target>/, kept
# between runs). A finding (crash, leak, timeout, out of memory) is written to build/fuzz/findings/<target>/
# and makes the script exit 1: fix it, then copy the input into fuzz/corpus/<target>/ as crash-<what> so the
# replay test (CTest fuzz_<target>) keeps it fixed.
set -euo pipefail
cd "$(dirname "$0")/.."
which="${1:-all}"
budget="${2:-60}"
if [[ "$budget" =~ ^[1-9][0-9]*runs$ ]]; then
  limit=(-runs="${budget%runs}" -seed=1)
elif [[ "$budget" =~ ^[1-9][0-9]*$ ]]; then
  limit=(-max_total_time="$budget")
else
  echo "fuzz: the budget must be SECONDS or NUMBERruns (e.g. 60 or 3000runs), got '$budget'" >&2; exit 2
fi
targets=()
for f in fuzz/fuzz_*.cpp; do
  t="$(basename "$f" .cpp)"
  t="${t#fuzz_}"
  if [ "$which" = all ] || [[ ",$which," == *",$t,"* ]]; then targets+=("$t"); fi
done
[ ${#targets[@]} -gt 0 ] || { echo "fuzz: no target '$which' (targets: $(ls fuzz/fuzz_*.cpp | xargs -n1 basename | sed 's/^fuzz_//; s/\.cpp$//' | tr '\n' ' '))" >&2; exit 2; }

cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "$(nproc)" --target "${targets[@]/#/fuzz_}"

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$PWD/fuzz/lsan.supp}"  # leaks inside Debian's libraries
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
summary=()
failed=0
for t in "${targets[@]}"; do
  work="build/fuzz/corpus/$t"
  findings="build/fuzz/findings/$t"
  mkdir -p "$work" "$findings"
  log="build/fuzz/$t.log"
  echo "== fuzz $t: $budget"
  # New inputs go to the first folder ($work); the committed corpus is read only.
  set +e
  "build/fuzz/fuzz/fuzz_$t" "${limit[@]}" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -artifact_prefix="$findings/" -print_final_stats=1 "$work" "fuzz/corpus/$t" >"$log" 2>&1
  rc=$?
  set -e
  execs="$(grep -o 'stat::number_of_executed_units:[[:space:]]*[0-9]*' "$log" | tail -1 | awk '{print $2}')"
  rate="$(grep -o 'stat::average_exec_per_sec:[[:space:]]*[0-9]*' "$log" | tail -1 | awk '{print $2}')"
  found="$(find "$findings" -type f | wc -l)"
  corpus="$(find "$work" "fuzz/corpus/$t" -type f | wc -l)"
  summary+=("$(printf '%-16s %12s %10s %8s %9s' "$t" "${execs:-?}" "${rate:-?}" "$corpus" "$found")")
  if [ "$rc" -ne 0 ] || [ "$found" -gt 0 ]; then
    failed=1
    echo "fuzz $t: FINDING (exit $rc) — see $log and $findings/"
    grep -m 5 -E "ERROR:|runtime error|SUMMARY|explorer answered|deadly signal" "$log" || true
  fi
done
echo
printf '%-16s %12s %10s %8s %9s\n' target executions "exec/s" corpus findings
printf '%s\n' "${summary[@]}"
exit "$failed"
