"""Training from Python, with a callback per step (for live plots in a notebook).

train_translation, train_vit and train_clip are the library's own loops (those of `attn train translate`, `attn train vit`
and `attn train clip`,
attn/trainers/), run with the GIL released; train_gpt below is the GPT's loop written out in Python.

    from explore_attention.train import train_vit
    history = []
    result = train_vit("out/my-vit", epochs=2, on_step=history.append)   # result: the test accuracy and more

    import explore_attention as ea
    from explore_attention.train import train_gpt
    text = open("moby.txt").read()
    gpt = ea.GPT.from_text(text, n_layer=2, n_head=4, n_embd=64, block_size=64)
    history = train_gpt(gpt, text, steps=300, on_step=lambda s: print(s["step"], s["loss"]))
    gpt.save("out/my-gpt")        # then: attn explore --model out/my-gpt

The loop is the one `attn train gpt` runs, written out in Python over the library's pieces: random windows of the
text (the last `val_fraction` held out), AdamW with decoupled weight decay, a linear warmup then a cosine decay
of the learning rate, gradient clipping, and a validation loss every `eval_every` steps.
"""
import math
import time

import numpy as np

from . import _core
from ._core import train_clip, train_translation, train_vit  # noqa: F401  (the library's loops: attn/trainers)


def train_gpt(gpt, text, steps=200, batch=16, lr=3e-3, min_lr=3e-4, warmup=20, weight_decay=0.01, clip=1.0,
              val_fraction=0.1, eval_every=50, eval_batches=4, seed=0, on_step=None):
    """Trains `gpt` (an explore_attention.GPT) on `text`. `on_step(info)` is called after every step with a dict:
    step, loss, lr, seconds (since the start), and val_loss on evaluation steps (None otherwise); returning False
    stops the run. Returns the list of those dicts."""
    if steps < 1 or batch < 1:
        raise ValueError("steps and batch must be >= 1")
    if not 0 < val_fraction < 1:
        raise ValueError("val_fraction must be in (0, 1)")
    ids = np.asarray(gpt.encode(text), dtype=np.int64)
    T = gpt.config["block_size"]
    split = int(len(ids) * (1 - val_fraction))
    train_ids, val_ids = ids[:split], ids[split:]
    if len(train_ids) <= T + 1 or len(val_ids) <= T + 1:
        raise ValueError(f"text too short: {len(ids)} tokens for windows of {T} (block_size) in both splits")
    rng = np.random.default_rng(seed)

    def windows(data, n, generator):
        starts = generator.integers(0, len(data) - T - 1, n)
        x = np.stack([data[s:s + T] for s in starts])
        y = np.stack([data[s + 1:s + T + 1] for s in starts])
        return x, y

    module = gpt.module
    params = module.parameters()
    opt = _core.AdamW(params, lr=lr, weight_decay=weight_decay)
    history, t0 = [], time.perf_counter()
    module.train()
    for step in range(1, steps + 1):
        if step <= warmup:
            opt.lr = lr * step / warmup
        else:
            progress = (step - warmup) / max(1, steps - warmup)
            opt.lr = min_lr + 0.5 * (lr - min_lr) * (1 + math.cos(math.pi * progress))
        x, y = windows(train_ids, batch, rng)
        loss = gpt.loss_tensor(x, y)
        opt.zero_grad()
        loss.backward()
        if clip > 0:
            _core.clip_grad_norm_(params, clip)
        opt.step()
        info = {"step": step, "loss": loss.item(), "lr": opt.lr, "seconds": time.perf_counter() - t0, "val_loss": None}
        if step % eval_every == 0 or step == steps:
            module.eval()
            val_rng = np.random.default_rng(seed + 7)  # the same validation windows every time
            info["val_loss"] = float(np.mean([gpt.loss(*windows(val_ids, batch, val_rng)) for _ in range(eval_batches)]))
            module.train()
        history.append(info)
        if on_step is not None and on_step(info) is False:
            break
    module.eval()
    return history
