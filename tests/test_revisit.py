"""revisit.py (page 9): the gap since a room's last visit, the rule's readings of known answer at
the real arm's size, the DQN learning a world of several rooms, the page's files and resume."""
import dataclasses
import json
import os

import numpy as np
import pytest

import distill
import dqn_source as ds
import horizon
import revisit


def test_gaps_count_episodes_since_the_rooms_last_visit():
    visits = np.array([[0, 1, 0, 0, 2, 1]])
    assert revisit.gaps(visits).tolist() == [[np.inf, np.inf, 2, 1, np.inf, 4]]


def test_by_gap_bins_late_episodes_by_d_over_k_and_first_visits_over_the_whole_run():
    d = np.array([[np.inf, 1.0, 3.0, 9.0]])
    x = np.array([[5.0, 1.0, 2.0, 3.0]])
    assert revisit.by_gap(x, d, 2, start=1) == [1.0, None, 2.0, None, 3.0, 5.0]   # d / k: 0.5, 1.5, 4.5


def test_the_rule_reads_known_answers_at_the_real_arms_size():
    """64 held-out worlds, the second half of 400 episodes, 4 rooms, context 2; scores drawn from
    a DQN-like spread (mostly 10-13 per episode, some failures): "keeps" for an imitator as good as
    the DQN, "forgets" for one falling past the context, neither at the bar (the targets)."""
    c = revisit.RevisitConfig()
    rng = np.random.default_rng(0)
    visits = rng.integers(0, c.rooms, (c.horizon_runs, c.source_episodes))
    d = revisit.gaps(visits)[:, c.source_episodes // 2:]
    dqn = np.where(rng.random(d.shape) < 0.1, 0.0, rng.integers(10, 14, d.shape)).astype(float)
    rates = revisit.power(dqn, d, 2, rng, c.keeps_share, sims=100)
    assert rates["as_good"]["keeps"] >= 0.9 and rates["falls"]["forgets"] >= 0.9
    assert rates["at_the_bar"]["keeps"] <= 0.1 and rates["at_the_bar"]["forgets"] <= 0.1


def test_a_fall_inside_the_context_is_not_read_as_forgetting_past_it():
    """An imitator equally poor within and past the context (0.3 of the DQN everywhere) has not
    lost anything at the context's edge: "can't tell", not "forgets"."""
    rng = np.random.default_rng(1)
    d = revisit.gaps(rng.integers(0, 4, (64, 400)))[:, 200:]
    dqn = rng.integers(10, 14, d.shape).astype(float)
    assert revisit.reading(0.3 * dqn, dqn, d, 2, rng)["reading"] == "can't tell"


def test_the_dqn_learns_a_world_of_two_rooms_with_cells_numbered_room_by_room():
    c = ds.DQNSourceConfig(side=5, source_episodes=120, learning_starts=100, target_every=100)
    room = horizon.room_of_side(5)
    rng = np.random.default_rng(0)
    goals = np.array([[0, 24], [4, 20], [2, 22], [10, 14], [0, 4], [20, 24], [7, 17], [13, 11]])
    visits = rng.integers(0, 2, (8, c.source_episodes))
    cells, actions, rewards = ds.learn_rooms(c, goals, seed=3, visits=visits)
    here = np.repeat(visits, room.episode, axis=1)                     # the room of every step
    assert (cells // room.n_cells == here).all()                      # numbered room * cells + cell
    nxt = distill.room_move(cells % room.n_cells, actions, room)
    assert (rewards == (nxt == goals[np.arange(8)[:, None], here])).all()   # paid on that room's goal
    curve = distill.episode_returns(rewards, room).mean(0)
    assert curve[:5].mean() < 2 and curve[-10:].mean() > 5             # it learns both goals


def test_playing_one_room_with_visits_is_playing_without_them():
    c = ds.DQNSourceConfig(side=5, source_runs=4, source_episodes=60, n_layer=1, n_embd=16, n_head=2, horizon_iters=5)
    room = horizon.room_of_side(5)
    hist = ds.learn_rooms(c, np.array([0, 4, 20, 24]), seed=1)
    p, tcfg, _, keep = horizon.train_cell(c, room, hist, 1)
    goals = np.array([0, 4, 20])
    plain = distill.play_room(p, tcfg, goals, 3, np.random.default_rng(5), room, keep=keep)
    same = distill.play_room(p, tcfg, goals[:, None], 3, np.random.default_rng(5), room, keep=keep,
                             visits=np.zeros((3, 3), np.int64))
    assert np.array_equal(plain, same)


def test_the_page_writes_its_files_and_resumes(tmp_path, monkeypatch):
    monkeypatch.setattr(horizon, "HORIZON_TOKENS", 480)
    c = revisit.RevisitConfig(side=5, rooms=2, source_runs=8, source_episodes=60, learning_starts=100, target_every=100,
                              horizon_runs=4, horizon_iters=10, dial_contexts="1", n_layer=1, n_embd=16, n_head=2,
                              out=str(tmp_path), histories=str(tmp_path / "runs"))
    V = revisit.main(c)
    assert os.path.exists(tmp_path / "revisit.png") and os.path.exists(tmp_path / "runs" / "side5_rooms2_seed0.npz")
    saved = json.load(open(tmp_path / "revisit.json"))
    r = saved["contexts"]["1"]
    assert r["reading"] in ("keeps", "forgets", "can't tell") and len(r["imitator_by_gap"]) == len(revisit.EDGES)
    assert set(saved["power"]["1"]) == {"as_good", "at_the_bar", "falls"}
    monkeypatch.setattr(horizon, "train_cell", lambda *a, **k: pytest.fail("a finished context was trained again"))
    assert revisit.main(c)["contexts"]["1"]["past"] == V["contexts"]["1"]["past"]


@pytest.mark.parametrize("flag,value,message", [("rooms", 0, "--rooms 0 must be positive"),
                                                ("keeps_share", 1.5, "--keeps_share 1.5"),
                                                ("side", 6, "--side 6 must be odd")])
def test_bad_flags_stop_with_one_line_naming_them(flag, value, message):
    with pytest.raises(SystemExit, match=message):
        revisit.check_config(dataclasses.replace(revisit.RevisitConfig(), **{flag: value}))
