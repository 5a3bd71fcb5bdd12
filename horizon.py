"""horizon.py: where in-context imitation of a learner stops. Page seven.

Page 6 shows the "yes" side: a frozen transformer trained on a learner's histories learns in
context on new tasks. It shows it where the learner's WHOLE learning fits in the context (100
pulls; a few episodes of a dark-room search). The argument is about the other regime: the DQN's
learning is spread over a million steps, stored in its weights, far more than any context holds.
This page turns page 6's dials, with page 6's tasks, learners and imitators (its public functions),
toward that regime, at a scale that runs in minutes per cell:

  - The horizon dial (--part horizon), the page's main plot. Dark rooms of 9 x 9, 13 x 13 and
    17 x 17 cells, whose source learner needs about 7, 12 and 18 episodes to reach 90% of its final
    score, and imitators whose context holds 1, 2, 5 or 10 episodes. Each cell of the dial: the
    frozen imitator's score over its last 5 test episodes divided by the source's, on held-out
    goals, against (episodes the source needs) / (episodes the context holds).
    --horizon_slow L turns the other knob: a slower source, which learns from one episode in L
    (page 6's explorer with learn_every = L), so that the same room takes about L times longer to
    learn.
  - Question 2, re-asked so that memory is not the bottleneck (--part q2): imitators trained on
    histories cut early (after 20 pulls; after 5 episodes), each history placed at a random offset
    of a context as long as the test, so every position the test reaches was trained; does the
    frozen imitator improve past anything its training showed? Three seeds, beside the same recipe
    trained on whole histories.
  - The bandit dials (--part sweep): how many training bandits, how long a context.

Predictions, stated before the runs. The ideal imitator (it has learned the learner) keeps the
dial's ratio near 1 in every cell and improves past the cut in question 2. The argument predicts
the ratio falls once the learning outlasts the context (the dial's x axis past 1), since then no
window of the history shows a whole episode-to-episode search, and no improvement past the cut.

    python horizon.py                        # the horizon dial (~75 min on one core, resumable cell by cell)
    python horizon.py --horizon_keep 0       # its variant whose window starts over when full
    python horizon.py --horizon_slow 3 --horizon_sides 9  # the slower source, in the 9 x 9 room
    python horizon.py --part q2              # question 2 on both tasks, three seeds (~1 h, resumable)
    python horizon.py --part sweep           # training bandits x context length (~1 h, resumable)
    python horizon.py --quick                # a small dial for a classroom (~3 min)

writes results/distill/ (beside page 6's numbers): horizon*.json and horizon.png, q2.json and
q2.png, sweep.json and sweep.png.
"""
from __future__ import annotations

import argparse
import dataclasses
import glob
import os
import time
from dataclasses import dataclass

import numpy as np

import distill
import toolbox


@dataclass
class HorizonConfig(distill.DistillConfig):
    """Page 6's config (its tasks, model and training) and this page's dials."""
    part: str = "horizon"         # "horizon" (the horizon dial), "q2" (question 2 on both tasks, 3 seeds),
                                  # "sweep" (training bandits x context length)
    horizon_sides: str = "9,13,17"   # the dial's rooms: their sides, separated by commas
    horizon_contexts: str = "1,2,5,10"   # the dial's contexts, in episodes, separated by commas
    horizon_iters: int = 1200     # optimizer steps of each of the dial's trainings
    horizon_runs: int = 64        # test runs per cell of the dial, on the 16 held-out goals
    horizon_keep: float = 0.5     # share of its window the imitator keeps when it slides
                                  # (0.5: the newest half; 0: a full window starts over empty)
    horizon_slow: int = 1         # the source learns from one episode in this many (1: from every
                                  # episode, page 6's source; 3: a learner three times slower)
    sweep_iters: int = 1000       # optimizer steps of each of the sweep's 15 trainings (--part sweep)


QUICK = dict(horizon_sides="9", horizon_contexts="1,10", horizon_iters=300, horizon_runs=16, room_histories=400)
HORIZON_TOKENS = 6_400            # tokens per optimizer step in every cell (windows = tokens / context)
Q2_PULLS = 20                     # question 2: train on the first 20 pulls only
Q2_EPISODES = 5                   # the dark room's question 2: train on the first 5 episodes only
Q2_SEEDS = 3                      # --part q2 asks it for this many seeds
MIN_Q2_GAIN = 0.02                # bandits' question 2: its last 20 pulls beat the source at the cut by 0.02
                                  # (the room's minimum gain is page 6's MIN_ROOM_GAIN)
SWEEP_TASKS = (1, 4, 16, 64, 2000)
SWEEP_CONTEXT = (25, 50, 100)


def numbers(text):
    """"9,13,17" -> (9, 13, 17)."""
    return tuple(int(x) for x in text.split(","))


# -------------------------------------------------------------------------------------------
# The horizon dial
# -------------------------------------------------------------------------------------------
def room_of_side(side):
    """A room whose episodes are long enough to reach its far corners and stay a while:
    2 x (side - 1) + 4 steps (the 9 x 9 room: 20, as in AD)."""
    return distill.Room(side, 2 * (side - 1) + 4)


def episodes_to_learn(curve, share=0.9):
    """How many episodes a learning curve (reward per episode) takes to reach `share` of its final
    level (the mean of its last 5 episodes)."""
    curve = np.asarray(curve, float)
    return int(np.argmax(curve >= share * curve[-5:].mean())) + 1


def horizon_side(c: HorizonConfig, side):
    """One room of the dial: its goals, the source's training histories' goals, the test runs, the
    episodes of a history and of a test, and the source's own returns on the test runs (which say
    how many episodes its learning takes)."""
    room, slow = room_of_side(side), c.horizon_slow
    rng = np.random.default_rng([c.seed, distill.STREAMS["room"], side])
    train_goals, test_goals = distill.room_goals(rng, room)
    probe = distill.explorer(rng.choice(train_goals, 400), 60 * slow, rng, room=room, learn_every=slow)[2]
    episodes = max(20, 2 * episodes_to_learn(distill.episode_returns(probe, room).mean(0)))   # twice the learning
    runs = np.resize(test_goals, c.horizon_runs)
    source = distill.explorer(runs, episodes, np.random.default_rng([c.seed, distill.STREAMS["room_source"], side]),
                              room=room, learn_every=slow)[2]
    return room, rng.choice(train_goals, c.room_histories), runs, episodes, distill.episode_returns(source, room)


def horizon_file(c: HorizonConfig):
    """horizon.json for the dial as built (the window keeps its newest half, page 6's source), or
    horizon_keep<share>.json, horizon_slow<L>.json (or both) for a variant."""
    keep = "" if c.horizon_keep == 0.5 else f"_keep{c.horizon_keep:g}"
    slow = "" if c.horizon_slow == 1 else f"_slow{c.horizon_slow}"
    return f"horizon{keep}{slow}.json"


def ratio_interval(imit, source, rng):
    """The imitator's score over the source's (each per run: its last 5 episodes), with a 95%
    bootstrap interval, the runs resampled together."""
    last = lambda v: v[:, -5:].mean(1)
    boot = rng.integers(0, len(imit), (4000, len(imit)))
    lo, hi = np.quantile(last(imit)[boot].mean(1) / last(source)[boot].mean(1), [0.025, 0.975])
    return dict(mean=float(last(imit).mean() / last(source).mean()), lo=float(lo), hi=float(hi))


def horizon(c: HorizonConfig, log=print):
    """The horizon dial: every (room, context) cell trains a fresh imitator on the source's
    histories and plays the held-out goals. Resumable: each finished cell is saved to its file
    (horizon_file) at once, and a rerun skips it."""
    path = os.path.join(c.out, horizon_file(c))
    H = toolbox.read_json(path) or {"cells": {}, "keep": c.horizon_keep, "slow": c.horizon_slow}
    contexts = numbers(c.horizon_contexts)
    for side in numbers(c.horizon_sides):
        if all(f"{side}x{k}" in H["cells"] for k in contexts):
            continue
        room, goals, runs, E, source = horizon_side(c, side)
        need = episodes_to_learn(source.mean(0))
        hist = distill.explorer(goals, E, np.random.default_rng([c.seed, distill.STREAMS["room"], side, 1]), room=room,
                                learn_every=c.horizon_slow)
        for k in contexts:
            if f"{side}x{k}" in H["cells"]:
                continue
            H["cells"][f"{side}x{k}"] = dial_cell(c, room, hist, runs, E, source, need, k)
            toolbox.write_json(path, H)
            r = H["cells"][f"{side}x{k}"]["ratio"]
            log(f"  {side}x{side} room (source learns in {need} episodes), context {k:2d} episodes: imitator/source "
                f"{r['mean']:.2f} [{r['lo']:.2f}, {r['hi']:.2f}]")
    return H


def train_cell(c: HorizonConfig, room, hist, k, desc="", rooms=1):
    """Page 6's imitator, its context k episodes of the room, trained on the histories hist (cells,
    actions, rewards) with HORIZON_TOKENS tokens per step: (params, tcfg, losses, the decoder's keep).
    rooms > 1: histories of that many rooms of this size (page 9's)."""
    K = k * room.episode
    ck = dataclasses.replace(c, context=K, batch=max(1, HORIZON_TOKENS // K), iters=c.horizon_iters)
    cells, acts, rews = hist
    p, tcfg, losses = distill.train(ck, acts, rews, n_act=distill.N_MOVES, cells=cells, room=room.side,
                                    episode=room.episode, desc=desc or f"{room.side}x{room.side} room, context {k} episodes",
                                    rooms=rooms)
    return p, tcfg, losses, max(0, round(c.horizon_keep * K) - 1)


def dial_cell(c: HorizonConfig, room, hist, runs, E, source, need, k):
    """One cell: an imitator whose context holds k episodes, trained on the histories hist (cells,
    actions, rewards), frozen, played on the test runs for E episodes, beside the source."""
    t0 = time.perf_counter()
    p, tcfg, losses, keep = train_cell(c, room, hist, k)
    side = room.side
    imit = distill.play_room(p, tcfg, runs, E, np.random.default_rng([c.seed, distill.STREAMS["room_play"], side, k]),
                             room, keep=keep)
    ratio = ratio_interval(imit, source, np.random.default_rng([c.seed, distill.STREAMS["room_bootstrap"], side, k]))
    return dict(side=side, episode_steps=room.episode, context_episodes=k, context_steps=k * room.episode,
                test_episodes=E, source_needs_episodes=need, learning_over_context=need / k,
                final_loss=float(np.mean(losses[-50:])), ratio=ratio, imitator_last_5=float(imit[:, -5:].mean()),
                source_last_5=float(source[:, -5:].mean()), imitator_per_episode=imit.mean(0).tolist(),
                source_per_episode=source.mean(0).tolist(), seconds=time.perf_counter() - t0)


# -------------------------------------------------------------------------------------------
# Question 2: trained on histories cut early, does the frozen imitator improve past the cut?
# -------------------------------------------------------------------------------------------
def bandits_q2(c: HorizonConfig, log=print):
    """Bandits: imitators trained on the first Q2_PULLS pulls of every history (each placed at a
    random position of a context as long as the test, c.pulls) and on whole histories, both playing
    c.pulls pulls of the new bandits; each judged on its last 20 pulls against Thompson sampling's
    level at the cut, plus MIN_Q2_GAIN."""
    acts, rews, test_probs, Q = distill.bandit_tasks(c)
    full, _, _ = distill.imitate_bandits(c, acts, rews, test_probs)
    c2 = dataclasses.replace(c, context=c.pulls, train_pulls=Q2_PULLS)
    cut, _, _ = distill.imitate_bandits(c2, acts[:, :Q2_PULLS], rews[:, :Q2_PULLS], test_probs, "play_q2",
                                        desc="imitator, first 20 pulls")
    seen = float(Q["source"][:, Q2_PULLS - 5:Q2_PULLS].mean())             # where the training histories ended
    past, whole = (distill.gain_reading(q[:, -20:].mean(1) - seen, distill.stream(c, "bootstrap_q2"), MIN_Q2_GAIN)
                   for q in (cut, full))                                    # their level above the source's at the cut
    log(f"question 2, bandits: trained on the first {Q2_PULLS} pulls (Thompson sampling had reached {seen:.2f} there);"
        f" the frozen imitator over {c.pulls} pulls: " + " -> ".join(f"{x:.2f}" for x in distill.by_fifth(cut))
        + f"; improves past its training (by >= {MIN_Q2_GAIN}): {past['reading']}")
    return dict(trained_on_pulls=Q2_PULLS, context=c.pulls, source_level_at_end_of_training_histories=seen,
                imitator=distill.by_fifth(cut), imitator_last_20=dict(mean=float(cut[:, -20:].mean()),
                                                                      lo=past["lo"] + seen, hi=past["hi"] + seen),
                above_the_cut=past, per_pull=cut.mean(0).tolist(), reading=past["reading"],
                verdict=past["reading"] == "yes", full_histories=whole, source=distill.by_fifth(Q["source"]),
                imitator_full_histories=distill.by_fifth(full), per_pull_source=Q["source"].mean(0).tolist(),
                per_pull_full_histories=full.mean(0).tolist())


def room_q2(c: HorizonConfig, log=print):
    """The dark room: the imitator trained on histories cut after Q2_EPISODES episodes, and the
    same recipe on whole histories, each history placed at a random position of a context as long
    as the test (c.room_test_episodes episodes, so the decoder never slides and no position is
    new). Both play the held-out goals; each is judged on its last 5 episodes against the source's
    level in the last episode before the cut, plus page 6's MIN_ROOM_GAIN."""
    _, _, _, goals, runs, source = distill.room_tasks(c)
    E, EP = c.room_test_episodes, distill.EPISODE
    seen = float(source[:, Q2_EPISODES - 1].mean())                        # the source at the cut
    cells, acts, rews = distill.explorer(goals, c.room_episodes, distill.stream(c, "room_q2"))
    R = dict(trained_on_episodes=Q2_EPISODES, context_steps=E * EP, test_episodes=E,
             source_level_at_the_cut=seen, per_episode=dict(source=source.mean(0).tolist()))
    for name, steps in (("cut", Q2_EPISODES * EP), ("full_histories", c.room_episodes * EP)):
        cq = dataclasses.replace(c, context=E * EP, iters=c.room_iters, batch=max(1, c.batch * c.room_context // steps))
        t0 = time.perf_counter()
        p, tcfg, losses = distill.train(cq, acts[:, :steps], rews[:, :steps], n_act=distill.N_MOVES,
                                        cells=cells[:, :steps], room=distill.ROOM, episode=EP,
                                        desc=f"dark room q2, {name}")
        imit = distill.play_room(p, tcfg, runs, E, distill.stream(c, "room_play"))
        past = distill.gain_reading(imit[:, -5:].mean(1) - seen, distill.stream(c, "room_bootstrap"),
                                    distill.MIN_ROOM_GAIN)
        R[name] = dict(history_steps=steps, final_loss=float(np.mean(losses[-50:])), seconds=time.perf_counter() - t0,
                       last_5_episodes=float(imit[:, -5:].mean()), above_the_cut=past, reading=past["reading"])
        R["per_episode"][name] = imit.mean(0).tolist()
    log(f"question 2, dark room: the source at the cut (episode {Q2_EPISODES}) {seen:.1f} on the goal; last 5 of {E} "
        f"episodes: trained on {Q2_EPISODES} episodes {R['cut']['last_5_episodes']:.1f} (improves past its training: "
        f"{R['cut']['reading']}), on whole histories {R['full_histories']['last_5_episodes']:.1f} "
        f"({R['full_histories']['reading']})")
    return R


def question2(c: HorizonConfig, log=print):
    """Question 2 on both tasks for Q2_SEEDS seeds (c.seed, c.seed + 1, ...). Resumable: every
    finished (task, seed) is saved to <out>/q2.json at once, and a rerun skips it."""
    path = os.path.join(c.out, "q2.json")
    Q = toolbox.read_json(path) or {"runs": {}}
    for seed in range(c.seed, c.seed + Q2_SEEDS):
        cs = dataclasses.replace(c, seed=seed)
        for task, run in (("bandits", bandits_q2), ("room", room_q2)):
            key = f"{task}_seed{seed}"
            if key not in Q["runs"]:
                t0 = time.perf_counter()
                Q["runs"][key] = run(cs, log) | dict(seconds=time.perf_counter() - t0)
                toolbox.write_json(path, Q)
    return Q


# -------------------------------------------------------------------------------------------
# The bandit dials: training tasks x context length
# -------------------------------------------------------------------------------------------
def sweep(c: HorizonConfig, log=print):
    """Number of training tasks x context length, each a fresh training of c.sweep_iters steps on
    2,000 histories (the tasks repeated). Resumable: every finished cell is saved to
    <out>/sweep.json at once, and a rerun skips it."""
    path = os.path.join(c.out, "sweep.json")
    grid = toolbox.read_json(path) or {}
    test_probs = distill.make_bandits(distill.stream(c, "sweep_test"), c.test_tasks, c.arms)
    cs = dataclasses.replace(c, iters=c.sweep_iters)
    for n_tasks in SWEEP_TASKS:
        if all(f"{n_tasks}x{K}" in grid for K in SWEEP_CONTEXT):
            continue
        rng = np.random.default_rng([c.seed, n_tasks])                     # each row its own tasks, resumable
        probs = distill.make_bandits(rng, n_tasks, c.arms)
        reps = max(1, 2000 // n_tasks)                                      # the same number of histories
        acts, rews = distill.thompson(np.repeat(probs, reps, axis=0), c.pulls, rng)
        for K in SWEEP_CONTEXT:
            if f"{n_tasks}x{K}" in grid:
                continue
            ck = dataclasses.replace(cs, context=K, train_tasks=n_tasks)
            q, _, _ = distill.imitate_bandits(ck, acts, rews, test_probs, desc=f"{n_tasks} tasks, context {K}")
            grid[f"{n_tasks}x{K}"] = distill.by_fifth(q)
            toolbox.write_json(path, grid)
            log(f"  {n_tasks:5d} tasks, context {K:3d}: " + " -> ".join(f"{x:.2f}" for x in grid[f"{n_tasks}x{K}"]))
    return grid


# -------------------------------------------------------------------------------------------
# Plots
# -------------------------------------------------------------------------------------------
def dials(out):
    """Every dial measured in out: {file name: its numbers}, the dial as built first."""
    files = sorted(glob.glob(os.path.join(out, "horizon*.json")), key=lambda f: (len(f), f))
    return {os.path.basename(f)[:-5]: toolbox.read_json(f) for f in files}


def plot_horizon(plt, dials, out):
    """horizon.png: the dial, imitator / source against learning / context, every variant measured."""
    dials = {k: v for k, v in dials.items() if v["cells"]}
    if not dials:
        return
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    for (name, dial), style in zip(dials.items(), ("-", "--", ":", "-.")):
        what = ("window keeps its newest half" if dial.get("keep", 0.5) == 0.5 else f"window keeps {dial['keep']:g}") + (
            f", source {dial['slow']}x slower" if dial.get("slow", 1) > 1 else "")
        for side in sorted({v["side"] for v in dial["cells"].values()}):
            cs = sorted((v for v in dial["cells"].values() if v["side"] == side), key=lambda v: v["learning_over_context"])
            toolbox.errorbars(ax, [v["learning_over_context"] for v in cs],
                              [[v["ratio"][k] for k in ("mean", "lo", "hi")] for v in cs],
                              fmt={9: "o", 13: "s", 17: "^"}.get(side, "D") + style,
                              label=f"{side} x {side} room (learns in {cs[0]['source_needs_episodes']} episodes), {what}")
    ax.axhline(1.0, color="gray", ls="--", label="ideal imitator: as good as the source")
    ax.axvline(1.0, color="gray", ls=":", lw=0.8)
    ax.set_xscale("log")
    toolbox.save_figure(fig, ax, os.path.join(out, "horizon.png"),
                        "episodes the source needs to learn / episodes the context holds",
                        "frozen imitator / source, last 5 episodes", "Where in-context imitation of a learner stops")
    plt.close(fig)


def plot_q2(plt, Q, out):
    """q2.png: question 2 on both tasks, the mean over seeds of the imitators trained on cut and whole histories."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, task in zip(axes, ("bandits", "room")):
        runs = [v for k, v in Q["runs"].items() if k.startswith(task)]
        if not runs:
            continue
        lines = (dict(source=[v["per_pull_source"] for v in runs], cut=[v["per_pull"] for v in runs],
                      full_histories=[v["per_pull_full_histories"] for v in runs]) if task == "bandits" else
                 {k: [v["per_episode"][k] for v in runs] for k in ("source", "cut", "full_histories")})
        for k, lab in (("source", "the source learner"), ("cut", "frozen imitator trained on histories cut early"),
                       ("full_histories", "frozen imitator trained on whole histories")):
            y = np.mean(lines[k], axis=0)
            y = toolbox.moving_average(y, 5) if task == "bandits" else y
            ax.plot(np.arange(len(y)) + (5 if task == "bandits" else 1), y, label=lab)
        ax.axvline(Q2_PULLS if task == "bandits" else Q2_EPISODES, color="gray", lw=0.8)
        toolbox.save_figure(fig, ax, os.path.join(out, "q2.png"),
                            "pull on a new bandit (mean of 5)" if task == "bandits" else "episode, held-out goal",
                            "chosen arm's p / best arm's p" if task == "bandits" else "steps on the goal",
                            f"Question 2, {task}: {len(runs)} seeds, the cut at the grey line")
    plt.close(fig)


def plot_sweep(plt, grid, curves, out):
    """sweep.png: training bandits x context length, first and last fifth, with page 6's source and
    random play (curves, from distill.json) where they were measured."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for K in SWEEP_CONTEXT:
        done = [n for n in SWEEP_TASKS if f"{n}x{K}" in grid]                 # a partial sweep too
        for ax, fifth in zip(axes, (0, -1)):
            ax.plot(done, [grid[f"{n}x{K}"][fifth] for n in done], "o-", label=f"context {K} pulls")
    for ax, fifth, name in zip(axes, (0, -1), ("first", "last")):
        for k, style in (("source", "--"), ("random", ":")) if curves else ():
            ax.axhline(curves[k][fifth], color="gray", ls=style, label=f"{k} ({name} fifth)")
        ax.set_xscale("log")
        toolbox.save_figure(fig, ax, os.path.join(out, "sweep.png"), "training bandits",
                            f"chosen arm's p / best arm's p, {name} fifth of 100 pulls", f"New bandits, {name} 20 pulls")
    plt.close(fig)


# -------------------------------------------------------------------------------------------
# Command line
# -------------------------------------------------------------------------------------------
def check_config(c: HorizonConfig):
    distill.check_config(dataclasses.replace(c, part="all"))               # page 6's own checks
    toolbox.check_positive(c, ("horizon_iters", "horizon_runs", "sweep_iters"))
    if c.part not in ("horizon", "q2", "sweep"):
        raise SystemExit(f"--part {c.part!r} is unknown; valid: horizon, q2, sweep")
    for name in ("horizon_sides", "horizon_contexts"):
        try:
            if min(numbers(getattr(c, name))) < (3 if name == "horizon_sides" else 1):
                raise ValueError
        except ValueError:
            raise SystemExit(f"--{name} {getattr(c, name)!r} must be whole numbers separated by commas "
                             f"({'sides of at least 3 cells' if name == 'horizon_sides' else 'at least 1 episode'})")
    if not 0 <= c.horizon_keep < 1:
        raise SystemExit(f"--horizon_keep {c.horizon_keep} must lie in [0, 1): the share of its window the imitator keeps")
    if c.horizon_slow < 1:
        raise SystemExit(f"--horizon_slow {c.horizon_slow} must be 1 (page 6's source) or more episodes")
    if c.room_test_episodes < Q2_EPISODES + 5 and c.part == "q2":
        raise SystemExit(f"--room_test_episodes {c.room_test_episodes} must be at least {Q2_EPISODES + 5} "
                         f"(question 2 trains on {Q2_EPISODES} episodes and judges the last 5)")


def main(c: HorizonConfig):
    if c.quick:
        c = dataclasses.replace(c, **(distill.QUICK | QUICK), out=os.path.join(c.out, "quick"))
    check_config(c)
    os.makedirs(c.out, exist_ok=True)
    plt = toolbox.pyplot()
    if c.part == "q2":
        R = question2(c)
        plot_q2(plt, R, c.out)
    elif c.part == "sweep":
        R = sweep(c)
        plot_sweep(plt, R, (toolbox.read_json(os.path.join(c.out, "distill.json")) or {}).get("curves"), c.out)
    else:
        R = horizon(c)
        plot_horizon(plt, dials(c.out), c.out)
    print(f"wrote {c.out}: {c.part} and its plot")
    return R


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="Where in-context imitation of a learner stops: page 6's dials turned "
                                             "toward the argument's regime.")
    toolbox.add_config_flags(ap, HorizonConfig)
    main(toolbox.config_from_args(HorizonConfig, ap.parse_args()))
