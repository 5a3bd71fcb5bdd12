"""copy_task.py: page three's transformer learns, with frozen weights, from its context alone.

Page three's demonstration, kept apart so that transformer.py is only the model. Sequences of
random tokens that then repeat: the first copy is pure noise (accuracy ~ 1/vocab); the second is
predictable, but only by looking back into the context: "find where the current token occurred
before, and predict what followed it" (an induction head, Olsson et al. 2022). After training, a
forward pass learns from its context while its weights stand still: the kind of learning the
imitator would need (pages 4-9).

Run:
    python copy_task.py             # 23 s on one core of an AMD EPYC Zen 4: the first copy at chance
                                    # (0.06), the second 1.00
"""
from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import numpy as np

from layers import cross_entropy_backward, cross_entropy_forward, embedding_backward, embedding_forward
from toolbox import add_config_flags, alloc_params, check_positive, config_from_args, keep_freed_memory
from transformer import AdamW, TransformerConfig, clip_grad_norm, init_params, lr_at, param_shapes, \
    transformer_backward, transformer_forward


@dataclass
class DemoConfig:
    vocab: int = 16              # token values
    half: int = 16               # length of the random part; the sequence is it twice
    n_layer: int = 2             # an induction head needs two layers
    n_head: int = 2              # attention heads per block
    n_embd: int = 64             # model width
    batch: int = 32              # sequences per step
    steps: int = 1500            # optimizer steps
    lr: float = 3e-3             # peak learning rate
    seed: int = 0                # seeds the weights and the sequences


def copy_task_batch(rng, batch, vocab, half):
    first = rng.integers(0, vocab, (batch, half))
    seq = np.concatenate([first, first], axis=1)               # (B, 2*half)
    return seq[:, :-1], seq[:, 1:]                             # inputs, next-token targets


def train_copy_task(dc: DemoConfig, log=print):
    """Train on the repeat-the-sequence task; return accuracy on (first copy, second copy)."""
    keep_freed_memory()
    rng = np.random.default_rng(dc.seed)
    cfg = TransformerConfig(block_size=2 * dc.half, n_layer=dc.n_layer, n_head=dc.n_head,
                            n_embd=dc.n_embd, n_out=dc.vocab)
    shapes = [("wte", (dc.vocab, dc.n_embd))] + param_shapes(cfg)
    (flat, p), (grad, g) = alloc_params(shapes), alloc_params(shapes)
    init_params(p, cfg, rng)
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




def check_demo_config(dc: DemoConfig):
    """Refuse bad demo settings before training starts, naming the flag."""
    check_positive(dc, ("vocab", "half", "n_layer", "n_head", "n_embd", "batch", "steps", "lr"))
    if dc.n_embd % dc.n_head:
        raise SystemExit(f"--n_embd {dc.n_embd} must be a multiple of --n_head {dc.n_head}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="A tiny causal transformer learns a task only its context can solve.")
    add_config_flags(ap, DemoConfig)
    dc = config_from_args(DemoConfig, ap.parse_args())
    check_demo_config(dc)
    t0 = time.perf_counter()
    acc1, acc2 = train_copy_task(dc)
    print(f"\ntrained in {time.perf_counter() - t0:.0f} s. Next-token accuracy:")
    print(f"  first copy  (random; needs no context, cannot be learned): {acc1:.2f}  (chance {1 / dc.vocab:.2f})")
    print(f"  second copy (predictable only from the context):          {acc2:.2f}")
