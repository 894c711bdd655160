"""The attention modules against torch: a torch module's state_dict loads as is, and outputs, attention weights,
input gradients and parameter gradients agree. AdamW steps as torch.optim.AdamW does."""
import numpy as np
import pytest
import torch

import explore_attention as ea
from conftest import randn, torch_sdpa


def torch_state(module):
    return {name: t.detach().numpy() for name, t in module.state_dict().items()}


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("kdim", [None, 6])
def test_multihead_attention_matches_torch(rng, batch_first, kdim):
    torch.manual_seed(0)
    E, H, L, S, B = 16, 4, 5, 7, 2
    ref = torch.nn.MultiheadAttention(E, H, kdim=kdim, vdim=kdim, batch_first=batch_first)
    ours = ea.MultiheadAttention(E, H, kdim=kdim, vdim=kdim, batch_first=batch_first)
    assert sorted(ours.state_dict()) == sorted(ref.state_dict())
    ours.load_state_dict(torch_state(ref))
    shape = (lambda n, d: (B, n, d)) if batch_first else (lambda n, d: (n, B, d))
    q, k, v = randn(rng, *shape(L, E)), randn(rng, *shape(S, kdim or E)), randn(rng, *shape(S, kdim or E))
    pad = np.zeros((B, S), bool)
    pad[1, -3:] = True
    blocked = np.zeros((L, S), bool)
    blocked[0, 1] = True  # torch's MHA convention: True = may NOT attend
    tq, tk, tv = (torch.from_numpy(x.copy()).requires_grad_() for x in (q, k, v))
    r_out, r_w = ref(tq, tk, tv, key_padding_mask=torch.from_numpy(pad), attn_mask=torch.from_numpy(blocked))
    eq, ek, ev = (ea.tensor(x, requires_grad=True) for x in (q, k, v))
    out, w = ours(eq, ek, ev, key_padding_mask=pad, attn_mask=blocked)
    np.testing.assert_allclose(np.asarray(out), r_out.detach().numpy(), atol=2e-5)
    np.testing.assert_allclose(np.asarray(w), r_w.detach().numpy(), atol=2e-6)
    g = randn(rng, *r_out.shape)
    (r_out * torch.from_numpy(g)).sum().backward()
    (out * g).sum().backward()
    for ours_t, ref_t in ((eq, tq), (ek, tk), (ev, tv)):
        np.testing.assert_allclose(np.asarray(ours_t.grad), ref_t.grad.numpy(), atol=5e-5, rtol=1e-3)
    params = ours.named_parameters()
    for name, p in ref.named_parameters():
        np.testing.assert_allclose(np.asarray(params[name].grad), p.grad.numpy(), atol=1e-4, rtol=1e-3, err_msg=name)
    _, per_head = ours(q, k, v, average_attn_weights=False)
    assert per_head.shape == (B, H, L, S)
    assert ours(q, k, v, need_weights=False)[1] is None


def test_grouped_query_attention_matches_a_torch_reimplementation(rng):
    E, H, Hkv, T, B = 32, 8, 2, 6, 2
    gqa = ea.GroupedQueryAttention(E, H, Hkv, seed=3)
    sd = {name: torch.from_numpy(np.asarray(t).copy()) for name, t in gqa.state_dict().items()}
    assert set(sd) == {"q_proj.weight", "k_proj.weight", "v_proj.weight", "o_proj.weight"}
    x = randn(rng, B, T, E)
    tx = torch.from_numpy(x)
    D = E // H
    q = (tx @ sd["q_proj.weight"].T).view(B, T, H, D).transpose(1, 2)
    k = (tx @ sd["k_proj.weight"].T).view(B, T, Hkv, D).transpose(1, 2)
    v = (tx @ sd["v_proj.weight"].T).view(B, T, Hkv, D).transpose(1, 2)
    ref, ref_w = torch_sdpa(q, k, v, is_causal=True)
    ref = ref.transpose(1, 2).reshape(B, T, E) @ sd["o_proj.weight"].T
    out, w = gqa(x, need_weights=True)
    np.testing.assert_allclose(np.asarray(out), ref.numpy(), atol=2e-5)
    np.testing.assert_allclose(np.asarray(w), ref_w.numpy(), atol=2e-6)


def test_luong_and_bahdanau_modules_attend_over_the_keys(rng):
    q, k = randn(rng, 2, 3, 8), randn(rng, 2, 5, 8)
    for module in (ea.AdditiveAttention(8, 8, 16), ea.LuongAttention("general", 8, 8), ea.LuongAttention("dot", 8, 8)):
        context, weights = module(q, k, k)
        assert context.shape == (2, 3, 8) and weights.shape == (2, 3, 5)
        np.testing.assert_allclose(np.asarray(weights).sum(-1), 1.0, atol=1e-5)
    with pytest.raises(ValueError):
        ea.LuongAttention("cosine", 8, 8)


def test_adamw_steps_like_torch(rng):
    x, y = randn(rng, 8, 4), randn(rng, 8, 3)
    torch.manual_seed(0)
    ref = torch.nn.Linear(4, 3)
    ours = ea.Linear(4, 3)
    ours.load_state_dict(torch_state(ref))
    opt_ref = torch.optim.AdamW(ref.parameters(), lr=0.05, weight_decay=0.1)
    opt = ea.AdamW(ours.parameters(), lr=0.05, weight_decay=0.1)
    for _ in range(5):
        opt_ref.zero_grad()
        ((ref(torch.from_numpy(x)) - torch.from_numpy(y)) ** 2).mean().backward()
        opt_ref.step()
        opt.zero_grad()
        d = ours(x) - y
        (d * d).mean().backward()
        opt.step()
    for name, p in ref.named_parameters():
        np.testing.assert_allclose(np.asarray(ours.named_parameters()[name]), p.detach().numpy(), atol=1e-5, err_msg=name)


def test_load_state_dict_names_what_is_wrong():
    mha = ea.MultiheadAttention(8, 2)
    state = {name: np.asarray(t).copy() for name, t in mha.state_dict().items()}
    del state["in_proj_bias"]
    with pytest.raises(ValueError, match="in_proj_bias"):
        mha.load_state_dict(state)
    missing, unexpected = mha.load_state_dict(state, strict=False)
    assert missing == ["in_proj_bias"] and unexpected == []
    state["in_proj_bias"] = np.zeros(5, np.float32)
    with pytest.raises(ValueError, match="in_proj_bias"):
        mha.load_state_dict(state)


def test_gru_matches_torch(rng):
    torch.manual_seed(0)
    ref = torch.nn.GRU(5, 7, num_layers=2, batch_first=True)
    ours = ea.GRU(5, 7, num_layers=2, batch_first=True)
    assert sorted(ours.state_dict()) == sorted(ref.state_dict())
    ours.load_state_dict(torch_state(ref))
    x, h0 = randn(rng, 3, 4, 5), randn(rng, 2, 3, 7)
    tx = torch.from_numpy(x.copy()).requires_grad_()
    r_out, r_h = ref(tx, torch.from_numpy(h0))
    ex = ea.tensor(x, requires_grad=True)
    out, h = ours(ex, h0)
    np.testing.assert_allclose(np.asarray(out), r_out.detach().numpy(), atol=1e-5)
    np.testing.assert_allclose(np.asarray(h), r_h.detach().numpy(), atol=1e-5)
    (r_out.sum() + r_h.sum()).backward()
    (out.sum() + h.sum()).backward()
    np.testing.assert_allclose(np.asarray(ex.grad), tx.grad.numpy(), atol=1e-5)
