"""Reference values for the explain layer's cross-check (attention rollout, Abnar & Zuidema 2020), computed by
PyTorch in float64 from the paper's formula:

    Â_l = ½·mean_heads(A_l) + ½·I, rows renormalised;   R = Â_{L-1} ⋯ Â_1 · Â_0

For each case the C++ test wrote every layer's attention ("<case>/in<l>", (…, H, T, T)), our rollout
("<case>/out"), our head mean of layer 0 ("<case>/mean"), a random upstream gradient ("<case>/gout") and our
gradient of Σ out ⊙ gout for every layer ("<case>/grad<l>"). Each error is max |ours - ref| / max |ref|.
Usage: explain_ref.py cases.safetensors results.json
"""
import numpy as np
import torch

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


def run_case(t, case):
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
