"""A GPT-2 reference written in PyTorch from the architecture (Radford et al. 2019; the layout of Hugging
Face's modeling_gpt2.py), in float64, for the live cross-checks of attn::models::GPT.

Three modes:
  gpt_ref.py cases.safetensors results.json
      Our own checkpoints (names of attn::models::GPT, Linear weights (out, in)), including the options beyond
      GPT-2 (grouped-query attention, RoPE, no biases): recompute logits, the loss and every parameter
      gradient; report the relative error of each (refcommon protocol).
  gpt_ref.py make-hf DIR LAYOUT SEED
      Writes a small random GPT-2 folder as Hugging Face does (config.json + model.safetensors, Conv1D
      weights (in, out)) in LAYOUT "official" (h.0.attn.c_attn.weight, ...) or "finetuned"
      ("transformer." prefix, lm_head.weight, attn.bias / attn.masked_bias buffers), plus reference.safetensors
      with token ids and the float64 logits of this reference.
  gpt_ref.py logits-hf DIR
      Reads a GPT-2 folder (official layout) and DIR/ids.safetensors, writes DIR/reference.safetensors.
"""
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

import refcommon
import safetensors_np
from refcommon import rel_err

torch.set_default_dtype(torch.float64)


def gelu_new(x):
    """GPT-2's GELU: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x.pow(3))))


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def rope(x, theta):
    """x (B, H, T, D), positions 0..T-1, HF Llama's rotate_half layout."""
    T, D = x.shape[-2], x.shape[-1]
    inv_freq = 1.0 / (theta ** (torch.arange(0, D, 2).double() / D))
    ang = torch.outer(torch.arange(T).double(), inv_freq)
    emb = torch.cat((ang, ang), dim=-1)
    return x * emb.cos() + rotate_half(x) * emb.sin()


def forward(p, cfg, ids, conv1d, removed=None, trace=None):
    """p: name -> tensor (official names, no prefix). conv1d: weights stored (in, out) as HF's Conv1D.
    removed (B, T), 1 = removed: no query attends to that key in any layer (a query left with no key attends
    to nothing: zero weights). trace (a dict), when given, receives "attentions" (each layer's (B, H, T, T)
    weights, grads retained) and "hidden" (x0 and each block's output, grads retained)."""
    B, T = ids.shape
    C, H = cfg["n_embd"], cfg["n_head"]
    Hkv = cfg.get("n_kv_head") or H
    Dh = C // H
    eps = cfg["layer_norm_epsilon"]

    def lin(x, name):
        w = p[name + ".weight"]
        b = p.get(name + ".bias")
        return x @ w + (b if b is not None else 0) if conv1d else F.linear(x, w, b)

    def ln(x, name):
        return F.layer_norm(x, (C,), p[name + ".weight"], p.get(name + ".bias"), eps)

    x = p["wte.weight"][ids]
    if not cfg.get("rope"):
        x = x + p["wpe.weight"][:T]
    causal = torch.ones(T, T, dtype=torch.bool).tril()
    allowed = causal if removed is None else causal & (removed == 0).view(B, 1, 1, T)  # (B, 1, T, T)

    def keep(t, key):  # record t in the trace, its gradient retained
        if trace is not None:
            if t.requires_grad:
                t.retain_grad()
            trace.setdefault(key, []).append(t)
    keep(x, "hidden")
    for l in range(cfg["n_layer"]):
        pre = f"h.{l}."
        h = ln(x, pre + "ln_1")
        qkv = lin(h, pre + "attn.c_attn")
        q, k, v = qkv.split([C, Hkv * Dh, Hkv * Dh], dim=-1)
        q = q.view(B, T, H, Dh).transpose(1, 2)
        k = k.view(B, T, Hkv, Dh).transpose(1, 2)
        v = v.view(B, T, Hkv, Dh).transpose(1, 2)
        if cfg.get("rope"):
            q, k = rope(q, cfg.get("rope_theta", 10000.0)), rope(k, cfg.get("rope_theta", 10000.0))
        if Hkv != H:
            k = k.repeat_interleave(H // Hkv, dim=1)
            v = v.repeat_interleave(H // Hkv, dim=1)
        att = (q @ k.transpose(-1, -2)) / math.sqrt(Dh)
        att = att.masked_fill(~allowed, float("-inf")).softmax(-1)
        if removed is not None:
            att = att.nan_to_num(0.0)  # a fully masked row: softmax of nothing, zero weights
        keep(att, "attentions")
        y = (att @ v).transpose(1, 2).reshape(B, T, C)
        x = x + lin(y, pre + "attn.c_proj")
        h = ln(x, pre + "ln_2")
        x = x + lin(gelu_new(lin(h, pre + "mlp.c_fc")), pre + "mlp.c_proj")
        keep(x, "hidden")
    x = ln(x, "ln_f")
    return x @ p["wte.weight"].T


# ---- mode 1: our checkpoints, values and gradients ------------------------------------------------------


def run_case(t, case):
    name, cfg = case["name"], case["config"]
    pre = name + "/"
    params = {k[len(pre) + 6:]: torch.tensor(v).double().requires_grad_(True)
              for k, v in t.items() if k.startswith(pre + "param/")}
    ids = torch.tensor(t[pre + "ids"]).long()
    targets = torch.tensor(t[pre + "targets"]).long()
    logits = forward(params, cfg, ids, conv1d=False)
    loss = F.cross_entropy(logits.reshape(-1, cfg["vocab_size"]), targets.reshape(-1))
    loss.backward()
    errs = {"logits": rel_err(t[pre + "logits"], logits.detach().numpy()),
            "loss": rel_err(t[pre + "loss"], loss.detach().numpy())}
    for k, v in params.items():
        errs["grad/" + k] = rel_err(t[pre + "grad/" + k], v.grad.numpy())
    return errs


# ---- modes 2 and 3: Hugging Face folders ----------------------------------------------------------------


def hf_config(cfg):
    return {"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "vocab_size": cfg["vocab_size"],
            "n_positions": cfg["n_positions"], "n_ctx": cfg["n_positions"], "n_embd": cfg["n_embd"],
            "n_layer": cfg["n_layer"], "n_head": cfg["n_head"], "n_inner": cfg["n_inner"],
            "layer_norm_epsilon": cfg["layer_norm_epsilon"], "activation_function": "gelu_new",
            "resid_pdrop": 0.1, "embd_pdrop": 0.1, "attn_pdrop": 0.1, "initializer_range": 0.02,
            "bos_token_id": cfg["vocab_size"] - 1, "eos_token_id": cfg["vocab_size"] - 1}


def make_hf(out, layout, seed):
    g = torch.Generator().manual_seed(seed)
    official = layout == "official"
    cfg = {"vocab_size": 97, "n_positions": 24, "n_embd": 32, "n_layer": 2, "n_head": 4,
           "n_inner": None if official else 48, "layer_norm_epsilon": 1e-5 if official else 1e-6}
    C, V, P = cfg["n_embd"], cfg["vocab_size"], cfg["n_positions"]
    I = cfg["n_inner"] or 4 * C

    def rnd(*shape, std=0.2):
        return torch.randn(*shape, generator=g) * std

    p = {"wte.weight": rnd(V, C), "wpe.weight": rnd(P, C),
         "ln_f.weight": 1 + rnd(C, std=0.1), "ln_f.bias": rnd(C, std=0.1)}
    for l in range(cfg["n_layer"]):
        pre = f"h.{l}."
        for n in ("ln_1", "ln_2"):
            p[pre + n + ".weight"] = 1 + rnd(C, std=0.1)
            p[pre + n + ".bias"] = rnd(C, std=0.1)
        for n, (i, o) in {"attn.c_attn": (C, 3 * C), "attn.c_proj": (C, C),
                          "mlp.c_fc": (C, I), "mlp.c_proj": (I, C)}.items():
            p[pre + n + ".weight"] = rnd(i, o)  # Conv1D: (in, out)
            p[pre + n + ".bias"] = rnd(o, std=0.1)
    p = {k: v.float() for k, v in p.items()}  # the file holds float32, as published checkpoints do

    stored = dict(p)
    if not official:
        stored = {"transformer." + k: v for k, v in p.items()}
        stored["lm_head.weight"] = p["wte.weight"].clone()
        for l in range(cfg["n_layer"]):
            stored[f"transformer.h.{l}.attn.bias"] = torch.ones(P, P).tril().view(1, 1, P, P)
            stored[f"transformer.h.{l}.attn.masked_bias"] = torch.tensor(-1e4)
    os.makedirs(out, exist_ok=True)
    safetensors_np.save(os.path.join(out, "model.safetensors"), {k: v.float().numpy() for k, v in stored.items()},
                        {"format": "pt"})
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(hf_config(cfg), f, indent=2)

    ids = torch.randint(0, V, (2, 11), generator=g)
    write_reference(out, p, cfg, ids)


def write_reference(out, p, cfg, ids):
    with torch.no_grad():
        logits = forward({k: v.double() for k, v in p.items()}, cfg, ids, conv1d=True)
    safetensors_np.save(os.path.join(out, "reference.safetensors"),
                        {"ids": ids.double().numpy(), "logits": logits.numpy()})


def logits_hf(out):
    with open(os.path.join(out, "config.json")) as f:
        c = json.load(f)
    cfg = {k: c[k] for k in ("vocab_size", "n_positions", "n_embd", "n_layer", "n_head", "n_inner",
                              "layer_norm_epsilon")}
    p, _ = safetensors_np.load(os.path.join(out, "model.safetensors"))
    p = {k: torch.tensor(v) for k, v in p.items()}
    ids, _ = safetensors_np.load(os.path.join(out, "ids.safetensors"))
    write_reference(out, p, cfg, torch.tensor(ids["ids"]).long())


if __name__ == "__main__":
    if sys.argv[1] == "make-hf":
        make_hf(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif sys.argv[1] == "logits-hf":
        logits_hf(sys.argv[2])
    else:
        refcommon.main(run_case)
