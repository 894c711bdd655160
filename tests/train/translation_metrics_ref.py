"""Reference values for tests/train/test_translation_metrics.cpp, under Debian's /usr/bin/python3.

    translation_metrics_ref.py IN.json OUT.json

IN holds the cases the C++ test made:
  {"tok13a": [line, ...],
   "bleu":   [{"hyps": [[token, ...], ...], "refs": [[token, ...], ...]}, ...],
   "chrf":   [{"hyps": [line, ...], "refs": [line, ...], "order": 6, "beta": 2.0}, ...]}
OUT gets, in the same order:
  {"tok13a":     [[token, ...], ...]   the 13a regexes (sacreBLEU's Tokenizer13a, rewritten below)
   "bleu_nltk":  [float, ...]          nltk.translate.bleu_score.corpus_bleu, default weights, no smoothing
   "bleu_none":  [float, ...]          sacreBLEU's compute_bleu (smooth "none"), rewritten below, in [0, 100]
   "bleu_exp":   [float, ...]          the same with smooth "exp"
   "chrf":       [float, ...]}         sacreBLEU 2's CHRF (word_order 0, no eps smoothing), rewritten below

The sacreBLEU parts are small rewrites of its published algorithms (sacrebleu is not packaged by
Debian); NLTK is Debian's python3-nltk, used as is.
"""
import json
import math
import re
import sys
import warnings
from collections import Counter

try:
    from nltk.translate.bleu_score import corpus_bleu as nltk_corpus_bleu
except ImportError as e:  # the C++ test reports this with the setup hint
    print(f"cannot import nltk ({e}): run scripts/setup.sh (python3-nltk)", file=sys.stderr)
    sys.exit(3)

# ---- 13a: the mteval-v13a tokenizer as sacreBLEU writes it -------------------------------------------
_RULES_13A = [
    (re.compile(r"([\{-\~\[-\` -\&\(-\+\:-\@\/])"), r" \1 "),  # pad symbols (not ' , - .)
    (re.compile(r"([^0-9])([\.,])"), r"\1 \2 "),                 # . , after a non-digit
    (re.compile(r"([\.,])([^0-9])"), r" \1 \2"),                 # . , before a non-digit
    (re.compile(r"([0-9])(-)"), r"\1 \2 "),                      # - after a digit
]


def tokenize_13a(line):
    for old, new in (("<skipped>", ""), ("-\n", ""), ("\n", " "), ("&quot;", '"'), ("&amp;", "&"),
                     ("&lt;", "<"), ("&gt;", ">")):
        line = line.replace(old, new)
    line = f" {line} "
    for pattern, repl in _RULES_13A:
        line = pattern.sub(repl, line)
    return line.split()


# ---- BLEU as sacreBLEU's compute_bleu -----------------------------------------------------------------
def ngram_counts(tokens, n):
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def sacre_bleu(hyps, refs, smooth):
    correct, total = [0] * 4, [0] * 4
    sys_len = ref_len = 0
    for h, r in zip(hyps, refs):
        sys_len += len(h)
        ref_len += len(r)
        for n in range(1, 5):
            hc, rc = ngram_counts(h, n), ngram_counts(r, n)
            total[n - 1] += sum(hc.values())
            correct[n - 1] += sum(min(c, rc[g]) for g, c in hc.items())
    if sys_len < ref_len:
        bp = math.exp(1 - ref_len / sys_len) if sys_len > 0 else 0.0
    else:
        bp = 1.0
    if not any(correct):
        return 0.0
    precisions = [0.0] * 4
    smooth_mteval = 1.0
    for n in range(4):
        if total[n] == 0:
            break
        if correct[n] == 0:
            if smooth == "exp":
                smooth_mteval *= 2
                precisions[n] = 100.0 / (smooth_mteval * total[n])
        else:
            precisions[n] = 100.0 * correct[n] / total[n]
    logs = [math.log(p) if p > 0 else -9999999999 for p in precisions]
    return bp * math.exp(sum(logs) / 4)


# ---- chrF as sacreBLEU 2 ------------------------------------------------------------------------------
def chrf(hyps, refs, order, beta):
    stats = [[0, 0, 0] for _ in range(order)]  # hyp, ref, match per order
    for h, r in zip(hyps, refs):
        h, r = "".join(h.split()), "".join(r.split())
        for n in range(1, order + 1):
            hc = Counter(h[i:i + n] for i in range(len(h) - n + 1))
            rc = Counter(r[i:i + n] for i in range(len(r) - n + 1))
            stats[n - 1][0] += sum(hc.values()) if rc else 0
            stats[n - 1][1] += sum(rc.values())
            stats[n - 1][2] += sum(min(c, rc[g]) for g, c in hc.items() if g in rc)
    avg_p = avg_r = 0.0
    eff = 0
    for n_hyp, n_ref, n_match in stats:
        if n_hyp > 0 and n_ref > 0:
            avg_p += n_match / n_hyp
            avg_r += n_match / n_ref
            eff += 1
    if eff == 0:
        return 0.0
    avg_p /= eff
    avg_r /= eff
    if avg_p + avg_r == 0:
        return 0.0
    f = beta ** 2
    return 100 * (1 + f) * avg_p * avg_r / (f * avg_p + avg_r)


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        cases = json.load(f)
    warnings.simplefilter("ignore")  # NLTK warns about every zero n-gram precision
    out = {
        "tok13a": [tokenize_13a(line) for line in cases.get("tok13a", [])],
        "bleu_nltk": [float(nltk_corpus_bleu([[r] for r in c["refs"]], c["hyps"])) for c in cases.get("bleu", [])],
        "bleu_none": [sacre_bleu(c["hyps"], c["refs"], "none") for c in cases.get("bleu", [])],
        "bleu_exp": [sacre_bleu(c["hyps"], c["refs"], "exp") for c in cases.get("bleu", [])],
        "chrf": [chrf(c["hyps"], c["refs"], c["order"], c["beta"]) for c in cases.get("chrf", [])],
    }
    with open(sys.argv[2], "w", encoding="utf-8") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
