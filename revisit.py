"""revisit.py: knowledge that must outlive the context. Page nine.

Page 8's DQN learns one room per run, and once it has learned it walks to the goal every episode:
what it knows is visible in its recent moves, so a context of a few episodes can show it. The
DQN in the argument knows far more than its recent play shows: facts learned long ago, kept in
its weights, used again when they matter. This page builds that in miniature. A world is several
rooms of page 7's size, each with its own hidden goal; every episode is played in one of them,
drawn at random, so a room comes back after a gap of 1, 2, ... episodes. One DQN (page 8's, its
input the cell of every room) learns a whole world from random weights and keeps every goal in
its weights. Page 6's imitator trains on those histories (the cell's row counts on from room to
room, so it knows which room it is in) and plays held-out worlds, frozen, its context k episodes.

The measurement: the score of an episode against d / k, where d is the number of episodes since
its room was last visited and k the episodes the context holds, read over the second half of the
episodes, once the DQN has learned its rooms (its own score does not depend on d).

Predictions, written before the runs. The ideal imitator (Solomonoff: the whole history is its
context) knows every goal the learner found, at any d: its score over the DQN's stays near 1 past
d / k = 1. The argument: a frozen imitator's only memory of this world is its context, so once
d / k passes 1 its score falls to what exploring the room anew earns (its first visits), while
the DQN stays flat. Past 1 this is so by construction for any finite context; what is measured is
whether the fall comes at the context's edge (the imitator uses all it holds) or before it, and
how far it falls. The rule, fixed before the runs (reading): "keeps" when the 95% interval of the
imitator's score over the DQN's, past d / k = 1, lies above 0.8; "forgets" when it lies below 0.8
and below the same ratio within the context (d / k <= 1); otherwise "can't tell".

    python revisit.py --quick        # a classroom run (2 min 21 s on one core, beside another job)
    python revisit.py                # the DQN's worlds and contexts 1, 2 and 4 (about 25 min on one core beside another job; resumable)

writes results/revisit/: revisit.json (the DQN's learning, one entry per context: its score and the
DQN's by d / k, the reading), revisit.png (score against d / k).
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import time
from dataclasses import dataclass

import numpy as np

import distill
import dqn_source
import horizon
import toolbox


@dataclass
class RevisitConfig(dqn_source.DQNSourceConfig):
    """Page 8's config (its DQN and imitator) and the worlds of this page."""
    side: int = 7                 # each room's side (page 7's room_of_side: episodes of 16 steps)
    rooms: int = 4                # rooms of a world, each with its own goal; each episode in one drawn at random
    source_episodes: int = 400    # episodes of every DQN run (about 100 visits to each room)
    dial_contexts: str = "1,2,4"  # the imitator's contexts, in episodes
    keeps_share: float = 0.8      # "keeps": past the context, at least this share of the DQN's score
    histories: str = "runs/revisit"   # where the DQN's histories of the worlds are kept between runs
    out: str = "results/revisit"      # revisit.json and revisit.png


QUICK = dict(source_runs=200, source_episodes=200, horizon_iters=300, horizon_runs=16, dial_contexts="2")
EDGES = (0.0, 0.5, 1.0, 2.0, 4.0, np.inf)   # bins of d / k for the plot


# -------------------------------------------------------------------------------------------
# Worlds: goals per room, the room of every episode, and the gap since its room's last visit
# -------------------------------------------------------------------------------------------
def worlds(c: RevisitConfig, goal_cells, n, rng):
    """n worlds: goals (n, rooms), one drawn from goal_cells per room, and visits (n, episodes),
    the room of each episode drawn at random."""
    return rng.choice(goal_cells, (n, c.rooms)), rng.integers(0, c.rooms, (n, c.source_episodes))


def gaps(visits):
    """Episodes since the episode's room was last visited (1: the episode before), inf on a
    room's first visit: (n, episodes)."""
    n, E = visits.shape
    last = np.full((n, visits.max() + 1), -np.inf)
    d = np.empty((n, E))
    rows = np.arange(n)
    for e in range(E):
        d[:, e] = e - last[rows, visits[:, e]]
        last[rows, visits[:, e]] = e
    return d


def reading(imit, dqn, d, k, rng, keeps_share=0.8, n_boot=4000):
    """The rule: the imitator's score over the DQN's on episodes whose room was last seen within
    the context (d <= k) and past it (d > k), each with a 95% interval (the runs resampled
    together); "keeps" when the interval past it lies above keeps_share, "forgets" when it lies
    below keeps_share and below the interval within it, else "can't tell". imit, dqn, d: (runs,
    episodes) over the episodes read."""
    within, past = d <= k, np.isfinite(d) & (d > k)
    sums = lambda x, m: (x * m).sum(1)                                 # per run, so runs resample whole
    boot = rng.integers(0, len(imit), (n_boot, len(imit)))
    ratio = lambda m: sums(imit, m)[boot].sum(1) / np.maximum(sums(dqn, m)[boot].sum(1), 1e-9)
    out = {}
    for name, m in (("within", within), ("past", past)):
        lo, hi = np.quantile(ratio(m), [0.025, 0.975])
        out[name] = dict(mean=float(sums(imit, m).sum() / max(sums(dqn, m).sum(), 1e-9)), lo=float(lo), hi=float(hi),
                         episodes=int(m.sum()))
    keeps = out["past"]["lo"] > keeps_share
    forgets = out["past"]["hi"] < keeps_share and out["past"]["hi"] < out["within"]["lo"]
    out["reading"] = "keeps" if keeps else "forgets" if forgets else "can't tell"
    return out


def power(dqn, d, k, rng, keeps_share, sims=300):
    """The rule tried, before any imitator plays, on synthetic imitators of the real arm's size:
    the held-out worlds' gaps d, and scores drawn from the DQN's own (dqn), times a share within
    the context and past it. Returns how often each reads "keeps" and "forgets": an imitator as
    good as the DQN everywhere (should keep >= 90%), one at the bar past the context (neither
    more than 10%), one that falls to 15% of the DQN past it (should forget >= 90%)."""
    pool, past = dqn.ravel(), np.isfinite(d) & (d > k)
    rates = {}
    for name, share in (("as_good", 1.0), ("at_the_bar", keeps_share), ("falls", 0.15)):
        got = []
        for _ in range(sims):
            imit = rng.choice(pool, d.shape) * np.where(past, share, 1.0)
            got.append(reading(imit, rng.choice(pool, d.shape), d, k, rng, keeps_share, n_boot=1000)["reading"])
        rates[name] = {r: got.count(r) / sims for r in ("keeps", "forgets", "can't tell")}
    return rates


def by_gap(x, d, k, start):
    """The mean of x over the episodes from `start` on in each bin of d / k (EDGES), and over
    every room's first visit (which come early: exploring a room anew)."""
    late, dl = x[:, start:], d[:, start:]
    bins = [late[np.isfinite(dl) & (dl / k > a) & (dl / k <= b)] for a, b in zip(EDGES[:-1], EDGES[1:])]
    return [float(v.mean()) if v.size else None for v in bins] + [float(x[~np.isfinite(d)].mean())]


# -------------------------------------------------------------------------------------------
# The experiment
# -------------------------------------------------------------------------------------------
def run(c: RevisitConfig, log=print):
    """The DQN's training worlds (kept in c.histories), its learning on held-out worlds, and per
    context an imitator trained on the histories, frozen, on the held-out worlds; resumable
    context by context (revisit.json)."""
    os.makedirs(c.out, exist_ok=True)
    path = os.path.join(c.out, "revisit.json")
    V = toolbox.read_json(path) or {"contexts": {}}
    room = horizon.room_of_side(c.side)
    rng = np.random.default_rng([c.seed, distill.STREAMS["room"], c.side, c.rooms])
    train_goals, test_goals = distill.room_goals(rng, room)
    goals, visits = worlds(c, train_goals, c.source_runs, rng)
    test, test_visits = worlds(c, test_goals, c.horizon_runs, rng)
    hist, seconds = dqn_source.kept_histories(c, goals, visits, name=f"side{c.side}_rooms{c.rooms}_seed{c.seed}")
    dqn = distill.episode_returns(dqn_source.learn_rooms(c, test, c.seed * 1000 + 2, "DQN, held-out worlds",
                                                         visits=test_visits)[2], room)
    d, half = gaps(test_visits), c.source_episodes // 2
    V["source"] = dict(side=c.side, rooms=c.rooms, episode_steps=room.episode, runs=c.source_runs,
                       episodes=c.source_episodes, seconds=seconds, cpu=toolbox.cpu_name(),
                       needs_episodes=horizon.episodes_to_learn(dqn.mean(0)), per_episode=dqn.mean(0).tolist(),
                       second_half=float(dqn[:, half:].mean()),
                       random=float(distill.random_room(test[:, 0], 20, np.random.default_rng(c.seed), room).mean()))
    log(f"DQN, {c.rooms} rooms of {c.side}x{c.side}: learns in {V['source']['needs_episodes']} episodes, "
        f"{V['source']['second_half']:.1f} per episode over the second half (random play {V['source']['random']:.2f})")
    for k in horizon.numbers(c.dial_contexts):
        key = str(k)
        if key not in V.setdefault("power", {}):                       # the rule's power, before the imitator plays
            V["power"][key] = power(dqn[:, half:], d[:, half:], k, np.random.default_rng(
                [c.seed, distill.STREAMS["room_bootstrap"], c.side, c.rooms, k, 1]), c.keeps_share)
            toolbox.write_json(path, V)
        pw = V["power"][key]
        log(f"  the rule at this size, context {k}: as good as the DQN reads keeps {pw['as_good']['keeps']:.0%}; at the "
            f"bar keeps {pw['at_the_bar']['keeps']:.0%}, forgets {pw['at_the_bar']['forgets']:.0%}; falling to 15% "
            f"reads forgets {pw['falls']['forgets']:.0%}")
        if key not in V["contexts"]:
            t0 = time.perf_counter()
            p, tcfg, losses, keep = horizon.train_cell(c, room, hist, k, rooms=c.rooms,
                                                       desc=f"{c.rooms} rooms, context {k} episodes")
            imit = distill.play_room(p, tcfg, test, c.source_episodes, np.random.default_rng(
                [c.seed, distill.STREAMS["room_play"], c.side, c.rooms, k]), room, keep=keep, visits=test_visits)
            rule = reading(imit[:, half:], dqn[:, half:], d[:, half:], k, np.random.default_rng(
                [c.seed, distill.STREAMS["room_bootstrap"], c.side, c.rooms, k]), c.keeps_share)
            V["contexts"][key] = dict(context_episodes=k, context_steps=k * room.episode,
                                      final_loss=float(np.mean(losses[-50:])), **rule,
                                      imitator_by_gap=by_gap(imit, d, k, half), dqn_by_gap=by_gap(dqn, d, k, half),
                                      imitator_per_episode=imit.mean(0).tolist(), seconds=time.perf_counter() - t0)
            toolbox.write_json(path, V)
        r = V["contexts"][key]
        log(f"  context {k} episodes: imitator / DQN within it {r['within']['mean']:.2f} [{r['within']['lo']:.2f}, "
            f"{r['within']['hi']:.2f}], past it {r['past']['mean']:.2f} [{r['past']['lo']:.2f}, {r['past']['hi']:.2f}]: "
            f"{r['reading']}")
    return V


def plot(V, out):
    """revisit.png: the score of an episode against d / k, the imitator's beside the DQN's."""
    plt = toolbox.pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    x = [0.35, 0.7, 1.4, 2.8, 5.6, 11.2]                              # each bin's middle on a log axis; first visits last
    for key, r in V["contexts"].items():
        line, = ax.plot(x, [np.nan if v is None else v for v in r["imitator_by_gap"]], "o-",
                        label=f"frozen imitator, context {key} episodes")
        ax.plot(x, [np.nan if v is None else v for v in r["dqn_by_gap"]], "s:", color=line.get_color(), alpha=0.6,
                label=f"DQN (binned as for context {key})")
    ax.axvline(1.0, color="gray", ls="--", label="the context's edge")
    ax.axhline(V["source"]["random"], color="gray", ls=":", label="random moves")
    ax.set_xscale("log")
    ax.set_xticks(x, ["<0.5", "0.5-1", "1-2", "2-4", ">4", "first\nvisit"])
    toolbox.save_figure(fig, ax, os.path.join(out, "revisit.png"),
                        "episodes since the room was last visited / episodes the context holds",
                        "reward per episode (second half)", "Knowledge that must outlive the context")
    plt.close(fig)


def check_config(c: RevisitConfig):
    dqn_source.check_config(c)
    toolbox.check_positive(c, ("rooms",))
    if not 0 < c.keeps_share <= 1:
        raise SystemExit(f"--keeps_share {c.keeps_share} must lie in (0, 1]")


def main(c: RevisitConfig):
    if c.quick:
        c = dataclasses.replace(c, **QUICK, out=os.path.join(c.out, "quick"))
    check_config(c)
    V = run(c)
    plot(V, c.out)
    print(f"wrote {c.out}: revisit.json, revisit.png")
    return V


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="Knowledge that must outlive the context: several rooms, visited in turn.")
    toolbox.add_config_flags(ap, RevisitConfig)
    main(toolbox.config_from_args(RevisitConfig, ap.parse_args()))
