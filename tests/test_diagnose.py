"""diagnose.py: both diagnoses run on tiny runs and write their JSON; play_games counts games;
bad flags stop before any work."""
import dataclasses
import json
import shutil
import os

import numpy as np
import pytest

import diagnose
import evaluate as ev
import pipeline
import history_io
import play
from test_evaluate import short_games, tiny_imitator   # noqa: F401 (fixtures)


def test_both_diagnoses_on_tiny_runs(tiny_run, tiny_imitator, tmp_path, short_games):
    c = diagnose.DiagnoseConfig(teacher=tiny_run, imitator=tiny_imitator, out=str(tmp_path / "results"),
                                states=300, games=1)
    out = diagnose.run(c)
    cc, d = out["copycat"], out["q1"]
    span = diagnose.imitator_heldout_end(tiny_imitator, tiny_run)            # 150 held-out steps of 3,000
    assert cc["steps"] == span[1] - span[0] == 150 and 0 <= cc["closed_loop"]["repeat_rate"] <= 1
    assert abs(sum(cc["closed_loop_space_invaders"]["action_mix"]) - 1) < 1e-9
    assert abs(sum(cc["teacher"]["action_mix"]) - 1) < 1e-9 and 0 <= cc["open_loop"]["acc_vs_teacher"] <= 1
    assert d["states"] == 150                                                 # only states it never trained on
    for key in ("acc_vs_teacher", "agree_with_teacher_greedy", "ball_erased_changes_prediction"):
        assert 0 <= d[key]["all"] <= 1 and 0 <= d[key]["decisive"] <= 1
    assert set(d["hand_over"]) == {"0", "100", "300", "1000", "5000"} and set(d["play"]) == {"argmax", "sampled"}
    saved = json.load(open(tmp_path / "results" / "q1_diagnosis.json"))
    assert saved["states"] == 150 and json.load(open(tmp_path / "results" / "copycat.json")) == cc
    # the verdict carries copycat.json when it finds one in its own --out
    R = pipeline.run_pipeline(pipeline.PipelineConfig(jobs=1, teacher=tiny_run, imitator=tiny_imitator, work=str(tmp_path / "w"),
                                      out=str(tmp_path / "results"), games=1, only="now_teacher"))
    assert R["copycat"] == cc


def test_held_out_states_are_the_last_recorded_steps(tiny_run):
    h, stacks, pa, pr, y = diagnose.held_out(tiny_run, 200, 8)
    assert stacks.shape == (200, 4, 84, 84) and len(pa) == len(pr) == len(y) == 200
    assert np.array_equal(y, h["action"][8:8 + 200]) and len(h["action"]) == 200 + 8    # up to the very end


def test_play_games_returns_one_score_per_game():
    never_serves = lambda stack, prev, prev_r, t: 0
    assert diagnose.play_games("breakout", never_serves, 3, seed=3, max_steps=40) == [0.0, 0.0, 0.0]


def test_bad_flags_stop_before_any_work(tmp_path):
    for kw, message in ((dict(only="copycat,nonsense"), r"unknown \['nonsense'\]"),
                        (dict(states=0), "--states 0 must be positive"),
                        (dict(teacher=str(tmp_path / "nope")), "--teacher .*nope: no config.json")):
        with pytest.raises(SystemExit, match=message):
            diagnose.run(diagnose.DiagnoseConfig(out=str(tmp_path / "o"), **kw))
    assert not os.path.exists(tmp_path / "o")


def test_ladder_judges_each_rung_by_the_common_protocol_and_resumes(tiny_run, tmp_path, short_games):
    """Two rungs (a transformer and a BC network) against one teacher: every player at the teacher's
    final epsilon, the table, the plot and the trend written; a second run plays nothing new."""
    from test_imitate import tiny_config
    import imitate
    rungs = []
    for name, kw in (("tf_a", dict(iters=2, late_share=0)), ("tf_b", dict(iters=4, late_share=0)),
                     ("bc_a", dict(model="bc", batch=8, iters=3, late_share=0)), ("tf_late", dict(iters=2, late_share=0.5))):
        imitate.train(tiny_config(tiny_run, tmp_path / name, **kw), log=lambda *a: None)
        rungs.append(str(tmp_path / name))
    c = diagnose.DiagnoseConfig(teacher=tiny_run, only="ladder", rungs=",".join(rungs), ladder_games=3,
                                work=str(tmp_path / "w"), out=str(tmp_path / "o"))
    out = diagnose.run(c)["ladder"]
    eps = play.final_epsilon(tiny_run)
    assert out["epsilon"] == eps and out["games"] == 3 and out["teacher"]["n"] == 3
    assert [r["updates"] for r in out["rungs"]] == [2, 4, 3, 2]
    assert [r["kind"] for r in out["rungs"]] == ["transformer", "transformer", "behaviour cloning", "transformer"]
    assert [diagnose.recipe_of(r) for r in out["rungs"]][::3] == ["transformer", "transformer, late_share 0.5"]
    # a trend line joins one recipe's rungs: the lever's single rung draws none, nor is it in the plain line
    plain = [(np.log10(r["updates"]), r["score"]["mean"]) for r in out["rungs"][:2]]
    assert np.isclose(out["trend"]["transformer"]["per_tenfold"], np.polyfit(*np.array(plain).T, 1)[0])
    assert "transformer, late_share 0.5" not in out["trend"]
    assert out["rungs"][2]["examples_per_update"] == 8 and out["rungs"][0]["examples_per_update"] == 2 * 32
    assert all(r["reading"] in ("yes", "no", "too short to tell") and r["score"]["n"] == 3 for r in out["rungs"])
    assert "transformer" in out["trend"] and "behaviour cloning" not in out["trend"]    # one BC rung: no line
    table = open(tmp_path / "o" / "q1_ladder.md").read()
    assert "`tf_b`" in table and f"epsilon {eps:g} for every player" in table and "late_share 0.5" in table
    assert os.path.getsize(tmp_path / "o" / "q1_ladder.png") > 0
    # the table and plot again from the saved JSON alone, nothing played: the same table
    os.remove(tmp_path / "o" / "q1_ladder.md")
    diagnose.write_ladder(json.load(open(tmp_path / "o" / "q1_ladder.json")), str(tmp_path / "o"))
    assert open(tmp_path / "o" / "q1_ladder.md").read() == table
    before = json.load(open(tmp_path / "w" / "tf_a" / "state.json"))
    again = diagnose.run(c)["ladder"]                                # resumed: the same games, none replayed
    assert json.load(open(tmp_path / "w" / "tf_a" / "state.json")) == before
    assert again["rungs"][0]["score"] == out["rungs"][0]["score"]
    # a later run with one rung keeps the rungs judged against the same teacher games, folders gone
    shutil.rmtree(tmp_path / "tf_a")
    one = diagnose.run(dataclasses.replace(c, rungs=rungs[1]))["ladder"]
    assert [r["name"] for r in one["rungs"]] == ["tf_a", "bc_a", "tf_late", "tf_b"] and one["rungs"][0] == out["rungs"][0]
    saved = open(tmp_path / "o" / "q1_ladder.json").read()             # other teacher games: refused, kept
    with pytest.raises(SystemExit, match=r"q1_ladder.json holds rungs judged against other teacher games \(games: 3 there, 2 now\)"):
        diagnose.run(dataclasses.replace(c, rungs=rungs[1], ladder_games=2, work=str(tmp_path / "w2")))
    assert open(tmp_path / "o" / "q1_ladder.json").read() == saved


def test_ladder_flags_are_checked_first(tmp_path):
    for kw, message in ((dict(only="ladder"), "--only ladder needs --rungs"),
                        (dict(only="ladder", rungs=str(tmp_path / "x"), teacher_final=str(tmp_path / "t")),
                         "--teacher_final .*t: no .*t.json"),
                        (dict(only="ladder", ladder_games=0), "--ladder_games 0 must be positive")):
        with pytest.raises(SystemExit, match=message):
            diagnose.run(diagnose.DiagnoseConfig(out=str(tmp_path / "o"), **kw))


def test_held_out_states_come_from_the_imitators_held_out_span(tiny_run, tmp_path):
    """With held-out blocks spread over the history, the diagnoses read the end of the imitator's
    last held-out span, never steps it trained on (the history's end now is trained on)."""
    from test_imitate import tiny_config
    import imitate
    imitate.train(tiny_config(tiny_run, tmp_path / "im", iters=1, context=16, val_frac=0.1), log=lambda *a: None)
    span = diagnose.imitator_heldout_end(str(tmp_path / "im"), tiny_run)
    assert span == [1500, 1800]
    h, stacks, pa, pr, y = diagnose.held_out(tiny_run, 200, 8, span)
    full = history_io.load_history(tiny_run)
    assert len(y) == 200 and np.array_equal(y, full["action"][1600:1800])      # the span's last 200 steps


def test_replications_count_the_seeds_of_one_recipe_that_pass():
    """Three seeds of one recipe (same kind, lever, updates and examples per update), one of them
    failing, and a rung of another recipe: one group, yes in 2 of 3; all three passing replicates."""
    rung = lambda name, reading, late=0.5, updates=24_000: dict(
        name=name, kind="transformer", late_share=late, updates=updates, examples_per_update=512, reading=reading)
    out = dict(rungs=[rung("s0", "yes"), rung("s1", "no"), rung("s2", "yes"), rung("plain", "yes", late=0),
                      rung("short", "yes", updates=6_000)])
    assert diagnose.replications(out) == [dict(recipe="transformer, late_share 0.5", updates=24_000,
                                               examples_per_update=512, names=["s0", "s1", "s2"], yes=2, of=3)]
    out["rungs"][1]["reading"] = "yes"
    assert diagnose.replications(out)[0]["yes"] == 3
    assert diagnose.replications(dict(rungs=out["rungs"][3:])) == []       # single rungs: nothing to replicate


def test_action_mix_counts_every_move_of_every_player(tiny_run, tiny_imitator, tmp_path, short_games):
    arms = tmp_path / "arms"
    os.makedirs(arms)
    steps = np.arange(1, 301) * 1000.0
    json.dump(dict(identity=dict(imitator="x"), games=[[s, float(k % 3), 1000, -1.0] for k, s in enumerate(steps)]),
              open(arms / "elsewhere_imitator.json", "w"))
    c = diagnose.DiagnoseConfig(teacher=tiny_run, only="actions", rungs=tiny_imitator, games=2, out=str(tmp_path),
                                families=str(arms))
    out = diagnose.run(c)["actions"]
    assert set(out["players"]) == {"teacher", tiny_imitator} and out["epsilon"] == play.final_epsilon(tiny_run)
    for name in out["players"]:
        for game in diagnose.ACTION_GAMES:
            d = out["players"][name][game]
            assert abs(sum(d["share"].values()) - 1) < 1e-9 and d["steps"] >= 2 and list(d["share"]) == list(
                diagnose.dqn.ACTIONS)
    assert json.load(open(tmp_path / "action_mix.json")) == out
    family = out["space_invaders_arms"][str(arms / "elsewhere_imitator.json")]
    assert family["games"] == 300 and family["mean"]["mean"] == 1.0 and family["share_of_games_scoring_0"] == pytest.approx(1 / 3)
    assert family["slope"]["reading"] == "too short to tell"                  # a level arm: no rise, no fall
    with pytest.raises(SystemExit, match="--only actions needs --rungs"):
        diagnose.check_config(dataclasses.replace(c, rungs=""))
