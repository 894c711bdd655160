"""Tensors across the boundary: zero-copy where promised, conversions, autograd, and errors that name the argument."""
import numpy as np
import pytest
import torch

import explore_attention as ea
from conftest import randn


def test_numpy_views_a_tensor_without_a_copy():
    t = ea.randn([3, 4], seed=1)
    a, b = np.asarray(t), t.numpy()
    assert a.dtype == np.float32 and a.shape == (3, 4)
    assert np.shares_memory(a, b)
    del t  # the views keep the storage alive
    assert np.isfinite(a).all()


def test_from_numpy_shares_memory_and_tensor_copies():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    shared, copied = ea.from_numpy(a), ea.tensor(a)
    assert np.shares_memory(np.asarray(shared), a)
    assert not np.shares_memory(np.asarray(copied), a)
    a[0, 0] = 42
    assert np.asarray(shared)[0, 0] == 42 and np.asarray(copied)[0, 0] == 0
    with pytest.raises(ValueError, match="float32"):
        ea.from_numpy(a.astype(np.float64))
    with pytest.raises(ValueError, match="not contiguous"):
        ea.from_numpy(a.T)


def test_other_layouts_and_dtypes_are_converted(rng):
    q = randn(rng, 1, 2, 4, 8)
    ref = np.asarray(ea.scaled_dot_product_attention(q, q, q))
    strided = np.asfortranarray(q)
    np.testing.assert_array_equal(np.asarray(ea.scaled_dot_product_attention(strided, strided, strided)), ref)
    np.testing.assert_allclose(np.asarray(ea.scaled_dot_product_attention(*(q.astype(np.float64),) * 3)), ref, atol=1e-6)
    readonly = q.copy()
    readonly.flags.writeable = False
    np.testing.assert_array_equal(np.asarray(ea.scaled_dot_product_attention(readonly, readonly, readonly)), ref)
    t = torch.from_numpy(q).requires_grad_()  # a torch tensor that requires grad goes in through .detach()
    np.testing.assert_array_equal(np.asarray(ea.scaled_dot_product_attention(t, t, t)), ref)
    np.testing.assert_allclose(np.asarray(ea.tensor([[1, 2], [3, 4]])), [[1, 2], [3, 4]])


def test_autograd_from_python():
    x = ea.tensor(np.array([1.0, 2.0, 3.0], np.float32), requires_grad=True)
    y = ((x * x).sum() + (x * 2.0).mean())
    y.backward()
    np.testing.assert_allclose(np.asarray(x.grad), 2 * np.array([1, 2, 3]) + 2 / 3, rtol=1e-6)
    assert x.is_leaf and not y.is_leaf
    x.zero_grad()
    assert x.grad is None
    w = ea.tensor(np.eye(3, dtype=np.float32), requires_grad=True)
    (x.reshape(1, 3) @ w).softmax(-1).sum().backward()
    assert x.grad.shape == (3,) and w.grad.shape == (3, 3)
    assert "tensor" in repr(x).lower()


@pytest.mark.parametrize("bad, error, match", [
    (np.zeros((0, 2, 4, 8), np.float32), ValueError, r"query is empty \(shape \(0, 2, 4, 8\)\)"),
    (np.zeros((2, 4), np.float32), ValueError, r"query: expected shape \(B, H, L, D\) or \(B, L, D\), got 2-d"),
    (np.full((1, 1, 2, 4), np.nan, np.float32), ValueError, "query contains NaN"),
    (np.zeros((1, 1, 2, 4), np.complex64), TypeError, "query: expected real numbers"),
    (np.array([["a"]]), TypeError, "query: expected real numbers"),
    ("not an array", TypeError, "query"),
    (None, TypeError, "query: expected an array, got None"),
])
def test_bad_inputs_raise_python_errors_naming_the_argument(bad, error, match):
    good = np.zeros((1, 1, 2, 4), np.float32)
    with pytest.raises(error, match=match):
        ea.scaled_dot_product_attention(bad, good, good)


def test_library_errors_become_value_errors():
    q = np.zeros((1, 2, 3, 4), np.float32)
    k = np.zeros((1, 2, 3, 5), np.float32)  # head dims differ
    with pytest.raises(ValueError, match=r"\[") as info:
        ea.scaled_dot_product_attention(q, k, k)
    assert "4" in str(info.value) and "5" in str(info.value)
    with pytest.raises(ValueError, match="no-such-folder"):
        ea.GPT.load("/no-such-folder")
