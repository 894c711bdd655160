"""torch.nn.Transformer reference for tests/torch/test_transformer_vs_torch.cpp (float64).

For each case: build torch.nn.Transformer (batch_first=True, dropout 0, the case's d_model, nhead, layer counts,
dim_feedforward, activation, norm_first, layer_norm_eps) plus nn.Embedding (padding_idx = pad) for source and
target and a bias-free nn.Linear generator, tied when the case shares embeddings; load our state dict by name
(torch's half strictly: every name of torch.nn.Transformer, no more, no less); embed as
table(ids) · sqrt(d_model) + PE (sinusoidal, computed here); run with a causal target mask and key padding
masks from pad; the label-smoothed cross-entropy ignoring pad; backward. Every attention module is wrapped
to also return its per-head weights, which are compared with the ones we recorded.
Reports the relative error (refcommon protocol) of logits, loss, every parameter gradient, every attention.
Usage: transformer_ref.py cases.safetensors results.json
"""
import math

import torch
import torch.nn.functional as F

import refcommon
from refcommon import rel_err

torch.set_default_dtype(torch.float64)


def sinusoidal(length, d):
    """PE[t, 2i] = sin(t / 10000^(2i/d)), PE[t, 2i+1] = cos(t / 10000^(2i/d))."""
    pe = torch.zeros(length, d)
    pos = torch.arange(length).double().unsqueeze(1)
    two_i = torch.arange(0, d, 2).double()
    ang = pos / torch.pow(10000.0, two_i / d)
    pe[:, 0::2] = torch.sin(ang)
    pe[:, 1::2] = torch.cos(ang[:, : d // 2])
    return pe


def capture_weights(mha, store, key):
    """Make `mha` return (and record) its per-head weights whatever the caller asks for."""
    forward = mha.forward

    def wrapped(query, key_, value, **kw):
        kw["need_weights"] = True
        kw["average_attn_weights"] = False
        out, w = forward(query, key_, value, **kw)
        store[key] = w.detach()
        return out, w

    mha.forward = wrapped


def run_case(t, case):
    name, cfg = case["name"], case["config"]
    pre = name + "/"
    state = {k[len(pre) + 6:]: torch.tensor(v) for k, v in t.items() if k.startswith(pre + "state/")}
    D, pad = cfg["d_model"], cfg["pad_id"]
    Vs, Vt = cfg["src_vocab"], cfg["tgt_vocab"]

    model = torch.nn.Transformer(d_model=D, nhead=cfg["nhead"], num_encoder_layers=cfg["num_encoder_layers"],
                                 num_decoder_layers=cfg["num_decoder_layers"], dim_feedforward=cfg["dim_feedforward"],
                                 dropout=0.0, activation=cfg["activation"], layer_norm_eps=cfg["layer_norm_eps"],
                                 batch_first=True, norm_first=cfg["norm_first"])
    model.train()  # dropout is 0; training mode keeps torch off its inference fast paths
    torch_names = set(model.state_dict().keys())
    ours = set(state.keys())
    around = {"src_embed.weight", "tgt_embed.weight", "generator.weight"}
    if ours != torch_names | around:
        raise ValueError(f"state dict names differ: only ours {sorted(ours - torch_names - around)}, "
                         f"only torch's {sorted(torch_names - ours)}")
    model.load_state_dict({k: v for k, v in state.items() if k in torch_names}, strict=True)

    src_embed = torch.nn.Embedding(Vs, D, padding_idx=pad)
    tgt_embed = torch.nn.Embedding(Vt, D, padding_idx=pad)
    generator = torch.nn.Linear(D, Vt, bias=False)
    with torch.no_grad():
        src_embed.weight.copy_(state["src_embed.weight"])
        tgt_embed.weight.copy_(state["tgt_embed.weight"])
        generator.weight.copy_(state["generator.weight"])
    if cfg["share_embeddings"]:
        for k in ("tgt_embed.weight", "generator.weight"):
            if not torch.equal(state[k], state["src_embed.weight"]):
                raise ValueError(f"shared embeddings: {k} differs from src_embed.weight")
        tgt_embed.weight = src_embed.weight  # one Parameter, three uses (the paper's weight sharing)
        generator.weight = src_embed.weight

    weights = {}
    for l, layer in enumerate(model.encoder.layers):
        capture_weights(layer.self_attn, weights, f"attn/enc/{l}")
    for l, layer in enumerate(model.decoder.layers):
        capture_weights(layer.self_attn, weights, f"attn/dec/{l}")
        capture_weights(layer.multihead_attn, weights, f"attn/cross/{l}")

    src = torch.tensor(t[pre + "src"]).long()
    tgt_in = torch.tensor(t[pre + "tgt_in"]).long()
    tgt_out = torch.tensor(t[pre + "tgt_out"]).long()
    S, T = src.shape[1], tgt_in.shape[1]
    pe = sinusoidal(max(S, T), D)
    x = src_embed(src) * math.sqrt(D) + pe[:S]
    y = tgt_embed(tgt_in) * math.sqrt(D) + pe[:T]
    causal = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)  # True = may not attend
    src_pad, tgt_pad = src == pad, tgt_in == pad
    out = model(x, y, tgt_mask=causal, src_key_padding_mask=src_pad, tgt_key_padding_mask=tgt_pad,
                memory_key_padding_mask=src_pad)
    logits = generator(out)
    loss = F.cross_entropy(logits.reshape(-1, Vt), tgt_out.reshape(-1), ignore_index=pad,
                           label_smoothing=cfg["label_smoothing"])
    loss.backward()

    errs = {"logits": rel_err(t[pre + "logits"], logits.detach().numpy()),
            "loss": rel_err(t[pre + "loss"], loss.detach().numpy())}
    for k, w in weights.items():
        errs[k] = rel_err(t[pre + k], w.numpy())
    params = dict(model.named_parameters())
    params["src_embed.weight"] = src_embed.weight
    if not cfg["share_embeddings"]:
        params["tgt_embed.weight"] = tgt_embed.weight
        params["generator.weight"] = generator.weight
    for k in (k[len(pre) + 5:] for k in t if k.startswith(pre + "grad/")):
        errs["grad/" + k] = rel_err(t[pre + "grad/" + k], params[k].grad.numpy())
    if len(errs) - 2 - len(weights) != len(params):
        raise ValueError(f"{len(errs) - 2 - len(weights)} gradients recorded for {len(params)} parameters")
    return errs


if __name__ == "__main__":
    refcommon.main(run_case)
