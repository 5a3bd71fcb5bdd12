"""record.py: let the DQN learn a game from random weights, and record its whole learning history.

Page two of the experiment. The imitator (imitate.py) will learn from exactly what this script
writes: every agent step from the first random flail to the last, with the frame the teacher saw,
the move it made and what happened next. We also keep the teacher itself every 50k steps, so
later pages can ask it, at any stage of its training, what it would have done.

    python record.py --game breakout --steps 1000000 --out runs/breakout

writes runs/breakout/:
    history/, history.json            every agent step, in compressed chunks (history_io.py)
    checkpoints/step_0000050000.npz   the teacher every 50k steps: weights, target net, Adam state
    curve.csv, curve.png              raw score of every finished game against agent step
and, when the run is complete, a copy of the final teacher and the curve under results/<game>/.

The lesson is the loop at the end of the page (record_steps): dqn.learn yields one record per
agent step; each goes into the history, each finished game into the curve, and a checkpoint is
written every 50k steps. Two appendix pages keep the rest out of the way:

  - history_io.py: the history's file format, and load_history / stacks_at to read it back
  - checkpoints.py: interrupt the run anywhere and run the same command again; it goes on from
    the last checkpoint exactly as if it had never stopped (the game in progress is rebuilt by
    replaying its recorded moves)

The run is bit for bit the same on another machine only if its float sums are added in the same
order: the command pins OpenBLAS, Numba and NumPy to AVX2 kernels and one BLAS thread
(--numerics portable, the default; toolbox.use_numerics), and --same_as <curve.csv> stops a run
at its first game that differs from a reference.
"""
from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import os
import resource
import shutil
import time
from dataclasses import dataclass

import numpy as np

from checkpoints import check_same_game, checkpoint_name, claim_run, curve_game, list_checkpoints, log_session, \
    resume_agent, resume_game, save_agent, starting_point
from dqn import GAMES, Agent, DQNConfig, check_dqn_config, learn, make_env
from history_io import FIELDS, history_index, history_length, write_chunk, write_history_meta
import toolbox


@dataclass
class RecordConfig:
    game: str = "breakout"          # which Atari game (see dqn.GAMES)
    steps: int = 1_000_000          # total agent steps of the run (each = 4 emulator frames)
    out: str = ""                   # run folder; default runs/<game>
    chunk_steps: int = 10_000       # history steps per compressed chunk file
    checkpoint_every: int = 50_000  # agent steps between teacher checkpoints (a multiple of chunk_steps)
    results: str = "results"        # where the finished run's curve and final weights are copied ("" = nowhere)
    init_from: str = ""             # start from this run's final teacher (weights, optimizer, step count,
                                    # replay) instead of random weights: the teacher "learning on"
    frozen: str = ""                # instead of learning, let this teacher only play (a checkpoint path
                                    # without .npz/.json, e.g. results/breakout/teacher_final): the record
                                    # of a fixed policy, in the same format (imitate.py's positive control)
    frozen_eps: float = DQNConfig.eps_end   # the frozen teacher's exploration rate (the teacher's final epsilon)
    same_as: str = ""               # a curve.csv this run must repeat game for game (the same settings,
                                    # recorded before: e.g. results/breakout/curve.csv); it stops at the
                                    # first game that differs (another kind of CPU can record another teacher)
    numerics: str = "portable"      # portable: the command starts itself again with OpenBLAS, Numba and
                                    # NumPy pinned to AVX2 kernels and one BLAS thread, so that any AVX2 or
                                    # AVX-512 CPU records this same run, bit for bit (toolbox.use_numerics);
                                    # native: each CPU's own kernels and OpenBLAS's threads (faster, but
                                    # only that kind of CPU with that many threads repeats it)


# -------------------------------------------------------------------------------------------
# Is a run folder a teacher yet?
# -------------------------------------------------------------------------------------------
def progress(run_dir):
    """(steps recorded, steps the run is to reach) of a run folder: its last checkpoint, and the
    --steps of its last command (config.json; a run whose config.json has no steps: the default). (0, 0) if no run was ever started there. An unfinished run is not yet a teacher: its
    last checkpoint is a teacher part way through its training."""
    cfg = toolbox.read_json(os.path.join(run_dir, "config.json"))
    if cfg is None:
        return 0, 0
    done = list_checkpoints(run_dir)
    return (done[-1] if done else 0), cfg.get("steps", RecordConfig.steps)


def started(run_dir):
    """Was a run ever started in this folder (its config.json, with its settings, on disk)?"""
    return progress(run_dir)[1] > 0


def finished(run_dir):
    """Has the run in this folder recorded every step it was started for?"""
    done, target = progress(run_dir)
    return target > 0 and done >= target


# -------------------------------------------------------------------------------------------
# The learning curve, and what is kept in git
# -------------------------------------------------------------------------------------------
def quarter_means(steps, scores, total):
    """Mean raw score of the games that ended in each quarter of the run."""
    steps, scores = np.asarray(steps), np.asarray(scores)
    edges = np.linspace(0, total, 5)
    return [float(scores[(steps > a) & (steps <= b)].mean()) if ((steps > a) & (steps <= b)).any()
            else float("nan") for a, b in zip(edges[:-1], edges[1:])]


def read_curve(run_dir):
    with open(os.path.join(run_dir, "curve.csv")) as f:
        rows = list(csv.DictReader(f))
    return np.array([int(r["step"]) for r in rows]), np.array([float(r["score"]) for r in rows])


def plot_curve(run_dir):
    plt = toolbox.pyplot()
    steps, scores = read_curve(run_dir)
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(steps, scores, ".", ms=2, alpha=0.3, label="one game")
    if len(scores) >= 10:
        k = max(10, len(scores) // 50)
        ax.plot(steps[k - 1:], toolbox.moving_average(scores, k), lw=2, label=f"mean of {k} games")
    toolbox.save_figure(fig, ax, os.path.join(run_dir, "curve.png"), "agent step", "raw game score",
                        f"DQN learning: {os.path.basename(os.path.normpath(run_dir))}", legend=10)
    plt.close(fig)


def export_results(rc, run_dir):
    """Copy what is small and worth keeping in git: the curve and the final teacher's weights."""
    if not rc.results:
        return
    final = list_checkpoints(run_dir)[-1]
    dest = os.path.join(rc.results, os.path.basename(os.path.normpath(run_dir)))
    os.makedirs(dest, exist_ok=True)
    if not rc.frozen:                                      # a frozen teacher's weights are kept already
        with np.load(checkpoint_name(run_dir, final) + ".npz", allow_pickle=False) as z:
            toolbox.save_npz(os.path.join(dest, "teacher_final.npz"), params=z["params"])
        shutil.copy(checkpoint_name(run_dir, final) + ".json", os.path.join(dest, "teacher_final.json"))
    for name in ("curve.csv", "curve.png"):
        if os.path.exists(os.path.join(run_dir, name)):
            shutil.copy(os.path.join(run_dir, name), os.path.join(dest, name))
    steps, scores = read_curve(run_dir)
    summary = dict(game=rc.game, steps=final, games=len(scores), quarter_means=quarter_means(steps, scores, final),
                   mean_score=float(np.mean(scores)) if len(scores) else float("nan"),
                   frozen=rc.frozen, frozen_eps=rc.frozen_eps if rc.frozen else None,
                   history_steps=history_length(run_dir), history_mb=round(sum(os.path.getsize(p) for _, _, p in
                                                                                history_index(run_dir)) / 1e6, 1),
                   peak_rss_gb_this_process=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, 2),
                   sessions=toolbox.read_json(os.path.join(run_dir, "sessions.json")) or [])
    summary["record_minutes"] = round(sum(x["minutes"] for x in summary["sessions"]), 1)
    toolbox.write_json(os.path.join(dest, "teacher_summary.json"), summary)
    print(json.dumps(summary))


# -------------------------------------------------------------------------------------------
# The run: checks, then the recording loop
# -------------------------------------------------------------------------------------------
def check_config(rc: RecordConfig, dc: DQNConfig | None = None):
    """Refuse bad settings before anything is started or written, naming the flag."""
    if dc is not None:
        check_dqn_config(dc)
    if rc.game not in GAMES:
        raise SystemExit(f"--game {rc.game!r} is unknown; valid games: {', '.join(sorted(GAMES))}")
    for name in ("steps", "chunk_steps", "checkpoint_every"):
        if getattr(rc, name) <= 0:
            raise SystemExit(f"--{name} {getattr(rc, name)} must be a positive number of agent steps")
    if rc.checkpoint_every % rc.chunk_steps:
        raise SystemExit(f"--checkpoint_every {rc.checkpoint_every} must be a multiple of --chunk_steps {rc.chunk_steps}")
    if rc.frozen and rc.init_from:
        raise SystemExit("--frozen and --init_from exclude each other: a frozen teacher does not learn on")
    if rc.frozen and not (os.path.exists(rc.frozen + ".npz") and os.path.exists(rc.frozen + ".json")):
        raise SystemExit(f"--frozen {rc.frozen}: needs {rc.frozen}.npz and {rc.frozen}.json "
                         f"(e.g. results/breakout/teacher_final)")
    if rc.init_from and not os.path.isdir(rc.init_from):
        raise SystemExit(f"--init_from {rc.init_from}: no such run folder")
    if not 0.0 <= rc.frozen_eps <= 1.0:
        raise SystemExit(f"--frozen_eps {rc.frozen_eps} must be in [0, 1]")
    if rc.same_as and not os.path.isfile(rc.same_as):
        raise SystemExit(f"--same_as {rc.same_as}: no such curve.csv (e.g. results/breakout/curve.csv)")


def record_steps(rc: RecordConfig, dc: DQNConfig, run_dir, agent, base, start, chunks, segments, rows):
    """The recording loop: the agent learns (or only plays) from step start to rc.steps; every
    step goes into the history, in chunks of rc.chunk_steps, every finished game into curve.csv,
    and a checkpoint is written every rc.checkpoint_every steps, after the chunk it needs."""
    env = make_env(rc.game, dc.sticky)
    buf, chunk_start = {k: [] for k in FIELDS}, start
    game, score, length = resume_game(env, run_dir, segments, start, dc.seed)
    scores = [float(r["score"]) for r in rows]
    reference = None
    if rc.same_as:
        with open(rc.same_as) as f:
            reference = [curve_game(r) for r in csv.DictReader(f)]
        for r in rows:                                     # the games recorded before a resume, too
            check_same_game(rc, reference, curve_game(r))
    began, previous = time.time(), toolbox.read_json(os.path.join(run_dir, "sessions.json")) or []
    curve_file = open(os.path.join(run_dir, "curve.csv"), "a", newline="")
    curve = csv.writer(curve_file)
    bar = toolbox.progress(total=rc.steps, initial=start, unit="step", smoothing=0.05,
               desc=f"{'frozen teacher' if rc.frozen else 'DQN'} {rc.game}")
    try:
        for rec in learn(env, agent, rc.steps - start, game, frozen_eps=rc.frozen_eps if rc.frozen else None):
            for k in FIELDS:
                buf[k].append(rec[k].copy() if k == "frame" else rec[k])
            score, length, t = score + rec["reward_raw"], length + 1, agent.steps - base
            if rec["terminated"] or rec["truncated"]:      # a whole game: log its raw score
                scores.append(score)
                game_row = (t, len(scores) - 1, float(score), length)
                curve.writerow(game_row)
                curve_file.flush()
                check_same_game(rc, reference, game_row)
                score, length = 0.0, 0
            if t % rc.chunk_steps == 0 or t == rc.steps:
                write_chunk(run_dir, chunk_start, buf)
                chunks.append([chunk_start, t - chunk_start])
                write_history_meta(run_dir, rc.game, chunks, segments)
                buf, chunk_start = {k: [] for k in FIELDS}, t
            if t % rc.checkpoint_every == 0 or t == rc.steps:   # after the chunk: history >= checkpoint
                save_agent(agent, checkpoint_name(run_dir, t))
                log_session(run_dir, previous, start, t, began)
            if t % 100 == 0:
                bar.update(t - bar.n)
                bar.set_postfix(eps=f"{rec['epsilon']:.3f}", score=f"{np.mean(scores[-20:]) if scores else 0:.1f}",
                                games=len(scores), loss=f"{agent.last_loss:.4f}", refresh=False)
    finally:
        bar.close()
        curve_file.close()
        log_session(run_dir, previous, start, agent.steps - base, began)
        env.close()


def record(rc: RecordConfig, dc: DQNConfig):
    """Record a run (see the page's docstring), resuming it if it was interrupted: runs/<game>/."""
    check_config(rc, dc)
    run_dir = rc.out or os.path.join("runs", rc.game)
    with toolbox.one_writer(run_dir, "recorded"):         # the same command twice: the second stops
        os.makedirs(os.path.join(run_dir, "history"), exist_ok=True)
        os.makedirs(os.path.join(run_dir, "checkpoints"), exist_ok=True)
        base, init_step = starting_point(rc)
        claim_run(rc, dc, run_dir, init_step)
        # A frozen teacher never learns: its agent keeps a token replay memory (the run's config, above,
        # keeps the teacher's own settings, which a learner started from this run inherits).
        agent = Agent(dataclasses.replace(dc, replay_capacity=1_000) if rc.frozen else dc)
        done_steps = list_checkpoints(run_dir)
        start = done_steps[-1] if done_steps else 0
        if start >= rc.steps:
            print(f"{run_dir}: already recorded {start} steps (asked for {rc.steps}); nothing to do")
        else:
            chunks, segments, rows = resume_agent(rc, agent, run_dir, bool(done_steps), start, base, init_step)
            record_steps(rc, dc, run_dir, agent, base, start, chunks, segments, rows)
            plot_curve(run_dir)
        export_results(rc, run_dir)
    return run_dir


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="Train a DQN from scratch and record its learning history.")
    toolbox.add_config_flags(ap, RecordConfig)
    toolbox.add_config_flags(ap, DQNConfig)
    a = ap.parse_args()
    rc = toolbox.config_from_args(RecordConfig, a)
    toolbox.use_numerics(rc.numerics)                     # (portable: this script starts again, pinned)
    record(rc, toolbox.config_from_args(DQNConfig, a))
