"""The attention functions against torch: values and gradients of q, k, v, for every mask option and every path."""
import numpy as np
import pytest
import torch

import explore_attention as ea
from conftest import randn, torch_sdpa

CASES = [
    # (B, H, Hkv, L, S, D, options)
    (2, 4, 4, 7, 7, 16, {}),
    (2, 4, 4, 9, 9, 16, {"is_causal": True}),
    (1, 4, 4, 5, 11, 8, {"is_causal": True}),  # L < S: the last query sees every key
    (2, 4, 2, 6, 6, 16, {"is_causal": True}),  # grouped-query attention
    (1, 6, 1, 8, 8, 16, {}),  # multi-query attention
    (2, 2, 2, 10, 10, 16, {"window": 3}),
    (1, 2, 2, 6, 6, 32, {"scale": 0.3}),
    (2, 2, 2, 5, 7, 16, {"bool_mask": True}),
    (2, 2, 2, 5, 7, 16, {"float_mask": True}),
    (2, 2, 2, 5, 7, 16, {"padding": True}),
]


def make(rng, B, H, Hkv, L, S, D, options):
    q, k, v = randn(rng, B, H, L, D), randn(rng, B, Hkv, S, D), randn(rng, B, Hkv, S, D)
    kwargs = {key: options[key] for key in ("is_causal", "window", "scale") if key in options}
    ref_kwargs = dict(kwargs)
    if options.get("bool_mask"):
        mask = rng.random((L, S)) > 0.3
        mask[:, 0] = True  # keep one key per row
        kwargs["attn_mask"] = mask
        ref_kwargs["attn_mask"] = torch.from_numpy(mask)
    if options.get("float_mask"):
        mask = randn(rng, B, 1, L, S)
        kwargs["attn_mask"] = mask
        ref_kwargs["attn_mask"] = torch.from_numpy(mask)
    if options.get("padding"):
        pad = np.zeros((B, S), dtype=bool)
        pad[0, -2:] = True
        kwargs["key_padding_mask"] = pad
        ref_kwargs["key_padding_mask"] = torch.from_numpy(pad)
    return q, k, v, kwargs, ref_kwargs


@pytest.mark.parametrize("case", CASES, ids=lambda c: str(c))
@pytest.mark.parametrize("implementation", ["auto", "math", "flash"])
def test_sdpa_values_and_gradients_match_torch(rng, case, implementation):
    q, k, v, kwargs, ref_kwargs = make(rng, *case)
    tq, tk, tv = (torch.from_numpy(x.copy()).requires_grad_() for x in (q, k, v))
    ref, _ = torch_sdpa(tq, tk, tv, **ref_kwargs)
    g = randn(rng, *ref.shape)
    (ref * torch.from_numpy(g)).sum().backward()

    eq, ek, ev = (ea.tensor(x, requires_grad=True) for x in (q, k, v))
    out = ea.scaled_dot_product_attention(eq, ek, ev, implementation=implementation, **kwargs)
    assert out.shape == tuple(ref.shape)
    np.testing.assert_allclose(np.asarray(out), ref.detach().numpy(), atol=2e-5, rtol=1e-4)
    (out * g).sum().backward()
    for ours, theirs, name in ((eq, tq, "dq"), (ek, tk, "dk"), (ev, tv, "dv")):
        np.testing.assert_allclose(np.asarray(ours.grad), theirs.grad.numpy(), atol=5e-5, rtol=1e-3, err_msg=name)


def test_sdpa_accepts_torch_tensors_and_returns_weights(rng):
    q, k, v = (torch.randn(1, 2, 5, 8) for _ in range(3))
    out, weights = ea.scaled_dot_product_attention(q, k, v, is_causal=True, need_weights=True)
    ref, ref_w = torch_sdpa(q, k, v, is_causal=True)
    np.testing.assert_allclose(np.asarray(out), ref.numpy(), atol=2e-5)
    np.testing.assert_allclose(np.asarray(weights), ref_w.numpy(), atol=2e-6)
    w = np.asarray(weights)
    np.testing.assert_allclose(w.sum(-1), 1.0, atol=1e-5)
    assert np.all(np.triu(w[0, 0], 1) == 0)


def test_three_dimensional_inputs(rng):
    q, k, v = randn(rng, 3, 6, 8), randn(rng, 3, 9, 8), randn(rng, 3, 9, 4)
    out = ea.scaled_dot_product_attention(q, k, v)
    ref, _ = torch_sdpa(*(torch.from_numpy(x)[:, None] for x in (q, k, v)))
    np.testing.assert_allclose(np.asarray(out), ref[:, 0].numpy(), atol=2e-5)


def test_flash_attention_lse_and_weights_from_lse(rng):
    q, k, v = randn(rng, 1, 2, 9, 16), randn(rng, 1, 2, 9, 16), randn(rng, 1, 2, 9, 16)
    out, lse = ea.flash_attention(q, k, v, is_causal=True)
    tq, tk = torch.from_numpy(q), torch.from_numpy(k)
    scores = (tq @ tk.transpose(-1, -2) / 4.0).masked_fill(torch.ones(9, 9).triu(1).bool(), float("-inf"))
    np.testing.assert_allclose(np.asarray(lse), torch.logsumexp(scores, -1).numpy(), atol=1e-5)
    ref, ref_w = torch_sdpa(tq, tk, torch.from_numpy(v), is_causal=True)
    np.testing.assert_allclose(np.asarray(out), ref.numpy(), atol=2e-5)
    rows = ea.attention_weights_from_lse(q, k, lse, [0, 4, 8], is_causal=True)
    np.testing.assert_allclose(np.asarray(rows), ref_w[:, :, [0, 4, 8]].numpy(), atol=1e-6)


def test_flash_decode_matches_the_last_row_of_causal_attention(rng):
    B, H, Hkv, cap, D, n = 2, 4, 2, 16, 16, 11
    kc, vc = randn(rng, B, Hkv, cap, D), randn(rng, B, Hkv, cap, D)
    q = randn(rng, B, H, 1, D)
    out = ea.flash_decode(q, kc, vc, n)
    ref, _ = torch_sdpa(torch.from_numpy(q), torch.from_numpy(kc[:, :, :n]), torch.from_numpy(vc[:, :, :n]))
    np.testing.assert_allclose(np.asarray(out), ref.numpy(), atol=2e-5)
    with pytest.raises(ValueError, match="length"):
        ea.flash_decode(q, kc, vc, cap + 1)


def test_kv_cache_decoding_equals_full_causal_attention(rng):
    B, H, Hkv, T, D = 2, 4, 2, 9, 8
    q, k, v = randn(rng, B, H, T, D), randn(rng, B, Hkv, T, D), randn(rng, B, Hkv, T, D)
    full, _ = torch_sdpa(torch.from_numpy(q), torch.from_numpy(k), torch.from_numpy(v), is_causal=True)
    cache = ea.KVCache(batch=B, num_kv_heads=Hkv, max_len=16, head_dim=D)
    # a prefill of 4 tokens, then one token at a time (flash_decode on the cache in place), the last with weights
    out = [np.asarray(ea.attention_with_kv_cache(q[:, :, :4], k[:, :, :4], v[:, :, :4], cache))]
    for t in range(4, T - 1):
        out.append(np.asarray(ea.attention_with_kv_cache(q[:, :, t:t + 1], k[:, :, t:t + 1], v[:, :, t:t + 1], cache)))
    last, w = ea.attention_with_kv_cache(q[:, :, T - 1:], k[:, :, T - 1:], v[:, :, T - 1:], cache, need_weights=True)
    out.append(np.asarray(last))
    np.testing.assert_allclose(np.concatenate(out, axis=2), full.numpy(), atol=2e-5)
    assert np.asarray(w).shape == (B, H, 1, T) and len(cache) == T and cache.capacity == 16
    np.testing.assert_allclose(np.asarray(cache.keys()), k, atol=0)
    assert cache.bytes == 4 * B * Hkv * 16 * 2 * D
    assert ea.KVCache.memory_bytes(12, 1, 12, 1024, 64) == 2 * 12 * 12 * 1024 * 64 * 4
    cache.truncate(3)
    assert cache.size == 3
    with pytest.raises(ValueError, match="max_len must be >= 1"):
        ea.KVCache(batch=1, num_kv_heads=1, max_len=0, head_dim=4)
    full_cache = ea.KVCache(batch=1, num_kv_heads=1, max_len=2, head_dim=4)
    x = randn(rng, 1, 1, 3, 4)
    with pytest.raises(ValueError):  # 3 tokens into room for 2: refused, nothing stored
        ea.attention_with_kv_cache(x, x, x, full_cache)
    assert len(full_cache) == 0


def test_flash_implementation_refuses_dropout(rng):
    q = randn(rng, 1, 1, 4, 8)
    with pytest.raises(ValueError, match="fused kernel cannot serve"):
        ea.scaled_dot_product_attention(q, q, q, dropout_p=0.5, implementation="flash")
    with pytest.raises(ValueError, match="implementation"):
        ea.scaled_dot_product_attention(q, q, q, implementation="fast")


def test_dropout_is_seeded_and_keeps_the_expectation(rng):
    q, k, v = randn(rng, 1, 2, 6, 8), randn(rng, 1, 2, 6, 8), randn(rng, 1, 2, 6, 8)
    a = np.asarray(ea.scaled_dot_product_attention(q, k, v, dropout_p=0.5, seed=3))
    b = np.asarray(ea.scaled_dot_product_attention(q, k, v, dropout_p=0.5, seed=3))
    c = np.asarray(ea.scaled_dot_product_attention(q, k, v, dropout_p=0.5, seed=4))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_masks_are_bool_and_mean_what_they_say():
    m = ea.causal_mask(3, 5)
    assert m.dtype == np.bool_ and m.shape == (3, 5)
    np.testing.assert_array_equal(m, np.tril(np.ones((3, 5), bool), 2))
    w = ea.sliding_window_mask(4, 4, 2)
    np.testing.assert_array_equal(w, np.tril(np.ones((4, 4), bool)) & np.triu(np.ones((4, 4), bool), -1))
    np.testing.assert_array_equal(ea.key_padding_mask([2, 4], 4), [[False, False, True, True], [False] * 4])


def test_positions_match_their_formulas():
    pe = np.asarray(ea.sinusoidal_encoding(6, 8))
    pos, i = np.arange(6)[:, None], np.arange(4)[None, :]
    angle = pos / 10000 ** (2 * i / 8)
    np.testing.assert_allclose(pe[:, 0::2], np.sin(angle), atol=1e-6)
    np.testing.assert_allclose(pe[:, 1::2], np.cos(angle), atol=1e-6)

    x = np.random.default_rng(0).standard_normal((1, 2, 5, 8)).astype(np.float32)
    out = np.asarray(ea.apply_rotary_embedding(x, start_pos=3))
    theta = 10000.0 ** (-np.arange(4) * 2 / 8)
    ang = (np.arange(5)[:, None] + 3) * theta[None, :]
    cos, sin = np.concatenate([np.cos(ang)] * 2, -1), np.concatenate([np.sin(ang)] * 2, -1)
    rotated = np.concatenate([-x[..., 4:], x[..., :4]], -1)
    np.testing.assert_allclose(out, x * cos + rotated * sin, atol=1e-5)

    bias = np.asarray(ea.alibi_bias(4, 3, 3))
    slopes = 2.0 ** (-8.0 * np.arange(1, 5) / 4)
    np.testing.assert_allclose(bias[:, 2, :], slopes[:, None] * (np.arange(3) - 2)[None, :], atol=1e-6)


def test_linear_attention_matches_its_quadratic_form(rng):
    q, k, v = randn(rng, 1, 2, 7, 8), randn(rng, 1, 2, 7, 8), randn(rng, 1, 2, 7, 4)
    for causal in (False, True):
        out = np.asarray(ea.linear_attention(q, k, v, causal=causal))
        phi_q, phi_k = (torch.nn.functional.elu(torch.from_numpy(x)) + 1 for x in (q, k))
        scores = phi_q @ phi_k.transpose(-1, -2)
        if causal:
            scores = scores.tril()
        ref = (scores @ torch.from_numpy(v)) / (scores.sum(-1, keepdim=True) + 1e-6)
        np.testing.assert_allclose(out, ref.numpy(), atol=1e-5, rtol=1e-4)


def test_additive_score_and_attend_match_torch(rng):
    q, k, v = randn(rng, 2, 3, 6), randn(rng, 2, 5, 4), randn(rng, 2, 5, 7)
    W, U, va = randn(rng, 8, 6), randn(rng, 8, 4), randn(rng, 8)
    scores = ea.additive_score(q, k, W, U, va)
    tq, tk = torch.from_numpy(q), torch.from_numpy(k)
    ref = torch.tanh((tq @ torch.from_numpy(W).T)[:, :, None, :] + (tk @ torch.from_numpy(U).T)[:, None, :, :]) @ torch.from_numpy(va)
    np.testing.assert_allclose(np.asarray(scores), ref.numpy(), atol=1e-5)
    mask = np.ones((2, 5), np.float32)
    mask[1, 3:] = 0
    context, weights = ea.attend(scores, v, mask)
    w = torch.softmax(ref.masked_fill(torch.from_numpy(mask)[:, None, :] == 0, float("-inf")), -1)
    np.testing.assert_allclose(np.asarray(weights), w.numpy(), atol=1e-6)
    np.testing.assert_allclose(np.asarray(context), (w @ torch.from_numpy(v)).numpy(), atol=1e-5)
    np.testing.assert_allclose(np.asarray(ea.dot_score(q[..., :4], k)), (tq[..., :4] @ tk.transpose(1, 2)).numpy(), atol=1e-5)


def test_rollout_and_head_types_follow_their_definitions(rng):
    A = [np.asarray(ea.softmax(randn(rng, 2, 5, 5), -1)) for _ in range(3)]  # 3 layers of (H=2, T, T)
    R = np.asarray(ea.explain.attention_rollout(A))
    expected = np.eye(5)
    for a in A:
        hat = 0.5 * a.mean(0) + 0.5 * np.eye(5)
        hat /= hat.sum(-1, keepdims=True)
        expected = hat @ expected
    np.testing.assert_allclose(R, expected, atol=1e-5)
    ids = ea.explain.repeated_random_tokens(4, 50, seed=1)
    assert len(ids) == 8 and ids[:4] == ids[4:]
    T, n = 8, 4
    prev = np.zeros((T, T), np.float32)
    prev[0, 0] = 1
    prev[np.arange(1, T), np.arange(T - 1)] = 1
    scores = ea.explain.head_type_scores(prev[None], n)
    assert scores[0]["type"] == "previous-token" and scores[0]["previous_token"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="attentions is empty"):
        ea.explain.attention_rollout([])
