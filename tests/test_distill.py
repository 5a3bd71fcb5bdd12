"""distill.py: bandit dynamics, the source learner improves, tokens follow the history, and the
imitator learns a tiny case; bad flags stop before any work."""
import os
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
    pa, pr = distill.tokens(acts, rews, 5)
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
    p = subprocess.run([sys.executable, "distill.py", "--part", "rooms"], capture_output=True, text=True,
                       cwd=str(__import__("pathlib").Path(__file__).parents[1]))
    assert p.returncode != 0 and "--part 'rooms' is unknown" in p.stderr
    assert not (tmp_path / "d").exists()


def test_dark_room_walls_goal_and_moves():
    c = distill.START
    assert distill.room_move(c, 0) == c                                      # stay
    assert distill.room_move(c, 1) == c - distill.ROOM                       # up a row
    assert distill.room_move(c, 4) == c + 1                                  # right
    assert distill.room_move(0, 1) == 0 and distill.room_move(0, 3) == 0     # walls stop the agent
    last = distill.ROOM * distill.ROOM - 1
    assert distill.room_move(last, 2) == last and distill.room_move(last, 4) == last
    train, test = distill.room_goals(np.random.default_rng(0))
    assert len(test) == distill.N_TEST_GOALS and distill.START not in np.r_[train, test]
    assert len(set(train) | set(test)) == distill.ROOM ** 2 - 1              # a split of every other cell
    rng = np.random.default_rng(1)
    for _ in range(50):                                                      # a step toward never moves away
        cell, target = rng.integers(0, 81, 2)
        d = lambda a, b: abs(a // 9 - b // 9) + abs(a % 9 - b % 9)
        nxt = distill.room_move(cell, distill.toward(np.array([cell]), np.array([target]), rng)[0])
        assert d(nxt, target) == max(0, d(cell, target) - 1)


def test_dark_room_explorer_learns_and_the_expert_knows():
    rng = np.random.default_rng(0)
    train, _ = distill.room_goals(rng)
    goals = rng.choice(train, 300)
    cells, acts, rews = distill.explorer(goals, 12, rng)
    assert cells.shape == acts.shape == rews.shape == (300, 12 * distill.EPISODE)
    assert (cells[:, ::distill.EPISODE] == distill.START).all()             # every episode starts in the centre
    inside = np.arange(1, cells.shape[1]) % distill.EPISODE != 0              # steps that are not episode starts
    np.testing.assert_array_equal(distill.room_move(cells[:, :-1], acts[:, :-1])[:, inside],
                                  cells[:, 1:][:, inside])                  # cells follow the moves
    landed = distill.room_move(cells, acts)
    np.testing.assert_array_equal(rews, landed == goals[:, None])           # paid exactly on the goal
    ret = distill.episode_returns(rews).mean(0)
    assert ret[0] < 5 and ret[-1] > 14                                       # it learns where the goal is
    _, _, expert = distill.explorer(goals, 2, rng, knows_goal=True)
    assert distill.episode_returns(expert).mean() > 14                       # the expert goes straight there
    assert distill.random_room(goals, 3, rng).mean() < 1.0


def test_room_tokens_restart_every_episode():
    acts, rews = np.arange(8)[None] % 5, (np.arange(8)[None] % 2)
    pa, pr = distill.tokens(acts, rews, 5, episode=4)
    np.testing.assert_array_equal(pa, [[5, 0, 1, 2, 5, 4, 0, 1]])
    np.testing.assert_array_equal(pr, [[2, 0, 1, 0, 2, 0, 1, 0]])


def test_room_imitator_learns_a_tiny_case():
    """Every training room has its goal one step right of the start: the expert's histories are
    "right, then stay"; the imitator trained on them, frozen, walks there in a room with that goal."""
    c = distill.DistillConfig(context=40, n_layer=1, n_head=2, n_embd=16, batch=16, iters=150, lr=3e-3)
    rng = np.random.default_rng(2)
    goals = np.full(32, distill.START + 1)
    cells, acts, rews = distill.explorer(goals, 4, rng, knows_goal=True)   # windows start anywhere
    p, tcfg, losses = distill.train(c, acts, rews, n_act=distill.N_MOVES, cells=cells, room=distill.ROOM,
                                    episode=distill.EPISODE)
    assert np.mean(losses[-20:]) < np.mean(losses[:5]) - 0.5
    ret = distill.play_room(p, tcfg, goals[:4], 3, rng)
    assert ret.mean() > 15                                                   # 19 steps of 20 on the goal at best


def test_improves_needs_a_minimum_gain_and_says_too_short_to_tell():
    rng = np.random.default_rng(4)
    assert distill.gain_reading(rng.normal(10, 3, 64), rng, 2.0)["reading"] == "yes"          # the imitator
    tiny = distill.gain_reading(rng.normal(0.8, 0.3, 5000), rng, 2.0)                          # sure, but small
    assert tiny["lo"] > 0 and tiny["reading"] == "no"
    assert distill.gain_reading([-4.0, 6.0, -3.0, 7.0, 0.0, 3.0], rng, 2.0)["reading"] == "too short to tell"
    assert distill.gain_reading(rng.normal(-0.01, 0.01, 500), rng, 0.02)["reading"] == "no"    # below the cut


def test_histories_shorter_than_the_context_are_placed_at_random_offsets(monkeypatch):
    """Question 2's training: a 6-pull history in a context of 20 sits at every offset 0 .. 14, so
    every position a 20-pull test reaches is trained; a history as long as the context sits at 0."""
    seen = []
    real = distill.transformer.transformer_forward
    monkeypatch.setattr(distill.transformer, "transformer_forward",
                        lambda p, x, cfg, offset=None: seen.append((x.shape[1], offset)) or real(p, x, cfg, offset))
    c = distill.DistillConfig(arms=3, pulls=20, context=20, n_layer=1, n_head=2, n_embd=8, batch=64, iters=3)
    acts, rews = distill.thompson(distill.make_bandits(np.random.default_rng(0), 10, 3), 20, np.random.default_rng(1))
    distill.train(c, acts[:, :6], rews[:, :6])
    offsets = np.concatenate([o for _, o in seen])
    assert {T for T, _ in seen} == {6} and offsets.min() == 0 and offsets.max() == 14
    assert len(np.unique(offsets)) == 15
    seen.clear()
    distill.train(c, acts, rews)
    assert all(o is None for _, o in seen)


def test_main_runs_both_experiments_and_a_part_keeps_the_others_numbers(tmp_path):
    c = distill.DistillConfig(arms=3, pulls=30, train_tasks=40, test_tasks=6, context=30, n_layer=1, n_head=2, n_embd=8,
                              iters=4, room_histories=12, room_iters=3, room_test_runs=4, room_test_episodes=8,
                              out=str(tmp_path))
    R = distill.main(c)
    assert set(R["curves"]) == {"source", "imitator", "random"} and len(R["per_pull"]["imitator"]) == 30
    assert {"imitator", "expert_trained", "source", "random"} <= set(R["room"]) and R["room"]["imitator"]["reading"]
    assert os.path.getsize(tmp_path / "bandits.png") > 0 and os.path.getsize(tmp_path / "room.png") > 0
    again = distill.main(distill.dataclasses.replace(c, part="room"))
    assert again["curves"] == R["curves"]                                 # bandits kept
    timeless = lambda room: {k: v for k, v in room.items() if k != "seconds"}
    assert timeless(again["room"]) == timeless(R["room"])                  # the same seeds, the same numbers

