"""imitate.py: train a transformer to predict the teacher's next move from its whole learning history.

Page four: the imitator. It is plain self-supervised next-token prediction, as in LLM
pre-training, where one token is one agent step of the recorded DQN history:

    token_t = Linear(conv torso(frame stack_t))        the observation (dqn.py's conv torso,
            + E_action[previous action]                   with the imitator's own weights)
            + E_reward[previous clipped reward]
            (+ stage_t * w_stage)                         optional: where in the history step t is
    logits_t = transformer(token_1 .. token_t)          causal: sees only the past
    loss = cross-entropy(logits_t, action the teacher actually took at t)

Training windows of K consecutive steps are cut from anywhere in the history, from the random
first steps to the end, so a window can hold several whole games and the change of behaviour
between them. One block of 10k steps in every twenty, spread over the history, is held out, so the
imitator trains on every stage, its last steps included. Afterwards the weights are frozen, and
play.Player (page 5) picks the most likely next move with a sliding context of the last K steps.

    python imitate.py --history runs/breakout --out runs/imitator          # the headline recipe: 24,000
        # updates of 16 windows of K = 32 steps, half of them from the history's last quarter, shifted,
        # told its stage, not shown its previous move (67-79 minutes on one core beside another job)
    python imitate.py --history runs/breakout --out runs/imitator_k512 --context 512 --batch 8 --iters 1500 \
        --eval_every 250 --late_share 0 --augment 0 --see_prev_action true --stage_input false   # the first one
    python imitate.py --model bc --history runs/breakout_frozen --out runs/bc_frozen --batch 128 \
        --lr 2.5e-4 --weight_decay 0 --iters 20000 --late_share 0   # the yardstick: behaviour cloning

writes runs/imitator/: checkpoint.npz/.json (resumable), imitator.npz/.json (the frozen imitator),
metrics.json (held-out accuracies, teacher-vs-teacher reference), loss.png.

Appendix pages keep machinery out of the way: windows.py (which steps are held out, how a batch of
windows is drawn, the random shifts), heldout.py (how well a network predicts the teacher on
held-out steps), checkpoints.py (a training that resumes only with its own settings) and
figures.py (loss.png); bc.py is the yardstick, behaviour cloning, trained by this page's loop, and
also the imitator's optional eyes (--init_torso).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

import checkpoints
import dqn
import figures
import heldout
import history_io
import layers
import transformer
import toolbox
import windows


@dataclass
class ImitateConfig:
    history: str = "runs/breakout"   # a run folder written by record.py
    out: str = "runs/imitator"       # where the imitator and its metrics go
    context: int = 32                # K: agent steps the transformer sees at once
    n_layer: int = 4                 # transformer blocks
    n_head: int = 4                  # attention heads per block
    n_embd: int = 128                # model width: each agent step becomes a vector of this size
    batch: int = 16                  # windows per step (tokens per step = batch * context); for bc: stacks per step
    iters: int = 24_000              # optimizer steps (the recipe that passes question 1: results/README.md,
                                     # "compute ladder")
    lr: float = 6e-4                 # peak learning rate
    warmup: int = 100                # linear warm-up steps
    weight_decay: float = 0.1        # AdamW's decoupled weight decay on matrices (0: plain Adam)
    grad_clip: float = 1.0           # the gradient's L2 norm is clipped to this
    val_frac: float = 0.05           # share of the history held out (never trained on)
    val_block: int = 10_000          # held out in blocks of this many steps, one in every 1/val_frac, spread over
                                     # the whole history (so it trains on every stage, the last steps included);
                                     # 0 = the last val_frac of the history as one tail
    eval_every: int = 2000           # steps between held-out loss estimates
    checkpoint_every: int = 100      # steps between resumable checkpoints
    seed: int = 0                    # seeds the initial weights and the choice of training windows
    late_share: float = 0.5          # share of every batch drawn from the history's last quarter, the teacher
                                     # nearest its final play (the rest: uniform over the whole history; the
                                     # stage input says where each window is). 0: uniform throughout
    see_prev_action: bool = False    # false: the previous-action input always reads "new game" (a guard
                                     # against the copycat failure, see evaluate.py); true: the move it made
    model: str = "transformer"       # "transformer": the imitator above; "bc": the yardstick, plain behaviour
                                     # cloning: the 2013 DQN network with a softmax head, one frame stack in,
                                     # one move out, minibatches of `batch` stacks drawn i.i.d. (no context)
    augment: int = 4                 # random-shift augmentation: move each frame stack (each window, for the
                                     # transformer) by up to this many pixels, edges repeated (DrQ uses 4); 0 = off
    stage_input: bool = True         # tell the transformer where in the history each step is: its step index,
                                     # in millions of steps, times a learned vector, added to the token. In play
                                     # the stage is set by hand (default: the end of the history), even past the
                                     # end (question 2's sharp form); off: it must guess its stage from the context
    init_torso: str = ""             # start the transformer's conv layers from a behaviour-cloning network's
                                     # (a folder written by --model bc, trained on the same history): it has
                                     # seen far more independent frames than the windows do. "" = random start


# Settings that only the transformer reads (behaviour cloning sees one frame stack, nothing else).
TRANSFORMER_ONLY = ("context", "n_layer", "n_head", "n_embd", "see_prev_action", "stage_input", "init_torso")


N_PREV_ACTIONS = dqn.N_ACTIONS + 1   # the 4 actions, and "none": the first step of a game
NEW_GAME = dqn.N_ACTIONS
TORSO = ("w1", "b1", "w2", "b2")     # the conv layers the transformer imitator shares with the 2013 network
STAGE_UNIT = 1_000_000               # stage 1.0 = one million agent steps, the length of the default history


def reward_token(r):
    """The reward input's token: the clipped reward -1, 0 or 1 becomes row 0, 1 or 2 of E_reward."""
    return np.sign(r).astype(np.int64) + 1


def token_reward(token):
    """The clipped reward (-1.0, 0.0 or 1.0) a reward token stands for."""
    return float(token) - 1.0


# -------------------------------------------------------------------------------------------
# Data: windows of the history as model inputs (which windows: windows.py).
# -------------------------------------------------------------------------------------------


def window_stage(h, starts, K):
    """The stage input (B, K) of windows of K steps beginning at `starts`: each step's place in the
    history, in millions of steps."""
    return ((h["start"] + starts[:, None] + np.arange(K)) / STAGE_UNIT).astype(np.float32)


def window_inputs(h, starts, K, hide_prev_action=False):
    """Model inputs and targets for windows of K steps beginning at `starts` (B,)."""
    idx = starts[:, None] + np.arange(K)                           # (B, K) indices into h
    prev = np.maximum(idx - 1, 0)
    prev_a = np.where(h["first"][idx] | hide_prev_action, NEW_GAME, h["action"][prev]).astype(np.int64)  # (B, K)
    prev_r = np.where(idx > 0, reward_token(h["reward_clip"][prev]), reward_token(0.0))     # (B, K)
    stacks = history_io.stacks_at(h["frame"], h["first"], idx.reshape(-1))    # (B*K, 4, 84, 84)
    return stacks, prev_a, prev_r, h["action"][idx].astype(np.int64)


# -------------------------------------------------------------------------------------------
# The imitator: conv torso + embeddings -> transformer -> action logits.
# -------------------------------------------------------------------------------------------
def imitator_shapes(tcfg: transformer.TransformerConfig, stage_input=False):
    C = tcfg.n_embd
    torso = [(n, s) for n, s in dqn.param_shapes() if n in TORSO]
    stage = [("w_stage", (C,))] if stage_input else []
    return torso + [("w_obs", (9 * 9 * 32, C)), ("b_obs", (C,)),
                    ("e_act", (N_PREV_ACTIONS, C)), ("e_rew", (3, C))] + stage + transformer.param_shapes(tcfg)


def init_imitator(tcfg, rng, stage_input=False):
    shapes = imitator_shapes(tcfg, stage_input)
    flat, p = toolbox.alloc_params(shapes)
    transformer.init_params(p, tcfg, rng)                          # GPT-2 init for all (w_stage starts at 0) ...
    layers.init_uniform_fan_in(p, rng, ("1", "2"))                   # ... but the conv layers
    return flat, shapes


ENCODER_PIECE = 32    # stacks the conv encoder handles at a time (see encode); small pieces stay in cache


def encode(p, stacks):
    """Conv features (N, 2592) of N frame stacks through dqn.py's torso, piece by piece, and the
    cache for encode_backward.

    Why pieces: at 4096 stacks per batch the network input alone (float32, space-to-depth) is 462 MB,
    and walking such buffers costs more in memory traffic than in arithmetic. Pieces of 32 stacks
    stay in the CPU caches and reuse the same memory. What is kept for the backward: the output of
    the first ReLU (4x smaller than the input) and the features; the backward rebuilds each piece's
    input from the uint8 stacks (activation checkpointing of the cheapest step only)."""
    N, dtype = len(stacks), p["w1"].dtype
    feats = np.empty((N, 9 * 9 * 32), dtype)                  # (N, 2592) = ReLU of conv2, flattened
    h1 = np.empty((N, 20, 20, 16), dtype)                     # ReLU of conv1
    for i in range(0, N, ENCODER_PIECE):
        f, (_, r1, _, _) = dqn.torso_forward(p, dqn.stacks_to_input(stacks[i:i + ENCODER_PIECE]))
        feats[i:i + len(f)], h1[i:i + len(f)] = f, r1
    return feats, (stacks, h1, feats)


def encode_backward(dfeat, cache, p, g):
    """Backward of encode, piece by piece through dqn.torso_backward, each piece's cache rebuilt
    from the kept activations and the uint8 stacks; the shared weights' gradients add up."""
    stacks, h1, feats = cache
    piece = {n: np.empty_like(g[n]) for n in TORSO}
    for n in TORSO:
        g[n][...] = 0
    for i in range(0, len(stacks), ENCODER_PIECE):
        s = slice(i, i + ENCODER_PIECE)
        x = dqn.stacks_to_input(stacks[s]).astype(h1.dtype, copy=False)       # rebuilt, not stored
        rebuilt = (layers.conv_cache(x, p["w1"]), h1[s], layers.conv_cache(layers.space_to_depth(h1[s], 2), p["w2"]),
                   feats[s].reshape(len(x), 9, 9, 32))
        dqn.torso_backward(dfeat[s], rebuilt, piece)
        for n in TORSO:
            g[n] += piece[n]


def tokens(p, feats, prev_a, prev_r, stage=None):
    """Each step's input token, summed here only (training, and play.Player one step at a time):
    the observation's projection + E_action[previous action] + E_reward[previous reward], plus the
    stage times a learned vector with a stage input. feats (B*K, 2592); prev_a, prev_r and stage
    (B, K). Returns (B, K, C) and the caches for imitator_backward."""
    B, K = prev_a.shape
    obs, c_obs = layers.linear_forward(feats, p["w_obs"], p["b_obs"])      # (B*K, C)
    ea, c_a = layers.embedding_forward(prev_a, p["e_act"])                  # (B, K, C)
    er, c_r = layers.embedding_forward(prev_r, p["e_rew"])                  # (B, K, C)
    x = obs.reshape(B, K, -1) + ea + er
    if "w_stage" in p:
        x += stage[..., None] * p["w_stage"]                           # the stage: a scalar times a learned vector
    return x, (c_obs, c_a, c_r)


def imitator_forward(p, stacks, prev_a, prev_r, tcfg, stage=None):
    """stacks (B*K, 4, 84, 84), prev_a and prev_r (B, K), and with a stage input the stage (B, K)
    -> action logits (B, K, A)."""
    feats, c_enc = encode(p, stacks)                                  # (B*K, 2592)
    x, (c_obs, c_a, c_r) = tokens(p, feats, prev_a, prev_r, stage)
    logits, c_tf = transformer.transformer_forward(p, x, tcfg)
    return logits, (c_enc, p, c_obs, c_a, c_r, stage, c_tf)


def imitator_backward(dlogits, cache, g, tcfg):
    c_enc, p, c_obs, c_a, c_r, stage, c_tf = cache
    dx = transformer.transformer_backward(dlogits, c_tf, g, tcfg)               # (B, K, C)
    g["e_act"][...] = layers.embedding_backward(dx, c_a)                   # tokens was: x = obs + ea + er (+ stage w)
    g["e_rew"][...] = layers.embedding_backward(dx, c_r)
    if "w_stage" in g:
        g["w_stage"][...] = np.einsum("bk,bkc->c", stage, dx)
    dfeat, g["w_obs"][...], g["b_obs"][...] = layers.linear_backward(dx.reshape(-1, dx.shape[-1]), c_obs)
    encode_backward(dfeat, c_enc, p, g)


def tcfg_of(c: ImitateConfig):
    return transformer.TransformerConfig(block_size=c.context, n_layer=c.n_layer, n_head=c.n_head,
                                         n_embd=c.n_embd, n_out=dqn.N_ACTIONS)


def transformer_batch(c: ImitateConfig, h, starts, rng):
    """`batch` windows of K consecutive steps from the training part of the history (`starts`:
    train_starts), each shifted as one: (stacks, previous actions, previous rewards, targets, stages)."""
    K = c.context
    s = windows.draw_starts(c, starts, len(h["action"]), rng)
    stacks, pa, pr, y = window_inputs(h, s, K, not c.see_prev_action)
    stacks = windows.augment(stacks, rng, c.augment, group=K)               # one shift per window
    return stacks, pa, pr, y, window_stage(h, s, K)


def transformer_heldout_loss(p, h, c: ImitateConfig, spans):
    """Mean next-move cross-entropy on 8 held-out windows spread over the held-out blocks."""
    starts = windows.heldout_starts(spans, c.context)
    return float(np.mean([window_loss(p, h, s, tcfg_of(c), not c.see_prev_action)
                          for s in starts[np.linspace(0, len(starts) - 1, min(8, len(starts))).astype(np.int64)]]))


def train_step(p, g, flat, grad, opt, batch, tcfg, grad_clip, lr):
    """One optimizer step on a batch (stacks, prev_a, prev_r, targets); returns loss, grad norm.
    p and g are the named views of the flat parameter and gradient vectors."""
    stacks, pa, pr, y, stage = batch
    logits, cache = imitator_forward(p, stacks, pa, pr, tcfg, stage)
    loss, cc = layers.cross_entropy_forward(logits.reshape(-1, dqn.N_ACTIONS), y.reshape(-1))
    imitator_backward(layers.cross_entropy_backward(cc).reshape(logits.shape), cache, g, tcfg)
    gnorm = transformer.clip_grad_norm(grad, grad_clip)
    opt.step(flat, grad, lr)
    return float(loss), gnorm


# -------------------------------------------------------------------------------------------
# Evaluation on the held-out blocks: how well does the imitator predict the teacher? (heldout.py)
# -------------------------------------------------------------------------------------------
def predict_windows(p, h, starts, tcfg, hide_prev_action=False):
    """Greedy predictions (len(starts), K) and the targets, one window at a time."""
    preds, targets = [], []
    for s in starts:
        stacks, pa, pr, y = window_inputs(h, np.array([s]), tcfg.block_size, hide_prev_action)
        stage = window_stage(h, np.array([s]), tcfg.block_size)
        preds.append(imitator_forward(p, stacks, pa, pr, tcfg, stage)[0].argmax(-1)[0])
        targets.append(y[0])
    return np.array(preds), np.array(targets)


def window_loss(p, h, start, tcfg, hide_prev_action=False):
    """Next-action cross-entropy on one window (no gradient)."""
    stacks, pa, pr, y = window_inputs(h, np.array([start]), tcfg.block_size, hide_prev_action)
    logits, _ = imitator_forward(p, stacks, pa, pr, tcfg, window_stage(h, np.array([start]), tcfg.block_size))
    return layers.cross_entropy_forward(logits.reshape(-1, dqn.N_ACTIONS), y.reshape(-1))[0]


def evaluate_imitator(p, h, c: ImitateConfig, spans, starts):
    """Held-out accuracies (all steps and decisive ones), the teacher-vs-teacher reference, and
    accuracy by stage of the history, of the imitator's greedy predictions (heldout.window_report)."""
    predict = lambda s: predict_windows(p, h, s, tcfg_of(c), not c.see_prev_action)
    return heldout.window_report(predict, h, c.history, spans, starts, c.context, c.seed)


# -------------------------------------------------------------------------------------------
# Training, with checkpoints and resume.
# -------------------------------------------------------------------------------------------
def check_config(c: ImitateConfig):
    """Refuse bad settings before anything is loaded, started or written, naming the flag."""
    if c.model not in ("transformer", "bc"):
        raise SystemExit(f"--model {c.model!r} is unknown; valid: transformer, bc")
    toolbox.check_positive(c, ("context", "n_layer", "n_head", "n_embd", "batch", "iters", "eval_every",
                               "checkpoint_every"))
    if c.n_embd % c.n_head:
        raise SystemExit(f"--n_embd {c.n_embd} must be a multiple of --n_head {c.n_head}")
    windows.check_config(c)                                       # the windows' own settings
    if not os.path.exists(os.path.join(c.history, "history.json")):
        raise SystemExit(f"--history {c.history}: no recorded history there (no history.json); "
                         f"record one first, e.g. python record.py --out {c.history}")
    if c.init_torso:
        import bc                                                  # the yardstick's page (built on this one)
        bc.check_init_torso(c)


@dataclass(frozen=True)
class ModelKind:
    """What differs between the two models train() trains; the data, the loop, the checkpoints
    and the freezing are shared."""
    kind: str                # imitator.json's "kind"
    window: Callable         # c -> steps per training example (K for the transformer, 1 for bc)
    init: Callable           # (c, rng) -> (flat parameters, their shapes)
    batch: Callable          # (c, h, starts, rng) -> one training batch
    step: Callable           # (p, g, flat, grad, opt, batch, c, lr) -> (loss, gradient norm)
    heldout_loss: Callable   # (p, h, c, spans) -> mean held-out cross-entropy
    evaluate: Callable       # (p, h, c, spans, starts) -> metrics.json
    meta: Callable           # c -> what imitator.json adds for this model


def init_transformer(c: ImitateConfig, rng):
    flat, shapes = init_imitator(tcfg_of(c), rng, c.stage_input)
    if c.init_torso:                                               # (a resumed run overwrites it)
        import bc
        bc.copy_torso(toolbox.param_views(flat, shapes), c.init_torso)
    return flat, shapes


TRANSFORMER = ModelKind(kind="imitator", window=lambda c: c.context, init=init_transformer, batch=transformer_batch,
                        step=lambda p, g, flat, grad, opt, batch, c, lr: train_step(p, g, flat, grad, opt, batch,
                                                                                    tcfg_of(c), c.grad_clip, lr),
                        heldout_loss=transformer_heldout_loss, evaluate=evaluate_imitator,
                        meta=lambda c: dict(transformer=dataclasses.asdict(tcfg_of(c))))


def model_kind(model):
    """The ModelKind --model names: this page's transformer, or bc.py's behaviour cloning (a page that
    builds on this one, so it is imported only when asked for)."""
    if model == "bc":
        import bc
        return bc.KIND
    return TRANSFORMER


def finished(c: ImitateConfig):
    """The metrics of an imitator already trained for c.iters steps in c.out, else None."""
    meta = toolbox.read_json(os.path.join(c.out, "imitator.json"))
    if meta and meta["trained_steps"] >= c.iters:
        return toolbox.read_json(os.path.join(c.out, "metrics.json"))
    return None


def training_data(c: ImitateConfig, K):
    """The history in memory, its held-out spans, and the training examples' first steps."""
    h = history_io.load_history(c.history)
    N = len(h["action"])
    spans = windows.heldout_spans(N, c.val_frac, c.val_block)
    starts = windows.train_starts(N, spans, K)
    if not spans or min(b - a for a, b in spans) < K or len(starts) == 0:
        raise SystemExit(f"{c.history}: history of {N} steps is too short for context {K} with held-out "
                         f"blocks of {c.val_frac:.0%} (--val_block {c.val_block})")
    return h, spans, starts


def train(c: ImitateConfig, log=print):
    """Train the model c.model names (model_kind) on the history by next-move prediction, checkpointing
    as it goes (a rerun resumes), then freeze it: c.out/imitator.npz + .json, metrics.json, loss.png."""
    check_config(c)
    done = finished(c)
    if done is not None:
        log(f"{c.out}: imitator already trained ({c.out}/metrics.json); nothing to do")
        return done
    with toolbox.one_writer(c.out, "trained"):                     # the same command twice: the second stops
        return train_steps(c, log)


def train_steps(c: ImitateConfig, log=print):
    """train()'s loop, in a folder no other process writes: resume or start, step, checkpoint, freeze."""
    model = model_kind(c.model)
    toolbox.keep_freed_memory()                                    # faster steps; see toolbox.py
    h, spans, starts = training_data(c, model.window(c))
    os.makedirs(c.out, exist_ok=True)
    ck, rng = os.path.join(c.out, "checkpoint"), np.random.default_rng(c.seed)
    flat, shapes = model.init(c, rng)
    (grad, g), p = toolbox.alloc_params(shapes), toolbox.param_views(flat, shapes)
    opt = transformer.AdamW(flat, shapes, weight_decay=c.weight_decay)
    ignored = {"iters"} | (set(TRANSFORMER_ONLY) if c.model == "bc" else set())   # more steps may be asked
    state = checkpoints.resume_training(ck, c, ImitateConfig(), ignored, flat, opt, rng)
    bar = toolbox.progress(total=c.iters, initial=state["step"], desc=c.model, unit="step")
    t0, moves = time.perf_counter(), 0
    while state["step"] < c.iters:
        step, t_step = state["step"], time.perf_counter()
        batch = model.batch(c, h, starts, rng)
        loss, gnorm = model.step(p, g, flat, grad, opt, batch, c, transformer.lr_at(step, c.lr, c.warmup, c.iters))
        state["step"] = step + 1
        state["seconds"] = state.get("seconds", 0.0) + time.perf_counter() - t_step   # training time, resumes included
        state["train_loss"].append([step, float(loss)])
        moves += c.batch * model.window(c)                                 # the moves predicted
        if state["step"] % c.eval_every == 0 or state["step"] == c.iters:
            state["val_loss"].append([state["step"], model.heldout_loss(p, h, c, spans)])
        if state["step"] % c.checkpoint_every == 0 or state["step"] == c.iters:
            checkpoints.save_training(ck, c, state, flat, opt, rng)
        bar.update(1)
        bar.set_postfix(loss=f"{loss:.3f}", gnorm=f"{gnorm:.2f}", moves_s=f"{moves / (time.perf_counter() - t0):.0f}",
                        refresh=False)                                     # shown at the bar's next line
    bar.close()
    return freeze(c, model, flat, p, state, h, spans, starts, log)


def freeze(c: ImitateConfig, model: ModelKind, flat, p, state, h, spans, starts, log):
    """The final weights alone, everything needed to rebuild the model, and the held-out metrics."""
    toolbox.save_npz(os.path.join(c.out, "imitator.npz"), params=flat)
    N = len(h["action"])
    meta = dict(kind=model.kind, n_actions=dqn.N_ACTIONS, n_params=int(flat.size), trained_steps=state["step"],
                see_prev_action=c.see_prev_action, history=os.path.abspath(c.history), history_steps=N,
                heldout=[[int(a), int(b)] for a, b in spans], train_steps=N - sum(b - a for a, b in spans),
                augment=c.augment, stage_input=c.stage_input, late_share=c.late_share,
                init_torso=os.path.abspath(c.init_torso) if c.init_torso else "",
                batch=c.batch, train_minutes=round(state.get("seconds", 0.0) / 60, 1)) | model.meta(c)
    toolbox.write_json(os.path.join(c.out, "imitator.json"), meta)
    log("evaluating on the held-out steps ...")
    metrics = model.evaluate(p, h, c, spans, starts)
    metrics["final_val_loss"] = state["val_loss"][-1][1] if state["val_loss"] else None
    toolbox.write_json(os.path.join(c.out, "metrics.json"), metrics)
    figures.plot_losses(state, os.path.join(c.out, "loss.png"))
    log(json.dumps(metrics, indent=1))
    return metrics


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="Train the imitator on a recorded DQN history.")
    toolbox.add_config_flags(ap, ImitateConfig)
    train(toolbox.config_from_args(ImitateConfig, ap.parse_args()))
