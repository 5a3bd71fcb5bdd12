"""transformer.py: every layer's gradient, kernels against NumPy, causality, the KV cache, and
the in-context demonstration actually learned."""
import os

import numpy as np
import pytest
from conftest import assert_grad_close, numerical_grad

import copy_task
import transformer
import toolbox

TINY = transformer.TransformerConfig(block_size=6, n_layer=2, n_head=2, n_embd=8, n_out=3)


def tiny_model(dtype=np.float64, cfg=TINY, seed=0):
    shapes = transformer.param_shapes(cfg)
    flat, p = toolbox.alloc_params(shapes, dtype)
    transformer.init_params(p, cfg, np.random.default_rng(seed))
    for name, arr in p.items():                       # make biases and gains non-trivial for the checks
        if arr.ndim == 1:
            arr += np.random.default_rng(1).normal(0, 0.1, arr.shape)
    return flat, shapes, p


# --- kernels against plain NumPy --------------------------------------------------------------
def test_causal_softmax_matches_numpy():
    rng = np.random.default_rng(0)
    s = rng.standard_normal((6, 6))
    masked = np.where(np.tril(np.ones((6, 6), bool)), s * 0.5, -np.inf)
    ref = np.exp(masked - masked.max(-1, keepdims=True))
    ref /= ref.sum(-1, keepdims=True)
    np.testing.assert_allclose(transformer.causal_softmax(s[None].copy(), 0.5, 0)[0], ref, rtol=1e-12)
    # a block of query rows 2..3 against keys 0..3: the same rows of the full matrix
    np.testing.assert_allclose(transformer.causal_softmax(s[None, 2:4, :4].copy(), 0.5, 2)[0], ref[2:4, :4], rtol=1e-12)


def test_float32_attention_matches_float64():
    """Attention in float32 (the vectorised exp inside its softmax) agrees with float64."""
    rng = np.random.default_rng(5)
    qkv = rng.standard_normal((2, 300, 3 * 16))                 # 300 positions: three blocks of 128
    dy = rng.standard_normal((2, 300, 16))
    y64, c64 = transformer.attention_forward(qkv, 2)
    y32, c32 = transformer.attention_forward(qkv.astype(np.float32), 2)
    np.testing.assert_allclose(y32, y64, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(transformer.attention_backward(dy.astype(np.float32), c32), transformer.attention_backward(dy, c64),
                               rtol=1e-4, atol=1e-4)


# --- gradient checks ---------------------------------------------------------------------------
def test_attention_gradient():
    rng = np.random.default_rng(1)
    qkv = rng.standard_normal((2, 5, 3 * 8))
    d = rng.standard_normal((2, 5, 8))
    analytic = transformer.attention_backward(d, transformer.attention_forward(qkv, 2)[1])
    assert_grad_close(analytic, numerical_grad(lambda: (transformer.attention_forward(qkv, 2)[0] * d).sum(), qkv))


def test_attention_gradient_across_query_blocks(monkeypatch):
    """Blocks of 2 query rows over 5 positions: keys collect gradient from several blocks."""
    monkeypatch.setattr(transformer, "ATT_BLOCK", 2)
    rng = np.random.default_rng(6)
    qkv, d = rng.standard_normal((2, 5, 3 * 8)), rng.standard_normal((2, 5, 8))
    analytic = transformer.attention_backward(d, transformer.attention_forward(qkv, 2)[1])
    assert_grad_close(analytic, numerical_grad(lambda: (transformer.attention_forward(qkv, 2)[0] * d).sum(), qkv))
    blocked = transformer.attention_forward(qkv, 2)[0]
    monkeypatch.setattr(transformer, "ATT_BLOCK", 128)                 # one block: the same function
    np.testing.assert_allclose(blocked, transformer.attention_forward(qkv, 2)[0], rtol=1e-12)


def test_whole_transformer_gradient():
    flat, shapes, p = tiny_model()
    grad = np.zeros_like(flat)
    g = toolbox.param_views(grad, shapes)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 5, TINY.n_embd))
    out, cache = transformer.transformer_forward(p, x, TINY)
    d = rng.standard_normal(out.shape)
    dx = transformer.transformer_backward(d, cache, g, TINY)
    loss = lambda: (transformer.transformer_forward(p, x, TINY)[0] * d).sum()
    assert_grad_close(dx, numerical_grad(loss, x))
    assert_grad_close(grad, numerical_grad(loss, flat))   # every parameter, including unused positions


def test_gradient_with_position_offsets():
    """Rows placed at different positions of the block (distill.py's windows at random offsets):
    the gradient of every parameter, wpe's used and unused rows included, and of the inputs."""
    flat, shapes, p = tiny_model()
    grad = np.zeros_like(flat)
    g = toolbox.param_views(grad, shapes)
    rng = np.random.default_rng(5)
    x, offset = rng.standard_normal((3, 3, TINY.n_embd)), np.array([0, 3, 3])
    out, cache = transformer.transformer_forward(p, x, TINY, offset)
    d = rng.standard_normal(out.shape)
    dx = transformer.transformer_backward(d, cache, g, TINY)
    loss = lambda: (transformer.transformer_forward(p, x, TINY, offset)[0] * d).sum()
    assert_grad_close(dx, numerical_grad(loss, x))
    assert_grad_close(grad, numerical_grad(loss, flat))
    # offset 0 is the plain call; the same inputs at offset 3 see other position embeddings
    np.testing.assert_allclose(out[:1], transformer.transformer_forward(p, x[:1], TINY)[0], rtol=1e-12)
    assert not np.allclose(transformer.transformer_forward(p, x[1:2], TINY)[0], out[1:2])
    with pytest.raises(AssertionError, match="do not fit the block size"):
        transformer.transformer_forward(p, x, TINY, np.array([0, 4, 0]))


# --- causality and the cache -------------------------------------------------------------------
def test_causality():
    _, _, p = tiny_model()
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1, 6, TINY.n_embd))
    base = transformer.transformer_forward(p, x, TINY)[0]
    for t in range(5):
        x2 = x.copy()
        x2[:, t + 1:] = rng.standard_normal(x2[:, t + 1:].shape)
        out = transformer.transformer_forward(p, x2, TINY)[0]
        np.testing.assert_array_equal(out[:, :t + 1], base[:, :t + 1])
        assert not np.allclose(out[:, t + 1:], base[:, t + 1:])


def test_cached_decoding_equals_full_forward_also_after_sliding():
    _, _, p = tiny_model()
    rng = np.random.default_rng(4)
    dec, window = transformer.Decoder(p, TINY), []
    xs = rng.standard_normal((20, TINY.n_embd))        # over three times the block size: many slides
    for x in xs:
        if len(window) == TINY.block_size:              # the slide the decoder should make
            window = window[-(TINY.block_size // 2 - 1):]
        window.append(x)
        full = transformer.transformer_forward(p, np.array(window)[None], TINY)[0][0, -1]
        np.testing.assert_allclose(dec.step(x), full, rtol=1e-10, atol=1e-12)
    dec.reset()
    np.testing.assert_allclose(dec.step(xs[0]), transformer.transformer_forward(p, xs[None, :1], TINY)[0][0, 0], rtol=1e-10)


def test_decoder_that_keeps_nothing_starts_over_when_full():
    _, _, p = tiny_model()
    xs = np.random.default_rng(6).standard_normal((15, TINY.n_embd))
    dec = transformer.Decoder(p, TINY, keep=0)
    for i, x in enumerate(xs):                          # windows 0-5, 6-11, 12-14, each from empty
        start = i - i % TINY.block_size
        full = transformer.transformer_forward(p, xs[None, start:i + 1], TINY)[0][0, -1]
        np.testing.assert_allclose(dec.step(x), full, rtol=1e-10, atol=1e-12)


# --- optimisation ------------------------------------------------------------------------------
def test_adamw_decays_only_matrices_and_schedule_shape():
    shapes = [("w", (2, 3)), ("b", (3,))]
    flat = np.ones(9, np.float32)
    opt = transformer.AdamW(flat, shapes, weight_decay=0.5)
    opt.step(flat, np.zeros(9, np.float32), lr=0.1)    # zero gradient: only the decay acts
    np.testing.assert_allclose(flat, [0.95] * 6 + [1.0] * 3, rtol=1e-6)
    lrs = [transformer.lr_at(s, 1.0, 10, 100) for s in range(100)]
    assert lrs[0] == pytest.approx(0.1) and lrs[9] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(lrs[10:], lrs[11:])) and lrs[-1] == pytest.approx(0.1, abs=1e-3)
    g = np.full(4, 3.0)
    assert transformer.clip_grad_norm(g, 1.0) == pytest.approx(6.0) and np.linalg.norm(g) == pytest.approx(1.0, abs=1e-5)


def test_in_context_copy_task_is_learned():
    """Tiny scale, seconds: the repeated half is predicted from context, the random half is not."""
    dc = copy_task.DemoConfig(vocab=8, half=8, n_layer=2, n_head=2, n_embd=32, batch=32, steps=600, lr=5e-3)
    acc_random, acc_context = copy_task.train_copy_task(dc, log=None)
    assert acc_random < 0.3, acc_random
    assert acc_context > 0.9, acc_context


def test_demo_bad_flags_stop_at_once():
    import subprocess
    import sys
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for args, message in ((["--n_head", "3"], "--n_embd 64 must be a multiple of --n_head 3"),
                          (["--steps", "0"], "--steps 0 must be positive")):
        p = subprocess.run([sys.executable, "copy_task.py", *args], capture_output=True, text=True, cwd=root)
        assert p.returncode != 0 and message in p.stderr and "Traceback" not in p.stderr, p.stderr
