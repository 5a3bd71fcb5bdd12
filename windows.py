"""windows.py: the imitator's training windows. An appendix page to imitate.py.

imitate.py trains on windows of K consecutive agent steps cut from the teacher's history. Which
windows, and how they are drawn, is machinery a student can take on trust at first:

  - held-out blocks (heldout_spans): one block of 10k steps in every twenty, spread over the
    history, is never trained on, so the imitator trains on every stage and is tested on every stage
  - where windows may start (train_starts: wholly inside the training part; heldout_starts: the
    windows that tile the held-out blocks)
  - how a batch is drawn (draw_starts): uniformly over the history, with a share of each batch from
    its last quarter, the teacher nearest its final play
  - random shifts (augment, DrQ): a window's frames moved by a few pixels, the move to predict kept

behaviour cloning (bc.py) draws its single frame stacks the same way (windows of one step).
"""
from __future__ import annotations

import numpy as np
from numba import njit


def check_config(c):
    """Refuse bad window settings of an imitate.ImitateConfig before anything is loaded, naming the flag."""
    if not 0 <= c.late_share <= 1:
        raise SystemExit(f"--late_share {c.late_share} must be a share between 0 and 1")
    if not 0 < c.val_frac < 1:
        raise SystemExit(f"--val_frac {c.val_frac} must be between 0 and 1")
    if c.val_block < 0:
        raise SystemExit(f"--val_block {c.val_block} must be 0 (a held-out tail) or a positive number of steps")
    if not 0 <= c.augment < 42:
        raise SystemExit(f"--augment {c.augment} must be a shift of 0 to 41 pixels")


def heldout_spans(N, val_frac, val_block):
    """The held-out parts of a history of N steps, as [(first, end)] spans. val_block > 0: blocks of
    val_block steps (shorter in a short history), the middle one of every 1/val_frac, so that every
    stage of the learning, the end included, is both trained on and tested on. val_block = 0: the
    last val_frac of the history as one tail."""
    if val_block == 0:
        return [(int(N * (1 - val_frac)), N)]
    every = max(2, round(1 / val_frac))
    block = min(val_block, N // every)
    return [(a, a + block) for a in range(every // 2 * block, N - block + 1, every * block)]


def train_starts(N, spans, K):
    """Every start of a window of K steps that lies wholly in the training part (K = 1: every training step)."""
    held = np.zeros(N, np.int64)
    for a, b in spans:
        held[a:b] = 1
    c = np.concatenate([[0], np.cumsum(held)])
    s = np.arange(N - K + 1)
    return s[c[s + K] == c[s]]


def heldout_starts(spans, K):
    """Starts of the back-to-back windows of K steps that tile each held-out span (K = 1: every held-out step)."""
    return np.concatenate([np.arange(a, b - K + 1, K) for a, b in spans]).astype(np.int64)


@njit(cache=True)
def shift_stacks(stacks, shifts):
    """Random-shift augmentation (DrQ, Kostrikov et al. 2020): stack n moved by shifts[n] = (dy, dx)
    pixels, the edge pixels repeated where the shift uncovers them. The move to predict stays the
    same: a few pixels do not change what the teacher should do, so the network must look at where
    things are relative to each other, not at fixed pixels."""
    N, C, H, W = stacks.shape
    out = np.empty_like(stacks)
    for n in range(N):
        dy, dx = shifts[n, 0], shifts[n, 1]
        for c in range(C):
            for y in range(H):
                sy = min(max(y + dy, 0), H - 1)
                for x in range(W):
                    out[n, c, y, x] = stacks[n, c, sy, min(max(x + dx, 0), W - 1)]
    return out


def augment(stacks, rng, pad, group=1):
    """Shift stacks by up to `pad` pixels; `group` consecutive stacks (one window) share one shift."""
    if pad == 0:
        return stacks
    shifts = rng.integers(-pad, pad + 1, (len(stacks) // group, 2))
    return shift_stacks(stacks, np.repeat(shifts, group, axis=0))


def draw_starts(c, starts, N, rng):
    """c.batch training starts (of windows, or of single stacks for bc) drawn uniformly from
    `starts`, the first round(c.batch * c.late_share) of them from the last quarter of the N steps."""
    s = starts[rng.integers(0, len(starts), c.batch)]
    n_late = round(c.batch * c.late_share)
    if n_late:
        late = starts[starts >= N - N // 4]
        s[:n_late] = late[rng.integers(0, len(late), n_late)]
    return s
