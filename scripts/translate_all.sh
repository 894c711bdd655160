#!/usr/bin/env bash
# Trains the six translation models of `attn train translate` with their default settings and gathers
# their test scores (eval.json) into docs/results/translation.json, the table the lessons print.
#
#   bash scripts/translate_all.sh                  # all six, one after another, each on every core
#   JOBS=2 bash scripts/translate_all.sh           # two at a time, one core each (on 2 cores: less time in all)
#   ARCHS="gru transformer" bash scripts/translate_all.sh
#   GATHER_ONLY=1 bash scripts/translate_all.sh    # figures and docs/results/translation.json from trained models
#
# Models go to models/translate-<arch>/ (config.json, model.safetensors, spm.model, eval.json, loss.svg), except
# the transformer's default run, which goes to out/translate-transformer/: models/translate-transformer is the
# shipped model (scripts/ship_translation.sh), which the figures below are drawn from.
set -euo pipefail
cd "$(dirname "$0")/.."
ATTN=${ATTN:-build/release/bin/attn}
ARCHS=${ARCHS:-"gru bahdanau luong-dot luong-general luong-concat transformer"}
JOBS=${JOBS:-1}
[ -x "$ATTN" ] || { echo "translate_all.sh: $ATTN is missing; build first (cmake --preset release && cmake --build build/release)" >&2; exit 1; }
mkdir -p models docs/results docs/figures/translation

dir_of() { if [ "$1" = transformer ]; then echo out/translate-transformer; else echo "models/translate-$1"; fi; }
train() {
  local arch=$1 dir
  dir=$(dir_of "$arch")
  mkdir -p "$(dirname "$dir")"
  echo "== $arch: training (log: $dir.log)"
  "$ATTN" train translate --arch "$arch" --out "$dir" > "$dir.log" 2>&1
  grep -E "^test|^  source" "$dir.log" | sed "s/^/   $arch: /"
}

if [ -n "${GATHER_ONLY:-}" ]; then
  :  # the models are there: only draw the figures and gather the scores
elif [ "$JOBS" -gt 1 ]; then
  export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE
  running=0
  for arch in $ARCHS; do
    train "$arch" &
    running=$((running + 1))
    if [ "$running" -ge "$JOBS" ]; then wait -n; running=$((running - 1)); fi
  done
  wait
else
  for arch in $ARCHS; do train "$arch"; done
fi

# Alignment figures for a few sentences (three from the test split, never seen in training, and one made
# up) -> docs/figures/translation/<arch>/sentence-N.png (+ -heads.png: the transformer per layer and head).
SENTENCES=("Die Grundeinstellung ist einfacher Zeilenabstand."
           "Gebt eure Taschen, Rucksäcke und solche Sachen in den Kofferraum."
           "Ich hatte schon lange vor, einen Ratgeber über das Organisieren von Festen zu schreiben."
           "Ich habe keine Zeit, weil ich arbeiten muss.")
for arch in $ARCHS; do
  [ "$arch" = gru ] && continue  # no attention to draw
  rm -rf "docs/figures/translation/$arch"
  "$ATTN" translate --model "models/translate-$arch" --beam 5 --attention "docs/figures/translation/$arch" "${SENTENCES[@]}" \
    > "docs/figures/translation/$arch.txt"
done

# Gather: one entry per model, in the order above, with how it was run.
/usr/bin/python3 - "$JOBS" $ARCHS <<'PY'
import json, os, platform, subprocess, sys, datetime
jobs, archs = int(sys.argv[1]), sys.argv[2:]
path = "docs/results/translation.json"
old = {}
if os.path.exists(path):
    for r in json.load(open(path)).get("runs", []):
        old[r["arch"]] = r
for a in archs:
    d = "out/translate-transformer" if a == "transformer" else f"models/translate-{a}"
    e = json.load(open(f"{d}/eval.json"))
    e["train_config"] = json.load(open(f"{d}/config.json"))
    e["parallel_jobs"] = jobs
    e["threads"] = os.environ.get("OMP_NUM_THREADS", "all cores")
    old[a] = e
order = ["gru", "bahdanau", "luong-dot", "luong-general", "luong-concat", "transformer"]
runs = [old[a] for a in order if a in old]
cpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
model = next((l.split(":", 1)[1].strip() for l in cpu.splitlines() if l.startswith("Model name")), platform.processor())
out = {"about": "attn train translate --arch ARCH with default settings; test split of trans-de-en; BLEU (13a) and chrF",
       "machine": f"{model}, {os.cpu_count()} cores", "date": datetime.date.today().isoformat(), "runs": runs}
json.dump(out, open(path, "w"), indent=1)
print(f"wrote {path}")
for r in runs:
    g, b = r["greedy"]["scores"][0], r["beam"]["scores"][0]
    print(f"  {r['arch']:14s} greedy BLEU {g['bleu']:5.2f} chrF {g['chrf']:5.2f} | beam {r['beam']['beam']} BLEU {b['bleu']:5.2f} chrF {b['chrf']:5.2f} | {r['train_minutes']:.1f} min, best epoch {r['best_epoch']}")
PY
