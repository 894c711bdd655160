"""torch references for tests/torch/test_attention_vs_torch.cpp (float64).

mha: torch.nn.MultiheadAttention with our parameters copied in by name; masks converted from our
conventions (additive float as is; our boolean "1 = may attend" becomes torch's "True = may not").
sdpa / scores: the formulas composed in torch.
Usage: attention_ref.py cases.safetensors results.json
"""
import math

import numpy as np
import torch
import torch.nn.functional as F

import refcommon
from refcommon import rel_err

torch.set_default_dtype(torch.float64)


def t64(a):
    return torch.from_numpy(np.asarray(a, dtype=np.float64))


def additive_from(name, t):
    """All of a case's masks folded into one additive float mask (None when there is none)."""
    return t.get(f"{name}/const/attn_mask")


def mha(t, cfg, xs):
    name = cfg["name"]
    m = torch.nn.MultiheadAttention(cfg["embed_dim"], cfg["num_heads"], bias=cfg["bias"], kdim=cfg["kdim"],
                                    vdim=cfg["vdim"], batch_first=cfg["batch_first"])
    params = dict(m.named_parameters())
    ours = {k[len(name) + 7:]: v for k, v in t.items() if k.startswith(name + "/param/")}
    if set(ours) != set(params):
        raise ValueError(f"parameter names differ: ours {sorted(ours)} torch {sorted(params)}")
    with torch.no_grad():
        for n, p in params.items():
            p.copy_(t64(ours[n]))
    mask = t.get(f"{name}/const/attn_mask")
    mask = t64(mask) if mask is not None else None
    allowed = t.get(f"{name}/const/attn_mask_bool")
    if allowed is not None:
        mask = torch.from_numpy(allowed == 0)  # torch: True = may NOT attend
    kpm = t.get(f"{name}/const/key_padding_mask")
    kpm = torch.from_numpy(kpm != 0) if kpm is not None else None
    q, k, v = (xs[0], xs[0], xs[0]) if cfg["self"] else xs
    out, w = m(q, k, v, key_padding_mask=kpm, need_weights=True, attn_mask=mask,
               average_attn_weights=cfg["average"])
    return [out, w], params


def sdpa(t, cfg, xs):
    name = cfg["name"]
    q, k, v = xs
    H, Hkv = q.shape[-3], k.shape[-3]
    if Hkv != H:
        k = k.repeat_interleave(H // Hkv, dim=-3)
        v = v.repeat_interleave(H // Hkv, dim=-3)
    scale = cfg.get("scale", 1.0 / math.sqrt(q.shape[-1]))
    s = q @ k.transpose(-1, -2) * scale
    L, S = s.shape[-2], s.shape[-1]
    m = t.get(f"{name}/const/attn_mask")
    if m is not None:
        s = s + t64(m)
    allowed = t.get(f"{name}/const/attn_mask_bool")
    if allowed is not None:
        s = s.masked_fill(torch.from_numpy(allowed == 0), float("-inf"))
    kpm = t.get(f"{name}/const/key_padding_mask")
    if kpm is not None:
        s = s.masked_fill(torch.from_numpy(kpm != 0)[:, None, None, :], float("-inf"))
    if cfg["is_causal"]:
        i = torch.arange(L)[:, None] + (S - L)
        j = torch.arange(S)[None, :]
        s = s.masked_fill(j > i, float("-inf"))
    w = torch.softmax(s, dim=-1)
    return [w @ v, w], {}


def score(t, cfg, xs):
    name, kind = cfg["name"], cfg["kind"]
    if kind == "additive":
        q, k, v, W, U, va = xs
        e = torch.tanh((q @ W.T)[:, :, None, :] + (k @ U.T)[:, None, :, :]) @ va
        e = e.masked_fill(torch.from_numpy(t[f"{name}/const/allowed"] == 0)[:, None, :], float("-inf"))
        w = torch.softmax(e, dim=-1)
        return [w @ v, w], {}
    if kind == "general":
        q, k, W = xs
        return [q @ W @ k.transpose(-1, -2)], {}
    if kind == "concat":  # v_aᵀ tanh(W_a [q; k]) over every (q, k) pair, built literally
        q, k, W, va = xs
        L, S = q.shape[1], k.shape[1]
        pairs = torch.cat([q[:, :, None, :].expand(-1, -1, S, -1), k[:, None, :, :].expand(-1, L, -1, -1)], dim=-1)
        return [torch.tanh(pairs @ W.T) @ va], {}
    q, k = xs
    return [q @ k.transpose(-1, -2)], {}


def run_case(t, cfg):
    name = cfg["name"]
    xs = [t64(t[f"{name}/in/{n}"]).requires_grad_() for n in cfg["inputs"]]
    kind = cfg["kind"]
    outs, params = (mha if kind == "mha" else sdpa if kind == "sdpa" else score)(t, cfg, xs)
    res, total = {}, 0
    for i, o in enumerate(outs):
        res[f"out{i}"] = rel_err(t[f"{name}/out/{i}"], o.detach().numpy())
        total = total + (o * t64(t[f"{name}/gout/{i}"])).sum()
    total.backward()
    for n, x in zip(cfg["inputs"], xs):
        res[f"grad_{n}"] = rel_err(t[f"{name}/grad_in/{n}"], x.grad.numpy())
    for n, p in params.items():
        res[f"grad_{n}"] = rel_err(t[f"{name}/grad_param/{n}"], p.grad.numpy())
    return res


if __name__ == "__main__":
    refcommon.main(run_case)
