"""Shared test helpers: a finite-difference gradient check and a tiny recorded Breakout run."""
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
