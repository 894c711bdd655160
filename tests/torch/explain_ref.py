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

Each error is max |ours - ref| / max |ref|. Usage: explain_ref.py cases.safetensors results.json
"""
from collections import deque

import numpy as np
import torch

import gpt_ref
import refcommon
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


def run_case(t, case):
    if case.get("kind") == "gpt":
        return gpt_case(t, case)
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
