"""transformer.py: a tiny GPT-style causal transformer, forward and backward by hand in NumPy.

Page three: the imitator's brain. It is the same machine as an LLM, only small: a sequence of
input vectors (the caller embeds its own tokens) gets learned position embeddings, passes through
pre-LayerNorm blocks of causal multi-head self-attention and a 4x GELU MLP, and a linear head
reads out one prediction per position. Position t may only look at positions <= t.

Attention (causal softmax, multi-head) is this page's new layer, a forward/backward pair with its
cache like every other; the rest are page 0's (layers.py: embedding, LayerNorm, GELU, linear,
cross-entropy, Adam). Here too: the blocks and the model, AdamW with decoupled weight decay,
gradient-norm clipping, warm-up then cosine learning rate. Playing one step at a time uses a
key/value cache (Decoder), whose outputs equal the full forward's.

Nothing to run on its own: `python copy_task.py` (its demonstration page, about 30 s) shows this
transformer learn a task only in-context learning can solve; `python benchmarks/speed.py --only
transformer` gives its training tokens/s and cached decoding steps/s.

Page three builds on page zero rather than standing alone, on purpose: one implementation of each
layer, taught and tested once (tests/test_layers.py); its callers keep the parameters in the
toolbox's flat vector with named views (`alloc_params`). The new ideas of this page (attention, the transformer block, the KV cache) are all here.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from layers import (adam_step, exp_inplace, gelu_backward, gelu_forward, layernorm_backward, layernorm_forward,
                    linear_backward, linear_forward)

# Dimension letters: B batch, T time (sequence position), C model width, NH heads, hs = C/NH head
# size, V outputs of the head, L layers, N = B*T rows.


@dataclass
class TransformerConfig:
    block_size: int = 512        # longest context (number of learned positions)
    n_layer: int = 4             # transformer blocks
    n_head: int = 4              # attention heads per block
    n_embd: int = 128            # model width C
    n_out: int = 4               # outputs of the linear head V




# -------------------------------------------------------------------------------------------
# Attention: the one layer this page adds (the others are layers.py's)
# -------------------------------------------------------------------------------------------
@njit(cache=True, fastmath=True)
def causal_softmax(scores, scale, t0):
    """Causal softmax of a block of query rows, for every head at once, in place (the scores are
    not needed again).

    scores (NH, R, L) holds, per head, the rows of query positions t0 .. t0+R-1 against keys
    0 .. L-1. Row r may only look at keys <= t0 + r: softmax of scale * scores over those, zeros after."""
    NH, R, L = scores.shape
    for h in range(NH):
        for r in range(R):
            n = min(L, t0 + r + 1)                         # keys this position may see
            row = scores[h, r]                             # a view: writes go into scores
            m = row[0]
            for j in range(1, n):
                m = max(m, row[j])
            for j in range(n):
                row[j] = (row[j] - m) * scale              # <= 0: exp cannot overflow
            exp_inplace(row[:n])
            s = 0.0
            for j in range(n):
                s += row[j]
            inv = 1.0 / s
            for j in range(n):
                row[j] *= inv
            row[n:] = 0.0                                  # the future: weight 0
    return scores


@njit(cache=True, fastmath=True)
def causal_softmax_backward(datt, att, scale, t0):
    """Forward was: att = softmax(scale * scores) over keys <= t0 + r, per head and row r. Per row:
    dscores_j = scale * att_j * (datt_j - sum_k att_k datt_k). In place on datt, returned."""
    NH, R, L = att.shape
    for h in range(NH):
        for r in range(R):
            n = min(L, t0 + r + 1)
            a, d = att[h, r], datt[h, r]
            dot = 0.0
            for j in range(n):
                dot += a[j] * d[j]
            for j in range(n):
                d[j] = scale * a[j] * (d[j] - dot)
            d[n:] = 0.0
    return datt


ATT_BLOCK = 128   # query rows per block: a block never touches the keys after its last row


def attention_forward(qkv, n_head):
    """Causal multi-head self-attention on packed projections qkv (B, T, 3C) -> (B, T, C).

    Per batch element and head, the T x T attention weights are built in blocks of ATT_BLOCK query
    rows, each against only the keys it may see (rows t0..t1-1 need keys 0..t1-1). This skips the
    masked upper triangle (at T = 512, 6 of 16 blocks) and keeps each block in the CPU cache."""
    B, T, C3 = qkv.shape
    C = C3 // 3
    hs = C // n_head
    q, k, v = np.ascontiguousarray(qkv.reshape(B, T, 3, n_head, hs).transpose(2, 0, 3, 1, 4))  # 3 x (B, NH, T, hs)
    # easy to overlook: BLAS runs ~2x faster here when both operands are contiguous, so k^T is
    # copied once (it is small) rather than read with strides
    kT = np.ascontiguousarray(k.transpose(0, 1, 3, 2))       # (B, NH, hs, T)
    scale = 1.0 / math.sqrt(hs)
    y = np.empty_like(q)                                      # (B, NH, T, hs)
    att = []                                                  # per (b, h, block): (t1 - t0, t1) weights
    for b in range(B):
        for h in range(n_head):
            for t0 in range(0, T, ATT_BLOCK):
                t1 = min(T, t0 + ATT_BLOCK)
                a = causal_softmax((q[b, h, t0:t1] @ kT[b, h, :, :t1])[None], scale, t0)[0]   # (R, t1)
                y[b, h, t0:t1] = a @ v[b, h, :t1]                                          # (R, hs)
                att.append(a)
    return y.transpose(0, 2, 1, 3).reshape(B, T, C), (q, k, v, att, scale)


def attention_backward(dy, cache):
    """Forward was, per block: a = causal_softmax(q[t0:t1] k[:t1]^T * scale); y[t0:t1] = a v[:t1]."""
    q, k, v, att, scale = cache
    B, NH, T, hs = q.shape
    dy = np.ascontiguousarray(dy.reshape(B, T, NH, hs).transpose(0, 2, 1, 3))  # (B, NH, T, hs)
    vT = np.ascontiguousarray(v.transpose(0, 1, 3, 2))        # (B, NH, hs, T)
    dq, dk, dv = np.empty_like(q), np.zeros_like(k), np.zeros_like(v)
    blocks = iter(att)
    for b in range(B):
        for h in range(NH):
            for t0 in range(0, T, ATT_BLOCK):
                t1 = min(T, t0 + ATT_BLOCK)
                a = next(blocks)                              # (R, t1)
                dv[b, h, :t1] += a.T @ dy[b, h, t0:t1]        # keys get gradient from every block: add
                ds = causal_softmax_backward((dy[b, h, t0:t1] @ vT[b, h, :, :t1])[None], a[None], scale, t0)[0]
                dq[b, h, t0:t1] = ds @ k[b, h, :t1]           # (R, hs)
                dk[b, h, :t1] += ds.T @ q[b, h, t0:t1]        # (t1, hs)
    dqkv = np.empty((B, T, 3, NH, hs), q.dtype)               # back to the packed layout of qkv
    for i, d in enumerate((dq, dk, dv)):
        dqkv[:, :, i] = d.transpose(0, 2, 1, 3)
    return dqkv.reshape(B, T, 3 * NH * hs)


# -------------------------------------------------------------------------------------------
# The model
# -------------------------------------------------------------------------------------------
def param_shapes(cfg: TransformerConfig):
    C = cfg.n_embd
    shapes = [("wpe", (cfg.block_size, C))]
    for l in range(cfg.n_layer):
        shapes += [(f"h{l}.ln1_g", (C,)), (f"h{l}.ln1_b", (C,)),
                   (f"h{l}.w_qkv", (C, 3 * C)), (f"h{l}.b_qkv", (3 * C,)),
                   (f"h{l}.w_o", (C, C)), (f"h{l}.b_o", (C,)),
                   (f"h{l}.ln2_g", (C,)), (f"h{l}.ln2_b", (C,)),
                   (f"h{l}.w_fc", (C, 4 * C)), (f"h{l}.b_fc", (4 * C,)),
                   (f"h{l}.w_fc2", (4 * C, C)), (f"h{l}.b_fc2", (C,))]
    return shapes + [("lnf_g", (C,)), ("lnf_b", (C,)), ("w_head", (C, cfg.n_out)), ("b_head", (cfg.n_out,))]


def init_params(p, cfg: TransformerConfig, rng):
    """GPT-2 initialisation into the views p: N(0, 0.02) matrices, residual projections scaled
    down by sqrt(2 L) so the residual stream does not grow with depth, LayerNorm gains 1."""
    for name, arr in p.items():
        base = name.split(".")[-1]
        if base.endswith("_g"):
            arr[...] = 1.0
        elif arr.ndim == 1:
            arr[...] = 0.0
        elif base in ("w_o", "w_fc2"):
            arr[...] = rng.normal(0, 0.02 / math.sqrt(2 * cfg.n_layer), arr.shape)
        else:
            arr[...] = rng.normal(0, 0.02, arr.shape)


def block_forward(h, p, l, n_head):
    B, T, C = h.shape
    a, c1 = layernorm_forward(h, p[f"h{l}.ln1_g"], p[f"h{l}.ln1_b"])          # (B, T, C)
    qkv, c2 = linear_forward(a.reshape(B * T, C), p[f"h{l}.w_qkv"], p[f"h{l}.b_qkv"])  # (N, 3C)
    y, c3 = attention_forward(qkv.reshape(B, T, 3 * C), n_head)                # (B, T, C)
    o, c4 = linear_forward(y.reshape(B * T, C), p[f"h{l}.w_o"], p[f"h{l}.b_o"])  # (N, C)
    h = h + o.reshape(B, T, C)                                                 # residual
    m, c5 = layernorm_forward(h, p[f"h{l}.ln2_g"], p[f"h{l}.ln2_b"])
    f, c6 = linear_forward(m.reshape(B * T, C), p[f"h{l}.w_fc"], p[f"h{l}.b_fc"])  # (N, 4C)
    gl, c7 = gelu_forward(f)
    o2, c8 = linear_forward(gl, p[f"h{l}.w_fc2"], p[f"h{l}.b_fc2"])            # (N, C)
    return h + o2.reshape(B, T, C), (c1, c2, c3, c4, c5, c6, c7, c8)


def block_backward(dh, cache, g, l):
    """Forward was: h1 = h + attn(ln1(h)); out = h1 + mlp(ln2(h1)). Residuals pass dh through."""
    c1, c2, c3, c4, c5, c6, c7, c8 = cache
    B, T, C = dh.shape
    dgl, g[f"h{l}.w_fc2"][...], g[f"h{l}.b_fc2"][...] = linear_backward(dh.reshape(B * T, C), c8)
    dm, g[f"h{l}.w_fc"][...], g[f"h{l}.b_fc"][...] = linear_backward(gelu_backward(dgl, c7), c6)
    dx, g[f"h{l}.ln2_g"][...], g[f"h{l}.ln2_b"][...] = layernorm_backward(dm.reshape(B, T, C), c5)
    dh = dh + dx
    dy, g[f"h{l}.w_o"][...], g[f"h{l}.b_o"][...] = linear_backward(dh.reshape(B * T, C), c4)
    dqkv = attention_backward(dy.reshape(B, T, C), c3)                       # (B, T, 3C)
    da, g[f"h{l}.w_qkv"][...], g[f"h{l}.b_qkv"][...] = linear_backward(dqkv.reshape(B * T, 3 * C), c2)
    dx, g[f"h{l}.ln1_g"][...], g[f"h{l}.ln1_b"][...] = layernorm_backward(da.reshape(B, T, C), c1)
    return dh + dx


def transformer_forward(p, x, cfg: TransformerConfig, offset=None):
    """Input vectors x (B, T, C) -> outputs (B, T, V). Row b sits at positions offset[b] ..
    offset[b] + T - 1 (offset (B,) ints, default 0), which must lie inside the block: a window
    placed later in the block, so that positions a short sequence never reaches get trained too."""
    B, T, C = x.shape
    offset = np.zeros(B, np.int64) if offset is None else np.asarray(offset)
    assert offset.min() >= 0 and offset.max() + T <= cfg.block_size, \
        f"positions {offset.min()} .. {offset.max() + T - 1} do not fit the block size {cfg.block_size}"
    pos = offset[:, None] + np.arange(T)                                       # (B, T)
    h = x + p["wpe"][pos]                                                      # (B, T, C)
    blocks = []
    for l in range(cfg.n_layer):
        h, c = block_forward(h, p, l, cfg.n_head)
        blocks.append(c)
    hf, cf = layernorm_forward(h, p["lnf_g"], p["lnf_b"])
    out, ch = linear_forward(hf.reshape(B * T, C), p["w_head"], p["b_head"])   # (N, V)
    return out.reshape(B, T, -1), (blocks, cf, ch, offset)


def transformer_backward(dout, cache, g, cfg: TransformerConfig):
    """Fills the gradient views g and returns the gradient of the input vectors (B, T, C)."""
    blocks, cf, ch, offset = cache
    B, T, _ = dout.shape
    dhf, g["w_head"][...], g["b_head"][...] = linear_backward(dout.reshape(B * T, -1), ch)
    dh, g["lnf_g"][...], g["lnf_b"][...] = layernorm_backward(dhf.reshape(B, T, -1), cf)
    for l in reversed(range(cfg.n_layer)):
        dh = block_backward(dh, blocks[l], g, l)
    g["wpe"][...] = 0
    for o in np.unique(offset):                                                # forward was: h = x + wpe[pos]
        g["wpe"][o:o + T] += dh[offset == o].sum(axis=0)
    return dh


# -------------------------------------------------------------------------------------------
# Optimisation: AdamW = decoupled weight decay, then the Adam step of layers.py
# -------------------------------------------------------------------------------------------
def decay_mask(shapes):
    """1 for matrices (weights, embeddings, conv kernels), 0 for biases and LayerNorm gains."""
    return np.concatenate([np.full(int(np.prod(s)), 1.0 if len(s) >= 2 else 0.0, np.float32)
                           for _, s in shapes])


@njit(cache=True)
def decay_weights(p, mask, factor):
    """Decoupled weight decay (Loshchilov & Hutter 2019): p <- p - lr * wd * p where mask is 1."""
    f = np.float32(factor)
    for i in range(p.size):
        p[i] -= f * mask[i] * p[i]


def clip_grad_norm(g, max_norm):
    """Scale the flat gradient down so its L2 norm is at most max_norm; return the norm before."""
    norm = float(np.sqrt(np.dot(g, g)))
    if norm > max_norm:
        g *= max_norm / (norm + 1e-6)
    return norm


def lr_at(step, lr, warmup, total, min_ratio=0.1):
    """Linear warm-up for `warmup` steps, then cosine decay to min_ratio * lr at `total`."""
    if step < warmup:
        return lr * (step + 1) / warmup
    frac = min(1.0, (step - warmup) / max(1, total - warmup))
    return lr * (min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * frac)))


class AdamW:
    """AdamW over one flat parameter vector: the state a checkpoint must keep is m, v and t."""

    def __init__(self, flat, shapes, weight_decay=0.1, betas=(0.9, 0.95), eps=1e-8):
        self.m, self.v = np.zeros_like(flat), np.zeros_like(flat)
        self.mask = decay_mask(shapes)
        self.wd, self.betas, self.eps, self.t = weight_decay, betas, eps, 0

    def step(self, flat, grad, lr):
        self.t += 1
        decay_weights(flat, self.mask, lr * self.wd)
        adam_step(flat, grad, self.m, self.v, lr, self.betas[0], self.betas[1], self.eps, self.t)


# -------------------------------------------------------------------------------------------
# Incremental decoding: one new position at a time, keys and values of the past kept in a cache
# -------------------------------------------------------------------------------------------
class Decoder:
    """Feeds one input vector at a time and returns the head's output at that position.

    The window holds at most block_size positions. When it is full, it slides: the oldest inputs
    are dropped and the newest `keep` (default block_size/2 - 1) re-encoded at positions 0, 1, ...
    (learned positions are absolute, so cached keys cannot simply be shifted). Every output
    therefore equals the full forward pass over the inputs currently in the window. keep=0: a full
    window starts over empty, so nothing from before it is ever seen."""

    def __init__(self, p, cfg: TransformerConfig, keep=None):
        self.p, self.cfg = p, cfg
        self.keep = cfg.block_size // 2 - 1 if keep is None else keep
        assert 0 <= self.keep < cfg.block_size, f"keep {keep} must lie in 0 .. block_size - 1"
        C, hs = cfg.n_embd, cfg.n_embd // cfg.n_head
        self.k = np.zeros((cfg.n_layer, cfg.n_head, cfg.block_size, hs), p["wpe"].dtype)  # (L, NH, T, hs)
        self.v = np.zeros_like(self.k)
        self.inputs = np.zeros((cfg.block_size, C), p["wpe"].dtype)                     # (T, C)
        self.n = 0                                                                       # positions in use

    def reset(self):
        self.n = 0

    def window(self):
        """The input vectors now in the window (n, C), a copy: what prefill() needs to restore it."""
        return self.inputs[:self.n].copy()

    def prefill(self, xs):
        """Fill the window with the input vectors xs (T, C), T <= block_size: run the full forward
        over them and keep its keys and values (also how a saved window is restored)."""
        if len(xs) == 0:
            self.n = 0
            return
        _, (blocks, _, _, _) = transformer_forward(self.p, xs[None], self.cfg)
        T = len(xs)
        for l, c in enumerate(blocks):
            _, k, v, _, _ = c[2]                                 # the attention cache: q, k, v, att, scale
            self.k[l, :, :T], self.v[l, :, :T] = k[0], v[0]
        self.inputs[:T] = xs
        self.n = T

    def step(self, x):
        """x (C,) -> output (V,) at the newest position."""
        cfg, p = self.cfg, self.p
        if self.n == cfg.block_size:                             # full: slide, keeping the newest inputs
            self.prefill(self.inputs[self.n - self.keep:self.n].copy())
        t = self.n
        self.inputs[t] = x
        C, NH = cfg.n_embd, cfg.n_head
        hs = C // NH
        h = (x + p["wpe"][t])[None]                               # (1, C)
        for l in range(cfg.n_layer):
            a, _ = layernorm_forward(h, p[f"h{l}.ln1_g"], p[f"h{l}.ln1_b"])
            q, k, v = (a @ p[f"h{l}.w_qkv"] + p[f"h{l}.b_qkv"]).reshape(3, NH, hs)
            self.k[l, :, t], self.v[l, :, t] = k, v
            s = (self.k[l, :, :t + 1] @ q[:, :, None])[:, :, 0] / math.sqrt(hs)   # (NH, t+1)
            att = np.exp(s - s.max(axis=1, keepdims=True))
            att /= att.sum(axis=1, keepdims=True)
            y = (att[:, None, :] @ self.v[l, :, :t + 1])[:, 0]  # (NH, hs)
            h = h + y.reshape(1, C) @ p[f"h{l}.w_o"] + p[f"h{l}.b_o"]
            m, _ = layernorm_forward(h, p[f"h{l}.ln2_g"], p[f"h{l}.ln2_b"])
            h = h + gelu_forward(m @ p[f"h{l}.w_fc"] + p[f"h{l}.b_fc"])[0] @ p[f"h{l}.w_fc2"] + p[f"h{l}.b_fc2"]
        hf, _ = layernorm_forward(h, p["lnf_g"], p["lnf_b"])
        self.n = t + 1
        return (hf @ p["w_head"] + p["b_head"])[0]
