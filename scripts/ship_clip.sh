#!/usr/bin/env bash
# Trains the image+text dual encoder that ships as models/clip-emoji (attn search, the explorer's Multimodal tab
# and lesson 04.04 use it) with `attn train clip`'s defaults, and copies what a user needs into the shipped folder.
#
#   bash scripts/ship_clip.sh        # ~15 minutes of training on 2 cores (60 epochs of 2,890 emoji)
set -euo pipefail
cd "$(dirname "$0")/.."
ATTN=${ATTN:-build/release/bin/attn}
RUN=out/clip-emoji
SHIP=models/clip-emoji
[ -x "$ATTN" ] || { echo "ship_clip.sh: $ATTN is missing; build first (bash scripts/build.sh release)" >&2; exit 1; }
mkdir -p out "$SHIP"
"$ATTN" train clip --out "$RUN" 2>&1 | tee "$RUN.log" | grep -vE "^train step"
# The shipped folder: the model, its vocabulary, how it was trained and how it scored; not the optimizer state
# (resume from out/ instead).
for f in config.json model.safetensors spm.model eval.json metrics.jsonl loss.svg; do
  cp "$RUN/$f" "$SHIP/$f"
done
"$ATTN" search --model "$SHIP" "a happy cat" --top 5
"$ATTN" search --model "$SHIP" "red heart" --split test --top 5 --explain docs/figures/clip/red_heart.png
