"""bc.py: the yardstick: behaviour cloning, one frame stack in, one move out, no context.

A baseline page beside imitate.py (page 4). The 2013 DQN network with a softmax head learns the
teacher's move from the single frame stack it was made on, from minibatches of stacks drawn
i.i.d. from the history: no context, so nothing to learn in context with. It trains in imitate.py's
loop (its data, checkpoints, freezing), with this page's batch, step and metrics:

    python imitate.py --model bc --history runs/breakout_frozen --out runs/bc_frozen --batch 128 \
        --lr 2.5e-4 --weight_decay 0 --iters 20000 --late_share 0

It is also the imitator's optional "eyes": imitate.py --init_torso <a bc folder> starts the
transformer's conv layers from a trained behaviour-cloning network's.
"""
from __future__ import annotations

import json
import os

import numpy as np

import dqn
import heldout
import history_io
import imitate
import layers
import toolbox
import transformer
import windows


def bc_step(p, g, flat, grad, opt, batch, grad_clip, lr):
    """One optimizer step of the behaviour-cloning network: stacks (B, 4, 84, 84), targets (B,)."""
    stacks, y = batch
    logits, cache = dqn.q_forward(p, dqn.stacks_to_input(stacks))      # (B, A): the Q-network, read as logits
    loss, cc = layers.cross_entropy_forward(logits, y)
    dqn.q_backward(layers.cross_entropy_backward(cc), cache, g)
    gnorm = transformer.clip_grad_norm(grad, grad_clip)
    opt.step(flat, grad, lr)
    return float(loss), gnorm


def bc_batch(c: imitate.ImitateConfig, h, starts, rng):
    """`batch` frame stacks drawn i.i.d. from the training part of the history, and the moves
    taken there: (stacks, targets)."""
    idx = windows.draw_starts(c, starts, len(h["action"]), rng)
    stacks = windows.augment(history_io.stacks_at(h["frame"], h["first"], idx), rng, c.augment)
    return stacks, h["action"][idx].astype(np.int64)


def bc_heldout_loss(p, h, c: imitate.ImitateConfig, spans):
    """Mean next-move cross-entropy on up to 2,048 evenly spaced held-out steps."""
    idx = windows.heldout_starts(spans, 1)
    idx = idx[np.linspace(0, len(idx) - 1, min(2048, len(idx))).astype(np.int64)]
    return float(layers.cross_entropy_forward(heldout.outputs_at(p, h, idx), h["action"][idx].astype(np.int64))[0])


def evaluate_bc(p, h, c: imitate.ImitateConfig, spans, starts):
    """Held-out metrics of the behaviour-cloning network, and its accuracy on its own training data."""
    idx = windows.heldout_starts(spans, 1)
    pred = heldout.outputs_at(p, h, idx).argmax(1)
    m = heldout.heldout_metrics(pred, h["action"][idx].astype(np.int64), idx, h, c.history, spans)
    tr = np.sort(np.random.default_rng(c.seed + 7).choice(starts, 4096))   # a sample of the training steps
    m["train_acc"] = float((heldout.outputs_at(p, h, tr).argmax(1) == h["action"][tr]).mean())
    return m


KIND = imitate.ModelKind(kind="bc", window=lambda c: 1, init=lambda c, rng: (dqn.init_q_params(rng), dqn.param_shapes()),
                         batch=bc_batch, step=lambda p, g, flat, grad, opt, batch, c, lr: bc_step(p, g, flat, grad, opt,
                                                                                                  batch, c.grad_clip, lr),
                         heldout_loss=bc_heldout_loss, evaluate=evaluate_bc, meta=lambda c: {})


# -------------------------------------------------------------------------------------------
# The imitator's optional eyes: imitate.py --init_torso <a bc folder>
# -------------------------------------------------------------------------------------------
def check_init_torso(c: imitate.ImitateConfig):
    """Refuse an --init_torso that is not a trained behaviour-cloning network, naming the folder."""
    if c.model != "transformer":
        raise SystemExit("--init_torso is for the transformer imitator (--model transformer)")
    meta = os.path.join(c.init_torso, "imitator.json")
    if not os.path.exists(meta):
        raise SystemExit(f"--init_torso {c.init_torso}: no trained network there (no imitator.json)")
    with open(meta) as f:
        if json.load(f).get("kind") != "bc":
            raise SystemExit(f"--init_torso {c.init_torso}: not a behaviour-cloning network (imitate.py --model bc)")


def copy_torso(p, bc_folder):
    """Set the imitator's conv layers (imitate.TORSO) to a trained behaviour-cloning network's."""
    with np.load(os.path.join(bc_folder, "imitator.npz"), allow_pickle=False) as z:
        trained = toolbox.param_views(z["params"], dqn.param_shapes())
        for n in imitate.TORSO:
            p[n][...] = trained[n]
