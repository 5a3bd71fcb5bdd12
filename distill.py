"""distill.py: where imitating a learner DOES learn in context. The positive control.

Page six. The Atari pages can only show the argument's "no". Here is the strongest case for "yes":
Algorithm Distillation (Laskin et al. 2022). Record a learning algorithm's histories on MANY tasks,
train the same kind of transformer (transformer.py, page 3) by plain next-action prediction on
them, freeze it, and put it in front of a task it has never seen. If its context spans the
learning, it can improve from pull to pull with frozen weights: it has learned to infer, from the
context, what the source learner would do next, and the source learner was improving.

The tasks are 5-armed Bernoulli bandits: each arm pays 1 with its own probability, drawn uniformly
for every new task. The source learner is Thompson sampling. One token per pull:

    token_t  = E_action[arm pulled at t-1 (or "start")] + E_reward[its reward (or "start")]
    logits_t = transformer(token_1 .. token_t)           -> which arm the learner pulls at t

Measured: the frozen imitator's learning curve on new bandits (the chosen arm's success
probability over the best arm's, per fifth of the pulls) beside Thompson sampling's and random
play's. Then question 2 of the argument, where it is cheap to ask: trained on histories cut after
their first 20 pulls, does the frozen imitator improve past anything its training ever showed?
And the dials between "yes" and "no" (--sweep): how many training tasks, how long a context.

    python distill.py            # the positive control and its question 2 (~10 min on 2 cores)
    python distill.py --quick    # the same, small, for a classroom (~2 min)
    python distill.py --sweep    # the dials: training tasks x context length (~1 h)

writes results/distill/: distill.json (every number), bandits.png, q2.png, (sweep.png).
Not here yet: AD's dark room (a grid world whose goal the imitator must find by exploring).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

import dqn
import transformer as tf


@dataclass
class DistillConfig:
    arms: int = 5                 # arms per bandit
    pulls: int = 100              # pulls per history (and per test episode)
    train_tasks: int = 2000       # bandits the source learner's histories come from
    test_tasks: int = 200         # new bandits the frozen imitator is tested on
    context: int = 100            # positions the imitator sees (training windows and play)
    train_pulls: int = 100        # keep only the first train_pulls pulls of each training history
    n_layer: int = 3              # transformer blocks
    n_head: int = 4               # attention heads per block
    n_embd: int = 64              # model width
    batch: int = 64               # training windows per step
    iters: int = 2000             # optimizer steps
    lr: float = 1e-3              # peak learning rate (warm-up, then cosine decay)
    weight_decay: float = 0.01    # AdamW's decoupled weight decay on matrices
    seed: int = 0                 # seeds the bandits, the source learner, the weights and play
    out: str = "results/distill"  # where the numbers and plots go
    quick: bool = False           # classroom scale: fewer tasks and steps
    sweep: bool = False           # run the dials (training tasks x context) instead


QUICK = dict(train_tasks=500, test_tasks=100, iters=300)
SWEEP_TASKS = (1, 4, 16, 64, 2000)
SWEEP_CONTEXT = (25, 50, 100)
Q2_PULLS = 20                     # question 2: train on the first 20 pulls only


# -------------------------------------------------------------------------------------------
# Tasks and the source learner
# -------------------------------------------------------------------------------------------
def make_bandits(rng, n, arms):
    """n bandits (n, arms): each arm's probability of paying 1, uniform in [0, 1]."""
    return rng.uniform(0.0, 1.0, (n, arms))


def thompson(probs, pulls, rng):
    """Thompson sampling on every bandit at once: keep a Beta(1 + wins, 1 + losses) belief per arm,
    sample one value from each belief, pull the arm with the largest sample. Returns the arms
    pulled and rewards (n, pulls). It starts at random and converges on the best arm."""
    n, A = probs.shape
    wins, losses = np.zeros((n, A)), np.zeros((n, A))
    actions, rewards = np.empty((n, pulls), np.int64), np.empty((n, pulls), np.int64)
    rows = np.arange(n)
    for t in range(pulls):
        a = rng.beta(1 + wins, 1 + losses).argmax(axis=1)               # (n,)
        r = (rng.random(n) < probs[rows, a]).astype(np.int64)
        wins[rows, a] += r
        losses[rows, a] += 1 - r
        actions[:, t], rewards[:, t] = a, r
    return actions, rewards


def quality(probs, actions):
    """The chosen arm's success probability over the best arm's, per pull (n, pulls): 1 = optimal."""
    return np.take_along_axis(probs, actions, axis=1) / probs.max(axis=1, keepdims=True)


def by_fifth(q):
    """Mean of quality per fifth of the pulls (5,)."""
    return [float(x.mean()) for x in np.array_split(q, 5, axis=1)]


# -------------------------------------------------------------------------------------------
# The imitator: embeddings of (previous arm, previous reward) -> transformer.py -> next arm
# -------------------------------------------------------------------------------------------
def model_shapes(c: DistillConfig):
    tcfg = tf.TransformerConfig(block_size=c.context, n_layer=c.n_layer, n_head=c.n_head, n_embd=c.n_embd,
                                n_out=c.arms)
    return tcfg, [("e_act", (c.arms + 1, c.n_embd)), ("e_rew", (3, c.n_embd))] + tf.param_shapes(tcfg)


def tokens(actions, rewards, arms):
    """Inputs of each position: the previous pull's arm and reward; "start" (arms, 2) at position 0."""
    prev_a = np.concatenate([np.full((len(actions), 1), arms), actions[:, :-1]], axis=1)   # (n, T)
    prev_r = np.concatenate([np.full((len(rewards), 1), 2), rewards[:, :-1]], axis=1)      # (n, T)
    return prev_a, prev_r


def forward(p, prev_a, prev_r, tcfg):
    ea, ca = tf.embedding_forward(prev_a, p["e_act"])                 # (B, T, C)
    er, cr = tf.embedding_forward(prev_r, p["e_rew"])                 # (B, T, C)
    logits, ct = tf.transformer_forward(p, ea + er, tcfg)             # (B, T, arms)
    return logits, (ca, cr, ct)


def backward(dlogits, cache, g, tcfg):
    ca, cr, ct = cache
    dx = tf.transformer_backward(dlogits, ct, g, tcfg)
    g["e_act"][...] = tf.embedding_backward(dx, ca)                    # forward was: x = ea + er
    g["e_rew"][...] = tf.embedding_backward(dx, cr)


def train(c: DistillConfig, actions, rewards, desc="imitator"):
    """Next-arm prediction on windows of c.context pulls cut from the histories (n, T)."""
    tf.keep_freed_memory()
    rng = np.random.default_rng(c.seed + 1)
    tcfg, shapes = model_shapes(c)
    flat = np.zeros(sum(int(np.prod(s)) for _, s in shapes), np.float32)
    p, grad = dqn.param_views(flat, shapes), np.zeros_like(flat)
    g = dqn.param_views(grad, shapes)
    tf.init_params(p, tcfg, rng)
    opt = tf.AdamW(flat, shapes, weight_decay=c.weight_decay)
    prev_a, prev_r = tokens(actions, rewards, c.arms)
    n, T = actions.shape
    K = min(c.context, T)
    losses = []
    for step in tqdm(range(c.iters), desc=desc, unit="step", leave=False):
        rows = rng.integers(0, n, c.batch)
        t0 = rng.integers(0, T - K + 1, c.batch)[:, None] + np.arange(K)   # (B, K) a window of each history
        logits, cache = forward(p, prev_a[rows[:, None], t0], prev_r[rows[:, None], t0], tcfg)
        loss, cc = tf.cross_entropy_forward(logits.reshape(-1, c.arms), actions[rows[:, None], t0].reshape(-1))
        backward(tf.cross_entropy_backward(cc).reshape(logits.shape), cache, g, tcfg)
        tf.clip_grad_norm(grad, 1.0)
        opt.step(flat, grad, tf.lr_at(step, c.lr, min(100, c.iters // 10), c.iters))
        losses.append(float(loss))
    flat.setflags(write=False)                                          # frozen from here on: views made
    return dqn.param_views(flat, shapes), tcfg, losses                  # after this are read-only too


def play(p, tcfg, probs, pulls, rng):
    """The frozen imitator on new bandits: one pull at a time, sampling its next arm from its
    prediction, its own pulls and rewards entering its context (sliding, transformer.Decoder)."""
    n, A = probs.shape
    actions = np.empty((n, pulls), np.int64)
    for i in range(n):
        dec = tf.Decoder(p, tcfg)
        a, r = A, 2                                                     # "start"
        for t in range(pulls):
            z = dec.step(p["e_act"][a] + p["e_rew"][r]).astype(np.float64)
            z = np.exp(z - z.max())
            a = int(rng.choice(A, p=z / z.sum()))
            r = int(rng.random() < probs[i, a])
            actions[i, t] = a
    return actions


# -------------------------------------------------------------------------------------------
# The experiments
# -------------------------------------------------------------------------------------------
def positive_control(c: DistillConfig, log=print):
    """Source learner, frozen imitator and random play on the same new bandits; and question 2."""
    rng = np.random.default_rng(c.seed)
    train_probs, test_probs = make_bandits(rng, c.train_tasks, c.arms), make_bandits(rng, c.test_tasks, c.arms)
    acts, rews = thompson(train_probs, c.pulls, rng)
    t0 = time.perf_counter()
    p, tcfg, losses = train(c, acts, rews)
    train_s = time.perf_counter() - t0
    source = quality(test_probs, thompson(test_probs, c.pulls, np.random.default_rng(c.seed + 2))[0])
    rand = quality(test_probs, np.random.default_rng(c.seed + 3).integers(0, c.arms, (c.test_tasks, c.pulls)))
    imit = quality(test_probs, play(p, tcfg, test_probs, c.pulls, np.random.default_rng(c.seed + 4)))
    R = dict(config=dataclasses.asdict(c), train_seconds=train_s, final_loss=float(np.mean(losses[-50:])),
             curves=dict(source=by_fifth(source), imitator=by_fifth(imit), random=by_fifth(rand)),
             per_pull=dict(source=source.mean(0).tolist(), imitator=imit.mean(0).tolist(), random=rand.mean(0).tolist()))
    log(f"positive control ({c.train_tasks} training bandits, context {c.context}, {train_s:.0f} s of training):")
    for k, v in R["curves"].items():
        log(f"  {k:9s} " + " -> ".join(f"{x:.2f}" for x in v))

    # Question 2: histories cut after Q2_PULLS pulls; the imitator then plays the full c.pulls.
    c2 = dataclasses.replace(c, context=Q2_PULLS, train_pulls=Q2_PULLS)
    p2, tcfg2, _ = train(c2, acts[:, :Q2_PULLS], rews[:, :Q2_PULLS], desc="imitator, first 20 pulls")
    imit2 = quality(test_probs, play(p2, tcfg2, test_probs, c.pulls, np.random.default_rng(c.seed + 5)))
    seen = float(source[:, Q2_PULLS - 5:Q2_PULLS].mean())              # where the training histories ended
    late = imit2[:, -20:].mean(1)                                      # its last 20 pulls, per bandit
    lo, hi = np.quantile(np.random.default_rng(c.seed + 6).choice(late, (4000, len(late))).mean(1), [0.025, 0.975])
    R["q2"] = dict(trained_on_pulls=Q2_PULLS, source_level_at_end_of_training_histories=seen,
                   imitator=by_fifth(imit2), imitator_last_20=dict(mean=float(late.mean()), lo=float(lo), hi=float(hi)),
                   per_pull=imit2.mean(0).tolist(),
                   verdict=bool(lo > seen))
    log(f"question 2: trained on the first {Q2_PULLS} pulls (Thompson sampling had reached {seen:.2f} there); "
        f"the frozen imitator over {c.pulls} pulls: " + " -> ".join(f"{x:.2f}" for x in R["q2"]["imitator"])
        + f"; improves past its training: {'yes' if R['q2']['verdict'] else 'no'}")
    return R


def sweep(c: DistillConfig, log=print):
    """The dials: number of training tasks x context length, each a fresh training."""
    rng = np.random.default_rng(c.seed)
    test_probs = make_bandits(np.random.default_rng(c.seed + 10), c.test_tasks, c.arms)
    grid = {}
    for n_tasks in SWEEP_TASKS:
        probs = make_bandits(rng, n_tasks, c.arms)
        reps = max(1, 2000 // n_tasks)                                  # the same number of histories
        acts, rews = thompson(np.repeat(probs, reps, axis=0), c.pulls, rng)
        for K in SWEEP_CONTEXT:
            ck = dataclasses.replace(c, context=K, train_tasks=n_tasks)
            p, tcfg, _ = train(ck, acts, rews, desc=f"{n_tasks} tasks, context {K}")
            q = quality(test_probs, play(p, tcfg, test_probs, c.pulls, np.random.default_rng(c.seed + 4)))
            grid[f"{n_tasks}x{K}"] = by_fifth(q)
            log(f"  {n_tasks:5d} tasks, context {K:3d}: " + " -> ".join(f"{x:.2f}" for x in grid[f"{n_tasks}x{K}"]))
    return grid


def save_figure(fig, ax, path, xlabel, ylabel, title):
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def plot(R, out):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4))
    for k, lab in (("source", "Thompson sampling (the source learner)"), ("imitator", "frozen imitator"),
                   ("random", "random arms")):
        y = np.convolve(R["per_pull"][k], np.ones(5) / 5, "valid")
        ax.plot(np.arange(len(y)) + 5, y, label=lab)
    if "q2" in R:
        y = np.convolve(R["q2"]["per_pull"], np.ones(5) / 5, "valid")
        ax.plot(np.arange(len(y)) + 5, y, "--", label=f"frozen imitator trained on the first {Q2_PULLS} pulls only")
        ax.axvline(Q2_PULLS, color="gray", lw=0.8)
    save_figure(fig, ax, os.path.join(out, "bandits.png"), "pull on a new bandit (mean of 5)",
                "chosen arm's p / best arm's p", "Imitating a learner on many tasks: in-context learning on new bandits")
    plt.close(fig)
    if "sweep" in R:
        fig, ax = plt.subplots(figsize=(7, 4))
        for K in SWEEP_CONTEXT:
            ax.plot(SWEEP_TASKS, [R["sweep"][f"{n}x{K}"][-1] - R["sweep"][f"{n}x{K}"][0] for n in SWEEP_TASKS], "o-",
                    label=f"context {K} pulls")
        ax.set_xscale("log")
        ax.axhline(0, color="gray", lw=0.8)
        save_figure(fig, ax, os.path.join(out, "sweep.png"), "training bandits",
                    "improvement on new bandits (last fifth - first fifth)", "The dials: how many tasks, how long a context")
        plt.close(fig)


def check_config(c: DistillConfig):
    for name in ("arms", "pulls", "train_tasks", "test_tasks", "context", "n_layer", "n_head", "n_embd", "batch", "iters"):
        if getattr(c, name) <= 0:
            raise SystemExit(f"--{name} {getattr(c, name)} must be positive")
    if c.arms < 2:
        raise SystemExit(f"--arms {c.arms}: a bandit needs at least 2 arms")
    if c.n_embd % c.n_head:
        raise SystemExit(f"--n_embd {c.n_embd} must be a multiple of --n_head {c.n_head}")
    if c.pulls < Q2_PULLS + 5:
        raise SystemExit(f"--pulls {c.pulls} must be at least {Q2_PULLS + 5} (question 2 trains on the first {Q2_PULLS})")


def main(c: DistillConfig):
    if c.quick:
        c = dataclasses.replace(c, **QUICK, out=os.path.join(c.out, "quick"))
    check_config(c)
    os.makedirs(c.out, exist_ok=True)
    R = positive_control(c)
    if c.sweep:
        R["sweep"] = sweep(c)
    dqn.write_json(os.path.join(c.out, "distill.json"), R)
    plot(R, c.out)
    print(f"wrote {c.out}/distill.json and plots")
    return R


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="Algorithm distillation on bandits: the positive control.")
    dqn.add_config_flags(ap, DistillConfig)
    main(dqn.config_from_args(DistillConfig, ap.parse_args()))
