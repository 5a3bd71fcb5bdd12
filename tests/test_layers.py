"""layers.py: every layer's backward against finite differences (float64), the convolution, its
kernels, LayerNorm and GELU against plain NumPy, the float32 exp against float64, Adam against its formula."""
import numpy as np
import pytest
from conftest import assert_grad_close, numerical_grad

import layers


# --- plain NumPy references ------------------------------------------------------------------
def conv_reference(x_nchw, w, b, stride):
    """Direct convolution, no tricks: out[n, f, i, j] = b[f] + sum w[f, c, ky, kx] x[n, c, i*s+ky, j*s+kx]."""
    N, C, H, W = x_nchw.shape
    F, _, k, _ = w.shape
    Ho, Wo = (H - k) // stride + 1, (W - k) // stride + 1
    out = np.zeros((N, F, Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            patch = x_nchw[:, :, i * stride:i * stride + k, j * stride:j * stride + k]   # (N, C, k, k)
            out[:, :, i, j] = np.einsum("nckl,fckl->nf", patch, w) + b
    return out


def test_conv_is_a_real_strided_convolution():
    rng = np.random.default_rng(0)
    for C, F, s, H in [(4, 16, 4, 84), (16, 32, 2, 20), (3, 5, 2, 8)]:
        x = rng.standard_normal((2, C, H, H))
        w, b = rng.standard_normal((F, C, 2 * s, 2 * s)), rng.standard_normal(F)
        out, _ = layers.conv_forward(layers.space_to_depth(x.transpose(0, 2, 3, 1), s), w, b)
        np.testing.assert_allclose(out.transpose(0, 3, 1, 2), conv_reference(x, w, b, s), rtol=1e-10, atol=1e-10)


def test_shift_kernels_match_numpy():
    rng = np.random.default_rng(2)
    z, bias = rng.standard_normal((2, 5, 6, 12)), rng.standard_normal(3)
    F = 3
    ref = bias + z[:, :-1, :-1, :F] + z[:, :-1, 1:, F:2 * F] + z[:, 1:, :-1, 2 * F:3 * F] + z[:, 1:, 1:, 3 * F:]
    np.testing.assert_allclose(layers.shift_sum(z, bias), ref)
    dout = rng.standard_normal((2, 4, 5, 3))
    dz_ref = np.zeros_like(z)
    for t, (dy, dx) in enumerate([(0, 0), (0, 1), (1, 0), (1, 1)]):
        dz_ref[:, dy:dy + 4, dx:dx + 5, t * F:(t + 1) * F] = dout
    dz, db = layers.shift_scatter(dout)
    np.testing.assert_allclose(dz, dz_ref)
    np.testing.assert_allclose(db, dout.sum(axis=(0, 1, 2)))


def test_weight_matrix_round_trip():
    w = np.random.default_rng(3).standard_normal((5, 3, 4, 4))
    np.testing.assert_array_equal(layers.matrix_to_conv_weight(layers.conv_weight_to_matrix(w), 5, 3, 2), w)


def test_adam_matches_numpy():
    rng = np.random.default_rng(4)
    p, g = rng.standard_normal(1000).astype(np.float32), rng.standard_normal(1000).astype(np.float32)
    m, v = np.zeros_like(p), np.zeros_like(p)
    pr, mr, vr = p.astype(np.float64), np.zeros(1000), np.zeros(1000)
    for t in range(1, 4):
        layers.adam_step(p, g, m, v, 1e-3, 0.9, 0.999, 1e-8, t)
        mr = 0.9 * mr + 0.1 * g
        vr = 0.999 * vr + 0.001 * g.astype(np.float64) ** 2
        pr -= 1e-3 * (mr / (1 - 0.9 ** t)) / (np.sqrt(vr / (1 - 0.999 ** t)) + 1e-8)
    np.testing.assert_allclose(p, pr, rtol=1e-5, atol=1e-6)


def test_adam_keeps_subnormals_out():
    """A moment decaying towards float32's subnormal range is set to 0 (Intel cores are ~100x
    slower on subnormals); a gradient too small to square without underflow counts as 0."""
    tiny = np.finfo(np.float32).tiny                       # smallest normal float32, 1.2e-38
    p = np.ones(4, np.float32)
    g = np.array([0.0, 1e-20, 0.0, 0.5], np.float32)
    m = np.array([1e-31, 0.0, 1.0, 0.0], np.float32)
    v = np.array([1e-31, 1e-31, 1.0, 0.0], np.float32)
    for t in range(1, 400):
        layers.adam_step(p, g, m, v, 1e-3, 0.9, 0.999, 1e-8, t)
        for x in (m, v):
            assert not np.any((x != 0) & (np.abs(x) < tiny)), x
    assert m[0] == 0 and v[0] == 0 and m[1] == 0           # flushed, not left to decay
    assert m[2] != 0 and v[2] != 0 and m[3] != 0 and v[3] != 0   # normal moments untouched
    np.testing.assert_allclose(p[:2], 1.0, atol=1e-12)     # nothing moved the flushed weights


# --- finite-difference gradient checks (float64, tiny shapes) -----------------------------------
@pytest.mark.parametrize("s", [2, 4])
def test_conv_gradients(s):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 3, 3, s * s * 2))          # space-to-depth input, C = 2
    w, b = rng.standard_normal((3, 2, 2 * s, 2 * s)), rng.standard_normal(3)
    out, cache = layers.conv_forward(x, w, b)
    dout = rng.standard_normal(out.shape)
    dx, dw, db = layers.conv_backward(dout, cache)
    loss = lambda: (layers.conv_forward(x, w, b)[0] * dout).sum()
    assert_grad_close(dx, numerical_grad(loss, x))
    assert_grad_close(dw, numerical_grad(loss, w))
    assert_grad_close(db, numerical_grad(loss, b))


def test_linear_relu_huber_space_to_depth_gradients():
    rng = np.random.default_rng(6)
    x, w, b = rng.standard_normal((4, 5)), rng.standard_normal((5, 3)), rng.standard_normal(3)
    dout = rng.standard_normal((4, 3))
    dx, dw, db = layers.linear_backward(dout, layers.linear_forward(x, w, b)[1])
    loss = lambda: (layers.linear_forward(x, w, b)[0] * dout).sum()
    for analytic, wrt in ((dx, x), (dw, w), (db, b)):
        assert_grad_close(analytic, numerical_grad(loss, wrt))

    y = rng.standard_normal((3, 4)) + 0.01                 # away from the kink at 0
    dy = rng.standard_normal((3, 4))
    assert_grad_close(layers.relu_backward(dy, layers.relu_forward(y)[1]),
                      numerical_grad(lambda: (layers.relu_forward(y)[0] * dy).sum(), y))

    pred = np.array([0.3, -2.0, 1.5, 0.1, 4.0])            # both the quadratic and the linear part
    target = np.array([0.0, 0.0, 0.0, 0.5, 1.0])
    _, err = layers.huber_forward(pred, target)
    assert_grad_close(layers.huber_backward(err), numerical_grad(lambda: layers.huber_forward(pred, target)[0], pred))

    h = rng.standard_normal((2, 4, 6, 3))
    dh = rng.standard_normal((2, 2, 3, 12))
    assert_grad_close(layers.depth_to_space(dh, 2), numerical_grad(lambda: (layers.space_to_depth(h, 2) * dh).sum(), h))


# --- the transformer's layers (page 3) ---------------------------------------------------------
def test_transformer_layers_match_numpy():
    rng = np.random.default_rng(0)
    x, g, b = rng.standard_normal((5, 7)), rng.standard_normal(7), rng.standard_normal(7)
    ref = (x - x.mean(1, keepdims=True)) / np.sqrt(x.var(1, keepdims=True) + 1e-5) * g + b
    np.testing.assert_allclose(layers.layernorm_forward(x, g, b)[0], ref, rtol=1e-10)
    ref = 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))
    np.testing.assert_allclose(layers.gelu_forward(x)[0], ref, rtol=1e-12)


def test_float32_exp_and_gelu_match_float64():
    """The float32 paths (the vectorised exp inside softmax and GELU) agree with exact float64 maths."""
    rng = np.random.default_rng(5)
    x = np.concatenate([np.linspace(-87, 88, 20001), rng.standard_normal(1000) * 10]).astype(np.float32)
    e = x.copy()
    layers.exp_inplace(e)
    exact = np.exp(x.astype(np.float64))
    assert np.max(np.abs(e - exact) / exact) < 1e-6            # float32 itself resolves ~6e-8
    h = (rng.standard_normal((3, 50)) * 4).astype(np.float32)
    np.testing.assert_allclose(layers.gelu_forward(h)[0], layers.gelu_forward(h.astype(np.float64))[0], rtol=2e-6, atol=1e-6)
    d = rng.standard_normal(h.shape).astype(np.float32)
    np.testing.assert_allclose(layers.gelu_backward(d, layers.gelu_forward(h)[1]),
                               layers.gelu_backward(d.astype(np.float64), layers.gelu_forward(h.astype(np.float64))[1]),
                               rtol=1e-5, atol=1e-6)


def test_transformer_layer_gradients():
    rng = np.random.default_rng(1)
    ids, table = rng.integers(0, 4, (3, 5)), rng.standard_normal((4, 6))
    d = rng.standard_normal((3, 5, 6))                 # ids repeat: rows collect several gradients
    assert_grad_close(layers.embedding_backward(d, layers.embedding_forward(ids, table)[1]),
                      numerical_grad(lambda: (layers.embedding_forward(ids, table)[0] * d).sum(), table))

    x, g, b = rng.standard_normal((2, 3, 6)), rng.standard_normal(6), rng.standard_normal(6)
    d = rng.standard_normal((2, 3, 6))
    dx, dg, db = layers.layernorm_backward(d, layers.layernorm_forward(x, g, b)[1])
    loss = lambda: (layers.layernorm_forward(x, g, b)[0] * d).sum()
    for analytic, wrt in ((dx, x), (dg, g), (db, b)):
        assert_grad_close(analytic, numerical_grad(loss, wrt))

    assert_grad_close(layers.gelu_backward(d, layers.gelu_forward(x)[1]), numerical_grad(lambda: (layers.gelu_forward(x)[0] * d).sum(), x))

    rng = np.random.default_rng(8)
    logits, targets = rng.standard_normal((7, 4)), rng.integers(0, 4, 7)
    analytic = layers.cross_entropy_backward(layers.cross_entropy_forward(logits, targets)[1])
    assert_grad_close(analytic, numerical_grad(lambda: layers.cross_entropy_forward(logits, targets)[0], logits))
