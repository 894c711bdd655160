#!/usr/bin/env bash
# Trains the Keyword Transformer that ships as models/kwt-words (attn listen uses it by default) with
# `attn train audio`'s defaults, copies what a user needs into the shipped folder (not the optimizer state:
# resume from out/ instead) and draws one real recording's figure for the README.
#
#   bash scripts/ship_audio.sh          # ~12 minutes on 2 cores (20 s of synthesis, 20 epochs)
set -euo pipefail
cd "$(dirname "$0")/.."
ATTN=${ATTN:-build/release/bin/attn}
RUN=${RUN:-out/kwt-words}
SHIP=models/kwt-words
[ -x "$ATTN" ] || { echo "ship_audio.sh: $ATTN is missing; build first (bash scripts/build.sh release)" >&2; exit 1; }
mkdir -p out "$SHIP" docs/figures/audio
[ -n "${SKIP_TRAINING:-}" ] || "$ATTN" train audio --out "$RUN" 2>&1 | tee "$RUN.log" | grep -vE "^train step"
for f in config.json model.safetensors eval.json metrics.jsonl loss.svg; do
  cp "$RUN/$f" "$SHIP/$f"
done
"$ATTN" listen --model "$SHIP" /usr/share/ktuberling/sounds/en/umbrella.ogg --figure docs/figures/audio/umbrella.png
