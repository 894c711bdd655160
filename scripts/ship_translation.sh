#!/usr/bin/env bash
# Trains the Transformer that ships as models/translate-transformer (the explorer's Translation tab, the
# lessons and `attn translate` use it), then exports it with 16-bit weights and scores the exported copy.
#
#   bash scripts/ship_translation.sh          # ~8.5 hours on 2 cores: 85 min with phrase pairs, 55 min more on
#                                             # sentences only (--init), 92 min more with phrases again at
#                                             # dropout 0.2 on a cosine schedule (--init), 125 min more the same
#                                             # way from 5e-4 with another phrase order (--seed 2), then grown to
#                                             # 3+3 layers and feed-forward 1024 (scripts/grow_translation.py) and
#                                             # 140 min more the same way (--seed 3), then the test split
#   MINUTES=30 FINETUNE_MINUTES=20 POLISH_MINUTES=20 POLISH2_MINUTES=20 BIG_MINUTES=20 bash scripts/ship_translation.sh
#
# The runs keep their full-precision checkpoints, logs and scores in out/translate-transformer-full/,
# out/translate-transformer-ft/ and out/translate-transformer-polish/; the shipped folder holds config.json, spm.model, model.safetensors (F16),
# eval.json (the scores of the last training run), metrics.jsonl, loss.svg and eval-f16.json (the exported copy
# scored again).
set -euo pipefail
cd "$(dirname "$0")/.."
ATTN=${ATTN:-build/release/bin/attn}
MINUTES=${MINUTES:-85}
FINETUNE_MINUTES=${FINETUNE_MINUTES:-55}
POLISH_MINUTES=${POLISH_MINUTES:-92}
POLISH2_MINUTES=${POLISH2_MINUTES:-125}
BIG_MINUTES=${BIG_MINUTES:-140}
POLISH_PHRASES=${POLISH_PHRASES:-16000}
FULL=out/translate-transformer-full
FT=out/translate-transformer-ft
POLISH=out/translate-transformer-polish
POLISH2=out/translate-transformer-polish2
GROWN=out/translate-transformer-grown
BIG=out/translate-transformer-big
SHIP=models/translate-transformer
[ -x "$ATTN" ] || { echo "ship_translation.sh: $ATTN is missing; build first (bash scripts/build.sh release)" >&2; exit 1; }
mkdir -p out
"$ATTN" train translate --arch transformer --out "$FULL" --epochs 200 --time-limit-min "$MINUTES" \
  --phrases 32000 --average-last 5 --beam 5 2>&1 | tee "$FULL.log" | grep -E "^(data|subwords|model|budget|epoch [0-9]+:|average|test|  )"
# Then sentences only, continuing from the best checkpoint (the learning-rate schedule goes on from its step
# count after a short re-warmup): the test split is sentences, and this is what moved its BLEU.
LAST="$FULL"
if [ "$FINETUNE_MINUTES" != 0 ]; then
  "$ATTN" train translate --arch transformer --init "$FULL" --out "$FT" --time-limit-min "$FINETUNE_MINUTES" \
    --phrases 0 --average-last 5 --beam 5 2>&1 | tee "$FT.log" | grep -E "^(data|subwords|model|budget|epoch [0-9]+:|average|test|  )"
  LAST="$FT"
fi
# Then, once the sentences alone no longer move the validation loss, the phrase pairs again (now they help: the
# vocabulary of the sentences the model has not seen), with less dropout (0.3 -> 0.2) and a cosine schedule that
# warms up again to 6e-4 and reaches 0 when the time is up.
if [ "$POLISH_MINUTES" != 0 ]; then
  "$ATTN" train translate --arch transformer --init "$LAST" --out "$POLISH" --time-limit-min "$POLISH_MINUTES" \
    --phrases "$POLISH_PHRASES" --dropout 0.2 --schedule cosine --lr 6e-4 --average-last 5 --beam 5 2>&1 | tee "$POLISH.log" |
    grep -E "^(data|subwords|model|budget|epoch [0-9]+:|average|test|  )"
  LAST="$POLISH"
fi
# And a second warm restart of the same kind, from 5e-4, the phrase pairs drawn in another order.
if [ "$POLISH2_MINUTES" != 0 ]; then
  "$ATTN" train translate --arch transformer --init "$LAST" --out "$POLISH2" --time-limit-min "$POLISH2_MINUTES" \
    --phrases "$POLISH_PHRASES" --dropout 0.2 --schedule cosine --lr 5e-4 --seed 2 --average-last 5 --beam 5 2>&1 |
    tee "$POLISH2.log" | grep -E "^(data|subwords|model|budget|epoch [0-9]+:|average|test|  )"
  LAST="$POLISH2"
fi
# Then more room: the model grown to 3+3 layers and feed-forward 1024 without changing what it computes (new units
# and a new top layer per stack whose output weights start at zero), and 140 minutes more the same way.
if [ "$BIG_MINUTES" != 0 ]; then
  /usr/bin/python3 scripts/grow_translation.py "$LAST" "$GROWN" 3 1024
  "$ATTN" train translate --arch transformer --init "$GROWN" --out "$BIG" --time-limit-min "$BIG_MINUTES" \
    --phrases "$POLISH_PHRASES" --dropout 0.2 --schedule cosine --lr 5e-4 --seed 3 --average-last 5 --beam 5 2>&1 |
    tee "$BIG.log" | grep -E "^(data|subwords|model|budget|epoch [0-9]+:|average|test|  )"
  LAST="$BIG"
fi
rm -rf "$SHIP"
"$ATTN" translate --model "$LAST" --export "$SHIP" --dtype f16
# Every fifth step's training loss (and every validation line) keeps the shipped folder under 15 MB.
/usr/bin/python3 -c '
import json, sys
p = sys.argv[1]
lines = [l for l in open(p) if json.loads(l).get("split") != "train" or json.loads(l)["step"] % 5 == 0]
open(p, "w").write("".join(lines))' "$SHIP/metrics.jsonl"
"$ATTN" translate --model "$SHIP" --eval test --eval-beam 5 --eval-out "$SHIP/eval-f16.json"
# The length penalty chosen on the validation split (alpha 1.2 of 0.3, 0.6, 0.8, 1.0, 1.2, 1.5 at beam 5):
"$ATTN" translate --model "$SHIP" --eval test --eval-beam 5 --length-penalty 1.2 --eval-out "$SHIP/eval-f16-alpha1.2.json"
ls -la "$SHIP"
