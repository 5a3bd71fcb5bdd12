"""arm_files.py: where an arm's games are on disk. An appendix page to evaluate.py.

A playing arm saves its games in its work folder's state.json after every game (play.py); a learning
arm is a record.py run, whose finished games are its curve.csv (work_games, progress).

An arm's work folder holds what it needs to resume (a learning arm's history and replay, gigabytes);
its games are a few kilobytes. When an arm finishes, evaluate.py copies its games to
<out>/arms/<name>.json with what they depend on (its identity: evaluate.arm_identity), so that a lost
work folder costs only the arms still running: a finished arm is then neither played again nor
missing from the table. The copy is used only while every setting it names is the run's own
(another --games, --steps, seed, teacher or imitator: the arm is played anew).
"""
from __future__ import annotations

import functools
import hashlib
import os
import time

import numpy as np

import history_io
import record
import toolbox


def work_games(folder):
    """The games an arm has played in its work folder (finished or not), as play.py saves them
    ([end step, score, length, agreement]), or None if it has none."""
    state = toolbox.read_json(os.path.join(folder, "state.json"))
    if state is not None:
        return state["games"]
    if os.path.exists(os.path.join(folder, "curve.csv")):            # a teacher arm: a record.py run
        s, v = record.read_curve(folder)
        return [[int(a), float(b), 0, -1.0] for a, b in zip(s, v)]
    return None


def progress(folder, games, unit):
    """How far an arm that is not kept has gone, in its unit ("games" or "steps"), from its work
    folder's games: a played arm's steps end with its last saved game; a teacher arm's are those
    recorded in its history, which runs past its last finished game."""
    if unit == "games":
        return len(games or [])
    if os.path.exists(os.path.join(folder, "history.json")):
        return history_io.history_length(folder)
    return games[-1][0] if games else 0


def path(out, name):
    return os.path.join(out, "arms", f"{name}.json")


def read(out, name, identity):
    """The games kept for arm `name` under out, if its copy was made with the identity identity()
    gives (called only when a copy exists), else None."""
    kept = toolbox.read_json(path(out, name))
    if kept is None:
        return None
    return kept["games"] if kept.get("identity") == identity() else None


def write(out, name, identity, games, work_folder):
    """Keep a finished arm's games, its identity, the CPU that finished it and when it started
    (the work folder's started.json, for a playing arm)."""
    os.makedirs(os.path.dirname(path(out, name)), exist_ok=True)
    began = toolbox.read_json(os.path.join(work_folder, "started.json")) or {}
    toolbox.write_json(path(out, name), dict(identity=identity, games=games, cpu=toolbox.cpu_info(),
                                             started=began.get("started", "not recorded"),
                                             started_on=began.get("cpu", "not recorded"),
                                             kept=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())))


def weights_fingerprint(npz):
    """A network's weights by content: the first 16 hex digits of the SHA-256 of its "params". A run
    recorded again at the same folder on another kind of CPU can be another teacher (OpenBLAS and
    Numba choose their kernels, so the order of float sums, by CPU)."""
    return _sha(npz, os.path.getmtime(npz), os.path.getsize(npz))


@functools.lru_cache(maxsize=8)
def _sha(npz, mtime, size):                        # read once per file version
    with np.load(npz, allow_pickle=False) as z:
        return hashlib.sha256(np.ascontiguousarray(z["params"]).tobytes()).hexdigest()[:16]
