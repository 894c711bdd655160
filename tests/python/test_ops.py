"""The building blocks for writing a model in Python, against torch.nn.functional: values and gradients."""
import numpy as np
import pytest
import torch

import explore_attention as ea
from conftest import randn


def check_grad(ours, theirs, atol=1e-5):
    np.testing.assert_allclose(np.asarray(ours.grad), theirs.grad.numpy(), atol=atol, rtol=1e-4)


def test_linear_layer_norm_gelu_chain_matches_torch(rng):
    x, w, b = randn(rng, 3, 5, 8), randn(rng, 6, 8), randn(rng, 6)
    g, beta = randn(rng, 6), randn(rng, 6)
    ours = [ea.tensor(a, requires_grad=True) for a in (x, w, b, g, beta)]
    ref = [torch.tensor(a, requires_grad=True) for a in (x, w, b, g, beta)]
    for approximate in ("none", "tanh"):
        y = ea.gelu(ea.layer_norm(ea.linear(ours[0], ours[1], ours[2]), [6], ours[3], ours[4]), approximate=approximate)
        r = torch.nn.functional.gelu(torch.nn.functional.layer_norm(torch.nn.functional.linear(ref[0], ref[1], ref[2]), [6], ref[3], ref[4]), approximate=approximate)
        np.testing.assert_allclose(np.asarray(y), r.detach().numpy(), atol=1e-5)
        upstream = randn(rng, *r.shape)
        (y * upstream).sum().backward()
        (r * torch.from_numpy(upstream)).sum().backward()
        for o, t in zip(ours, ref):
            check_grad(o, t, atol=1e-4)
            o.zero_grad()
            t.grad = None


def test_cross_entropy_with_smoothing_and_ignored_targets(rng):
    logits = randn(rng, 6, 5)
    target = np.array([0, 4, -100, 2, 2, 1])
    ours, ref = ea.tensor(logits, requires_grad=True), torch.tensor(logits, requires_grad=True)
    loss = ea.cross_entropy(ours, target, label_smoothing=0.1)
    r = torch.nn.functional.cross_entropy(ref, torch.from_numpy(target), label_smoothing=0.1)
    assert loss.item() == pytest.approx(r.item(), rel=1e-5)
    loss.backward()
    r.backward()
    check_grad(ours, ref)
    with pytest.raises(TypeError, match="target: expected integers"):
        ea.cross_entropy(logits, target.astype(np.float32))


def test_embedding_log_softmax_cat_stack(rng):
    weight = randn(rng, 10, 4)
    ids = np.array([[1, 2, 2], [9, 0, 1]])
    ours, ref = ea.tensor(weight, requires_grad=True), torch.tensor(weight, requires_grad=True)
    e = ea.embedding(ids, ours)
    r = torch.nn.functional.embedding(torch.from_numpy(ids), ref)
    np.testing.assert_allclose(np.asarray(e), r.detach().numpy())
    (ea.log_softmax(e, -1) * 1.5).sum().backward()
    (torch.log_softmax(r, -1) * 1.5).sum().backward()
    check_grad(ours, ref)
    a, b = randn(rng, 2, 3), randn(rng, 2, 3)
    np.testing.assert_array_equal(np.asarray(ea.cat([a, b], 1)), np.concatenate([a, b], 1))
    np.testing.assert_array_equal(np.asarray(ea.stack([a, b], 0)), np.stack([a, b]))
    with pytest.raises(ValueError, match="tensors is empty"):
        ea.cat([], 0)


def test_dropout_layernorm_and_embedding_modules(rng):
    x = np.ones((1000,), np.float32)
    y = np.asarray(ea.dropout(x, 0.25, seed=1))
    assert set(np.unique(y)) <= {0.0, np.float32(1 / 0.75)} and abs((y == 0).mean() - 0.25) < 0.05
    np.testing.assert_array_equal(np.asarray(ea.dropout(x, 0.25, training=False)), x)
    ln = ea.LayerNorm(8)
    assert sorted(ln.state_dict()) == ["bias", "weight"]
    out = np.asarray(ln(randn(rng, 2, 8)))
    np.testing.assert_allclose(out.mean(-1), 0, atol=1e-5)
    emb = ea.Embedding(5, 3)
    assert emb([0, 4]).shape == (2, 3)
    with pytest.raises(ValueError):
        emb([5])
