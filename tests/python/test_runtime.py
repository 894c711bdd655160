"""The module as a good Python citizen: long calls release the GIL, and repeated calls do not leak."""
import threading
import time

import numpy as np

import explore_attention as ea


def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


def test_long_calls_release_the_gil():
    q = np.random.default_rng(0).standard_normal((1, 8, 2048, 64)).astype(np.float32)
    ticks = []
    done = threading.Event()

    def count():
        while not done.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.001)

    counter = threading.Thread(target=count)
    counter.start()
    t0 = time.perf_counter()
    for _ in range(3):
        ea.scaled_dot_product_attention(q, q, q, implementation="math")
    t1 = time.perf_counter()
    done.set()
    counter.join()
    during = [t for t in ticks if t0 < t < t1]
    # The counter thread ran while C++ computed: it ticked through the calls, not only between them.
    assert t1 - t0 > 0.05
    assert len(during) >= 0.3 * (t1 - t0) / 0.0015


def test_ten_thousand_calls_do_not_leak():
    rng = np.random.default_rng(0)
    q = rng.standard_normal((1, 2, 16, 16)).astype(np.float32)
    mha = ea.MultiheadAttention(16, 2, batch_first=True)
    x = rng.standard_normal((1, 8, 16)).astype(np.float32)

    def burst(n):
        for _ in range(n):
            out = ea.scaled_dot_product_attention(q, q, q, is_causal=True)
            np.asarray(out).sum()
            t = ea.tensor(q, requires_grad=True)
            (ea.scaled_dot_product_attention(t, t, t) * 2.0).sum().backward()
            mha(x, x, x)

    burst(1000)
    before = rss_mb()
    burst(10000)
    assert rss_mb() - before < 20, f"RSS grew from {before:.1f} MB to {rss_mb():.1f} MB over 10,000 calls"
