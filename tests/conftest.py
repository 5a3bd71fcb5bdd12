"""Shared test helpers: a finite-difference gradient check and a tiny stand-in for the Atari env."""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def numerical_grad(f, x, eps=1e-6):
    """Central differences of the scalar f() with respect to every entry of x (changed in place)."""
    g = np.zeros_like(x)
    flat, gf = x.reshape(-1), g.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        hi = f()
        flat[i] = old - eps
        lo = f()
        flat[i] = old
        gf[i] = (hi - lo) / (2 * eps)
    return g


def assert_grad_close(analytic, numeric, tol=1e-6):
    err = np.abs(analytic - numeric).max() / max(1e-8, np.abs(numeric).max())
    assert err < tol, f"gradient mismatch: relative error {err:.2e}"


class Catch:
    """A 1-env stand-in for AtariVectorEnv (same reset/send/recv and shapes), learnable in seconds.

    A 12x12 ball falls down one of 7 columns for 6 steps; the agent moves a paddle on the bottom
    row (RIGHT = action 2, LEFT = action 3, anything else stays). Reward +1 for a catch, -1 for a
    miss, then the next game starts. A random policy averages about -0.6."""

    def __init__(self):
        self.rng = np.random.default_rng(0)

    def _frame(self):
        f = np.zeros((84, 84), np.uint8)
        f[self.row * 12:(self.row + 1) * 12, self.col * 12:(self.col + 1) * 12] = 255
        f[72:84, self.pad * 12:(self.pad + 1) * 12] = 128
        return f

    def _new_game(self):
        self.col, self.row, self.pad = int(self.rng.integers(7)), 0, 3
        self.stack = np.zeros((4, 84, 84), np.uint8)
        self.stack[3] = self._frame()

    def reset(self, seed=None):
        self.rng = np.random.default_rng(seed)
        self._new_game()
        return self.stack[None].copy(), {"lives": np.array([1])}

    def send(self, actions):
        self.action = int(actions[0])

    def recv(self):
        self.pad = int(np.clip(self.pad + {2: 1, 3: -1}.get(self.action, 0), 0, 6))
        self.row += 1
        r, term = 0.0, False
        if self.row == 6:
            r, term = (1.0 if self.pad == self.col else -1.0), True
            self._new_game()
        else:
            self.stack = np.concatenate([self.stack[1:], self._frame()[None]])
        return self.stack[None].copy(), np.array([r]), np.array([term]), np.array([False]), {"lives": np.array([1])}

    def close(self):
        pass


# --- a tiny recorded run, shared by the record, imitate and evaluate tests ----------------------
import subprocess  # noqa: E402

import pytest  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY_RECORD = ["--steps", "3000", "--chunk_steps", "500", "--checkpoint_every", "1000",
               "--learning_starts", "500", "--replay_capacity", "5000", "--eps_decay_steps", "2000"]


def run_record(out, *extra, threads=None, **popen):
    """Start record.py on a tiny budget in a subprocess (so it can be killed like a real run)."""
    env = dict(os.environ)
    if threads:
        env.update(OPENBLAS_NUM_THREADS=str(threads), NUMBA_NUM_THREADS=str(threads))
    cmd = [sys.executable, os.path.join(ROOT, "record.py"), "--out", str(out),
           "--results", str(out) + "_results", *TINY_RECORD, *extra]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **popen)


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """A finished 3000-step Breakout recording (about 10 s)."""
    out = tmp_path_factory.mktemp("tiny") / "breakout"
    p = run_record(out)
    _, err = p.communicate()
    assert p.returncode == 0, err.decode()[-2000:]
    return str(out)
