"""Shared helpers of the Python binding tests: the module under test, torch as the reference, seeded data."""
import os
import pathlib

import numpy as np
import pytest
import torch

import explore_attention as ea  # noqa: F401  (imported here so a build without the module fails at once)

REPO = pathlib.Path(os.environ.get("ATTN_SOURCE_DIR", pathlib.Path(__file__).resolve().parents[2]))

torch.set_num_threads(1)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def randn(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


def torch_sdpa(q, k, v, attn_mask=None, is_causal=False, scale=None, key_padding_mask=None, window=0):
    """softmax(q kᵀ · scale + M) v in torch 1.13 (which has no F.scaled_dot_product_attention), with this
    library's mask conventions: bool attn_mask True = may attend, float added; key_padding_mask True = padding;
    causal and window aligned to the end (query i sees keys j <= i + S - L). GQA by repeat_interleave."""
    H, Hkv = q.shape[-3], k.shape[-3]
    if Hkv != H:
        k = k.repeat_interleave(H // Hkv, dim=-3)
        v = v.repeat_interleave(H // Hkv, dim=-3)
    L, S, D = q.shape[-2], k.shape[-2], q.shape[-1]
    scores = q @ k.transpose(-1, -2) * (scale if scale is not None else 1.0 / D ** 0.5)
    allowed = torch.ones(L, S, dtype=torch.bool)
    i = torch.arange(L)[:, None] + (S - L)
    j = torch.arange(S)[None, :]
    if is_causal or window > 0:
        allowed &= j <= i
    if window > 0:
        allowed &= j > i - window
    scores = scores.masked_fill(~allowed, float("-inf"))
    if attn_mask is not None:
        if attn_mask.dtype == torch.bool:
            scores = scores.masked_fill(~attn_mask, float("-inf"))
        else:
            scores = scores + attn_mask
    if key_padding_mask is not None:
        scores = scores.masked_fill(key_padding_mask.bool()[:, None, None, :], float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    weights = torch.nan_to_num(weights, nan=0.0)  # a row with every key masked: zero weights, as the library
    return weights @ v, weights
