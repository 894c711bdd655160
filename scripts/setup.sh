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
