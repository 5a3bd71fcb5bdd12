"""dqn_source.py (page 8): the batched Q-network's gradients, a DQN that learns a small room, its
histories in page 6's schema, the dial's files, and bad flags stopped with one line."""
import dataclasses
import json
import os

import numpy as np
import pytest

import distill
import dqn_source as ds
import horizon
import toolbox
from conftest import assert_grad_close, numerical_grad


def tiny_q(seed, runs=2):
    """R = runs networks of a 3 x 3 room with 4 hidden units, float64, and their gradient views."""
    c = ds.DQNSourceConfig(side=3, hidden=4)
    shapes = ds.q_shapes(c, runs)
    (flat, p), (grad, g) = toolbox.alloc_params(shapes, np.float64), toolbox.alloc_params(shapes, np.float64)
    rng = np.random.default_rng(seed)
    ds.init_q(p, rng)
    return p, g, rng.normal(size=(runs, 3, 9)), rng.normal(size=(runs, 3, distill.N_MOVES))   # x (R, B, cells), dQ


def test_batched_q_network_backward_matches_finite_differences():
    """loss = (Q * dQ).sum() over R = 2 networks at once, float64: every parameter's gradient."""
    p, g, x, dq = tiny_q(0)
    ds.q_backward(dq, ds.q_forward(p, x)[1], g)
    for name in p:
        assert_grad_close(g[name], numerical_grad(lambda: float((ds.q_forward(p, x)[0] * dq).sum()), p[name]))


def test_each_run_of_the_batch_learns_only_from_its_own_data():
    """Run 0's gradients do not move when run 1's inputs change: R independent networks."""
    p, g, x, dq = tiny_q(1)
    ds.q_backward(dq, ds.q_forward(p, x)[1], g)
    first = g["w1"][0].copy()
    x[1] += 5.0
    ds.q_backward(dq, ds.q_forward(p, x)[1], g)
    assert np.array_equal(g["w1"][0], first) and not np.allclose(g["w1"][1], 0)


SMALL = dict(side=5, source_episodes=60, learning_starts=100, target_every=100)


def test_the_small_dqn_learns_a_room_and_writes_page_6s_history_schema():
    c = ds.DQNSourceConfig(**SMALL)
    room = horizon.room_of_side(5)
    goals = np.array([0, 4, 20, 24, 7, 13, 17, 2])                     # corners and edges, never the start
    cells, actions, rewards = ds.learn_rooms(c, goals, seed=3)
    T = c.source_episodes * room.episode
    assert cells.shape == actions.shape == rewards.shape == (8, T) and cells.dtype == np.int64
    assert (cells[:, ::room.episode] == room.start).all()              # every episode starts in the centre
    nxt = distill.room_move(cells, actions, room)                      # each move lands where the next step starts
    inside = (np.arange(T - 1) + 1) % room.episode != 0
    assert (nxt[:, :-1][:, inside] == cells[:, 1:][:, inside]).all()
    assert (rewards == (nxt == goals[:, None])).all()                  # paid for landing on the goal
    curve = distill.episode_returns(rewards, room).mean(0)
    random = distill.random_room(goals, 20, np.random.default_rng(0), room).mean()
    assert curve[:5].mean() < 2 and curve[-5:].mean() > 4 * max(random, 0.5)   # from random to the goal


ds_learn = ds.learn_rooms


def test_the_dial_writes_its_files_and_resumes(tmp_path, monkeypatch):
    monkeypatch.setattr(horizon, "HORIZON_TOKENS", 480)                # tiny batches for a test
    c = ds.DQNSourceConfig(**SMALL, source_runs=8, horizon_runs=4, horizon_iters=10, dial_contexts="2",
                           expert_episodes=4, n_layer=1, n_embd=16, n_head=2, out=str(tmp_path),
                           histories=str(tmp_path / "runs"))
    D = ds.main(c)
    for f in ("dial.json", "dial.png", "source.png", "questions.png"):
        assert os.path.exists(tmp_path / f), f
    saved = json.load(open(tmp_path / "dial.json"))
    assert set(saved["cells"]) == {"5x2"} and "expert" in saved and saved["source"]["needs_episodes"] >= 1
    for q in ("q2", "q3"):                                             # each with the DQN as the teacher column
        assert saved[q]["imitator"]["reading"] in ("yes", "no", "too short to tell") and "reading" in saved[q]["dqn"]
    cell = saved["cells"]["5x2"]
    assert saved["q2"]["cut_episodes"] == ds.Q2_CUT and len(saved["q3"]["dqn_per_episode"]) == cell["test_episodes"]
    assert cell["context_steps"] == 2 * 12 and cell["learning_over_context"] == pytest.approx(
        saved["source"]["needs_episodes"] / 2)
    assert os.path.exists(tmp_path / "runs" / "side5_seed0.npz")         # the histories are kept, and reused:
    monkeypatch.setattr(ds, "learn_rooms", lambda c, goals, seed, desc="", **k: (
        pytest.fail("kept histories recorded again") if len(goals) == 8 else ds_learn(c, goals, seed, desc, **k)))
    monkeypatch.setattr(horizon, "dial_cell", lambda *a, **k: pytest.fail("a finished cell was trained again"))
    monkeypatch.setattr(horizon, "train_cell", lambda *a, **k: pytest.fail("a finished question was trained again"))
    assert ds.main(c)["cells"]["5x2"]["ratio"] == D["cells"]["5x2"]["ratio"]
    A = ds.across_seeds([str(tmp_path), str(tmp_path)], str(tmp_path), [str(tmp_path)])   # the same seed twice
    r = A["cells"]["5x2"]["ratio"]
    assert r["min"] == r["mean"] == r["max"] == D["cells"]["5x2"]["ratio"]["mean"] and len(A["q2"]["imitator"]["readings"]) == 2
    assert os.path.exists(tmp_path / "seeds.png")
    with pytest.raises(SystemExit, match="no finished dial.json"):
        ds.across_seeds([str(tmp_path), str(tmp_path / "nowhere")], str(tmp_path))


@pytest.mark.parametrize("flag,value,message", [("side", 4, "--side 4 must be odd"),
                                                ("dial_contexts", "1,x", "--dial_contexts '1,x'"),
                                                ("dial_contexts", "500", "must lie in 1..300"),
                                                ("subsample", 0, "--subsample 0 must be positive"),
                                                ("gamma", 1.0, "--gamma 1.0"),
                                                ("source_runs", 0, "--source_runs 0 must be positive"),
                                                ("source_episodes", 30, "--source_episodes 30 must be at least 50")])
def test_bad_flags_stop_with_one_line_naming_them(flag, value, message):
    with pytest.raises(SystemExit, match=message.replace("(", r"\(")):
        ds.check_config(dataclasses.replace(ds.DQNSourceConfig(), **{flag: value}))


def test_subsampled_histories_keep_every_lth_episode_whole():
    room = horizon.room_of_side(3)                                      # episodes of 8 steps
    steps = np.arange(2 * 5 * room.episode).reshape(2, -1)             # 2 runs, 5 episodes
    kept = ds.subsampled((steps, steps, steps), room, 2)[0]
    assert kept.shape == (2, 3 * room.episode)                         # episodes 0, 2, 4
    assert kept[0].tolist() == list(range(0, 8)) + list(range(16, 24)) + list(range(32, 40))


def test_a_subsampled_variant_of_the_dial_puts_its_cells_at_need_over_k_times_l(tmp_path, monkeypatch):
    monkeypatch.setattr(horizon, "HORIZON_TOKENS", 480)
    c = ds.DQNSourceConfig(**SMALL, source_runs=8, horizon_runs=4, horizon_iters=5, dial_contexts="2", subsample=3,
                           questions=False, n_layer=1, n_embd=16, n_head=2, out=str(tmp_path),
                           histories=str(tmp_path / "runs"))
    D = ds.dial(c)
    cell = D["cells"]["5x2"]
    assert "q2" not in D and "expert" not in D and cell["subsample"] == 3
    assert cell["learning_over_context"] == pytest.approx(D["source"]["needs_episodes"] / 6)
    assert cell["source_needs_episodes"] == D["source"]["needs_episodes"]
