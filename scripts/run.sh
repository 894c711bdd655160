#!/usr/bin/env bash
# The main job: sets up, builds, then starts the Attention Explorer on the project's own word-level GPT
# (models/gpt-words, trained by `attn train gpt --tokenizer bpe` and shipped in the repository; without it
# the character-level models/gpt-moby-dick, trained here first if it is missing too — about 10 minutes on
# 2 cores). Open the URL it prints; Ctrl-C stops it.
#
#   bash scripts/run.sh            the explorer on http://127.0.0.1:8000/ (ATTN_PORT, ATTN_MODEL change it)
#   bash scripts/run.sh lessons    every lesson instead, figures under out/ (ATTN_OUT changes it)
#   bash scripts/run.sh notebooks  Jupyter on http://127.0.0.1:8888/ in notebooks/, the module importable
#                                  (installs Debian's jupyter-notebook first; ATTN_NOTEBOOK_PORT changes the port)
#
# It installs and builds only what the job needs (`setup.sh run`: no test packages; the `attn` binary, plus the
# lessons or the Python module); the README's test command installs and builds the rest.
set -euo pipefail
cd "$(dirname "$0")/.."
job="${1:-explore}"
case "$job" in
  explore) bash scripts/setup.sh run; bash scripts/build.sh release attn_cli ;;
  lessons) bash scripts/setup.sh run; bash scripts/build.sh release attn_cli lessons ;;
  # the notebooks use PyTorch and the Python module: the full set of packages
  notebooks) bash scripts/setup.sh; bash scripts/build.sh release attn_cli attn_python ;;
  *) echo "run: unknown job '$job' (explore, lessons or notebooks)" >&2; exit 2 ;;
esac
./build/release/bin/attn info

if [ "$job" = "lessons" ]; then
  out="${ATTN_OUT:-out}"
  ./build/release/bin/attn lesson run all --out "$out"
  echo "run: lessons finished; figures are in $out/"
  exit 0
fi

if [ "$job" = "notebooks" ]; then
  if ! dpkg-query -W -f='${Status}' jupyter-notebook 2>/dev/null | grep -q "install ok installed"; then
    echo "run: installing Debian's jupyter-notebook"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends jupyter-notebook
  fi
  export PYTHONPATH="$PWD/build/release/python${PYTHONPATH:+:$PYTHONPATH}"
  # Kernels share the cores with the browser and each other: OpenMP threads that sleep instead of spinning while
  # they wait keep a busy machine responsive (see scripts/test.sh).
  export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}"
  echo "run: Jupyter in notebooks/ with explore_attention from build/release/python; open the URL it prints"
  # Loopback only; Jupyter prints the URL with its access token.
  exec /usr/bin/python3 -m notebook --ip 127.0.0.1 --port "${ATTN_NOTEBOOK_PORT:-8888}" --no-browser \
    --notebook-dir "$PWD/notebooks" --allow-root
fi

model="${ATTN_MODEL:-models/gpt-words}"
if [ -z "${ATTN_MODEL:-}" ] && [ ! -f "$model/config.json" ]; then model=models/gpt-moby-dick; fi
if [ ! -f "$model/config.json" ]; then
  echo "run: $model is missing; training it (attn train gpt, ~10 minutes on 2 cores)"
  ./build/release/bin/attn train gpt --out "$model"
fi
exec ./build/release/bin/attn explore --model "$model" --port "${ATTN_PORT:-8000}"
