#!/usr/bin/env bash
# Trains the Vision Transformer that ships as models/vit-fashion-mnist (attn classify, attn explain and the
# lessons use it) with `attn train vit`'s defaults, copies what a user needs into the shipped folder, and
# measures the explanation methods' faithfulness on it (docs/results/explain.json).
#
#   bash scripts/ship_vit.sh                 # ~7 minutes of training on 2 cores, then ~5 minutes of faithfulness
#   FAITHFULNESS_IMAGES=200 bash scripts/ship_vit.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ATTN=${ATTN:-build/release/bin/attn}
RUN=out/vit-fashion-mnist
SHIP=models/vit-fashion-mnist
IMAGES=${FAITHFULNESS_IMAGES:-1000}
[ -x "$ATTN" ] || { echo "ship_vit.sh: $ATTN is missing; build first (bash scripts/build.sh release)" >&2; exit 1; }
mkdir -p out "$SHIP"
"$ATTN" train vit --out "$RUN" 2>&1 | tee "$RUN.log" | grep -vE "^train step"
# The shipped folder: the model as Hugging Face lays it out, how it was trained and how it scored. Not the
# optimizer state (resume from out/ instead).
for f in config.json preprocessor_config.json model.safetensors eval.json metrics.jsonl loss.svg; do
  cp "$RUN/$f" "$SHIP/$f"
done
"$ATTN" classify --model "$SHIP" --test-image 0
"$ATTN" explain --model "$SHIP" --test-image 0 --out docs/figures/vit/explain_test0.png
"$ATTN" explain --model "$SHIP" --faithfulness "$IMAGES" --json docs/results/explain.json
