"""A random GPT-2 124M checkpoint and token files in llm.c's formats, for timing llm.c's CPU trainer
(train_gpt2.c) beside `attn bench gpt` without downloading anything: the weights do not change the speed.

  cd <llm.c checkout> && /usr/bin/python3 <this repo>/bench/llmc_checkpoint.py
writes gpt2_124M.bin (header 20240326 v3, fp32, padded vocab 50304) and
dev/data/tinyshakespeare/tiny_shakespeare_{train,val}.bin (header 20240520 v1, uint16 tokens).
scripts/bench_llmc.sh does the whole comparison.
"""
import numpy as np, os
rng = np.random.default_rng(0)
maxT, V, L, NH, C, Vp = 1024, 50257, 12, 12, 768, 50304
hdr = np.zeros(256, dtype=np.int32); hdr[:8] = [20240326, 3, maxT, V, L, NH, C, Vp]
sizes = [Vp*C, maxT*C, L*C, L*C, L*3*C*C, L*3*C, L*C*C, L*C, L*C, L*C, L*4*C*C, L*4*C, L*C*4*C, L*C, C, C]
ones = {2, 8, 14}  # layer-norm weights
with open("gpt2_124M.bin", "wb") as f:
    f.write(hdr.tobytes())
    for i, n in enumerate(sizes):
        a = np.ones(n, np.float32) if i in ones else (rng.standard_normal(n).astype(np.float32) * 0.02 if i not in (3, 5, 7, 9, 11, 13, 15) else np.zeros(n, np.float32))
        f.write(a.tobytes())
os.makedirs("dev/data/tinyshakespeare", exist_ok=True)
for name, n in [("train", 200000), ("val", 40000)]:
    h = np.zeros(256, dtype=np.int32); h[:3] = [20240520, 1, n]
    with open(f"dev/data/tinyshakespeare/tiny_shakespeare_{name}.bin", "wb") as f:
        f.write(h.tobytes()); f.write(rng.integers(0, V, n, dtype=np.uint16).tobytes())
print("ok")
