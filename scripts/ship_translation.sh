#!/usr/bin/env bash
# Trains the Transformer that ships as models/translate-transformer (the explorer's Translation tab, the
# lessons and `attn translate` use it), then exports it with 16-bit weights and scores the exported copy.
#
#   bash scripts/ship_translation.sh          # ~90 minutes on 2 cores: 85 of training, then the test split
#   MINUTES=30 bash scripts/ship_translation.sh
#
# The run keeps its full-precision checkpoint, log and scores in out/translate-transformer-full/; the
# shipped folder holds config.json, spm.model, model.safetensors (F16), eval.json (the scores of the
# training run), metrics.jsonl, loss.svg and eval-f16.json (the exported copy scored again).
set -euo pipefail
cd "$(dirname "$0")/.."
ATTN=${ATTN:-build/release/bin/attn}
MINUTES=${MINUTES:-85}
FULL=out/translate-transformer-full
SHIP=models/translate-transformer
[ -x "$ATTN" ] || { echo "ship_translation.sh: $ATTN is missing; build first (bash scripts/build.sh release)" >&2; exit 1; }
mkdir -p out
"$ATTN" train translate --arch transformer --out "$FULL" --epochs 200 --time-limit-min "$MINUTES" \
  --phrases 32000 --average-last 5 --beam 5 2>&1 | tee "$FULL.log" | grep -E "^(data|subwords|model|budget|epoch [0-9]+:|average|test|  )"
rm -rf "$SHIP"
"$ATTN" translate --model "$FULL" --export "$SHIP" --dtype f16
"$ATTN" translate --model "$SHIP" --eval test --eval-beam 5 --eval-out "$SHIP/eval-f16.json"
ls -la "$SHIP"
