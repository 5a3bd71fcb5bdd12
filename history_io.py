"""history_io.py: how a learning history is stored on disk and read back. An appendix page.

record.py writes every agent step of the teacher's learning into a run folder; imitate.py,
play.py and the later pages read it back. This page is the file format between them, and nothing
else: a student can read record.py and imitate.py without it.

    <run>/history/chunk_0000000000.npz ...   10k steps each, column by column (FIELDS), compressed
                                             (~0.7 MB for 70 MB of Breakout frames); written atomically
    <run>/history.json                       the chunks in order, and the segments: where the emulator
                                             was reset, and with which seed

load_history reads a stretch of it into memory (frames once, never twice: 1M steps are 7 GB);
stacks_at rebuilds the frame stacks the teacher saw from it. Any damaged, missing or misplaced
chunk raises HistoryError naming the file.
"""
from __future__ import annotations

import json
import os
import zipfile

import numpy as np
from numba import njit

from dqn import stack_at
import toolbox


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
