"""Reference values for the attention-variant cross-check (RoPE, ALiBi, sinusoidal, linear attention),
computed by PyTorch in float64.

Reads the cases the C++ test wrote (inputs, our outputs, the upstream gradient, our input gradients) and,
for each case, compares ours with one or more independent references:
    rope (rotate_half)   "" : the rotation formula composed in torch     "_hf": HF transformers' rotate_half
    rope (interleaved)   "" : the rotation formula composed in torch     "_complex": Meta's complex form
    alibi                "" : the paper's get_slopes() and -m_h (i' - j)
    sinusoidal           "" : Vaswani et al.'s formula
    linear_attention     "" : the factored form (einsum, cumsum)         "_quadratic": the masked O(L S) form
Each error is the norm-wise relative error  max |ours - ref| / max |ref|.
Usage: attention_variants_ref.py cases.safetensors results.json
"""
import math

import numpy as np
import torch
import torch.nn.functional as F

import refcommon
from refcommon import rel_err

# ---- RoPE ----------------------------------------------------------------------------------------------


def rope_formula(x, pos, base, interleaved):
    """Pair (a, b) at position p -> (a cos pθ_i - b sin pθ_i, b cos pθ_i + a sin pθ_i), θ_i = base^(-2i/D)."""
    D = x.shape[-1]
    half = D // 2
    theta = base ** (-2.0 * torch.arange(half, dtype=torch.float64) / D)
    ang = pos.double()[:, None] * theta[None, :]  # (T, D/2)
    c, s = torch.cos(ang), torch.sin(ang)
    if interleaved:
        a, b = x[..., 0::2], x[..., 1::2]
    else:
        a, b = x[..., :half], x[..., half:]
    ra, rb = a * c - b * s, b * c + a * s
    if interleaved:
        return torch.stack([ra, rb], dim=-1).flatten(-2)
    return torch.cat([ra, rb], dim=-1)


def rotate_half(x):
    """transformers.models.llama.modeling_llama.rotate_half"""
    x1 = x[..., : x.shape[-1] // 2]
    x2 = x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def rope_hf(x, pos, base):
    """LlamaRotaryEmbedding + apply_rotary_pos_emb, in float64."""
    D = x.shape[-1]
    inv_freq = 1.0 / (base ** (torch.arange(0, D, 2, dtype=torch.int64).double() / D))
    freqs = torch.outer(pos.double(), inv_freq)  # (T, D/2)
    emb = torch.cat((freqs, freqs), dim=-1)      # (T, D)
    return x * emb.cos() + rotate_half(x) * emb.sin()


def rope_complex(x, pos, base):
    """Meta's llama/model.py: x viewed as D/2 complex numbers (2i, 2i+1), times e^{i p θ_i}."""
    D = x.shape[-1]
    freqs = 1.0 / (base ** (torch.arange(0, D, 2, dtype=torch.float64)[: D // 2] / D))
    freqs = torch.outer(pos.double(), freqs)
    freqs_cis = torch.polar(torch.ones_like(freqs), freqs)  # (T, D/2) complex128
    xc = torch.view_as_complex(x.reshape(*x.shape[:-1], -1, 2).contiguous())
    return torch.view_as_real(xc * freqs_cis).flatten(-2)


def rope_refs(x, idx, a):
    pos = idx[0]
    refs = {"": rope_formula(x[0], pos, a["base"], a["interleaved"])}
    if a["interleaved"]:
        refs["_complex"] = rope_complex(x[0], pos, a["base"])
    else:
        refs["_hf"] = rope_hf(x[0], pos, a["base"])
    return refs


# ---- ALiBi ---------------------------------------------------------------------------------------------


def get_slopes(n):
    """ofirpress/attention_with_linear_biases, fairseq/models/transformer.py"""
    def get_slopes_power_of_2(n):
        start = 2 ** (-2 ** -(math.log2(n) - 3))
        ratio = start
        return [start * ratio ** i for i in range(n)]

    if math.log2(n).is_integer():
        return get_slopes_power_of_2(n)
    closest_power_of_2 = 2 ** math.floor(math.log2(n))
    return get_slopes_power_of_2(closest_power_of_2) + get_slopes(2 * closest_power_of_2)[0::2][: n - closest_power_of_2]


def alibi_refs(x, idx, a):
    H, L, S = a["H"], a["L"], a["S"]
    m = torch.tensor(get_slopes(H), dtype=torch.float64)            # (H)
    i = torch.arange(L, dtype=torch.float64)[:, None] + (S - L)     # query's absolute position
    j = torch.arange(S, dtype=torch.float64)[None, :]
    bias = -m[:, None, None] * (i - j)[None]                        # (H, L, S)
    return {"": torch.cat([m, bias.reshape(-1)])}


# ---- sinusoidal ----------------------------------------------------------------------------------------


def sinusoidal_refs(x, idx, a):
    T, D = a["T"], a["D"]
    pe = torch.zeros(T, D, dtype=torch.float64)
    t = torch.arange(T, dtype=torch.float64)[:, None]
    two_i = torch.arange(0, D, 2, dtype=torch.float64)
    ang = t / (10000.0 ** (two_i / D))
    pe[:, 0::2] = torch.sin(ang)
    pe[:, 1::2] = torch.cos(ang)[:, : D // 2]
    return {"": pe}


# ---- linear attention ----------------------------------------------------------------------------------


def phi(x):
    return F.elu(x) + 1


def linear_factored(q, k, v, causal, eps):
    fq, fk = phi(q), phi(k)
    if not causal:
        kv = torch.einsum("bhsd,bhse->bhde", fk, v)       # Σ_j φ(k_j) v_jᵀ
        z = fk.sum(dim=2)                                 # Σ_j φ(k_j)
        num = torch.einsum("bhld,bhde->bhle", fq, kv)
        den = torch.einsum("bhld,bhd->bhl", fq, z)[..., None] + eps
    else:
        kv = torch.cumsum(torch.einsum("bhsd,bhse->bhsde", fk, v), dim=2)  # prefix states
        z = torch.cumsum(fk, dim=2)
        num = torch.einsum("bhld,bhlde->bhle", fq, kv)
        den = torch.einsum("bhld,bhld->bhl", fq, z)[..., None] + eps
    return num / den


def linear_quadratic(q, k, v, causal, eps):
    a = phi(q) @ phi(k).transpose(-1, -2)                 # (B, H, L, S)
    if causal:
        L, S = a.shape[-2:]
        a = a * torch.ones(L, S, dtype=a.dtype).tril()
    return (a @ v) / (a.sum(dim=-1, keepdim=True) + eps)


def linear_refs(x, idx, a):
    q, k, v = x
    B, H = q.shape[:2]
    k = k.expand(B, H, *k.shape[2:])  # broadcast key/value heads (expand sums the gradient back)
    v = v.expand(B, H, *v.shape[2:])
    return {"": linear_factored(q, k, v, a["causal"], a["eps"]),
            "_quadratic": linear_quadratic(q, k, v, a["causal"], a["eps"])}


REFS = {"rope": rope_refs, "alibi": alibi_refs, "sinusoidal": sinusoidal_refs, "linear_attention": linear_refs}



def run_case(t, case):
    name, op, args = case["name"], case["op"], case["args"]
    n_in, diff = case["n_inputs"], case["differentiable"]
    idx = [torch.from_numpy(t[f"{name}/idx{k}"].astype(np.int64)) for k in range(case["n_indices"])]
    gout = torch.from_numpy(t[f"{name}/gout"].astype(np.float64))
    res = {}
    # each reference gets fresh leaves, so that its gradients are its own
    for suffix in REFS[op]([torch.from_numpy(t[f"{name}/in{k}"].astype(np.float64)) for k in range(n_in)], idx, args):
        xs = [torch.from_numpy(t[f"{name}/in{k}"].astype(np.float64)).requires_grad_(bool(diff[k])) for k in range(n_in)]
        ref = REFS[op](xs, idx, args)[suffix]
        res["out" + suffix] = rel_err(t[f"{name}/out"], ref.detach().numpy())
        if any(diff):
            ref.backward(gout.reshape(ref.shape))
            for k in range(n_in):
                if diff[k]:
                    g = xs[k].grad
                    res[f"grad{k}{suffix}"] = rel_err(t[f"{name}/grad{k}"],
                                                      g.numpy() if g is not None else np.zeros(xs[k].shape))
    return res


if __name__ == "__main__":
    refcommon.main(run_case)
