"""Reference values for the op cross-check, computed by PyTorch in float64.

Reads the cases the C++ test wrote (inputs, our outputs, the upstream gradient, our input gradients),
recomputes each op with torch, and writes the norm-wise relative error of every output and gradient:
    err = max |ours - torch| / max |torch|
Usage: ops_ref.py cases.safetensors results.json
"""

import numpy as np
import torch
import torch.nn.functional as F

import refcommon
from refcommon import rel_err


def matmul(x, idx, a):
    p, q = x
    if a.get("transpose_a"):
        p = p.transpose(-1, -2)
    if a.get("transpose_b"):
        q = q.transpose(-1, -2)
    return torch.matmul(p, q)


def split_case(x, idx, a):
    parts = torch.split(x[0], a["sizes"], dim=a["dim"])
    return torch.cat([parts[2], parts[0] * 2, parts[1]], dim=a["dim"])


def split_heads_case(x, idx, a, col=None):
    B, T, _ = x[0].shape
    H, Dh = a["heads"], a["head_dim"]
    c = a["col"] if col is None else col
    return x[0][..., c:c + H * Dh].reshape(B, T, H, Dh).permute(0, 2, 1, 3)


def split_heads_qkv_case(x, idx, a):
    w = a["heads"] * a["head_dim"]
    q, k, v = (split_heads_case(x, idx, a, col) for col in (0, w, 2 * w))
    return torch.cat([q * 2, k, v * 3], dim=1)


def merge_heads_case(x, idx, a):
    B, H, T, Dh = x[0].shape
    return x[0].permute(0, 2, 1, 3).reshape(B, T, H * Dh)


def slice_case(x, idx, a):
    sl = [slice(None)] * x[0].dim()
    sl[a["dim"]] = slice(a["start"], a["end"], a["step"])
    return x[0][tuple(sl)]


def reduce_case(fn):
    def run(x, idx, a):
        if "dim" not in a:
            return fn(x[0])
        return fn(x[0], dim=a["dim"], keepdim=a.get("keepdim", False))
    return run


def max_case(x, idx, a):
    if "dim" not in a:
        return x[0].max()
    return x[0].max(dim=a["dim"], keepdim=a.get("keepdim", False)).values


def cross_entropy(x, idx, a):
    return F.cross_entropy(x[0], idx[0], ignore_index=a.get("ignore_index", -100),
                           label_smoothing=a.get("label_smoothing", 0.0), reduction=a.get("reduction", "mean"))


def attention_scores(x, idx, a):
    s = torch.softmax(torch.matmul(x[0], x[1].transpose(-1, -2)) * 0.5, dim=-1)
    return torch.matmul(s, x[2])


OPS = {
    "matmul": matmul,
    "linear": lambda x, idx, a: F.linear(x[0], x[1], x[2] if len(x) > 2 else None),
    "add": lambda x, idx, a: x[0] + x[1],
    "sub": lambda x, idx, a: x[0] - x[1],
    "mul": lambda x, idx, a: x[0] * x[1],
    "div": lambda x, idx, a: x[0] / x[1],
    "add_scalar": lambda x, idx, a: x[0] + a["other"],
    "mul_scalar": lambda x, idx, a: x[0] * a["other"],
    "rsub_scalar": lambda x, idx, a: a["other"] - x[0],
    "rdiv_scalar": lambda x, idx, a: a["other"] / x[0],
    "neg": lambda x, idx, a: -x[0],
    "exp": lambda x, idx, a: torch.exp(x[0]),
    "log": lambda x, idx, a: torch.log(x[0]),
    "sqrt": lambda x, idx, a: torch.sqrt(x[0]),
    "tanh": lambda x, idx, a: torch.tanh(x[0]),
    "sigmoid": lambda x, idx, a: torch.sigmoid(x[0]),
    "relu": lambda x, idx, a: torch.relu(x[0]),
    "gelu": lambda x, idx, a: F.gelu(x[0], approximate=a["approximate"]),
    "pow": lambda x, idx, a: torch.pow(x[0], a["exponent"]),
    "softmax": lambda x, idx, a: torch.softmax(x[0], dim=a["dim"]),
    "log_softmax": lambda x, idx, a: torch.log_softmax(x[0], dim=a["dim"]),
    "sum": reduce_case(torch.sum),
    "mean": reduce_case(torch.mean),
    "max": max_case,
    "cumsum": lambda x, idx, a: torch.cumsum(x[0], dim=a["dim"]),
    "reshape": lambda x, idx, a: x[0].reshape(a["shape"]),
    "permute": lambda x, idx, a: x[0].permute(a["dims"]),
    "transpose": lambda x, idx, a: x[0].transpose(a["dim0"], a["dim1"]),
    "concat": lambda x, idx, a: torch.cat(x, dim=a["dim"]),
    "stack": lambda x, idx, a: torch.stack(x, dim=a["dim"]),
    "split": split_case,
    "slice": slice_case,
    "split_heads": split_heads_case,
    "split_heads_qkv": split_heads_qkv_case,
    "merge_heads": merge_heads_case,
    "index_select": lambda x, idx, a: torch.index_select(x[0], a["dim"], idx[0]),
    "gather": lambda x, idx, a: torch.gather(x[0], a["dim"], idx[0]),
    "embedding": lambda x, idx, a: F.embedding(idx[0], x[0], padding_idx=a.get("padding_idx")),
    "layer_norm": lambda x, idx, a: F.layer_norm(x[0], a["normalized_shape"], x[1] if len(x) > 1 else None,
                                                 x[2] if len(x) > 2 else None, eps=1e-5),
    "rms_norm": lambda x, idx, a: x[0] * torch.rsqrt(x[0].pow(2).mean(dim=list(range(-len(a["normalized_shape"]), 0)),
                                                                      keepdim=True) + 1e-6)
    * (x[1] if len(x) > 1 else 1.0),
    "masked_fill": lambda x, idx, a: x[0].masked_fill(x[1] != 0, a["value"]),
    "where": lambda x, idx, a: torch.where(x[0] != 0, x[1], x[2]),
    "cross_entropy": cross_entropy,
    "mse_loss": lambda x, idx, a: F.mse_loss(x[0], x[1], reduction=a.get("reduction", "mean")),
    "compose_attention": attention_scores,
    "compose_reuse": lambda x, idx, a: torch.tanh(x[0]) * x[0] + torch.exp(x[0] * 0.5),
}




def run_case(t, case):
    name, op, args = case["name"], case["op"], case["args"]
    n_in, diff = case["n_inputs"], case["differentiable"]
    xs = []
    for k in range(n_in):
        x = torch.from_numpy(t[f"{name}/in{k}"].astype(np.float64))
        xs.append(x.requires_grad_(bool(diff[k])))
    idx = [torch.from_numpy(t[f"{name}/idx{k}"].astype(np.int64)) for k in range(case["n_indices"])]
    ours_out = t[f"{name}/out"]
    gout = torch.from_numpy(t[f"{name}/gout"].astype(np.float64))

    if op == "dropout":
        # Different generators draw different masks: check our mask's statistics, and the values and
        # gradient that our mask implies.
        p = args["p"]
        keep = torch.from_numpy((ours_out != 0).astype(np.float64))
        ref = xs[0] * keep / (1 - p)
        dropped = 1.0 - float(keep.mean())
        res = {"drop_fraction": dropped}
    else:
        ref = OPS[op](xs, idx, args)
        res = {}
    res["out"] = rel_err(ours_out, ref.detach().numpy())
    if any(diff):
        ref.backward(gout.reshape(ref.shape))
        for k in range(n_in):
            if diff[k]:
                g = xs[k].grad
                res[f"grad{k}"] = rel_err(t[f"{name}/grad{k}"], g.numpy() if g is not None else np.zeros_like(t[f"{name}/in{k}"]))
    return res


if __name__ == "__main__":
    refcommon.main(run_case)
