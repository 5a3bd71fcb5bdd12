"""layers.py: the layers every network of the experiment is built from, forward and backward by hand.

Page zero: no Atari, no transformer, only the pieces. Each layer is a pair: `*_forward` returns
its output and a cache (what the backward needs), `*_backward` takes the gradient of the output and
the cache and returns the gradients of the inputs and weights. tests/test_layers.py checks every
backward against finite differences in float64. dqn.py (page 1) builds the Q-network from the
convolution, linear, ReLU and Huber layers; transformer.py (page 3) adds attention to the
linear layer, embedding, LayerNorm, GELU, cross-entropy and Adam.

  convolution  -> k x k, stride s with k = 2s, as ONE matrix product (space to depth, below)
  linear, ReLU -> a product plus bias; max(x, 0)
  Huber loss   -> the DQN's TD loss: quadratic near zero, linear beyond
  embedding, LayerNorm, GELU, cross-entropy -> the transformer's (page 3), with a vectorised exp
  Adam         -> one Numba loop over a flat parameter vector, kept free of subnormal numbers

One trick makes the convolutions fast without an im2col copy. Both Atari convolutions have a
kernel exactly twice their stride (8 = 2x4, 4 = 2x2). Cut the input into s x s blocks and stack
each block's pixels as channels ("space to depth"): the k x k stride-s convolution becomes a
2 x 2 stride-1 convolution over s*s times more channels. That is ONE matrix product of the
input with all four 2x2 taps at once, followed by a cheap shifted sum of the four results.

Nothing to run on its own: `python -m pytest tests/test_layers.py` checks every layer.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

# Dimension letters used in shape comments:
#   B batch, C channels, H/W height/width (after space-to-depth), F filters, k kernel, s stride


# -------------------------------------------------------------------------------------------
# Convolution as a matrix product. Activations are channels-last (B, H, W, C).
# -------------------------------------------------------------------------------------------
def space_to_depth(x, s):
    """(B, H, W, C) -> (B, H/s, W/s, s*s*C), channel index (py*s + px)*C + c. A pure re-indexing."""
    B, H, W, C = x.shape
    x = x.reshape(B, H // s, s, W // s, s, C).transpose(0, 1, 3, 2, 4, 5)   # (B, H/s, W/s, s, s, C)
    return x.reshape(B, H // s, W // s, s * s * C)


def depth_to_space(x, s):
    """Inverse of space_to_depth: it is also its backward, since re-indexing moves gradients 1:1."""
    B, Hs, Ws, D = x.shape
    C = D // (s * s)
    x = x.reshape(B, Hs, Ws, s, s, C).transpose(0, 1, 3, 2, 4, 5)          # (B, H/s, s, W/s, s, C)
    return x.reshape(B, Hs * s, Ws * s, C)


def conv_weight_to_matrix(w):
    """Conv weight (F, C, 2s, 2s) -> (s*s*C, 4*F): row (py, px, c), column (tap = dy*2 + dx, f).

    Kernel pixel (ky, kx) = (s*dy + py, s*dx + px): tap (dy, dx) of the 2x2 conv sees block
    offset (py, px) of the space-to-depth input."""
    F, C, k, _ = w.shape
    s = k // 2
    w = w.reshape(F, C, 2, s, 2, s)                       # (f, c, dy, py, dx, px)
    return w.transpose(3, 5, 1, 2, 4, 0).reshape(s * s * C, 4 * F)


def matrix_to_conv_weight(m, F, C, s):
    """Inverse of conv_weight_to_matrix, used to bring the weight gradient back to (F, C, 2s, 2s)."""
    m = m.reshape(s, s, C, 2, 2, F)                       # (py, px, c, dy, dx, f)
    return m.transpose(5, 2, 3, 0, 4, 1).reshape(F, C, 2 * s, 2 * s)


@njit(cache=True)
def shift_sum(z, bias):
    """out[b, y, x, f] = bias[f] + sum over taps (dy, dx) of z[b, y+dy, x+dx, (dy*2+dx)*F + f]."""
    B, H, W, F4 = z.shape
    F = F4 // 4
    out = np.empty((B, H - 1, W - 1, F), z.dtype)          # (B, H-1, W-1, F)
    for b in range(B):
        for y in range(H - 1):
            for x in range(W - 1):
                for f in range(F):
                    out[b, y, x, f] = (bias[f] + z[b, y, x, f] + z[b, y, x + 1, F + f]
                                       + z[b, y + 1, x, 2 * F + f] + z[b, y + 1, x + 1, 3 * F + f])
    return out


@njit(cache=True)
def shift_scatter(dout):
    """Backward of shift_sum: dz[b, y, x, tap*F + f] = dout[b, y-dy, x-dx, f] (zero off the edge),
    and dbias[f] = sum of dout[..., f] (summed here, in the same pass, as numpy's sum is slow).
    Written as a gather, dz in memory order: each tap's F values are one run read from dout. (A
    scatter, four writes per dout value, is 2x slower: the writes land far apart.)"""
    B, Ho, Wo, F = dout.shape
    dz = np.empty((B, Ho + 1, Wo + 1, 4 * F), dout.dtype)  # (B, H, W, 4F)
    dbias = np.zeros(F, np.float64)
    for b in range(B):
        for y in range(Ho + 1):
            for x in range(Wo + 1):
                for tap in range(4):
                    yy, xx, o = y - tap // 2, x - tap % 2, tap * F
                    if 0 <= yy < Ho and 0 <= xx < Wo:
                        for f in range(F):
                            dz[b, y, x, o + f] = dout[b, yy, xx, f]
                    else:
                        for f in range(F):
                            dz[b, y, x, o + f] = 0
                if y < Ho and x < Wo:
                    for f in range(F):
                        dbias[f] += dout[b, y, x, f]
    return dz, dbias.astype(dout.dtype)


def conv_forward(x, w, b):
    """A (2s x 2s, stride s) convolution on a space-to-depth input x (B, H, W, s*s*C)."""
    B, H, W, D = x.shape
    x, w, wm = cache = conv_cache(x, w)
    z = (x.reshape(B * H * W, D) @ wm).reshape(B, H, W, -1)  # (B, H, W, 4F): all four taps at once
    out = shift_sum(z, b)                                  # (B, H-1, W-1, F)
    return out, cache


def conv_cache(x, w):
    """What conv_backward needs: the input, the weight and its (D, 4F) matrix form. Built on its own
    when a caller recomputes instead of storing (activation checkpointing, see imitate.encode)."""
    return x, w, conv_weight_to_matrix(w)


def conv_backward(dout, cache, need_dx=True):
    """Forward was: z = x @ wm; out = shift_sum(z) + b. So dz = shift_scatter(dout),
    dwm = x^T dz, dx = dz wm^T, db = sum of dout."""
    x, w, wm = cache
    B, H, W, D = x.shape
    F, C = w.shape[0], w.shape[1]
    dz, db = shift_scatter(dout)                           # (B, H, W, 4F), (F,)
    dz = dz.reshape(B * H * W, 4 * F)
    dw = matrix_to_conv_weight(x.reshape(B * H * W, D).T @ dz, F, C, w.shape[2] // 2)
    dx = (dz @ wm.T).reshape(x.shape) if need_dx else None
    return dx, dw, db


# -------------------------------------------------------------------------------------------
# Linear, ReLU, Huber loss
# -------------------------------------------------------------------------------------------
def linear_forward(x, w, b):
    out = x @ w                                            # (B, out)
    out += b                                               # in place: no second (B, out) array
    return out, (x, w)


def linear_backward(dout, cache):
    """Forward was: out = x @ w + b."""
    x, w = cache
    return dout @ w.T, x.T @ dout, dout.sum(axis=0)


def relu_forward(x):
    out = np.maximum(x, 0)
    return out, out                                        # the output itself says where x > 0


def relu_backward(dout, cache):
    return dout * (cache > 0)


def huber_forward(pred, target):
    """Mean Huber loss (delta 1): quadratic for |error| < 1, linear beyond, so one bad target
    cannot blow up the gradient."""
    err = pred - target
    a = np.abs(err)
    loss = np.where(a < 1, 0.5 * err * err, a - 0.5).mean()
    return loss, err


def huber_backward(err):
    return np.clip(err, -1, 1) / err.size


# -------------------------------------------------------------------------------------------
# The transformer's layers (page 3): embedding, LayerNorm, GELU, cross-entropy
# -------------------------------------------------------------------------------------------
def embedding_forward(ids, table):
    return table[ids], (ids, table.shape)                  # (..., C)


def embedding_backward(dout, cache):
    """Forward was: out = table[ids]. Rows used several times collect several gradients."""
    ids, shape = cache
    dtable = np.zeros(shape, dout.dtype)
    np.add.at(dtable, ids.reshape(-1), dout.reshape(-1, shape[1]))
    return dtable


@njit(cache=True, fastmath=True)
def _layernorm_fwd(x, g, b, eps):
    N, C = x.shape
    out = np.empty_like(x)
    mean, rstd = np.empty(N, x.dtype), np.empty(N, x.dtype)
    for i in range(N):                                     # scalar sums, no temporary arrays per row
        m = 0.0
        for c in range(C):
            m += x[i, c]
        m /= C
        v = 0.0
        for c in range(C):
            v += (x[i, c] - m) * (x[i, c] - m)
        r = 1.0 / np.sqrt(v / C + eps)
        mean[i], rstd[i] = m, r
        for c in range(C):
            out[i, c] = (x[i, c] - m) * r * g[c] + b[c]
    return out, mean, rstd


@njit(cache=True, fastmath=True)
def _layernorm_bwd(dout, x, mean, rstd, g):
    N, C = x.shape
    dx = np.empty_like(x)
    dg, db = np.zeros(C, np.float64), np.zeros(C, np.float64)
    for i in range(N):
        m1, m2 = 0.0, 0.0                                  # means of dxhat and of dxhat * xhat
        for c in range(C):
            xhat = (x[i, c] - mean[i]) * rstd[i]
            dxhat = dout[i, c] * g[c]
            dg[c] += dout[i, c] * xhat
            db[c] += dout[i, c]
            m1 += dxhat
            m2 += dxhat * xhat
        m1, m2 = m1 / C, m2 / C
        for c in range(C):
            xhat = (x[i, c] - mean[i]) * rstd[i]
            dx[i, c] = rstd[i] * (dout[i, c] * g[c] - m1 - xhat * m2)
    return dx, dg.astype(x.dtype), db.astype(x.dtype)


def layernorm_forward(x, g, b, eps=1e-5):
    """Normalise each row of x (..., C) to mean 0, variance 1, then scale by g and shift by b."""
    shape = x.shape
    x = np.ascontiguousarray(x)
    out, mean, rstd = _layernorm_fwd(x.reshape(-1, shape[-1]), g, b, eps)
    return out.reshape(shape), (x, mean, rstd, g)


def layernorm_backward(dout, cache):
    """Forward was: out = (x - mean) * rstd * g + b; mean and rstd depend on all of x's row."""
    x, mean, rstd, g = cache
    C = x.shape[-1]
    dx, dg, db = _layernorm_bwd(np.ascontiguousarray(dout).reshape(-1, C), x.reshape(-1, C), mean, rstd, g)
    return dx.reshape(x.shape), dg, db


GELU_K = math.sqrt(2.0 / math.pi)


@njit(cache=True, fastmath=True)
def exp_inplace(x):
    """x <- exp(x) on a contiguous 1-D array, the way a maths library does it, but vectorised.

    Why not np.exp in a Numba loop: Numba turns it into one scalar library call per element (it
    vectorises only with Intel's SVML), and on CPUs without AVX-512 NumPy's own np.exp is scalar
    too: ~3 ns per float32 here, 10x slower than this loop, which the compiler turns into SIMD code.
    The maths: write x = k ln2 + r with k an integer and |r| <= ln2/2 (range reduction), so
    exp(x) = 2^k * exp(r); exp(r) is a short Taylor polynomial (error < 3e-7 relative, float32's
    precision), and 2^k is a float whose exponent bits are k + 127 and whose mantissa is 0.
    float64 arrays (the gradient tests) take the exact library exp instead."""
    if x.itemsize != 4:
        for i in range(x.size):
            x[i] = np.exp(x[i])
        return
    bits = x.view(np.int32)                                # the same memory, read as integers
    for i in range(x.size):
        v = min(max(x[i], np.float32(-87.0)), np.float32(88.0))   # exp's float32 range
        k = np.floor(v * np.float32(1.4426950408889634) + np.float32(0.5))  # round(x / ln2)
        r = v - k * np.float32(0.693359375) + k * np.float32(2.12194440e-4)  # x - k ln2, in two parts
        p = np.float32(1.0) + r * (np.float32(1.0) + r * (np.float32(1 / 2) + r * (np.float32(1 / 6) + r * (
            np.float32(1 / 24) + r * (np.float32(1 / 120) + r * np.float32(1 / 720))))))   # exp(r)
        bits[i] = (np.int32(k) + np.int32(127)) << 23      # x[i] = 2^k, written through its bits
        x[i] *= p


@njit(cache=True, fastmath=True)
def _gelu_fwd(x):
    """out = x * sigmoid(2u), u = K (x + 0.044715 x^3); also returns s = sigmoid(2u) for the backward."""
    f = x.reshape(-1)
    s = np.empty_like(f)
    for i in range(f.size):
        u = GELU_K * (f[i] + 0.044715 * f[i] * f[i] * f[i])
        s[i] = min(-2.0 * u, 80.0)                         # exp(-2u), kept finite
    exp_inplace(s)
    out = np.empty_like(f)
    for i in range(f.size):
        s[i] = 1.0 / (1.0 + s[i])
        out[i] = f[i] * s[i]
    return out.reshape(x.shape), s.reshape(x.shape)


@njit(cache=True, fastmath=True)
def _gelu_bwd(dout, x, s):
    """d out / dx = s + x s (1 - s) 2K (1 + 3 * 0.044715 x^2), with s = sigmoid(2u)."""
    dx = np.empty_like(x)
    f, d, sg, o = x.reshape(-1), dout.reshape(-1), s.reshape(-1), dx.reshape(-1)
    for i in range(f.size):
        o[i] = d[i] * (sg[i] + f[i] * sg[i] * (1.0 - sg[i]) * (2.0 * GELU_K) * (1.0 + 3 * 0.044715 * f[i] * f[i]))
    return dx


def gelu_forward(x):
    """GELU, tanh approximation (as GPT-2): 0.5 x (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3).
    Computed as x * sigmoid(2u), the same function (0.5 (1 + tanh u) = sigmoid(2u)), with our exp."""
    out, s = _gelu_fwd(np.ascontiguousarray(x))
    return out, (x, s)


def gelu_backward(dout, cache):
    x, s = cache
    return _gelu_bwd(np.ascontiguousarray(dout), x, s)


def cross_entropy_forward(logits, targets):
    """Mean negative log-likelihood of integer targets (N,) under softmax(logits (N, V))."""
    z = logits - logits.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))   # (N, V)
    loss = -logp[np.arange(len(targets)), targets].mean()
    return loss, (np.exp(logp), targets)


def cross_entropy_backward(cache):
    """Forward was: loss = -mean log softmax(logits)[target]; so dlogits = (p - onehot) / N."""
    p, targets = cache
    d = p.copy()
    d[np.arange(len(targets)), targets] -= 1
    return d / len(targets)


# -------------------------------------------------------------------------------------------
# Initialisation and optimisation over one flat parameter vector
# -------------------------------------------------------------------------------------------
def init_uniform_fan_in(p, rng, layers):
    """Uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights w<l> and biases b<l>, as PyTorch's defaults."""
    for layer in layers:
        w = p["w" + layer]
        fan_in = int(np.prod(w.shape[1:])) if w.ndim == 4 else w.shape[0]
        bound = 1.0 / np.sqrt(fan_in)
        w[...] = rng.uniform(-bound, bound, w.shape)
        p["b" + layer][...] = rng.uniform(-bound, bound, p["b" + layer].shape)


# Exact-but-fast compiler flags for an elementwise loop: the fast-math flags that let LLVM vectorize
# (no NaN/inf/signed-zero care, reassociation, fused multiply-add), without the two that change
# results (approximate reciprocals and functions: vrsqrtps instead of a true square root), and
# errors as NumPy has them (a float division by zero gives inf, not a Python exception: the check
# alone keeps a loop scalar, 7x slower here).
EXACT_FAST = dict(fastmath={"nnan", "ninf", "nsz", "reassoc", "contract"}, error_model="numpy")


@njit(cache=True, **EXACT_FAST)
def adam_step(p, g, m, v, lr, beta1, beta2, eps, t):
    """One Adam step (Kingma & Ba 2015) on flat float32 vectors, in place; t counts steps from 1.
    Constants are cast to float32 first: mixing in float64 would stop the loop vectorizing.

    Subnormal numbers are kept out. A weight whose gradient is zero for a while (a dead ReLU's)
    has its moments decay geometrically: m by 0.9 a step reaches float32's subnormal range (below
    1.2e-38) within a thousand steps, and an Intel core takes ~100 cycles for each operation on
    such a number. Measured on an Intel Xeon: this step went from 1.7 ms to 30-44 ms after a few
    hundred DQN updates, a third of m subnormal. So a gradient below 1e-15 counts as 0 (its square
    would be subnormal) and a moment below 1e-30 is set to 0: what that changes in p is below
    1e-22 of the learning rate."""
    step = np.float32(lr / (1.0 - beta1 ** t))             # bias corrections folded into constants
    inv_c2 = np.float32(1.0 / (1.0 - beta2 ** t))
    b1, b2, e = np.float32(beta1), np.float32(beta2), np.float32(eps)
    one, zero = np.float32(1.0), np.float32(0.0)
    tiny_g, tiny = np.float32(1e-15), np.float32(1e-30)
    for i in range(p.size):
        gi = g[i] if abs(g[i]) >= tiny_g else zero
        mi = b1 * m[i] + (one - b1) * gi
        vi = b2 * v[i] + (one - b2) * gi * gi
        mi = mi if abs(mi) >= tiny else zero
        vi = vi if vi >= tiny else zero
        m[i], v[i] = mi, vi
        p[i] -= step * mi / (np.sqrt(vi * inv_c2) + e)
