"""Timing shared by the PyTorch sides of `attn bench gpt` and `attn bench vit` (torch_gpt.py, torch_vit.py)."""
import time


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
