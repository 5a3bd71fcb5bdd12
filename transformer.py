"""transformer.py: a tiny GPT-style causal transformer, forward and backward by hand in NumPy.

Page three: the imitator's brain. It is the same machine as an LLM, only small: a sequence of
input vectors (the caller embeds its own tokens) gets learned position embeddings, passes through
pre-LayerNorm blocks of causal multi-head self-attention and a 4x GELU MLP, and a linear head
reads out one prediction per position. Position t may only look at positions <= t.

Everything a training step needs is here, each layer a forward/backward pair with its cache:
embedding, LayerNorm, attention (causal softmax), GELU, linear, cross-entropy; AdamW with
decoupled weight decay, gradient-norm clipping, warm-up then cosine learning rate. Playing one
step at a time uses a key/value cache (Decoder), whose outputs equal the full forward's.

    python transformer.py           # ~1 min: learns a task that only in-context learning can solve
    python transformer.py --bench   # training tokens/s and cached decoding steps/s

The demonstration: sequences of random tokens that then repeat. The first copy is pure noise
(accuracy ~ 1/vocab); the second is predictable, but only by looking back into the context:
"find where the current token occurred before, and predict what followed it" (an induction head,
Olsson et al. 2022). A forward pass that learns from its context, with frozen weights.
"""
from __future__ import annotations

import argparse
import math
import time
from dataclasses import dataclass

import numpy as np
from numba import njit

from dqn import add_config_flags, adam_step, config_from_args, linear_backward, linear_forward, param_views

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
# Layers
# -------------------------------------------------------------------------------------------
def embedding_forward(ids, table):
    return table[ids], (ids, table.shape)                  # (..., C)


def embedding_backward(dout, cache):
    """Forward was: out = table[ids]. Rows used several times collect several gradients."""
    ids, shape = cache
    dtable = np.zeros(shape, dout.dtype)
    np.add.at(dtable, ids.reshape(-1), dout.reshape(-1, shape[1]))
    return dtable


@njit(cache=True)
def _layernorm_fwd(x, g, b, eps):
    N, C = x.shape
    out = np.empty_like(x)
    mean, rstd = np.empty(N, x.dtype), np.empty(N, x.dtype)
    for i in range(N):
        m = x[i].mean()
        v = ((x[i] - m) ** 2).mean()
        r = 1.0 / np.sqrt(v + eps)
        mean[i], rstd[i] = m, r
        for c in range(C):
            out[i, c] = (x[i, c] - m) * r * g[c] + b[c]
    return out, mean, rstd


@njit(cache=True)
def _layernorm_bwd(dout, x, mean, rstd, g):
    N, C = x.shape
    dx = np.empty_like(x)
    dg, db = np.zeros(C, np.float64), np.zeros(C, np.float64)
    xhat, dxhat = np.empty(C, x.dtype), np.empty(C, x.dtype)
    for i in range(N):
        for c in range(C):
            xhat[c] = (x[i, c] - mean[i]) * rstd[i]
            dxhat[c] = dout[i, c] * g[c]
            dg[c] += dout[i, c] * xhat[c]
            db[c] += dout[i, c]
        m1, m2 = dxhat.mean(), (dxhat * xhat).mean()
        for c in range(C):
            dx[i, c] = rstd[i] * (dxhat[c] - m1 - xhat[c] * m2)
    return dx, dg.astype(x.dtype), db.astype(x.dtype)


def layernorm_forward(x, g, b, eps=1e-5):
    """Normalise each row of x (..., C) to mean 0, variance 1, then scale by g and shift by b."""
    shape = x.shape
    out, mean, rstd = _layernorm_fwd(x.reshape(-1, shape[-1]), g, b, eps)
    return out.reshape(shape), (x, mean, rstd, g)


def layernorm_backward(dout, cache):
    """Forward was: out = (x - mean) * rstd * g + b; mean and rstd depend on all of x's row."""
    x, mean, rstd, g = cache
    dx, dg, db = _layernorm_bwd(dout.reshape(-1, x.shape[-1]), x.reshape(-1, x.shape[-1]), mean, rstd, g)
    return dx.reshape(x.shape), dg, db


GELU_K = math.sqrt(2.0 / math.pi)


@njit(cache=True)
def _gelu_fwd(x):
    out = np.empty_like(x)
    f = x.reshape(-1)
    o = out.reshape(-1)
    for i in range(f.size):
        u = GELU_K * (f[i] + 0.044715 * f[i] ** 3)
        o[i] = 0.5 * f[i] * (1.0 + np.tanh(u))
    return out


@njit(cache=True)
def _gelu_bwd(dout, x):
    dx = np.empty_like(x)
    f, d, o = x.reshape(-1), dout.reshape(-1), dx.reshape(-1)
    for i in range(f.size):
        u = GELU_K * (f[i] + 0.044715 * f[i] ** 3)
        t = np.tanh(u)
        o[i] = d[i] * (0.5 * (1.0 + t) + 0.5 * f[i] * (1.0 - t * t) * GELU_K * (1.0 + 3 * 0.044715 * f[i] ** 2))
    return dx


def gelu_forward(x):
    """GELU, tanh approximation (as GPT-2): 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    return _gelu_fwd(x), x


def gelu_backward(dout, x):
    return _gelu_bwd(dout, x)


@njit(cache=True)
def causal_softmax(scores, scale):
    """Row t of each (T, T) score matrix: softmax of scale*scores over columns <= t; zeros after."""
    B, NH, T, _ = scores.shape
    att = np.zeros_like(scores)
    for b in range(B):
        for h in range(NH):
            for t in range(T):
                row = scores[b, h, t]
                m = row[0]
                for j in range(1, t + 1):
                    m = max(m, row[j])
                s = 0.0
                for j in range(t + 1):
                    e = np.exp((row[j] - m) * scale)
                    att[b, h, t, j] = e
                    s += e
                for j in range(t + 1):
                    att[b, h, t, j] /= s
    return att


@njit(cache=True)
def causal_softmax_backward(datt, att, scale):
    """Forward was: att = softmax(scale * scores) on the causal part. Per row:
    dscores_j = scale * att_j * (datt_j - sum_k att_k datt_k)."""
    B, NH, T, _ = att.shape
    ds = np.zeros_like(att)
    for b in range(B):
        for h in range(NH):
            for t in range(T):
                dot = 0.0
                for j in range(t + 1):
                    dot += att[b, h, t, j] * datt[b, h, t, j]
                for j in range(t + 1):
                    ds[b, h, t, j] = scale * att[b, h, t, j] * (datt[b, h, t, j] - dot)
    return ds


def attention_forward(qkv, n_head):
    """Causal multi-head self-attention on packed projections qkv (B, T, 3C) -> (B, T, C)."""
    B, T, C3 = qkv.shape
    C = C3 // 3
    hs = C // n_head
    q, k, v = np.ascontiguousarray(qkv.reshape(B, T, 3, n_head, hs).transpose(2, 0, 3, 1, 4))  # 3 x (B, NH, T, hs)
    scale = 1.0 / math.sqrt(hs)
    att = causal_softmax(q @ k.transpose(0, 1, 3, 2), scale)  # (B, NH, T, T)
    y = att @ v                                               # (B, NH, T, hs)
    return y.transpose(0, 2, 1, 3).reshape(B, T, C), (q, k, v, att, scale)


def attention_backward(dy, cache):
    """Forward was: att = causal_softmax(q k^T * scale); y = att v."""
    q, k, v, att, scale = cache
    B, NH, T, hs = q.shape
    dy = np.ascontiguousarray(dy.reshape(B, T, NH, hs).transpose(0, 2, 1, 3))  # (B, NH, T, hs)
    datt = dy @ v.transpose(0, 1, 3, 2)                       # (B, NH, T, T)
    dv = att.transpose(0, 1, 3, 2) @ dy                       # (B, NH, T, hs)
    ds = causal_softmax_backward(datt, att, scale)            # (B, NH, T, T)
    dq, dk = ds @ k, ds.transpose(0, 1, 3, 2) @ q             # (B, NH, T, hs)
    dqkv = np.stack([dq, dk, dv])                             # (3, B, NH, T, hs)
    return dqkv.transpose(1, 3, 0, 2, 4).reshape(B, T, 3 * NH * hs)


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


def transformer_forward(p, x, cfg: TransformerConfig):
    """Input vectors x (B, T, C), T <= block_size -> outputs (B, T, V)."""
    B, T, C = x.shape
    assert T <= cfg.block_size, f"sequence of {T} is longer than the block size {cfg.block_size}"
    h = x + p["wpe"][:T]                                                       # (B, T, C)
    blocks = []
    for l in range(cfg.n_layer):
        h, c = block_forward(h, p, l, cfg.n_head)
        blocks.append(c)
    hf, cf = layernorm_forward(h, p["lnf_g"], p["lnf_b"])
    out, ch = linear_forward(hf.reshape(B * T, C), p["w_head"], p["b_head"])   # (N, V)
    return out.reshape(B, T, -1), (blocks, cf, ch)


def transformer_backward(dout, cache, g, cfg: TransformerConfig):
    """Fills the gradient views g and returns the gradient of the input vectors (B, T, C)."""
    blocks, cf, ch = cache
    B, T, _ = dout.shape
    dhf, g["w_head"][...], g["b_head"][...] = linear_backward(dout.reshape(B * T, -1), ch)
    dh, g["lnf_g"][...], g["lnf_b"][...] = layernorm_backward(dhf.reshape(B, T, -1), cf)
    for l in reversed(range(cfg.n_layer)):
        dh = block_backward(dh, blocks[l], g, l)
    g["wpe"][...] = 0
    g["wpe"][:T] = dh.sum(axis=0)                                              # forward was: h = x + wpe[:T]
    return dh


# -------------------------------------------------------------------------------------------
# Optimisation: AdamW = decoupled weight decay, then the Adam step of dqn.py
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

    The window holds at most block_size positions. When it is full, it slides: the oldest half is
    dropped and the newest half re-encoded at positions 0, 1, ... (learned positions are absolute,
    so cached keys cannot simply be shifted). Every output therefore equals the full forward pass
    over the inputs currently in the window; the window holds between block_size/2 and block_size."""

    def __init__(self, p, cfg: TransformerConfig):
        self.p, self.cfg = p, cfg
        C, hs = cfg.n_embd, cfg.n_embd // cfg.n_head
        self.k = np.zeros((cfg.n_layer, cfg.n_head, cfg.block_size, hs), p["wpe"].dtype)  # (L, NH, T, hs)
        self.v = np.zeros_like(self.k)
        self.inputs = np.zeros((cfg.block_size, C), p["wpe"].dtype)                     # (T, C)
        self.n = 0                                                                       # positions in use

    def reset(self):
        self.n = 0

    def _prefill(self, xs):
        """Run the full forward over xs (T, C) and keep its keys and values."""
        _, (blocks, _, _) = transformer_forward(self.p, xs[None], self.cfg)
        T = len(xs)
        for l, c in enumerate(blocks):
            _, k, v, _, _ = c[2]                                 # the attention cache: q, k, v, att, scale
            self.k[l, :, :T], self.v[l, :, :T] = k[0], v[0]
        self.inputs[:T] = xs
        self.n = T

    def step(self, x):
        """x (C,) -> output (V,) at the newest position."""
        cfg, p = self.cfg, self.p
        if self.n == cfg.block_size:                             # full: slide by half a window
            keep = cfg.block_size // 2 - 1
            self._prefill(self.inputs[self.n - keep:self.n].copy())
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


# -------------------------------------------------------------------------------------------
# Demonstration: a task only in-context learning can solve
# -------------------------------------------------------------------------------------------
@dataclass
class DemoConfig:
    vocab: int = 16              # token values
    half: int = 16               # length of the random part; the sequence is it twice
    n_layer: int = 2             # an induction head needs two layers
    n_head: int = 2
    n_embd: int = 64
    batch: int = 32
    steps: int = 1500
    lr: float = 3e-3
    seed: int = 0


def copy_task_batch(rng, batch, vocab, half):
    first = rng.integers(0, vocab, (batch, half))
    seq = np.concatenate([first, first], axis=1)               # (B, 2*half)
    return seq[:, :-1], seq[:, 1:]                             # inputs, next-token targets


def train_copy_task(dc: DemoConfig, log=print):
    """Train on the repeat-the-sequence task; return accuracy on (first copy, second copy)."""
    rng = np.random.default_rng(dc.seed)
    cfg = TransformerConfig(block_size=2 * dc.half, n_layer=dc.n_layer, n_head=dc.n_head,
                            n_embd=dc.n_embd, n_out=dc.vocab)
    shapes = [("wte", (dc.vocab, dc.n_embd))] + param_shapes(cfg)
    flat = np.zeros(sum(int(np.prod(s)) for _, s in shapes), np.float32)
    p = param_views(flat, shapes)
    init_params(p, cfg, rng)
    grad = np.zeros_like(flat)
    g = param_views(grad, shapes)
    opt = AdamW(flat, shapes, weight_decay=0.01)
    for step in range(dc.steps):
        x, y = copy_task_batch(rng, dc.batch, dc.vocab, dc.half)
        emb, ce = embedding_forward(x, p["wte"])                # the caller embeds its tokens
        logits, cache = transformer_forward(p, emb, cfg)
        loss, cc = cross_entropy_forward(logits.reshape(-1, dc.vocab), y.reshape(-1))
        dx = transformer_backward(cross_entropy_backward(cc).reshape(logits.shape), cache, g, cfg)
        g["wte"][...] = embedding_backward(dx, ce)
        clip_grad_norm(grad, 1.0)
        opt.step(flat, grad, lr_at(step, dc.lr, 100, dc.steps))
        if log and (step % 250 == 0 or step == dc.steps - 1):
            log(f"step {step:5d}  loss {loss:.3f}")
    x, y = copy_task_batch(np.random.default_rng(dc.seed + 1), 256, dc.vocab, dc.half)
    pred = transformer_forward(p, p["wte"][x], cfg)[0].argmax(-1)
    correct = pred == y
    # targets 0..half-2 are still inside the random first copy; from half-1 on, the second copy
    return float(correct[:, :dc.half - 1].mean()), float(correct[:, dc.half:].mean())


def bench(seconds=20):
    """Training tokens/s at d_model 128, 4 layers, 4 heads, context 512, batch 8; cached steps/s."""
    cfg = TransformerConfig()
    B, T = 8, cfg.block_size
    rng = np.random.default_rng(0)
    shapes = param_shapes(cfg)
    flat = np.zeros(sum(int(np.prod(s)) for _, s in shapes), np.float32)
    p, grad = param_views(flat, shapes), np.zeros_like(flat)
    g = param_views(grad, shapes)
    init_params(p, cfg, rng)
    opt = AdamW(flat, shapes)
    x = rng.standard_normal((B, T, cfg.n_embd)).astype(np.float32)
    y = rng.integers(0, cfg.n_out, B * T)

    def train_step():
        out, cache = transformer_forward(p, x, cfg)
        _, cc = cross_entropy_forward(out.reshape(-1, cfg.n_out), y)
        transformer_backward(cross_entropy_backward(cc).reshape(out.shape), cache, g, cfg)
        clip_grad_norm(grad, 1.0)
        opt.step(flat, grad, 1e-4)

    train_step()                                                # compile
    times = []
    t_end = time.perf_counter() + seconds
    while time.perf_counter() < t_end or len(times) < 5:
        t0 = time.perf_counter()
        train_step()
        times.append(time.perf_counter() - t0)
    print(f"training: {B * T / np.median(times):8.0f} tokens/s  (median of {len(times)} steps of "
          f"{B}x{T} tokens, d_model {cfg.n_embd}, {cfg.n_layer} layers, {cfg.n_head} heads)")
    dec = Decoder(p, cfg)
    xs = rng.standard_normal((4 * T, cfg.n_embd)).astype(np.float32)
    dec.step(xs[0])
    t0 = time.perf_counter()
    for v in xs:
        dec.step(v)
    print(f"cached decoding: {len(xs) / (time.perf_counter() - t0):8.0f} steps/s "
          f"(one position at a time, window {T}, slides included)")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="A tiny causal transformer: in-context demo or --bench.")
    ap.add_argument("--bench", action="store_true", help="print speed figures and exit")
    add_config_flags(ap, DemoConfig)
    a = ap.parse_args()
    if a.bench:
        bench()
    else:
        dc = config_from_args(DemoConfig, a)
        t0 = time.perf_counter()
        acc1, acc2 = train_copy_task(dc)
        print(f"\ntrained in {time.perf_counter() - t0:.0f} s. Next-token accuracy:")
        print(f"  first copy  (random; needs no context, cannot be learned): {acc1:.2f}  (chance {1 / dc.vocab:.2f})")
        print(f"  second copy (predictable only from the context):          {acc2:.2f}")
