"""PyTorch's side of `attn bench attention`: the same composed attention formula, one case per process.

    scores = q kᵀ / √D (+ causal mask) -> softmax -> @ v        (torch 1.13 has no fused CPU kernel)

Prints one JSON line: impl, T, D, H, B, causal, pass, ms (median), gflops, peak_rss_mb.
Usage: torch_attention.py --B 1 --H 8 --T 1024 --D 64 --causal 0 --pass fwd --min-time 0.5 --threads 2
"""
import argparse
import json
import math
import resource
import time

import torch


def main():
    ap = argparse.ArgumentParser()
    for name, default in [("--B", 1), ("--H", 8), ("--T", 1024), ("--D", 64), ("--causal", 0), ("--threads", 0)]:
        ap.add_argument(name, type=int, default=default)
    ap.add_argument("--pass", dest="pass_", default="fwd", choices=["fwd", "fwd+bwd"])
    ap.add_argument("--min-time", type=float, default=0.5)
    ap.add_argument("--impl", default="torch")
    a = ap.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    B, H, T, D = a.B, a.H, a.T, a.D
    train = a.pass_ == "fwd+bwd"
    q, k, v = (torch.randn(B, H, T, D, requires_grad=train) for _ in range(3))
    gout = torch.randn(B, H, T, D)
    mask = torch.ones(T, T, dtype=torch.bool).triu(1) if a.causal else None
    scale = 1.0 / math.sqrt(D)

    def step():
        with torch.set_grad_enabled(train):
            s = (q @ k.transpose(-1, -2)) * scale
            if mask is not None:
                s = s.masked_fill(mask, float("-inf"))
            out = torch.softmax(s, dim=-1) @ v
            if train:
                out.backward(gout)

    step()
    times, start = [], time.perf_counter()
    while (time.perf_counter() - start < a.min_time or len(times) < 3) and len(times) < 50:
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    times.sort()
    s = times[len(times) // 2]
    flops = 4.0 * B * H * T * T * D * (0.5 if a.causal else 1.0) * (3.5 if train else 1.0)
    print(json.dumps({"impl": "torch", "T": T, "D": D, "H": H, "B": B, "causal": bool(a.causal), "pass": a.pass_,
                      "ms": s * 1e3, "gflops": flops / s * 1e-9,
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
                      "torch_threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
