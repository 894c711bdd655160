"""Reference values for the explain layer's cross-check, computed by PyTorch in float64. Two kinds of case:

Rollout (Abnar & Zuidema 2020) from the paper's formula:

    Â_l = ½·mean_heads(A_l) + ½·I, rows renormalised;   R = Â_{L-1} ⋯ Â_1 · Â_0

  the C++ test wrote every layer's attention ("<case>/in<l>", (…, H, T, T)), our rollout ("<case>/out"), our
  head mean of layer 0 ("<case>/mean"), a random upstream gradient ("<case>/gout") and our gradient of
  Σ out ⊙ gout for every layer ("<case>/grad<l>").

GPT ("kind": "gpt"): every attribution method of attn/explain for the next-token logit y = logits[T-1, target]
of a small random GPT (our parameters "<case>/param/<name>", the context "<case>/ids"), recomputed on
gpt_ref.py's torch GPT with ∂y/∂A, ∂y/∂x₀, ∂y/∂h_L from torch autograd: our traced gradients ("<case>/dA<l>",
"<case>/input_grad", "<case>/last_grad"), our scores ("<case>/explain/<method>", the six of kMethods; flow by
Edmonds-Karp here, Boost's push-relabel there), and the removal forward ("<case>/removed" (R, T) ->
"<case>/removed_logits" (R, V), the last position's logits with those keys masked in every layer).

Seq2seq ("kind": "seq2seq"): Chefer et al.'s relevance for an encoder-decoder (attn/explain/seq2seq_explain.h)
for one logit y = logits[t, v] of a small random Transformer (our state dict "<case>/state/<name>", the
source "<case>/src" and target "<case>/tgt_in"), recomputed on a torch Transformer written here from the
architecture (every softmax kept with retain_grad; its logits checked against torch.nn.Transformer's loaded
with the same state dict, "logits_nn") with ∂y/∂A from torch autograd: every map and gradient
("<case>/enc<l>", "enc_grad<l>", "dec<l>", "dec_grad<l>", "cross<l>", "cross_grad<l>", (H, ·, ·)), and the
paper's rules written again here — R^ss, R^tt, R^ts ("R_ss", "R_tt", "R_ts") and the raw last-layer
cross-attention ("raw_cross").

Each error is max |ours - ref| / max |ref|. Usage: explain_ref.py cases.safetensors results.json
"""
from collections import deque

import math

import numpy as np
import torch
import torch.nn.functional as F

import gpt_ref
import refcommon
import transformer_ref
from refcommon import rel_err


def rollout(attentions):
    """The rollout as the paper writes it, bottom layer first."""
    T = attentions[0].shape[-1]
    eye = torch.eye(T, dtype=torch.float64)
    R = None
    for A in attentions:
        A_hat = 0.5 * A.mean(dim=-3) + 0.5 * eye
        A_hat = A_hat / A_hat.sum(dim=-1, keepdim=True)
        R = A_hat if R is None else A_hat @ R
    return R


def max_flow(cap, source, sink):
    """Edmonds-Karp: augment along shortest residual paths until none is left. cap: (n, n) capacities."""
    res = cap.copy()
    n, total = cap.shape[0], 0.0
    while True:
        parent = [-1] * n
        parent[source] = source
        queue = deque([source])
        while queue and parent[sink] < 0:
            u = queue.popleft()
            for v in np.nonzero(res[u] > 1e-15)[0]:
                if parent[v] < 0:
                    parent[v] = u
                    queue.append(v)
        if parent[sink] < 0:
            return total
        path, v = [], sink
        while v != source:
            path.append((parent[v], v))
            v = parent[v]
        b = min(res[u, v] for u, v in path)
        for u, v in path:
            res[u, v] -= b
            res[v, u] += b
        total += b


def flow_scores(attentions, q):
    """Abnar & Zuidema's attention flow: node (l, i) = l·T + i, edge (l, j) -> (l+1, i) with capacity Â_l[i, j];
    the score of input token j is the max flow from (0, j) to (L, q)."""
    L, T = len(attentions), attentions[0].shape[-1]
    cap = np.zeros(((L + 1) * T, (L + 1) * T))
    eye = torch.eye(T)
    for l, a in enumerate(attentions):
        a_hat = 0.5 * a[0].detach().mean(0) + 0.5 * eye
        a_hat = (a_hat / a_hat.sum(-1, keepdim=True)).numpy()
        cap[l * T:(l + 1) * T, (l + 1) * T:(l + 2) * T] = a_hat.T  # from j below to i above
    return np.array([max_flow(cap, j, L * T + q) for j in range(T)])


def gpt_case(t, case):
    """Every method for the next-token logit of a small random GPT, ∂y/∂A etc. from torch autograd."""
    name, cfg, target = case["name"], case["config"], case["target"]
    pre = name + "/"
    p = {k[len(pre) + 6:]: torch.tensor(v).double().requires_grad_(True)
         for k, v in t.items() if k.startswith(pre + "param/")}
    ids = torch.tensor(t[pre + "ids"]).long()
    T = ids.shape[1]
    q = T - 1
    trace = {}
    logits = gpt_ref.forward(p, cfg, ids, conv1d=False, trace=trace)
    logits[0, q, target].backward()
    A, hidden = trace["attentions"], trace["hidden"]
    errs = {"logits": rel_err(t[pre + "logits"], logits[0, q].detach().numpy())}
    for l, a in enumerate(A):
        errs[f"dA{l}"] = rel_err(t[pre + f"dA{l}"], a.grad.numpy())
        errs[f"attention{l}"] = rel_err(t[pre + f"attention{l}"], a.detach().numpy())
    x0, g0 = hidden[0][0].detach(), hidden[0].grad[0]
    hL, gL = hidden[-1][0].detach(), hidden[-1].grad[0]
    errs["input_grad"] = rel_err(t[pre + "input_grad"], g0.numpy())
    errs["last_grad"] = rel_err(t[pre + "last_grad"], gL.numpy())

    ref = {"raw_attention": A[-1][0].detach().mean(0)[q].numpy(),
           "rollout": rollout([a.detach()[0] for a in A])[q].numpy(),
           "flow": flow_scores(A, q),
           "grad_x_input": (x0 * g0).sum(-1).numpy(),
           "grad_cam": torch.relu((hL * gL.mean(0, keepdim=True)).sum(-1)).numpy()}
    R = torch.eye(T)
    for a in A:
        R = R + (a.grad[0] * a[0].detach()).clamp(min=0).mean(0) @ R  # R += E_h[(∇A ⊙ A)+] R
    ref["relevance"] = R[q].numpy()
    for method, r in ref.items():
        errs["explain/" + method] = rel_err(t[pre + "explain/" + method], r)

    removed = torch.tensor(t[pre + "removed"]).long()
    with torch.no_grad():
        rows = gpt_ref.forward({k: v.detach() for k, v in p.items()}, cfg, ids.expand(removed.shape[0], T),
                               conv1d=False, removed=removed)
    errs["removed_logits"] = rel_err(t[pre + "removed_logits"], rows[:, q].numpy())
    return errs


def transformer_forward(p, cfg, src, tgt_in, maps):
    """The Transformer of attn/models/transformer.h on one batch, float64, every attention's softmax output
    (B, H, L, S) appended to maps["enc"], maps["dec"], maps["cross"] with retain_grad(). Returns logits (B, T, V)."""
    D, H = cfg["d_model"], cfg["nhead"]
    Dh, eps, pre_ln = D // H, cfg["layer_norm_eps"], cfg["norm_first"]
    act = F.gelu if cfg["activation"] == "gelu" else F.relu
    S, T = src.shape[1], tgt_in.shape[1]
    pe = transformer_ref.sinusoidal(max(S, T), D)

    def norm(x, name):
        return F.layer_norm(x, (D,), p[name + ".weight"], p[name + ".bias"], eps)

    def attention(name, q_in, kv_in, causal, store):
        W, b = p[name + ".in_proj_weight"], p[name + ".in_proj_bias"]
        heads = lambda x: x.reshape(x.shape[0], x.shape[1], H, Dh).transpose(1, 2)  # (B, H, L, Dh)
        q = heads(F.linear(q_in, W[:D], b[:D]))
        k = heads(F.linear(kv_in, W[D:2 * D], b[D:2 * D]))
        v = heads(F.linear(kv_in, W[2 * D:], b[2 * D:]))
        s = q @ k.transpose(-1, -2) / math.sqrt(Dh)
        if causal:
            L = s.shape[-1]
            s = s.masked_fill(torch.triu(torch.ones(L, L, dtype=torch.bool), 1), float("-inf"))
        a = torch.softmax(s, -1)
        a.retain_grad()
        store.append(a)
        o = (a @ v).transpose(1, 2).reshape(q_in.shape[0], q_in.shape[1], D)
        return F.linear(o, p[name + ".out_proj.weight"], p[name + ".out_proj.bias"])

    def ff(name, x):
        return F.linear(act(F.linear(x, p[name + ".linear1.weight"], p[name + ".linear1.bias"])),
                        p[name + ".linear2.weight"], p[name + ".linear2.bias"])

    x = p["src_embed.weight"][src] * math.sqrt(D) + pe[:S]
    for l in range(cfg["num_encoder_layers"]):
        n = f"encoder.layers.{l}"
        sa = lambda h: attention(n + ".self_attn", h, h, False, maps["enc"])
        if pre_ln:
            x = x + sa(norm(x, n + ".norm1"))
            x = x + ff(n, norm(x, n + ".norm2"))
        else:
            x = norm(x + sa(x), n + ".norm1")
            x = norm(x + ff(n, x), n + ".norm2")
    memory = norm(x, "encoder.norm")
    y = p["tgt_embed.weight"][tgt_in] * math.sqrt(D) + pe[:T]
    for l in range(cfg["num_decoder_layers"]):
        n = f"decoder.layers.{l}"
        sa = lambda h: attention(n + ".self_attn", h, h, True, maps["dec"])
        ca = lambda h: attention(n + ".multihead_attn", h, memory, False, maps["cross"])
        if pre_ln:
            y = y + sa(norm(y, n + ".norm1"))
            y = y + ca(norm(y, n + ".norm2"))
            y = y + ff(n, norm(y, n + ".norm3"))
        else:
            y = norm(y + sa(y), n + ".norm1")
            y = norm(y + ca(y), n + ".norm2")
            y = norm(y + ff(n, y), n + ".norm3")
    return F.linear(norm(y, "decoder.norm"), p["generator.weight"])


def nn_transformer_logits(p, cfg, src, tgt_in):
    """The same state dict in torch.nn.Transformer: the reference above must be this architecture."""
    D = cfg["d_model"]
    model = torch.nn.Transformer(d_model=D, nhead=cfg["nhead"], num_encoder_layers=cfg["num_encoder_layers"],
                                 num_decoder_layers=cfg["num_decoder_layers"], dim_feedforward=cfg["dim_feedforward"],
                                 dropout=0.0, activation=cfg["activation"], layer_norm_eps=cfg["layer_norm_eps"],
                                 batch_first=True, norm_first=cfg["norm_first"]).double()
    model.load_state_dict({k: v for k, v in p.items() if k in model.state_dict()}, strict=True)
    model.train()  # dropout is 0; training mode keeps torch off its inference fast paths
    S, T = src.shape[1], tgt_in.shape[1]
    pe = transformer_ref.sinusoidal(max(S, T), D)
    causal = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
    with torch.no_grad():
        out = model(p["src_embed.weight"][src] * math.sqrt(D) + pe[:S],
                    p["tgt_embed.weight"][tgt_in] * math.sqrt(D) + pe[:T], tgt_mask=causal)
        return F.linear(out, p["generator.weight"])


def handle_residual(R):
    """R̄ = rownorm(R - I) + I (the paper's eq. 8-9); a row of R - I summing to 0 stays 0."""
    eye = torch.eye(R.shape[0], dtype=R.dtype)
    X = R - eye
    s = X.sum(-1, keepdim=True)
    return torch.where(s != 0, X / torch.where(s != 0, s, torch.ones_like(s)), X) + eye


def seq2seq_case(t, case):
    """Chefer et al.'s encoder-decoder rules on the torch Transformer's maps and autograd gradients."""
    name, cfg, pos, token = case["name"], case["config"], case["position"], case["token"]
    pre = name + "/"
    p = {k[len(pre) + 6:]: torch.tensor(v).double().requires_grad_(True)
         for k, v in t.items() if k.startswith(pre + "state/")}
    src = torch.tensor(t[pre + "src"]).long()
    tgt_in = torch.tensor(t[pre + "tgt_in"]).long()
    maps = {"enc": [], "dec": [], "cross": []}
    logits = transformer_forward(p, cfg, src, tgt_in, maps)
    logits[0, pos, token].backward()
    errs = {"logits": rel_err(t[pre + "logits"], logits[0].detach().numpy()),
            "logits_nn": rel_err(nn_transformer_logits({k: v.detach() for k, v in p.items()}, cfg, src, tgt_in)[0].numpy(),
                                 logits[0].detach().numpy())}
    bar = {}
    for kind in ("enc", "dec", "cross"):
        bar[kind] = []
        for l, a in enumerate(maps[kind]):
            errs[f"{kind}{l}"] = rel_err(t[pre + f"{kind}{l}"], a[0].detach().numpy())
            errs[f"{kind}_grad{l}"] = rel_err(t[pre + f"{kind}_grad{l}"], a.grad[0].numpy())
            bar[kind].append((a.grad[0] * a[0].detach()).clamp(min=0).mean(0))  # Ā = E_h[(∇A ⊙ A)+]
    S, T = src.shape[1], tgt_in.shape[1]
    R_ss, R_tt, R_ts = torch.eye(S), torch.eye(T), torch.zeros(T, S)
    for A in bar["enc"]:
        R_ss = R_ss + A @ R_ss
    for A_self, A_cross in zip(bar["dec"], bar["cross"]):
        R_tt, R_ts = R_tt + A_self @ R_tt, R_ts + A_self @ R_ts
        R_ts = R_ts + handle_residual(R_tt).t() @ A_cross @ handle_residual(R_ss)
    errs["R_ss"] = rel_err(t[pre + "R_ss"], R_ss.numpy())
    errs["R_tt"] = rel_err(t[pre + "R_tt"], R_tt.numpy())
    errs["R_ts"] = rel_err(t[pre + "R_ts"], R_ts.numpy())
    errs["raw_cross"] = rel_err(t[pre + "raw_cross"], maps["cross"][-1][0].detach().mean(0).numpy())
    return errs


def run_case(t, case):
    if case.get("kind") == "gpt":
        return gpt_case(t, case)
    if case.get("kind") == "seq2seq":
        return seq2seq_case(t, case)
    name, L = case["name"], case["n_layers"]
    A = [torch.from_numpy(t[f"{name}/in{l}"].astype(np.float64)).requires_grad_(True) for l in range(L)]
    R = rollout(A)
    res = {"out": rel_err(t[f"{name}/out"], R.detach().numpy()),
           "mean": rel_err(t[f"{name}/mean"], A[0].detach().mean(dim=-3).numpy())}
    R.backward(torch.from_numpy(t[f"{name}/gout"].astype(np.float64)).reshape(R.shape))
    for l in range(L):
        res[f"grad{l}"] = rel_err(t[f"{name}/grad{l}"], A[l].grad.numpy())
    return res


if __name__ == "__main__":
    refcommon.main(run_case)
