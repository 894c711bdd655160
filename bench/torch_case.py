"""What the PyTorch sides of `attn bench gpt` and `attn bench vit` (torch_gpt.py, torch_vit.py) share: the
options every case takes, the thread count and seed set from them, and the timing rule."""
import time

import torch


def parse_case_args(ap):
    """Adds --threads, --min-time and --min-reps to the case's own options, parses them, and sets torch's thread
    count (0: torch's default) and seed 0 before the model is built."""
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--min-time", type=float, default=3.0)
    ap.add_argument("--min-reps", type=int, default=3)
    a = ap.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    return a


def median_time(f, min_time, min_reps=3, max_reps=50):
    """Median seconds of f() over repeats filling at least min_time seconds, after one warm-up call: the same
    rule as the C++ side's median_time (apps/attn/bench_common.h)."""
    f()
    times, start = [], time.perf_counter()
    while (time.perf_counter() - start < min_time or len(times) < min_reps) and len(times) < max_reps:
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2]
