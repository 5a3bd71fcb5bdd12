"""horizon.py: the larger rooms and the slower source, the dial cell by cell (resumable, its
variants in files of their own), question 2 on both tasks, the bandit sweep; bad flags stop."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

import distill
import horizon

ROOT = Path(__file__).parents[1]
TINY = dict(n_layer=1, n_head=2, n_embd=16, horizon_iters=3, horizon_runs=4, room_histories=16)


def test_larger_rooms_reach_every_cell_and_their_explorer_takes_longer_to_learn():
    for side in (13, 17):
        room = horizon.room_of_side(side)
        far = 2 * (side // 2)                                                # centre to a corner
        assert room.episode >= far + 4 and room.start == (side // 2) * (side + 1)
        assert distill.room_move(room.start, 1, room) == room.start - side   # up a row of this room
        corner = room.n_cells - 1
        assert distill.room_move(corner, 2, room) == corner and distill.room_move(corner, 4, room) == corner
    rng = np.random.default_rng(3)
    need = {}
    for side in (9, 17):
        room = horizon.room_of_side(side)
        train, test = distill.room_goals(rng, room)
        assert len(set(train) | set(test)) == room.n_cells - 1
        goals = rng.choice(train, 200)
        cells, _, rews = distill.explorer(goals, 40, rng, room=room)
        assert cells.max() < room.n_cells and (cells[:, ::room.episode] == room.start).all()
        need[side] = horizon.episodes_to_learn(distill.episode_returns(rews, room).mean(0))
    assert need[17] > need[9] + 4                                            # the bigger room takes longer


def test_the_slower_source_learns_only_from_every_nth_episode():
    """learn_every = 3: episodes 2 and 3 of a history are played on the beliefs formed in episode 1
    (so they pay like episode 2 of a learner that learns from every episode... or less), it
    needs about three times the episodes to learn, and learn_every = 1 is page 6's learner."""
    room = horizon.room_of_side(9)
    goals = np.random.default_rng(0).choice(distill.room_goals(np.random.default_rng(1))[0], 400)
    curve = {}
    for L in (1, 3):
        _, _, rews = distill.explorer(goals, 60 * L, np.random.default_rng(2), room=room, learn_every=L)
        curve[L] = distill.episode_returns(rews, room).mean(0)
    assert abs(curve[3][1] - curve[3][2]) < 0.6                              # nothing learned in episode 2
    assert curve[1][2] > curve[1][1] + 1.5                                   # page 6's learner did learn
    assert abs(curve[3][-5:].mean() - curve[1][-5:].mean()) < 1.0            # the same end, later
    need = {L: horizon.episodes_to_learn(v) for L, v in curve.items()}
    assert 2.2 * need[1] < need[3] < 3.8 * need[1]
    same = [distill.explorer(goals[:50], 6, np.random.default_rng(4), room=room, **k) for k in ({}, {"learn_every": 1})]
    assert all((a == b).all() for a, b in zip(*same))


def test_episodes_to_learn_reads_a_known_curve():
    assert horizon.episodes_to_learn([0, 2, 5, 9, 10, 10, 10, 10, 10]) == 4     # 9 >= 0.9 x 10 at episode 4


def test_horizon_dial_is_resumable_cell_by_cell_and_plots(tmp_path, monkeypatch):
    c = horizon.HorizonConfig(**TINY, horizon_sides="5,7", horizon_contexts="1,2", out=str(tmp_path))
    trained = []
    real_train = distill.train
    monkeypatch.setattr(distill, "train", lambda *a, **k: trained.append(k["desc"]) or real_train(*a, **k))
    H = horizon.main(c)
    cells = H["cells"]
    assert set(cells) == {"5x1", "5x2", "7x1", "7x2"} and len(trained) == 4
    for v in cells.values():
        assert v["context_steps"] == v["context_episodes"] * v["episode_steps"]
        assert v["learning_over_context"] == v["source_needs_episodes"] / v["context_episodes"]
        assert v["ratio"]["lo"] <= v["ratio"]["mean"] <= v["ratio"]["hi"] or v["source_last_5"] == 0
    assert os.path.getsize(tmp_path / "horizon.png") > 0
    assert horizon.main(c) == H and len(trained) == 4                          # nothing retrained


def test_dial_variants_have_files_of_their_own(tmp_path, monkeypatch):
    """The window that starts over (keep 0) and the slower source (slow 3) each write their own
    file; the slower source's room takes longer to learn than page 6's in the same room."""
    keeps = []
    real_play = distill.play_room
    monkeypatch.setattr(distill, "play_room", lambda *a, keep=None, **k: keeps.append(keep) or real_play(*a, keep=keep, **k))
    base = dict(TINY, horizon_sides="5", horizon_contexts="1", out=str(tmp_path))
    R0 = horizon.main(horizon.HorizonConfig(**base, horizon_keep=0.0))
    assert keeps == [0] and R0["keep"] == 0
    assert os.path.exists(tmp_path / "horizon_keep0.json") and not os.path.exists(tmp_path / "horizon.json")
    base["horizon_sides"] = "9"
    fast = horizon.main(horizon.HorizonConfig(**base))["cells"]["9x1"]
    slow = horizon.main(horizon.HorizonConfig(**base, horizon_slow=3))["cells"]["9x1"]
    assert os.path.exists(tmp_path / "horizon_slow3.json")
    assert slow["source_needs_episodes"] > 2 * fast["source_needs_episodes"]
    assert slow["test_episodes"] > fast["test_episodes"]
    assert set(horizon.dials(str(tmp_path))) == {"horizon", "horizon_keep0", "horizon_slow3"}


def test_question2_on_both_tasks_three_seeds_resumable_with_three_readings(tmp_path, monkeypatch):
    c = horizon.HorizonConfig(arms=3, pulls=30, train_tasks=40, test_tasks=6, n_layer=1, n_head=2, n_embd=8, iters=4,
                              room_histories=12, room_iters=3, room_test_runs=4, room_test_episodes=10,
                              out=str(tmp_path), part="q2")
    trained = []
    real_train = distill.train
    monkeypatch.setattr(distill, "train", lambda *a, **k: trained.append(k.get("desc", "imitator")) or real_train(*a, **k))
    R = horizon.main(c)
    assert sorted(R["runs"]) == sorted(f"{t}_seed{s}" for t in ("bandits", "room") for s in range(3))
    assert len(trained) == 12                               # per seed: bandits whole + cut, room cut + whole
    readings = {"yes", "no", "too short to tell"}
    for s in range(3):
        b, r = R["runs"][f"bandits_seed{s}"], R["runs"][f"room_seed{s}"]
        assert b["context"] == 30 and b["reading"] in readings and b["full_histories"]["reading"] in readings
        assert len(b["per_pull"]) == len(b["per_pull_source"]) == len(b["per_pull_full_histories"]) == 30
        assert r["context_steps"] == 10 * distill.EPISODE and r["cut"]["history_steps"] == 5 * distill.EPISODE
        assert r["cut"]["reading"] in readings and r["full_histories"]["reading"] in readings
        assert len(r["per_episode"]["cut"]) == 10
    assert os.path.getsize(tmp_path / "q2.png") > 0
    assert horizon.main(c) == R and len(trained) == 12                    # nothing retrained


def test_question2s_bandits_match_page_6s_run_of_the_same_seed():
    """The imitator on whole histories in question 2 is page 6's positive control, draw for draw."""
    c = horizon.HorizonConfig(arms=3, pulls=30, train_tasks=40, test_tasks=6, n_layer=1, n_head=2, n_embd=8, iters=4)
    q2 = horizon.bandits_q2(c, log=lambda *a: None)
    R = distill.positive_control(c, log=lambda *a: None)
    assert q2["per_pull_full_histories"] == R["per_pull"]["imitator"] and q2["source"] == R["curves"]["source"]


def test_sweep_is_resumable_cell_by_cell(tmp_path, monkeypatch):
    """Every finished (tasks x context) cell is saved at once; a rerun trains only the missing ones."""
    monkeypatch.setattr(horizon, "SWEEP_TASKS", (1, 4))
    monkeypatch.setattr(horizon, "SWEEP_CONTEXT", (10,))
    c = horizon.HorizonConfig(arms=3, pulls=30, test_tasks=4, n_layer=1, n_head=2, n_embd=16, batch=8, sweep_iters=5,
                              out=str(tmp_path), part="sweep")
    trained = []
    real_train = distill.train
    monkeypatch.setattr(distill, "train", lambda *a, **k: trained.append(k["desc"]) or real_train(*a, **k))
    first = horizon.main(c)
    assert set(first) == {"1x10", "4x10"} and len(trained) == 2 and os.path.getsize(tmp_path / "sweep.png") > 0
    again = horizon.sweep(c, log=lambda *a: None)
    assert again == first and len(trained) == 2                     # nothing retrained


def test_bad_flags_stop_at_once(tmp_path):
    for flags, says in ((["--horizon_sides", "9,x"], "--horizon_sides '9,x' must be whole numbers"),
                        (["--horizon_contexts", "0,2"], "--horizon_contexts '0,2' must be whole numbers"),
                        (["--horizon_slow", "0"], "--horizon_slow 0 must be 1"),
                        (["--part", "room"], "--part 'room' is unknown"),
                        (["--n_embd", "30"], "--n_embd 30 must be a multiple of --n_head 4")):
        p = subprocess.run([sys.executable, "horizon.py", *flags, "--out", str(tmp_path / "h")], capture_output=True,
                           text=True, cwd=str(ROOT))
        assert p.returncode != 0 and says in p.stderr and "Traceback" not in p.stderr, (flags, p.stderr)
    assert not (tmp_path / "h").exists()
    p = subprocess.run([sys.executable, "horizon.py", "--help"], capture_output=True, text=True, cwd=str(ROOT))
    assert "learns from one episode in this many" in p.stdout and "positions the imitator sees" in p.stdout
