"""record.py: let the DQN learn a game from random weights, and record its whole learning history.

Page two of the experiment. The imitator (imitate.py) will learn from exactly what this script
writes: every agent step from the first random flail to the last, with the frame the teacher saw,
the move it made and what happened next. We also keep the teacher itself every 50k steps, so
later pages can ask it, at any stage of its training, what it would have done.

    python record.py --game breakout --steps 1000000 --out runs/breakout

writes runs/breakout/:
    history/chunk_0000000000.npz ...  10k steps each, compressed (~0.7 MB for 70 MB of Breakout frames)
    history.json                      how many steps the chunks hold
    checkpoints/step_0000050000.npz   teacher weights, target net, Adam state (+ .json: counters, RNG)
    curve.csv, curve.png              raw score of every finished game against agent step
and, when the run is complete, a copy of the final teacher and the curve under results/<game>/.

load_history reads it back into memory for the imitator (imitate.py), stacks_at rebuilds the
frame stacks the teacher saw.

Interrupt it (Ctrl-C, kill, power cut) and run the same command again: it resumes from the last
checkpoint, cutting the history back to that step, so no step is lost or recorded twice, and the
run goes on exactly as if it had never stopped. An emulator's mid-game state cannot be saved, so
the resume rebuilds it: it resets the emulator with the seed the run started with and replays
every recorded move up to the checkpoint (about 1,100 steps/s on a 2-core Intel Xeon, 12 minutes at 800k),
checking each frame against the history. If a frame differs (another ale-py version), it says so
and starts a fresh game there instead; history.json's "segments" lists where fresh games were
started and with which seed.

The run is bit for bit the same on another machine only if its float sums are added in the same
order, and OpenBLAS, Numba and NumPy each pick their kernels by CPU (and OpenBLAS its threads by
core count). So the command pins them (--numerics portable, the default: it starts itself again
with toolbox.PORTABLE_NUMERICS in its environment) to AVX2 kernels that any CPU with AVX2 runs
alike, and to one BLAS thread; config.json keeps what a run
started with, and --same_as <curve.csv> stops a run at its first game that differs from a reference.
"""
from __future__ import annotations

import argparse
import csv
import dataclasses
import glob
import json
import os
import resource
import shutil
import sys
import time
import zipfile
from dataclasses import dataclass

import numpy as np
from numba import njit

from dqn import GAMES, Agent, DQNConfig, check_dqn_config, env_step, learn, load_checkpoint, make_env, new_game, stack_at
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
    frozen_eps: float = 0.01        # the frozen teacher's exploration rate (the teacher's final epsilon)
    same_as: str = ""               # a curve.csv this run must repeat game for game (the same settings,
                                    # recorded before: e.g. results/breakout/curve.csv); it stops at the
                                    # first game that differs (another kind of CPU can record another teacher)
    numerics: str = "portable"      # portable: the command starts itself again with OpenBLAS, Numba and
                                    # NumPy pinned to AVX2 kernels and one BLAS thread, so that any AVX2 or
                                    # AVX-512 CPU records this same run, bit for bit (toolbox.use_numerics);
                                    # native: each CPU's own kernels and OpenBLAS's threads (faster, but
                                    # only that kind of CPU with that many threads repeats it)


# -------------------------------------------------------------------------------------------
# The history format: one row per agent step, stored column-wise in chunks.
# -------------------------------------------------------------------------------------------
FIELDS = {                           # column -> dtype; frame is (n, 84, 84), the rest (n,)
    "frame": np.uint8,               # the newest frame of the stack the agent acted on
    "action": np.uint8,              # the action it took (index into dqn.ACTIONS)
    "reward_raw": np.float32,        # the game's reward for that action
    "reward_clip": np.float32,       # the same, clipped to [-1, 1] (what the DQN learns from)
    "terminated": np.bool_,          # the game ended after this action
    "truncated": np.bool_,           # the game hit the emulator's time limit after this action
    "life_lost": np.bool_,           # a life was lost (game goes on)
    "first": np.bool_,               # this frame is the first of a game
    "epsilon": np.float32,           # the exploration rate in force
}


class HistoryError(RuntimeError):
    """A history file is missing, damaged, or does not fit with its neighbours."""


def chunk_path(run_dir, start):
    return os.path.join(run_dir, "history", f"chunk_{start:010d}.npz")


def write_chunk(run_dir, start, cols):
    """Write one chunk atomically: to a temp file, then rename. A reader never sees half a file."""
    path = chunk_path(run_dir, start)
    tmp = path + ".tmp.npz"
    np.savez_compressed(tmp, start=np.int64(start), **{k: np.asarray(cols[k], FIELDS[k]) for k in FIELDS})
    os.replace(tmp, path)


def read_chunk(path, start=None):
    """Load and check one chunk; any problem raises HistoryError naming the file."""
    try:
        with np.load(path, allow_pickle=False) as z:   # zip CRCs catch flipped bytes here
            cols = {k: z[k] for k in FIELDS}
            got_start = int(z["start"])
    except FileNotFoundError:
        raise HistoryError(f"missing history chunk {path}") from None
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
        raise HistoryError(f"damaged history chunk {path}: {e}") from e
    n = len(cols["action"])
    if any(len(v) != n for v in cols.values()) or cols["frame"].shape[1:] != (84, 84):
        raise HistoryError(f"damaged history chunk {path}: columns of unequal length")
    if start is not None and got_start != start:
        raise HistoryError(f"history chunk {path} starts at step {got_start}, expected {start}")
    return cols


def history_index(run_dir):
    """The chunks of a run as [(start, n, path)], checked to tile [0, recorded steps) exactly."""
    meta_path = os.path.join(run_dir, "history.json")
    if not os.path.exists(meta_path):
        raise HistoryError(f"no recorded history at {run_dir} (missing {meta_path}); run record.py first")
    with open(meta_path) as f:
        meta = json.load(f)
    index, t = [], 0
    for start, n in meta["chunks"]:
        if start != t:
            raise HistoryError(f"{meta_path}: chunk at step {start} does not follow step {t}")
        index.append((start, n, chunk_path(run_dir, start)))
        t += n
    return index


def read_history(run_dir, start=0, stop=None):
    """Stream the history in order as (first_step, columns) pieces covering [start, stop)."""
    for c0, n, path in history_index(run_dir):
        lo, hi = max(start, c0), min(c0 + n, stop if stop is not None else c0 + n)
        if lo >= hi:
            continue
        cols = read_chunk(path, c0)
        if len(cols["action"]) != n:
            raise HistoryError(f"history chunk {path} holds {len(cols['action'])} steps, index says {n}")
        yield lo, {k: v[lo - c0:hi - c0] for k, v in cols.items()}


def history_length(run_dir):
    return sum(n for _, n, _ in history_index(run_dir))


def load_history(run_dir, start=0, stop=None):
    """The history columns an imitator needs, from step `start` (to `stop`, default the end),
    concatenated: frames (N, 84, 84) and per-step arrays. Indices into the result count from `start`.
    Each column is allocated once at its full length and filled chunk by chunk, so loading never
    holds the frames twice (1M steps of frames are 7 GB)."""
    end = history_length(run_dir) if stop is None else min(stop, history_length(run_dir))
    if end <= start:
        raise HistoryError(f"{run_dir}: the history is empty")
    h = None
    for lo, cols in toolbox.progress(read_history(run_dir, start, end), desc="loading history",
                         total=len(history_index(run_dir)), unit="chunk", leave=False):
        if h is None:
            h = {k: np.empty((end - start,) + cols[k].shape[1:], cols[k].dtype)
                 for k in ("frame", "action", "reward_clip", "first")}
        for k in h:
            h[k][lo - start:lo - start + len(cols[k])] = cols[k]
    h["start"] = start                                             # the absolute step of index 0
    return h


@njit(cache=True)
def stacks_at(frames, first, idx):
    """Frame stacks (len(idx), 4, 84, 84) at absolute steps idx, never crossing a game start."""
    out = np.empty((len(idx), 4, frames.shape[1], frames.shape[2]), np.uint8)
    for j in range(len(idx)):
        stack_at(frames, first, idx[j], out[j])
    return out


def write_history_meta(run_dir, game, chunks, segments):
    """history.json: the chunks, and the segments [[step, seed]]: where the emulator was reset with
    which seed (step 0, and a resume whose replay did not match)."""
    toolbox.write_json(os.path.join(run_dir, "history.json"),
                       dict(game=game, steps=sum(n for _, n in chunks), chunks=chunks, fields=list(FIELDS),
                            segments=segments))


def history_segments(run_dir, seed):
    """The segments of a history (see write_history_meta); a history written before they were kept
    counts as one segment from step 0 (a resume there fails its frame check and says so)."""
    meta = toolbox.read_json(os.path.join(run_dir, "history.json")) or {}
    return meta.get("segments", [[0, seed]])


# -------------------------------------------------------------------------------------------
# Resuming: find the last checkpoint, cut everything after it, rebuild the replay from the history.
# -------------------------------------------------------------------------------------------
def checkpoint_name(run_dir, step):
    return os.path.join(run_dir, "checkpoints", f"step_{step:010d}")


def list_checkpoints(run_dir):
    """Steps with a complete checkpoint (both files present), ascending."""
    steps = []
    for p in glob.glob(os.path.join(run_dir, "checkpoints", "step_*.json")):
        if os.path.exists(p[:-5] + ".npz"):
            steps.append(int(os.path.basename(p)[5:-5]))
    return sorted(steps)


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


def cut_history(run_dir, game, step, seed):
    """Keep exactly the history steps [0, step); drop or shorten chunks after that, and the segments
    that start at or after it. Returns (chunks, segments)."""
    segments = [s for s in history_segments(run_dir, seed) if s[0] < step]
    try:
        index = history_index(run_dir)
    except HistoryError:
        index = []
    kept = []
    for c0, n, path in index:
        if c0 + n <= step:
            kept.append([c0, n])
        elif c0 < step:                                    # a chunk that straddles the cut
            cols = read_chunk(path, c0)
            write_chunk(run_dir, c0, {k: v[:step - c0] for k, v in cols.items()})
            kept.append([c0, step - c0])
    for p in glob.glob(os.path.join(run_dir, "history", "chunk_*.npz")):
        if int(os.path.basename(p)[6:16]) not in {c0 for c0, _ in kept}:
            os.remove(p)
    if sum(n for _, n in kept) != step:
        raise HistoryError(f"{run_dir}: history holds {sum(n for _, n in kept)} steps "
                           f"but the checkpoint is at step {step}")
    write_history_meta(run_dir, game, kept, segments)
    return kept, segments


def cut_curve(run_dir, step):
    """Keep the games that finished before the cut; return their rows."""
    path = os.path.join(run_dir, "curve.csv")
    rows = []
    if os.path.exists(path):
        with open(path) as f:
            rows = [r for r in csv.DictReader(f) if int(r["step"]) <= step]
    with open(path + ".tmp", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["step", "episode", "score", "length"])
        w.writerows([[r["step"], r["episode"], r["score"], r["length"]] for r in rows])
    os.replace(path + ".tmp", path)
    return rows


# -------------------------------------------------------------------------------------------
# The run.
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


# What a run's config.json says of the machine that started it: not part of what the run is, but
# a resume elsewhere that changes one of them goes on as another run would (claim_run says so).
MACHINE = ("cpu_vectors", "numerics", "libraries")


def same_run(old, new):
    """Do two run identities (config.json) describe the same run? A frozen teacher never learns, so
    its replay size is not part of what it is; a run may be asked for more steps (learning on)."""
    if new.get("frozen"):
        old, new = ({**d, "dqn": {**d.get("dqn", {}), "replay_capacity": 0}} for d in (old, new))
    what = lambda d: {k: v for k, v in d.items() if k not in ("steps",) + MACHINE}
    return what(old) == what(new)


def starting_point(rc: RecordConfig):
    """Where the teacher starts: random weights, another run's final checkpoint ("learning on",
    --init_from), or a checkpoint that only plays (--frozen). Returns (base, init_step): the agent's
    step count at the start (it drives epsilon and when learning starts; a run's own steps are
    agent.steps - base) and the --init_from checkpoint's step."""
    if rc.init_from:
        init_steps = list_checkpoints(rc.init_from)
        if not init_steps:
            raise SystemExit(f"--init_from {rc.init_from}: no teacher checkpoints in {rc.init_from}/checkpoints")
        return load_checkpoint(checkpoint_name(rc.init_from, init_steps[-1]))[0]["steps"], init_steps[-1]
    if rc.frozen:
        return load_checkpoint(rc.frozen)[0]["steps"], 0
    return 0, 0


def claim_run(rc: RecordConfig, dc: DQNConfig, run_dir, init_step):
    """Write the run's identity (config.json) and the steps it is to reach (the largest --steps
    asked of it: progress() reads whether it is finished); resuming with another game or other
    learning settings is refused."""
    cfg_path = os.path.join(run_dir, "config.json")
    identity = dict(game=rc.game, chunk_steps=rc.chunk_steps, dqn=dataclasses.asdict(dc),
                    init_from=os.path.abspath(rc.init_from) if rc.init_from else "", init_step=init_step)
    if rc.frozen:
        identity |= dict(frozen=os.path.abspath(rc.frozen), frozen_eps=rc.frozen_eps)
    old = toolbox.read_json(cfg_path)
    if old is not None and not same_run(old, identity):
        raise SystemExit(f"{run_dir} holds a run with other settings ({cfg_path}); use another --out or the same flags")
    identity["steps"] = max(rc.steps, old.get("steps", 0) if old else 0)
    # the kernels' vector width, whether they were pinned, and the libraries' versions decide the
    # order of float sums: with native kernels the same run is bit for bit the same on CPUs of one
    # width (AVX-512: an AMD EPYC Zen 4 and an Intel Xeon gave one teacher), not across widths (an
    # AVX2 Zen 1 parts from it after 28k steps); pinned (--numerics portable), on any AVX2 CPU
    here = dict(cpu_vectors=toolbox.kernel_width(), numerics=toolbox.numerics(),
                libraries=toolbox.library_versions())
    for k, v in here.items():
        identity[k] = (old or {}).get(k) or v              # what the run started with (an older run: now)
        if identity[k] != v:
            print(f"{run_dir}: started with {k} {identity[k]}, resumed with {v}: from here on, not bit for "
                  f"bit the run one machine would record")
    toolbox.write_json(cfg_path, identity)


def resume_agent(rc: RecordConfig, agent, run_dir, resumed, start, base, init_step):
    """Load the agent the run goes on from (its own checkpoint at start if resumed, else the
    --init_from teacher or the frozen one), cut the history and curve back to that checkpoint,
    refill the replay from the history. Returns the history's chunks and segments, and the curve's rows."""
    if resumed:
        agent.load(checkpoint_name(run_dir, start))
    elif rc.init_from:
        agent.load(checkpoint_name(rc.init_from, init_step))
    elif rc.frozen:
        agent.load(rc.frozen, weights_only=True)              # its weights; a fresh optimizer state,
        agent.steps = base                                     # but its step count: a later learner goes on from it
    (chunks, segments), rows = cut_history(run_dir, rc.game, start, agent.cfg.seed), cut_curve(run_dir, start)
    if not rc.frozen:
        refill_replay(agent, ([(rc.init_from, init_step)] if rc.init_from else []) + [(run_dir, start)])
    if not resumed:
        agent.save(checkpoint_name(run_dir, 0))            # the teacher as this run starts
    return chunks, segments, rows


def fast_forward(env, run_dir, seg_start, stop, seed):
    """Bring a fresh emulator to where an interrupted run stopped, so that the game in progress goes
    on as if nothing had happened: reset it as the segment's first game was (seed), then replay the
    recorded moves of steps [seg_start, stop), checking every frame against the history. Returns
    (game, score and length so far of the game in progress), or None at the first frame that differs."""
    game, score, length = new_game(env, seed), 0.0, 0
    with toolbox.progress(total=stop - seg_start, desc="replaying the recorded moves", unit="step", leave=False) as bar:
        for lo, cols in read_history(run_dir, seg_start, stop):
            for j in range(len(cols["action"])):
                if game.first != cols["first"][j] or not np.array_equal(game.obs[0, -1], cols["frame"][j]):
                    tqdm.write(f"{run_dir}: replayed step {lo + j} shows another frame than the history's "
                               f"(another emulator?); a fresh game starts at step {stop}", file=sys.stderr)
                    return None
                game, r, term, trunc, _ = env_step(env, game, int(cols["action"][j]))
                score, length = (0.0, 0) if term or trunc else (score + r, length + 1)
            bar.update(len(cols["action"]))
    return game, score, length


def resume_game(env, run_dir, segments, start, seed):
    """The game the run goes on with at step start: the interrupted one, rebuilt by fast_forward, or
    a fresh one (at step 0, or if the replay does not match: a new segment). Returns (game, score,
    length); adds a new segment to segments in place."""
    if segments:
        seg_start, seg_seed = segments[-1]
        resumed = fast_forward(env, run_dir, seg_start, start, seg_seed)
        if resumed is not None:
            return resumed
    segments.append([start, seed + start])             # seeded by the step, so a new segment never
    return new_game(env, seed + start), 0.0, 0         # replays the run's very first game


def curve_game(row):
    """A curve.csv row (a dict) as (step, game, score, length)."""
    return int(row["step"]), int(row["episode"]), float(row["score"]), int(row["length"])


def check_same_game(rc: RecordConfig, reference, game):
    """--same_as: stop at the first game that is not the reference curve's game of that number."""
    k = game[1]
    if reference is not None and k < len(reference) and reference[k] != game:
        raise SystemExit(f"--same_as {rc.same_as}: game {k} differs (step, game, score, length: {game} here, "
                         f"{reference[k]} there), so this machine ({toolbox.cpu_name()}, {toolbox.cpu_flags()}) "
                         f"records another run; stopped. The same run is bit for bit the same only with the same "
                         f"kernels: --numerics portable on any AVX2 CPU, native on CPUs of one vector width "
                         f"(results/README.md)")


def log_session(run_dir, previous, first, last, began):
    """Write <run>/sessions.json: the stretches of the record the earlier commands made (previous)
    and this command's so far, steps from and to, its start and end (UTC), minutes and CPU. Written
    at every checkpoint and at the end, so a record made in pieces, on several machines, killed or
    not, says how long each piece took and where."""
    stamp = lambda t: time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(t))
    toolbox.write_json(os.path.join(run_dir, "sessions.json"), previous + [dict(
        steps=[int(first), int(last)], started=stamp(began), ended=stamp(time.time()),
        minutes=round((time.time() - began) / 60, 1), cpu=toolbox.cpu_info())])


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
                agent.save(checkpoint_name(run_dir, t))
                log_session(run_dir, previous, start, t, began)
            if t % 100 == 0:
                bar.update(t - bar.n)
                bar.set_postfix(eps=f"{rec['epsilon']:.3f}", score=f"{np.mean(scores[-20:]) if scores else 0:.1f}",
                                games=len(scores), loss=f"{agent.last_loss:.4f}")
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


def refill_replay(agent, sources):
    """Fill the replay with the newest steps of histories [(run_dir, stop)], given oldest first."""
    need, plan = agent.replay.N, []
    for run, stop in reversed(sources):
        take = min(need, stop)
        plan.insert(0, (run, stop - take, stop))
        need -= take
    for run, a, b in plan:
        for _, cols in toolbox.progress(read_history(run, a, b), desc="rebuilding replay", unit="chunk", leave=False):
            agent.replay.extend(cols["frame"], cols["action"], cols["reward_clip"],
                                cols["terminated"] | cols["truncated"] | cols["life_lost"], cols["first"])


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


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="Train a DQN from scratch and record its learning history.")
    toolbox.add_config_flags(ap, RecordConfig)
    toolbox.add_config_flags(ap, DQNConfig)
    a = ap.parse_args()
    rc = toolbox.config_from_args(RecordConfig, a)
    toolbox.use_numerics(rc.numerics)                     # (portable: this script starts again, pinned)
    record(rc, toolbox.config_from_args(DQNConfig, a))
