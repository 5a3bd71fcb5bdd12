"""distill.py: bandit dynamics, the source learner improves, tokens follow the history, and the
imitator learns a tiny case; bad flags stop before any work."""
import subprocess
import sys

import numpy as np
import pytest

import distill


def test_bandits_pay_with_their_probabilities_and_thompson_sampling_improves():
    rng = np.random.default_rng(0)
    probs = distill.make_bandits(rng, 400, 5)
    assert probs.shape == (400, 5) and 0 <= probs.min() and probs.max() <= 1
    acts, rews = distill.thompson(probs, 100, rng)
    assert acts.shape == rews.shape == (400, 100) and set(np.unique(rews)) <= {0, 1}
    paid = np.take_along_axis(probs, acts, axis=1)
    assert abs(rews.mean() - paid.mean()) < 0.02             # rewards follow the pulled arm's probability
    fifths = distill.by_fifth(distill.quality(probs, acts))
    assert fifths[0] < 0.85 < 0.9 < fifths[-1]                 # it learns: from near random to near best
    rand = distill.by_fifth(distill.quality(probs, rng.integers(0, 5, (400, 100))))
    assert abs(rand[0] - rand[-1]) < 0.05 and rand[-1] < 0.75  # random play does not


def test_tokens_are_the_previous_pull():
    acts, rews = np.array([[3, 1, 4]]), np.array([[1, 0, 1]])
    pa, pr = distill.tokens(acts, rews, arms=5)
    np.testing.assert_array_equal(pa, [[5, 3, 1]])             # "start", then the previous arm
    np.testing.assert_array_equal(pr, [[2, 1, 0]])


def test_imitator_learns_a_tiny_case():
    """One bandit whose arm 2 always pays and the others never: Thompson sampling's histories
    settle on arm 2, and the imitator trained on them pulls arm 2 on it."""
    c = distill.DistillConfig(arms=3, pulls=30, context=30, n_layer=1, n_head=2, n_embd=16, batch=16, iters=150,
                              lr=3e-3)
    rng = np.random.default_rng(1)
    probs = np.tile([[0.0, 0.0, 1.0]], (64, 1))
    acts, rews = distill.thompson(probs, 30, rng)
    p, tcfg, losses = distill.train(c, acts, rews)
    assert np.mean(losses[-20:]) < np.mean(losses[:5]) - 0.3
    played = distill.play(p, tcfg, probs[:8], 30, rng)
    assert (played[:, -10:] == 2).mean() > 0.8
    with pytest.raises(ValueError):
        p["e_act"][0, 0] = 1.0                                  # frozen after training


def test_bad_flags_stop_at_once(tmp_path):
    p = subprocess.run([sys.executable, "distill.py", "--pulls", "10", "--out", str(tmp_path / "d")],
                       capture_output=True, text=True, cwd=str(__import__("pathlib").Path(__file__).parents[1]))
    assert p.returncode != 0 and "--pulls 10 must be at least 25" in p.stderr and "Traceback" not in p.stderr
    assert not (tmp_path / "d").exists()
