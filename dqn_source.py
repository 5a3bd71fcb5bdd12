"""dqn_source.py: the learner is a DQN. Where imitating its learning works, and where it stops.

Page eight. Pages 6 and 7 imitate learners whose whole knowledge is a belief their own recent
moves re-express (Thompson sampling, a posterior-sampling explorer). The argument is about a
learner like the Atari teacher: a DQN, whose knowledge sits in weights learned by gradient steps
over far more experience than a context holds. Here the source of the histories is such a learner,
at a size that runs in minutes: page 1's algorithm (replay, a target network, n-step returns,
Adam, a linear epsilon schedule; page 0's layers) with a small Q-network, an MLP on the one-hot
cell, learning page 6's dark room (a hidden goal, 20-step episodes from the centre) from random
weights, one new goal per run. Its histories have page 6's schema (cell, move, reward per step),
so page 6's imitator trains on them unchanged, and page 7's dial cell (horizon.dial_cell) measures
it: the frozen imitator's score over the DQN's own, on goals it never saw, against
x = (episodes the DQN needs to learn) / (episodes the context holds).

Questions 2 and 3 in miniature, with the DQN as the teacher column and page 6's rule (a gain of at
least 2 steps on the goal per episode, with a 95% interval): trained on histories cut after 40
episodes, does the frozen imitator improve past the DQN's level at the cut, as the DQN does (Q2)?
In a room whose controls are swapped, does it learn from its first episodes to its last, as a DQN
learning there does (Q3)? The ideal imitator says yes to both; the argument, no.

Many DQNs learn at once, one per goal, each with its own weights, replay and exploration: the
network's layers are batched over runs (a leading axis R), so a thousand learning runs cost a few
Python loops, not a thousand.

Predictions, written before the runs (page 7's, for this source). The ideal imitator has learned
the learner: in every cell it matches the DQN, ratio near 1, however short its context. The
argument predicts a fall once x passes 1: no window then shows a whole search, and what the DQN
knows about the goal is in its weights, not its recent moves. Page 7's tabular explorer kept
0.89-0.98 of its source in every cell, because its knowledge was visible in its last steps; a DQN
that has learned the goal also walks there every episode, so it is visible here too, once learned.
The test is the stretch before that: the DQN needs far more episodes than any context holds, and
its search is slow and noisy. If the imitator still reaches the DQN's level within its context's
span, imitating this learner works where its *result* is visible; if it stalls at random's level,
it stops where the learning outlasts the context.

    python dqn_source.py --quick        # a classroom run: the DQN learning, one dial cell (~5 min, one core)
    python dqn_source.py                # the DQN's histories and the dial for the 9 x 9 room (resumable cell by cell)

writes results/dqn_source/: dial.json (the DQN's learning: curve, episodes to learn, time; one
entry per context; AD's expert control; questions 2 and 3), dial.png (beside page 7's tabular dial),
source.png (the DQN and the imitators per episode), questions.png.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import time
from dataclasses import dataclass

import numpy as np

import distill
import horizon
import layers
import toolbox


@dataclass
class DQNSourceConfig(horizon.HorizonConfig):
    """Page 7's config (page 6's model and training, the dial's settings) and the DQN source's."""
    side: int = 9                 # the room's side (page 7's room_of_side: episodes of 2 (side - 1) + 4 steps)
    source_runs: int = 1000       # DQN learning runs recorded for training, one goal each (training goals)
    source_episodes: int = 300    # episodes of every DQN run, from random weights
    hidden: int = 64              # units in each of the Q-network's two hidden layers
    dqn_lr: float = 1e-3          # Adam step size
    gamma: float = 0.9            # discount
    n_step: int = 3               # n-step returns (page 1's)
    batch_size: int = 32          # replayed transitions per update, per run
    train_every: int = 2          # agent steps per update
    learning_starts: int = 200    # steps of random play before the first update
    target_every: int = 200       # agent steps between target-network copies
    replay_capacity: int = 10_000 # transitions each run keeps
    eps_end: float = 0.05         # epsilon decays linearly from 1 to this ...
    eps_decay_share: float = 0.3  # ... over this share of the run
    dial_contexts: str = "1,2,5,10,20"   # the dial's contexts, in episodes
    expert_episodes: int = 20     # AD's control: trained on each run's last this-many episodes only
    subsample: int = 1            # AD's lever: the dial's imitators train on every this-many-th episode of
                                  # each history, so a context of k episodes spans k x subsample of the DQN's learning
    questions: bool = True        # also ask questions 2 and 3 (False: the dial alone, for a variant of it)
    seeds: str = ""               # other seeds' output folders (comma-separated, e.g. results/dqn_source/seed1):
                                  # also write seeds.json and seeds.png in --out, every reading across the seeds
    variants: str = ""            # with --seeds: variants' output folders (other rooms, --subsample), their
                                  # cells drawn in seeds.png too
    histories: str = "runs/dqn_source"   # where the DQN's histories are kept between runs (not committed)
    out: str = "results/dqn_source"   # dial.json, the plots, and (--seeds) seeds.json


QUICK = dict(source_runs=200, source_episodes=150, horizon_iters=300, horizon_runs=16, dial_contexts="5",
             expert_episodes=10)


# -------------------------------------------------------------------------------------------
# The Q-network, batched over runs: one-hot cell -> 64 -> 64 -> 5 moves, R networks at once
# -------------------------------------------------------------------------------------------
def q_shapes(c: DQNSourceConfig, runs, rooms=1):
    n_in, H, A = rooms * c.side * c.side, c.hidden, distill.N_MOVES
    return [("w1", (runs, n_in, H)), ("b1", (runs, 1, H)), ("w2", (runs, H, H)), ("b2", (runs, 1, H)),
            ("w3", (runs, H, A)), ("b3", (runs, 1, A))]


def init_q(p, rng):
    """Each run's layers uniform in +-1/sqrt(fan_in), as page 0's init_uniform_fan_in."""
    for k in ("1", "2", "3"):
        bound = 1.0 / np.sqrt(p["w" + k].shape[1])
        p["w" + k][...] = rng.uniform(-bound, bound, p["w" + k].shape)
        p["b" + k][...] = rng.uniform(-bound, bound, p["b" + k].shape)


def batched_linear_forward(x, w, b):
    """Page 0's linear layer for R networks at once: x (R, B, in) @ w (R, in, out) + b (R, 1, out)."""
    return x @ w + b, (x, w)                                           # (R, B, out)


def batched_linear_backward(dout, cache):
    """Forward was: out = x @ w + b, one product per run, so each run's gradients are its own."""
    x, w = cache
    return dout @ w.transpose(0, 2, 1), x.transpose(0, 2, 1) @ dout, dout.sum(axis=1, keepdims=True)


def q_forward(p, x):
    """Q-values (R, B, A) of the inputs x (R, B, cells), and the cache for q_backward."""
    h1, c1 = batched_linear_forward(x, p["w1"], p["b1"])
    a1, r1 = layers.relu_forward(h1)
    h2, c2 = batched_linear_forward(a1, p["w2"], p["b2"])
    a2, r2 = layers.relu_forward(h2)
    q, c3 = batched_linear_forward(a2, p["w3"], p["b3"])
    return q, (c1, r1, c2, r2, c3)


def q_backward(dq, cache, g):
    c1, r1, c2, r2, c3 = cache
    da2, g["w3"][...], g["b3"][...] = batched_linear_backward(dq, c3)
    da1, g["w2"][...], g["b2"][...] = batched_linear_backward(layers.relu_backward(da2, r2), c2)
    _, g["w1"][...], g["b1"][...] = batched_linear_backward(layers.relu_backward(da1, r1), c1)


# -------------------------------------------------------------------------------------------
# The DQN source: R runs learning R rooms at once, each with its own goal, weights and replay
# -------------------------------------------------------------------------------------------
def epsilon(c: DQNSourceConfig, step, total):
    """Linear from 1 to eps_end over the first eps_decay_share of the run, then eps_end."""
    return 1.0 + min(1.0, step / max(1, c.eps_decay_share * total)) * (c.eps_end - 1.0)


def n_step_targets(c, rew, done, nxt, t, q_next_max):
    """The n-step TD target of the replayed transitions t (R, B): the rewards of up to n steps,
    discounted, plus gamma^k times the target net's best Q at the state k steps on, unless an
    episode ended first. rew, done, nxt: (R, capacity); q_next_max(cells) -> (R, B)."""
    R, B = t.shape
    rows = np.arange(R)[:, None]
    ret, alive, disc = np.zeros((R, B), np.float32), np.ones((R, B), bool), np.ones((R, B), np.float32)
    last = t.copy()
    for k in range(c.n_step):
        i = np.minimum(t + k, c.replay_capacity - 1)
        ok = alive & (t + k < c.replay_capacity)
        ret += ok * disc * rew[rows, i]
        last = np.where(ok, i, last)
        disc *= np.where(ok, np.float32(c.gamma), 1.0)
        alive = ok & ~done[rows, i]
    return ret + alive * disc * q_next_max(nxt[rows, last])


def learn_rooms(c: DQNSourceConfig, goals, seed, desc="DQN source", controls=None, visits=None):
    """R = len(goals) DQNs learn R rooms of side c.side for c.source_episodes episodes each, from
    random weights. Returns cells, actions, rewards (R, episodes * episode steps): page 6's history
    schema (the cell each move was chosen in, the move, whether it landed on the goal). controls:
    the move each chosen move makes (distill.SWAPPED), or None for the usual ones. visits
    (R, episodes): the room each episode is played in, goals then (R, rooms), one per room; a cell
    is numbered room * cells + cell, one input per cell of every room (page 9's rooms)."""
    room = horizon.room_of_side(c.side)
    rng = np.random.default_rng(seed)
    goals = np.asarray(goals).reshape(len(goals), -1)                  # (R, rooms)
    (R, M), T = goals.shape, c.source_episodes * room.episode
    visits = np.zeros((R, c.source_episodes), np.int64) if visits is None else visits
    shapes = q_shapes(c, R, M)
    (flat, p), (grad, g) = toolbox.alloc_params(shapes), toolbox.alloc_params(shapes)
    init_q(p, rng)
    target_flat = flat.copy()
    target = toolbox.param_views(target_flat, shapes)
    m, v = np.zeros_like(flat), np.zeros_like(flat)
    onehot = np.eye(M * room.n_cells, dtype=np.float32)
    rows = np.arange(R)
    cap = c.replay_capacity                                            # replay: one ring per run
    r_cell, r_act, r_nxt = (np.zeros((R, cap), np.int64) for _ in range(3))
    r_rew, r_done = np.zeros((R, cap), np.float32), np.zeros((R, cap), bool)
    cells, actions, rewards = (np.empty((R, T), np.int64) for _ in range(3))
    updates = 0
    for t in toolbox.progress(range(T), desc=desc, unit="step", mininterval=5):
        if t % room.episode == 0:                                      # an episode starts in the centre
            cell, here = np.full(R, room.start), visits[:, t // room.episode]
            base, goal = here * room.n_cells, goals[rows, here]        # of the room it is played in
        else:
            cell = nxt
        q, _ = q_forward(p, onehot[base + cell][:, None, :])            # (R, 1, A)
        explore = rng.random(R) < epsilon(c, t, T)
        a = np.where(explore, rng.integers(0, distill.N_MOVES, R), q[:, 0].argmax(1))
        nxt = distill.room_move(cell, a if controls is None else controls[a], room)
        r = nxt == goal
        done = (t + 1) % room.episode == 0                             # the episode's last step
        i = t % cap
        r_cell[:, i], r_act[:, i], r_nxt[:, i], r_rew[:, i], r_done[:, i] = base + cell, a, base + nxt, r, done
        cells[:, t], actions[:, t], rewards[:, t] = base + cell, a, r
        if t >= c.learning_starts and t % c.train_every == 0:
            size = min(t + 1, cap)
            j = rng.integers(0, size - (c.n_step - 1 if size < cap else 0), (R, c.batch_size))   # (R, B)
            y = n_step_targets(c, r_rew, r_done, r_nxt, j,
                               lambda s: q_forward(target, onehot[s])[0].max(2))           # (R, B)
            qs, cache = q_forward(p, onehot[r_cell[rows[:, None], j]])                      # (R, B, A)
            taken = r_act[rows[:, None], j]
            q_taken = np.take_along_axis(qs, taken[..., None], 2)[..., 0]                   # (R, B)
            _, err = layers.huber_forward(q_taken, y)
            dq = np.zeros_like(qs)
            np.put_along_axis(dq, taken[..., None], (layers.huber_backward(err) * R)[..., None], 2)
            q_backward(dq, cache, g)                                   # (x R: each run's mean loss, not all runs')
            updates += 1
            layers.adam_step(flat, grad, m, v, c.dqn_lr, 0.9, 0.999, 1e-8, updates)
        if (t + 1) % c.target_every == 0:
            target_flat[...] = flat
    return cells, actions, rewards


# -------------------------------------------------------------------------------------------
# The experiment: the DQN's histories, its own curve on held-out goals, the dial
# -------------------------------------------------------------------------------------------
def kept_histories(c: DQNSourceConfig, goals, visits=None, name=None):
    """The DQN's training histories and the seconds they took: read from c.histories if recorded
    there with these settings (the file's JSON says which), else recorded now and kept there.
    visits, goals (R, rooms): page 9's rooms (learn_rooms), kept under `name`."""
    settings = {f.name: getattr(c, f.name) for f in dataclasses.fields(DQNSourceConfig)
                if f.name in ("seed", "side", "source_runs", "source_episodes", "hidden", "dqn_lr", "gamma", "n_step",
                              "batch_size", "train_every", "learning_starts", "target_every", "replay_capacity",
                              "eps_end", "eps_decay_share")}
    if visits is not None:
        settings["rooms"] = int(np.shape(goals)[1])
    path = os.path.join(c.histories, name or f"side{c.side}_seed{c.seed}")
    meta = toolbox.read_json(path + ".json")
    if meta and meta["settings"] == settings and os.path.exists(path + ".npz"):
        with np.load(path + ".npz", allow_pickle=False) as z:
            return (z["cells"], z["actions"], z["rewards"]), meta["seconds"]
    t0 = time.perf_counter()
    hist = learn_rooms(c, goals, c.seed * 1000 + 1, desc=f"DQN source, {c.source_runs} training runs", visits=visits)
    seconds = time.perf_counter() - t0
    if c.histories:
        os.makedirs(c.histories, exist_ok=True)
        toolbox.save_npz(path + ".npz", cells=hist[0], actions=hist[1], rewards=hist[2])
        toolbox.write_json(path + ".json", dict(settings=settings, seconds=seconds, cpu=toolbox.cpu_name()))
    return hist, seconds


def source(c: DQNSourceConfig, log=print):
    """The DQN's training histories (training goals) and its learning on the test runs (held-out
    goals); source.json with its curve and how many episodes it needs. Histories are kept in
    runs/ (re-made by the same seed if gone)."""
    room = horizon.room_of_side(c.side)
    rng = np.random.default_rng([c.seed, distill.STREAMS["room"], c.side])
    train_goals, test_goals = distill.room_goals(rng, room)
    goals, runs = rng.choice(train_goals, c.source_runs), np.resize(test_goals, c.horizon_runs)
    hist, seconds = kept_histories(c, goals)
    test = learn_rooms(c, runs, c.seed * 1000 + 2, desc=f"DQN source, {len(runs)} held-out rooms")[2]
    curve = distill.episode_returns(test, room)                        # (runs, episodes)
    need = horizon.episodes_to_learn(curve.mean(0))
    S = dict(side=c.side, episode_steps=room.episode, runs=c.source_runs, episodes=c.source_episodes,
             seconds=seconds, steps_per_second=c.source_runs * c.source_episodes * room.episode / seconds,
             cpu=toolbox.cpu_name(), needs_episodes=need, per_episode=curve.mean(0).tolist(),
             final_5=float(curve[:, -5:].mean()), training_per_episode=distill.episode_returns(hist[2], room).mean(0).tolist(),
             random=float(distill.random_room(runs, 20, np.random.default_rng(c.seed), room).mean()))
    log(f"DQN source, {c.side}x{c.side} room: {S['steps_per_second']:,.0f} agent steps/s over {c.source_runs} runs "
        f"({seconds:.0f} s); on held-out goals it reaches 90% of its final {S['final_5']:.1f} in {need} episodes "
        f"(random play: {S['random']:.2f})")
    return S, hist, runs, curve


def dial(c: DQNSourceConfig, log=print):
    """The dial on the DQN source: one cell per context (horizon.dial_cell, page 7's), AD's expert
    control at the longest context, random play; resumable cell by cell (dial.json)."""
    os.makedirs(c.out, exist_ok=True)
    path = os.path.join(c.out, "dial.json")
    D = toolbox.read_json(path) or {"cells": {}}
    S, hist, runs, curve = source(c, log)
    D["source"], room = S, horizon.room_of_side(c.side)
    toolbox.write_json(path, D)
    E = min(c.source_episodes, max(20, 2 * S["needs_episodes"], Q2_CUT + 20))   # twice the DQN's learning (page 7's)
    curve = curve[:, :E]
    shown = hist if c.subsample == 1 else subsampled(hist, room, c.subsample)
    for k in horizon.numbers(c.dial_contexts):
        key = f"{c.side}x{k}"
        if key not in D["cells"]:
            D["cells"][key] = horizon.dial_cell(c, room, shown, runs, E, curve, S["needs_episodes"] / c.subsample, k)
            D["cells"][key].update(subsample=c.subsample, source_needs_episodes=S["needs_episodes"])
            toolbox.write_json(path, D)
        r = D["cells"][key]["ratio"]
        log(f"  context {k:2d} episodes (x = {S['needs_episodes'] / (k * c.subsample):.1f}): imitator / DQN "
            f"{r['mean']:.2f} [{r['lo']:.2f}, {r['hi']:.2f}]")
    if not c.questions:
        return D
    k = max(horizon.numbers(c.dial_contexts))
    if "expert" not in D:                                              # AD's control: the last episodes only
        last = c.expert_episodes * room.episode
        D["expert"] = horizon.dial_cell(c, room, tuple(h[:, -last:] for h in hist), runs, E, curve,
                                        S["needs_episodes"], min(k, c.expert_episodes))
        toolbox.write_json(path, D)
    return questions(c, D, hist, runs, curve, path, log)


def subsampled(hist, room, every):
    """AD's subsampled histories: every `every`-th episode of each history (cells, actions,
    rewards), so that a context of k episodes holds k x every episodes of the learner's progress."""
    return tuple(h.reshape(len(h), -1, room.episode)[:, ::every].reshape(len(h), -1) for h in hist)


Q2_CUT = 40                       # question 2: the imitator trains on each run's first 40 episodes only
Q_CONTEXT = 10                    # questions 2 and 3: the imitator's context, in episodes


def questions(c: DQNSourceConfig, D, hist, runs, curve, path, log=print):
    """Questions 2 and 3 in miniature, each with the DQN as the teacher column, page 6's rule (a
    gain of at least MIN_ROOM_GAIN steps on the goal per episode, 95% interval), resumable (dial.json).
    Q2: trained on histories cut after Q2_CUT episodes, does the frozen imitator improve past the
    DQN's level at the cut, as the DQN itself does? Q3: in a room whose controls are swapped (up <->
    down, left <-> right), does the frozen imitator, trained on whole histories, learn from its
    first 3 episodes to its last 5, as a DQN learning there does?"""
    room, E = horizon.room_of_side(c.side), curve.shape[1]
    boot = lambda name: np.random.default_rng([c.seed, distill.STREAMS["room_bootstrap"], c.side, name == "q3"])
    gain = lambda x, rng: distill.gain_reading(x, rng, distill.MIN_ROOM_GAIN)
    if "q2" not in D:
        t0 = time.perf_counter()
        cut = tuple(h[:, :Q2_CUT * room.episode] for h in hist)
        p, tcfg, losses, keep = horizon.train_cell(c, room, cut, Q_CONTEXT, desc="question 2: trained on cut histories")
        imit = distill.play_room(p, tcfg, runs, E, np.random.default_rng([c.seed, distill.STREAMS["room_q2"], c.side]),
                                 room, keep=keep)
        seen = float(curve[:, Q2_CUT - 1].mean())                      # the DQN at the cut
        rng = boot("q2")
        D["q2"] = dict(cut_episodes=Q2_CUT, context_episodes=Q_CONTEXT, test_episodes=E, dqn_at_the_cut=seen,
                       imitator=gain(imit[:, -5:].mean(1) - seen, rng), dqn=gain(curve[:, -5:].mean(1) - seen, rng),
                       imitator_per_episode=imit.mean(0).tolist(), seconds=time.perf_counter() - t0)
        toolbox.write_json(path, D)
    q = D["q2"]
    log(f"question 2: trained on the first {Q2_CUT} episodes (the DQN at the cut: {q['dqn_at_the_cut']:.1f}); over the "
        f"last 5 of {E}, above the cut: imitator {q['imitator']['mean']:+.1f} ({q['imitator']['reading']}), "
        f"DQN {q['dqn']['mean']:+.1f} ({q['dqn']['reading']})")
    if "q3" not in D:
        t0 = time.perf_counter()
        p, tcfg, losses, keep = horizon.train_cell(c, room, hist, Q_CONTEXT, desc="question 3: trained on whole histories")
        play = lambda controls, k: distill.play_room(p, tcfg, runs, E, np.random.default_rng(
            [c.seed, distill.STREAMS["room_play"], c.side, k]), room, keep=keep, controls=controls)
        swapped, usual = play(distill.SWAPPED, 1), play(None, 0)
        dqn = distill.episode_returns(learn_rooms(c, runs, c.seed * 1000 + 3, "DQN, swapped controls",
                                                  distill.SWAPPED)[2], room)[:, :E]
        first, last = lambda v: v[:, :3].mean(1), lambda v: v[:, -5:].mean(1)
        rng = boot("q3")
        D["q3"] = dict(context_episodes=Q_CONTEXT, test_episodes=E, imitator=gain(last(swapped) - first(swapped), rng),
                       dqn=gain(last(dqn) - first(dqn), rng), imitator_usual_controls=gain(last(usual) - first(usual), rng),
                       imitator_per_episode=swapped.mean(0).tolist(), dqn_per_episode=dqn.mean(0).tolist(),
                       imitator_usual_per_episode=usual.mean(0).tolist(), seconds=time.perf_counter() - t0)
        toolbox.write_json(path, D)
    q = D["q3"]
    log(f"question 3, swapped controls: first 3 -> last 5 episodes: imitator {q['imitator']['mean']:+.1f} "
        f"({q['imitator']['reading']}; with the usual controls {q['imitator_usual_controls']['mean']:+.1f}), "
        f"DQN {q['dqn']['mean']:+.1f} ({q['dqn']['reading']})")
    return D


def plot(D, out):
    """dial.png: the DQN source's dial beside page 7's tabular one; source.png: the DQN's learning."""
    plt = toolbox.pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(np.arange(1, len(D["source"]["per_episode"]) + 1), D["source"]["per_episode"],
            label="DQN source on held-out goals")
    for key, cell in D["cells"].items():
        ax.plot(np.arange(1, len(cell["imitator_per_episode"]) + 1), cell["imitator_per_episode"],
                label=f"frozen imitator, context {cell['context_episodes']} episodes")
    ax.axhline(D["source"]["random"], color="gray", ls=":", label="random moves")
    toolbox.save_figure(fig, ax, os.path.join(out, "source.png"), "episode in a room with a held-out goal",
                        "reward per episode", f"The DQN learning a {D['source']['side']}x{D['source']['side']} dark room, "
                                              "and its frozen imitators")
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(7, 4))
    tabular = toolbox.read_json(os.path.join("results", "distill", "horizon.json"))
    for name, cells, fmt in (("page 7: posterior-sampling explorer", (tabular or {}).get("cells", {}), "o"),
                             ("page 8: DQN", D["cells"], "s")):
        cs = sorted(cells.values(), key=lambda v: v["learning_over_context"])
        if cs:
            toolbox.errorbars(ax, [v["learning_over_context"] for v in cs],
                              [[v["ratio"][q] for q in ("mean", "lo", "hi")] for v in cs], fmt=fmt, label=name)
    ax.axhline(1.0, color="gray", ls="--", label="ideal imitator: as good as its source")
    ax.set_xscale("log")
    toolbox.save_figure(fig, ax, os.path.join(out, "dial.png"), "episodes the source needs / episodes the context holds",
                        "frozen imitator / source, last 5 episodes", "Where in-context imitation of a learner stops")
    plt.close(fig)
    if "q2" in D and "q3" in D:
        fig, axes = plt.subplots(1, 2, figsize=(11, 4))
        x = lambda y: np.arange(1, len(y) + 1)
        ax = axes[0]
        ax.plot(x(D["source"]["per_episode"]), D["source"]["per_episode"], label="DQN, learning on")
        ax.plot(x(D["q2"]["imitator_per_episode"]), D["q2"]["imitator_per_episode"],
                label=f"frozen imitator trained on the first {D['q2']['cut_episodes']} episodes")
        ax.axvline(D["q2"]["cut_episodes"], color="gray", ls=":", label="the cut")
        ax.set(title="Question 2: past the end of its training histories", xlabel="episode", ylabel="reward per episode")
        ax.legend(fontsize=8)
        ax = axes[1]
        for key, lab in (("dqn_per_episode", "DQN learning with swapped controls"),
                         ("imitator_per_episode", "frozen imitator, swapped controls"),
                         ("imitator_usual_per_episode", "frozen imitator, usual controls")):
            ax.plot(x(D["q3"][key]), D["q3"][key], label=lab)
        ax.set(title="Question 3: a room it never trained in", xlabel="episode", ylabel="reward per episode")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(os.path.join(out, "questions.png"), dpi=100)
        plt.close(fig)


def across_seeds(folders, out, variants=()):
    """seeds.json and seeds.png: the dial, the expert control and questions 2 and 3 of every seed
    (each folder's dial.json), each with its mean and range across the seeds; the cells of
    `variants` (folders of other rooms or subsampled histories) drawn beside them."""
    Ds = [toolbox.read_json(os.path.join(f, "dial.json")) for f in folders]
    missing = [f for f, D in zip(folders, Ds) if not D or "q3" not in D]
    if missing:
        raise SystemExit(f"--seeds: no finished dial.json (with questions 2 and 3) in {', '.join(missing)}")
    spread = lambda v: dict(values=v, mean=float(np.mean(v)), min=float(np.min(v)), max=float(np.max(v)))
    A = dict(folders=folders, dqn_needs_episodes=spread([D["source"]["needs_episodes"] for D in Ds]),
             dqn_final_5=spread([D["source"]["final_5"] for D in Ds]),
             expert=spread([D["expert"]["ratio"]["mean"] for D in Ds]), cells={})
    for key in Ds[0]["cells"]:
        if all(key in D["cells"] for D in Ds):
            A["cells"][key] = dict(context_episodes=Ds[0]["cells"][key]["context_episodes"],
                                   learning_over_context=spread([D["cells"][key]["learning_over_context"] for D in Ds]),
                                   ratio=spread([D["cells"][key]["ratio"]["mean"] for D in Ds]))
    for q in ("q2", "q3"):
        A[q] = {who: dict(spread([D[q][who]["mean"] for D in Ds]), readings=[D[q][who]["reading"] for D in Ds])
                for who in ("imitator", "dqn")}
    toolbox.write_json(os.path.join(out, "seeds.json"), A)
    plt = toolbox.pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))

    def dial(cells, fmt, label, alpha=1.0):          # one dial's cells, imitator/source against x
        cs = sorted(cells.values(), key=lambda v: v["learning_over_context"])
        if cs:
            ax.plot([v["learning_over_context"] for v in cs], [v["ratio"]["mean"] for v in cs], fmt, alpha=alpha,
                    label=label)
    for f, D in zip(folders, Ds):
        dial(D["cells"], "s", f"page 8, {f}", 0.5)
    cs = sorted(A["cells"].values(), key=lambda v: v["learning_over_context"]["mean"])
    ax.plot([v["learning_over_context"]["mean"] for v in cs], [v["ratio"]["mean"] for v in cs], "k-",
            label=f"page 8, mean of {len(Ds)} seeds")
    for f in variants:
        dial((toolbox.read_json(os.path.join(f, "dial.json")) or {}).get("cells", {}), "^-", f"page 8, {f}", 0.8)
    dial((toolbox.read_json(os.path.join("results", "distill", "horizon.json")) or {}).get("cells", {}), "o",
         "page 7: posterior-sampling explorer")
    ax.axhline(1.0, color="gray", ls="--", label="ideal imitator: as good as its source")
    ax.set_xscale("log")
    toolbox.save_figure(fig, ax, os.path.join(out, "seeds.png"), "episodes the source needs / episodes the context holds",
                        "frozen imitator / source, last 5 episodes", "The dial on a DQN source: seeds and variants")
    plt.close(fig)
    return A


def check_config(c: DQNSourceConfig):
    toolbox.check_positive(c, ("side", "source_runs", "source_episodes", "hidden", "dqn_lr", "n_step", "batch_size",
                               "train_every", "target_every", "replay_capacity", "horizon_runs", "horizon_iters",
                               "expert_episodes", "subsample"))
    if c.side < 3 or c.side % 2 == 0:
        raise SystemExit(f"--side {c.side} must be odd and at least 3 (the agent starts in the centre)")
    if not 0 < c.gamma < 1:
        raise SystemExit(f"--gamma {c.gamma} must lie in (0, 1)")
    if not 0 <= c.eps_end <= 1 or not 0 < c.eps_decay_share <= 1:
        raise SystemExit(f"--eps_end {c.eps_end} must lie in [0, 1] and --eps_decay_share {c.eps_decay_share} in (0, 1]")
    if c.source_episodes < Q2_CUT + 10:
        raise SystemExit(f"--source_episodes {c.source_episodes} must be at least {Q2_CUT + 10} (question 2 trains "
                         f"on the first {Q2_CUT} episodes and plays on past them)")
    if c.expert_episodes > c.source_episodes:
        raise SystemExit(f"--expert_episodes {c.expert_episodes} is more than a run has (--source_episodes "
                         f"{c.source_episodes})")
    try:
        contexts = horizon.numbers(c.dial_contexts)
    except ValueError:
        raise SystemExit(f"--dial_contexts {c.dial_contexts!r} must be episode counts separated by commas, e.g. 1,2,5")
    if min(contexts) < 1 or max(contexts) * c.subsample > c.source_episodes:
        raise SystemExit(f"--dial_contexts {c.dial_contexts}: each times --subsample {c.subsample} must lie in "
                         f"1..{c.source_episodes} (--source_episodes)")


def main(c: DQNSourceConfig):
    if c.quick:
        c = dataclasses.replace(c, **QUICK, out=os.path.join(c.out, "quick"))
    check_config(c)
    D = dial(c)
    plot(D, c.out)
    print(f"wrote {c.out}: dial.json, dial.png, source.png, questions.png")
    if c.seeds:
        A = across_seeds([c.out] + [f.strip() for f in c.seeds.split(",") if f.strip()], c.out,
                         [f.strip() for f in c.variants.split(",") if f.strip()])
        print(f"wrote {c.out}: seeds.json, seeds.png (" + ", ".join(
            f"context {v['context_episodes']}: {v['ratio']['mean']:.2f} [{v['ratio']['min']:.2f}, {v['ratio']['max']:.2f}]"
            for v in A["cells"].values()) + ")")
    return D


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="The learner is a DQN: imitating its learning in the dark room.")
    toolbox.add_config_flags(ap, DQNSourceConfig)
    main(toolbox.config_from_args(DQNSourceConfig, ap.parse_args()))
