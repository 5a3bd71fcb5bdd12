"""evaluate.py: the statistics on curves with known answers, resumable arms, the whole verdict on
tiny runs, and clear errors for missing or mismatched inputs."""
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import types

import numpy as np
import pytest

import dqn
import evaluate as ev
import pipeline
import play
import imitate
import checkpoints
import history_io
import arm_files
import record
import table
import verdict
import power
import toolbox
from conftest import ROOT
from test_imitate import tiny_config


# --- statistics --------------------------------------------------------------------------------
def test_mean_and_difference_intervals():
    rng = np.random.default_rng(0)
    x = rng.normal(10, 2, 400)
    m = verdict.mean_ci(x, rng)
    assert m["lo"] < 10 < m["hi"] and m["hi"] - m["lo"] < 1.0 and m["mean"] == pytest.approx(x.mean())
    d = verdict.diff_ci(x, x + 5, rng)
    assert d["diff"] == pytest.approx(-5) and d["hi"] < 0
    same = verdict.diff_ci(x, rng.normal(10, 2, 400), rng)
    assert same["lo"] < 0 < same["hi"]


def test_slope_flat_and_rising_curves():
    rng = np.random.default_rng(1)
    steps = np.sort(rng.uniform(0, 1e6, 500))
    flat = rng.normal(20, 5, 500)
    rising = 5 + 3e-5 * steps + rng.normal(0, 5, 500)          # 3 points per 100k steps
    s_flat, s_rise = verdict.slope_reading(steps, flat, rng), verdict.slope_reading(steps, rising, rng)
    assert s_flat["lo"] < 0 < s_flat["hi"] and s_flat["reading"] == "too short to tell"
    assert s_rise["lo"] < 3 < s_rise["hi"] and s_rise["reading"] == "yes"
    assert verdict.slope(steps, 7 - 1e-5 * steps) == pytest.approx(-1.0)
    falling = verdict.slope_reading(steps, 30 - 2e-5 * steps + rng.normal(0, 1, 500), rng)
    assert falling["hi"] < 0 and falling["reading"] == "no"


def test_block_slopes_are_the_slopes_of_the_resampled_games():
    """block_slopes adds running sums instead of copying each resample: the same numbers as
    building every resample of blocks (cut to n games) and fitting its slope."""
    rng = np.random.default_rng(2)
    steps, scores = np.sort(rng.uniform(0, 1e6, 103)), rng.gamma(1.0, 10.0, 103)
    fast, b = verdict.block_slopes(steps, scores, np.random.default_rng(3), n_boot=50)
    starts = np.random.default_rng(3).integers(0, 103 - b + 1, (50, int(np.ceil(103 / b))))
    idx = (starts[:, :, None] + np.arange(b)).reshape(50, -1)[:, :103]             # (50, 103) the resamples
    slow = [np.polyfit(steps[i] / 1e5, scores[i], 1)[0] for i in idx]
    assert b == 11 and np.allclose(fast, slow, rtol=1e-9, atol=1e-12)


# --- a playing arm resumes without repeating or losing games -------------------------------------
class DiesAfter:
    """A random policy that raises (like Ctrl-C) after a number of moves."""

    def __init__(self, moves):
        self.rng, self.left = np.random.default_rng(0), moves

    def act(self, stack, prev_action, prev_reward):
        self.left -= 1
        if self.left < 0:
            raise KeyboardInterrupt
        return int(self.rng.integers(4))


def test_play_arm_resumes_without_repeats_or_losses(tmp_path):
    arm = str(tmp_path / "arm")
    with pytest.raises(KeyboardInterrupt):
        play.play_arm(arm, "breakout", DiesAfter(450), n_games=4)
    saved = json.load(open(os.path.join(arm, "state.json")))["games"]
    assert 1 <= len(saved) < 4
    games = play.play_arm(arm, "breakout", play.RandomPolicy(np.random.default_rng(1)), n_games=4)
    assert len(games) == 4 and games[:len(saved)] == saved          # nothing lost, nothing repeated
    ends, lengths = [g[0] for g in games], [g[2] for g in games]
    assert ends == list(np.cumsum(lengths))                          # steps count each game exactly once


# --- end to end on tiny runs --------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_imitator(tiny_run, tmp_path_factory):
    out = tmp_path_factory.mktemp("imitator")
    imitate.train(tiny_config(tiny_run, out, iters=4, stage_input=False), log=lambda *a: None)   # stage arms:
                                                                  # their own test, below
    return str(out)


@pytest.fixture
def short_games(monkeypatch):
    """Untrained players may never press FIRE: cap games at 400 agent steps to keep tests short."""
    monkeypatch.setattr(dqn, "MAX_FRAMES", 1600)


def test_evaluate_end_to_end_on_tiny_runs(tiny_run, tiny_imitator, tmp_path, short_games):
    c = pipeline.PipelineConfig(jobs=1, teacher=tiny_run, imitator=tiny_imitator, work=str(tmp_path / "work"),
                      out=str(tmp_path / "results"), games=3, steps=800, control_steps=400)
    R = pipeline.run_pipeline(c)
    for key in ("now", "later", "elsewhere", "swap", "noreward"):
        assert key in R, key
    assert "imitator_prompted" in R["elsewhere"] and "stages" not in R     # no stage input: no stage arms
    assert R["now"]["teacher"]["n"] == 3 and 0 <= R["now"]["move_agreement"] <= 1
    metrics = json.load(open(os.path.join(tiny_imitator, "metrics.json")))   # on the teacher's states, too
    assert R["imitator_training_metrics"]["agree_with_final_teacher_greedy"] == metrics["agree_with_final_teacher_greedy"]
    assert R["later"]["teacher"]["games"] >= 1 and isinstance(R["later"]["imitator"]["verdict"], bool)
    table = open(tmp_path / "results" / "verdict.md").read()
    assert "| 1. **Now**" in table and "not run yet" not in table
    assert f"{metrics['agree_with_final_teacher_greedy']:.0%} on the teacher's held-out states" in table
    assert "copycat" not in R                                        # diagnose.py's, when it has run
    for f in ("verdict.json", "now.png", "later.png", "elsewhere.png", "controls.png"):
        assert os.path.exists(tmp_path / "results" / f), f
    again = pipeline.run_pipeline(c)                                       # every arm is done: nothing re-runs
    assert again["now"]["teacher"] == R["now"]["teacher"]


def test_missing_and_mismatched_inputs_name_the_file(tiny_run, tiny_imitator, tmp_path):
    with pytest.raises(Exception, match="no recorded history"):
        history_io.load_history(str(tmp_path / "nothing"))
    meta_path = os.path.join(tiny_imitator, "imitator.json")
    meta = json.load(open(meta_path))
    bad = tmp_path / "bad"
    os.makedirs(bad)
    json.dump(meta | {"n_actions": 6}, open(bad / "imitator.json", "w"))
    os.link(os.path.join(tiny_imitator, "imitator.npz"), bad / "imitator.npz")
    with pytest.raises(ValueError, match="bad/imitator.json is not an imitator for 4 actions"):
        play.ImitatorPolicy(str(bad / "imitator"))
    other = tmp_path / "other.npz"
    np.savez(other, params=np.zeros(10, np.float32))
    json.dump({"network": "other", "n_actions": 4}, open(tmp_path / "other.json", "w"))
    with pytest.raises(ValueError, match="other.npz is not a 2013-DQN checkpoint"):
        play.TeacherPolicy(str(tmp_path / "other"), 0.0, np.random.default_rng(0))
    with pytest.raises(SystemExit, match="unknown"):
        ev.selected(ev.EvalConfig(only="nonsense"), ev.arms(ev.EvalConfig()))
    with pytest.raises(SystemExit, match="diagnose.py --only copycat"):     # moved to its own page
        ev.selected(ev.EvalConfig(only="copycat"), ev.arms(ev.EvalConfig()))
    assert ev.selected(ev.EvalConfig(only="table"), ev.arms(ev.EvalConfig())) == []   # the table alone
    assert ev.selected(ev.EvalConfig(only="later,swap_teacher"), ev.arms(ev.EvalConfig())) == [
        "later_teacher", "swap_teacher", "later_imitator", "later_imitator_held"]   # the teacher's arms first


# --- the verdict rules on synthetic data with known answers ---------------------------------------
def test_equivalence_needs_evidence_of_alike_not_absence_of_difference():
    rng = np.random.default_rng(3)
    teacher, same = rng.normal(30, 8, 400), rng.normal(30, 8, 400)
    assert verdict.equivalence(same, teacher, rng)["verdict"]                     # an equivalent pair
    worse = rng.normal(20, 8, 400)
    assert not verdict.equivalence(worse, teacher, rng)["verdict"]                # a non-equivalent pair
    few_t, few_i = rng.normal(30, 12, 8), rng.normal(24, 12, 8)              # too few games to tell
    assert not verdict.equivalence(few_i, few_t, rng)["verdict"]
    assert verdict.equivalence(same, teacher, rng)["margin"] == pytest.approx(0.25 * teacher.mean())


def test_flat_curve_with_a_few_outlier_games_does_not_read_improving():
    """Six wild games at the end of a flat arm sit in one or two blocks, which most resamples miss:
    the interval reaches down to the flat curve's slope, and the reading is not "yes"."""
    rng = np.random.default_rng(4)
    steps = np.sort(rng.uniform(0, 1e6, 400))
    scores = rng.normal(3, 1, 400)
    scores[-6:] = 60                                                          # six wild games at the end
    t = verdict.trend(steps, scores, 1e6, rng)
    assert t["slope"] > 0.3 and not t["verdict"]                              # least squares alone would rise
    rising = 5 + 3e-5 * steps + rng.normal(0, 5, 400)
    r = verdict.trend(steps, rising, 1e6, rng)
    assert r["verdict"] and r["quarters"][0]["mean"] < r["quarters"][3]["mean"]


def test_block_bootstrap_is_wider_than_independent_games_on_dependent_data():
    rng = np.random.default_rng(5)
    steps = np.arange(1000) * 1000.0
    walk = np.cumsum(rng.normal(0, 1, 1000))                                  # neighbours share a state
    x = steps / 1e5
    fit = np.polyfit(x, walk, 1)
    naive_se = np.std(walk - np.polyval(fit, x)) / np.sqrt(((x - x.mean()) ** 2).sum())  # independent games' se
    block = verdict.block_slope_ci(steps, walk, rng)
    assert block["hi"] - block["lo"] > 2 * (2 * 1.96 * naive_se)


def test_tiny_reward_effect_is_not_using_reward():
    rng = np.random.default_rng(6)
    normal, zeroed = rng.normal(2.7, 1, 5000), rng.normal(2.6, 1, 5000)
    r = verdict.reward_effect(zeroed, normal, rng)
    assert r["hi"] < 0 and not r["verdict"]                                   # detectable, but 4% of the score
    assert verdict.reward_effect(rng.normal(1.5, 1, 2000), normal, rng)["verdict"]


def test_only_is_checked_before_any_work_and_table_never_starts_a_run(tmp_path):
    c = pipeline.PipelineConfig(jobs=1, teacher=str(tmp_path / "t"), imitator=str(tmp_path / "i"), work=str(tmp_path / "w"),
                      out=str(tmp_path / "o"), only="nonsense")
    with pytest.raises(SystemExit, match="unknown"):
        pipeline.run_pipeline(c)
    c.only = "now"                                     # an arm without its teacher: named, nothing started
    with pytest.raises(SystemExit, match=r"--teacher .*/t and --imitator .*/i: not found"):
        pipeline.run_pipeline(c)
    c.only = "table"                                   # a fresh clone: nothing to tabulate, nothing started
    assert pipeline.run_pipeline(c) == {}
    assert not os.path.exists(tmp_path / "t") and not os.path.exists(tmp_path / "o" / "verdict.md")


def test_stage_gain_needs_a_real_gain():
    rng = np.random.default_rng(7)
    at_end = rng.normal(20, 8, 30)
    assert not verdict.stage_gain(rng.normal(20, 8, 30), at_end, rng)["verdict"]     # no better when told later
    assert not verdict.stage_gain(rng.normal(20.5, 0.1, 5000), np.full(5000, 20.0), rng)["verdict"]  # a nudge
    assert verdict.stage_gain(rng.normal(32, 8, 30), at_end, rng)["verdict"]


def test_an_arm_finishing_never_moves_another_rows_numbers():
    """Each row bootstraps from its own stream: a number once reported stays what it was when
    another arm finishes later (with one shared stream, every later row's draws would shift)."""
    rng = np.random.default_rng(4)
    game = lambda n, mu: [[1000 * (i + 1), float(s), 100, 0.4] for i, s in enumerate(rng.normal(mu, 8, n))]
    g = {"now_teacher": game(30, 40), "now_imitator": game(30, 11), "stage_x1": game(30, 10),
         "stage_x2": game(30, 7), "swap_teacher": game(50, 2), "swap_imitator": game(50, 0)}
    scale = dict(steps=200_000, control_steps=50_000, games=30, quick=False)
    before = verdict.judge(g, scale, np.random.default_rng(0))
    g |= {"later_teacher": game(200, 45), "later_imitator_held": game(200, 10),    # judged before the stages
          "later_imitator": game(200, 9)}                                   # (and adding a cell to them)
    after = verdict.judge(g, scale, np.random.default_rng(0))
    assert "later" in after and "later" not in before and "stage_advancing" in after["stages"]
    for row in ("now", "stages", "swap"):
        assert {k: v for k, v in after[row].items() if k != "stage_advancing"} == before[row], row


def test_stage_arms_and_the_prompted_transplant(tiny_run, tmp_path, short_games):
    """An imitator with a stage input is told stages past its history's end (question 2's sharp
    form); the later arm's stage moves on with its steps; question 3 can prompt it with the
    transplanted teacher's first steps."""
    im = tmp_path / "im"
    imitate.train(tiny_config(tiny_run, im, iters=3, stage_input=True), log=lambda *a: None)
    pol = play.ImitatorPolicy(str(im / "imitator"), stage_advances=True)
    L = history_io.history_length(tiny_run)
    assert pol.has_stage and pol.player.stage == L / imitate.STAGE_UNIT
    pol.at_arm_step(1000)
    assert pol.player.stage == (L + 1000) / imitate.STAGE_UNIT
    last = pol.prompt(tiny_run, where="start")                       # the first K recorded steps
    h = history_io.load_history(tiny_run)
    assert last == (int(h["action"][31]), float(h["reward_clip"][31]))
    c = pipeline.PipelineConfig(jobs=1, teacher=tiny_run, imitator=str(im), work=str(tmp_path / "w"), out=str(tmp_path / "o"),
                      games=2, only="now_teacher,stages")
    R = pipeline.run_pipeline(c)
    assert R["stages"]["history_multiples"] == list(ev.STAGE_PROBES)
    assert isinstance(R["stages"]["beyond_minus_end"]["verdict"], bool)
    assert os.path.exists(tmp_path / "o" / "stages.png") and "Later, told so" in open(tmp_path / "o" / "verdict.md").read()
    assert json.load(open(tmp_path / "o" / "verdict.json"))["rules"]["min_stage_gain"] == verdict.MIN_STAGE_GAIN


def test_readings_say_too_short_to_tell_where_the_data_cannot_decide():
    """Never a bare "no" the data do not support: few games or wide intervals read "too short to
    tell"; a tight interval far below the teacher's improvement reads "no"."""
    rng = np.random.default_rng(8)
    steps = np.sort(rng.uniform(0, 1e6, 2000))
    teacher_arm = (steps, 5 + 0.6 * steps / 1e5 + rng.normal(0, 1, 2000))    # rises 0.6 per 100k steps
    flat_many = verdict.trend(steps, rng.normal(3, 1, 2000), 1e6, rng, teacher_arm)
    assert flat_many["reading"] == "no"
    few = verdict.trend(steps[:6], rng.normal(3, 5, 6), 1e6, rng, teacher_arm)
    assert few["reading"] == "too short to tell"
    assert verdict.trend(steps[:2], [1.0, 2.0], 1e6, rng)["reading"] == "too short to tell"   # no interval at all
    teacher = rng.normal(30, 8, 30)
    assert verdict.equivalence(rng.normal(5, 2, 30), teacher, rng)["reading"] == "no"
    assert verdict.equivalence(np.array([12.0, 36.0, 12.0, 36.0]), teacher, rng)["reading"] == "too short to tell"
    assert verdict.reward_effect([], [1.0, 2.0], rng)["reading"] == "too short to tell"      # nothing to compare


def test_quick_scale_verdict_has_no_warnings():
    """Arms of a few games (the classroom scale): every cell is filled, nothing warns."""
    import warnings
    g = {"now_teacher": [[100, 1.0, 100, -1]] * 3, "now_imitator": [[100, 0.0, 100, 0.5]] * 3,
         "later_teacher": [[5000, 1.0, 100, -1]], "later_imitator": [[14000, 0.0, 100, -1]],
         "elsewhere_teacher": [[100, 1, 1, -1], [200, 2, 1, -1]], "elsewhere_fresh": [[100, 1, 1, -1]],
         "elsewhere_imitator": [[100, 0, 1, -1]], "elsewhere_random": [[100, 1, 1, -1]],
         "swap_teacher": [[100, 1, 1, -1]], "swap_imitator": [[100, 0, 1, -1]], "noreward_imitator": [[100, 0, 1, -1]]}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        R = verdict.judge(g, dict(steps=15000, control_steps=5000, games=5, quick=True), np.random.default_rng(0))
        text = table.table(R)
    assert "SMALL-SCALE" in text and "too short to tell" in text and "not run yet" not in text.split("2'.")[0]


def test_across_seeds_table_prints_no_minus_zero():
    g = {"now_teacher": [[100, 1.0, 100, -1]] * 3, "now_imitator": [[100, 0.0, 100, 0.5]] * 3}
    R = verdict.judge(g, dict(steps=1000, control_steps=500, games=3, quick=False), np.random.default_rng(0))
    R["seeds"] = dict(imitators=["a", "b"], swap=dict(values=[0.001, -0.002], mean=-0.0005, min=-0.002, max=0.001,
                                                     readings=["no", "no"], yes=0))
    row = [line for line in table.table(R).splitlines() if line.startswith("| control: LEFT/RIGHT")][-1]
    assert "slope: 0.00 / 0.00 | 0.00 (0.00 to 0.00)" in row and "-0.00" not in row
    assert table.fmt(dict(mean=-0.001, lo=-0.04, hi=0.02)) == "0.00 [-0.04, 0.02]"   # narrow: more digits
    assert table.fmt(dict(mean=11.53, lo=9.8, hi=13.3)) == "11.5 [9.8, 13.3]" and table.num(-0.06) == "-0.1"
    assert table.fmt(dict(mean=0.0, lo=0.0, hi=0.0)) == "0.0 [0.0, 0.0]"                # every game alike


def test_across_seeds_a_seed_that_fails_q1_reads_not_testable_on_the_other_questions():
    def seed(imitator_score, zeroed):                       # teacher 10; the imitator's reward control moves it by 3
        g = {"now_teacher": [[100, 10.0, 100, -1], [200, 11.0, 100, -1], [300, 9.0, 100, -1]] * 10,
             "now_imitator": [[100, imitator_score, 100, 0.5], [200, imitator_score + 1, 100, 0.5]] * 15,
             "later_imitator": [[k * 100, 5.0 + k % 2, 100, -1] for k in range(1, 41)],
             "noreward_imitator": [[k * 100, zeroed + k % 2, 100, -1] for k in range(1, 41)]}
        return verdict.judge(g, dict(steps=4000, control_steps=4000, games=30, quick=False), np.random.default_rng(0))
    alike, unlike = seed(9.5, 8.0), seed(1.0, 8.0)
    assert alike["now"]["reading"] == "yes" and unlike["now"]["reading"] == "no"
    S = verdict.across_seeds([alike, unlike], ["a", "b"])
    assert S["now"]["readings"] == ["yes", "no"]
    assert S["noreward"]["readings"] == ["yes", "not testable, fails Q1 (yes)"]   # never a bare answer for seed b
    assert S["now"]["yes"] == 1 and S["noreward"]["yes"] == 1                      # seed b's "(yes)" is no pass
    R = dict(alike, seeds=S)
    row = [line for line in table.table(R).splitlines() if line.startswith("| 1. **Now**")][-1]
    assert row.endswith("| yes / no: yes in 1 of 2 |")


def test_seeds_of_the_imitator_play_their_own_arms_and_the_table_shows_the_spread(tiny_run, tmp_path, short_games):
    for k in (0, 1):
        imitate.train(tiny_config(tiny_run, tmp_path / f"im{k}", iters=2, seed=k), log=lambda *a: None)
    c = pipeline.PipelineConfig(jobs=1, teacher=tiny_run, imitator=str(tmp_path / "im0"), seeds=str(tmp_path / "im1"),
                      work=str(tmp_path / "w"), out=str(tmp_path / "o"), games=3, only="now")
    assert ev.selected(c, ev.arms(c)) == ["now_teacher", "now_imitator", "now_imitator_empty", "now_imitator_argmax",
                                          "now_imitator@seed1", "now_imitator_empty@seed1",
                                          "now_imitator_argmax@seed1"]
    R = pipeline.run_pipeline(c)
    assert os.path.exists(tmp_path / "w" / "seed1" / "now_imitator" / "state.json")   # its own folder
    assert len(R["seeds"]["now"]["values"]) == 2 and R["seeds"]["now"]["values"][0] == R["now"]["imitator"]["mean"]
    text = open(tmp_path / "o" / "verdict.md").read()
    assert "Across 2 seeds" in text and "trained with 2 seeds" in text and "one seed per arm" not in text
    seed1 = json.load(open(tmp_path / "o" / "verdict_seed1.json"))                   # the second seed's whole table
    assert seed1["now"]["imitator"]["mean"] == R["seeds"]["now"]["values"][1] and seed1["imitator"] == c.seeds
    assert "another seed of the recipe" in open(tmp_path / "o" / "verdict_seed1.md").read()


def test_play_arm_ends_games_at_max_game_steps(tmp_path):
    games = play.play_arm(str(tmp_path / "arm"), "breakout", play.RandomPolicy(np.random.default_rng(2)), n_games=3,
                        max_game_steps=60)
    assert [g[2] for g in games] == [60, 60, 60]                     # random play lasts longer than 60 steps
    assert [g[0] for g in games] == list(np.cumsum([g[2] for g in games]))


def test_quick_starts_from_the_committed_teacher_and_imitator(tiny_run, tiny_imitator, tmp_path, monkeypatch):
    """--quick trains nothing: it records a little frozen play of the committed teacher, plays short
    arms with the committed imitator, and shows the teacher's learning from its committed record."""
    committed = tmp_path / "committed"
    committed.mkdir()
    last = checkpoints.checkpoint_name(tiny_run, checkpoints.list_checkpoints(tiny_run)[-1])
    for ext in (".npz", ".json"):
        shutil.copy(last + ext, committed / f"teacher_final{ext}")
    toolbox.write_json(str(committed / "teacher_summary.json"), dict(game="breakout", steps=3000, games=40,
                                                                quarter_means=[-1.0, 0.5, 2.0, 4.0]))
    monkeypatch.setitem(pipeline.QUICK, "teacher", str(committed / "teacher_final"))
    monkeypatch.setitem(pipeline.QUICK, "imitator", tiny_imitator)
    monkeypatch.setitem(pipeline.QUICK, "record", dict(steps=300, chunk_steps=100, checkpoint_every=300))
    monkeypatch.setitem(pipeline.QUICK, "evaluate", dict(games=2, steps=300, control_steps=200, max_game_steps=120))
    monkeypatch.chdir(tmp_path)
    R = pipeline.run_pipeline(pipeline.PipelineConfig(quick=True, out="results", only="now,later,controls"))
    assert history_io.history_length("runs/quick/breakout") == 300
    assert json.load(open("runs/quick/breakout/config.json"))["frozen"] == str(committed / "teacher_final")
    assert not os.path.exists("runs/quick/imitator")                          # nothing trained
    assert R["scale"]["quick"] and R["teacher_record"]["quarter_means"][-1] == 4.0
    text = open("results/quick/verdict.md").read()
    assert "SMALL-SCALE" in text and "The teacher does learn" in text and "-1.0 / 0.5 / 2.0 / 4.0" in text
    for arm in ("now_teacher", "now_imitator", "swap_imitator"):
        assert all(g[2] <= 120 for g in ev.load_arm(ev.EvalConfig(work="runs/quick/eval"), arm)), arm


def test_bad_numbers_stop_before_any_work(tmp_path):
    for kw, message in ((dict(games=0), "--games 0 must be positive"),
                        (dict(max_game_steps=-1), "--max_game_steps -1"),
                        (dict(seeds=str(tmp_path / "nope"), only="now"), "holds no trained imitator.*--seed 1")):
        with pytest.raises(SystemExit, match=message):
            pipeline.run_pipeline(pipeline.PipelineConfig(work=str(tmp_path / "w"), out=str(tmp_path / "o"), **kw))
    assert not os.path.exists(tmp_path / "w") and not os.path.exists(tmp_path / "o")


def test_play_moves_caps_games_and_counts_their_steps():
    """The plain play loop: a player that never serves is cut at max_game_steps, and each game
    starts with the new-game previous move."""
    seen = []

    def act(stack, prev, prev_r, t):
        seen.append((prev, t))
        return 0                                                    # NOOP: never serves
    moves = play.play_moves("breakout", act, seed=3, max_game_steps=50)
    overs = [over for _, (_, _, _, over) in zip(range(120), moves)]
    moves.close()
    assert [i for i, o in enumerate(overs) if o] == [49, 99]
    assert seen[50] == (play.NEW_GAME, 0) and seen[51] == (0, 1)


def fake_arms(work, seed=0):
    """arm(name, n_games, every, folder=""): write an arm's work folder as play_arm leaves it, with
    n_games games of random scores, one every `every` steps."""
    rng = np.random.default_rng(seed)

    def arm(name, n_games, every, folder=""):
        games = [[every * (k + 1), float(rng.integers(0, 20)), every, -1.0] for k in range(n_games)]
        os.makedirs(work / folder / name, exist_ok=True)
        toolbox.write_json(str(work / folder / name / "state.json"), dict(steps=every * n_games, games=games))
    return arm


def test_an_arm_still_running_is_listed_not_judged(tmp_path):
    """A half-played arm's reading could flip as it goes on: the table names it and waits."""
    c = pipeline.PipelineConfig(teacher=str(tmp_path / "t"), imitator=str(tmp_path / "i"), work=str(tmp_path / "w"),
                      out=str(tmp_path / "o"), games=3, steps=1_000, control_steps=500)
    arm = fake_arms(tmp_path / "w")
    arm("now_teacher", 3, 100)
    arm("now_imitator", 3, 100)
    arm("now_imitator_empty", 2, 100)                        # 2 of 3 games
    arm("later_imitator", 4, 100)                            # 400 of 1,000 steps
    R, text = ev.write_verdict(c)
    assert R["now"]["imitator"]["n"] == 3 and "imitator_empty_context" not in R["now"]
    assert "later" not in R
    assert R["in_progress"] == {"now_imitator_empty": "2 of 3 games", "later_imitator": "400 of 1,000 steps"}
    assert "waiting for `later_teacher`, `later_imitator_held`" in text and "`later_imitator` 400 of 1,000 steps" in text

    c.seeds = str(tmp_path / "i1")                           # a second seed has played question 1 only:
    arm("now_imitator", 3, 100, "seed1")                     # the first seed's other arms are not its
    arm("noreward_imitator", 5, 100)
    arm("later_imitator", 10, 100)                           # now finished
    R, text = ev.write_verdict(c)
    assert "noreward" in R and set(R["seeds"]) >= {"now"} and "noreward" not in R["seeds"]


# --- the rules of the fair question 1 and the re-run, each on synthetic data of known answer ------
def test_a_clone_of_the_teacher_passes_q1_with_enough_games_and_not_with_thirty():
    rng = np.random.default_rng(11)
    assert verdict.clone_pass_rate(40.0, 16.0, 100, rng) >= verdict.CLONE_PASS_TARGET   # the protocol's 100 games
    assert verdict.clone_pass_rate(40.0, 16.0, 30, rng) < 0.85                         # the old 30 games
    assert verdict.games_for_clone(40.0, 16.0, rng) in (50, 100)
    assert ev.EvalConfig().games >= verdict.games_for_clone(40.0, 16.0, rng)


def test_q1_too_short_to_tell_makes_the_rest_not_testable_for_that_reason():
    rng = np.random.default_rng(12)
    game = lambda n, mu, sd: [[1000 * (i + 1), float(max(0, s)), 100, 0.5] for i, s in enumerate(rng.normal(mu, sd, n))]
    g = {"now_teacher": game(6, 40, 16), "now_imitator": game(6, 36, 16),          # six games: cannot decide
         "swap_teacher": game(60, 2, 1), "swap_imitator": game(60, 1, 1)}
    R = verdict.judge(g, dict(steps=100_000, control_steps=60_000, games=6, quick=False), np.random.default_rng(0))
    assert R["now"]["reading"] == "too short to tell" and R["now"]["clone_pass_rate"] < 0.95
    assert R["swap"]["untestable_because"] == "Q1 too short to tell"
    text = table.table(R)
    assert "not testable (Q1 too short to tell)" in text and "fails Q1)" not in text.split("| control: LEFT")[1]


def test_move_agreement_counts_every_step_once():
    games = [[100, 0.0, 100, 1.0], [1100, 5.0, 1000, 0.1]]            # 100 + 100 agreeing steps of 1,100
    assert verdict.move_agreement(games) == pytest.approx(200 / 1100)


def test_a_slope_above_zero_but_below_the_bar_is_not_improving():
    """One slope cannot read both ways: a tiny but certain rise, far below half the teacher's, is a
    "no" for an imitator (its own trend, as a teacher's would be read, is a rise)."""
    rng = np.random.default_rng(13)
    steps = np.sort(rng.uniform(0, 1e6, 3000))
    creeping = 10 + 0.05 * steps / 1e5 + rng.normal(0, 1, 3000)        # 0.05 per 100k steps, interval above 0
    teacher_arm = (steps, 10 + 2.0 * steps / 1e5 + rng.normal(0, 1, 3000))
    t = verdict.trend(steps, creeping, 1e6, rng, teacher_arm)
    assert t["lo"] > 0 and t["own_reading"] == "yes" and t["reading"] == "no" and not t["verdict"]
    assert t["bar"] == pytest.approx(verdict.BAR_SHARE * verdict.slope(*teacher_arm))


def test_an_imitator_keeping_up_with_the_teacher_reads_yes_and_a_level_one_no():
    """The comparison of known answer: slopes 0, half and all of the teacher's 2.0 per 100k steps,
    over 900 games of spread 12 (the real arms' size)."""
    rng = np.random.default_rng(14)
    steps = np.linspace(1e6 / 900, 1e6, 900)
    arm = lambda s: (steps, 30 + s * steps / 1e5 + rng.normal(0, 12, 900))
    teacher = arm(2.0)
    assert verdict.against_teacher(*arm(2.0), *teacher, rng)["reading"] == "yes"
    assert verdict.against_teacher(*arm(0.0), *teacher, rng)["reading"] == "no"
    falling_teacher = arm(-1.0)                                # a teacher that does not learn sets no bar above 0:
    assert verdict.against_teacher(*arm(2.0), *falling_teacher, rng)["bar"] == 0.0   # the imitator must still rise
    assert verdict.against_teacher(*arm(2.0), *falling_teacher, rng)["reading"] == "yes"


@pytest.mark.parametrize("key", sorted(power.READINGS))
def test_each_trend_reading_has_the_power_to_say_yes_and_no_at_the_real_size(key):
    """power.py's targets, for the table's rule, on synthetic arms copying the committed arms' size
    and noise: a level imitator reads "no" >= 90%, one at the teacher's slope "yes" >= 90%, one at the
    bar "yes" <= 10%, a flat teacher "yes" <= 10% (100 pairs each, a fixed seed)."""
    teacher, imitators, unit = power.READINGS[key]
    m = power.measure(os.path.join(ROOT, "results", "arms"), teacher, imitators, power.ARM_STEPS[unit])
    r = power.rates(power.comparative_rule(verdict.BAR_SHARE), key, m, power.ARM_STEPS[unit], 100,
                    np.random.default_rng(0), verdict.BAR_SHARE)
    assert power.passes(r), r


def test_a_rule_without_power_fails_the_targets():
    """The targets can fail: Gaussian arms four times noisier than Q2's read a level imitator "no"
    far less than 90% of the time."""
    m = dict(teacher_games=900, teacher_slope=2.0, imitator_games=900, teacher_sd=48.0, imitator_sd=48.0)
    r = power.rates(power.comparative_rule(verdict.BAR_SHARE), "later", m, 1e6, 60, np.random.default_rng(1),
                    verdict.BAR_SHARE, noise="ar1", rho=0.0)
    assert r["level"]["no"] < 0.5 and not power.passes(r)


def test_the_reward_control_runs_on_the_same_stage_clock_as_later(monkeypatch, tmp_path):
    """noreward_imitator is compared with the same span of later_imitator, so its stage must move on
    with its steps exactly as later's does; both play by the common protocol."""
    made = {}

    class Spy:
        def __init__(self, path, zero_rewards=False, stage=None, stage_advances=False, eps=0.0, rng=None):
            self.kw = dict(zero_rewards=zero_rewards, stage_advances=stage_advances, eps=eps)
    monkeypatch.setattr(play, "ImitatorPolicy", Spy)
    monkeypatch.setattr(play, "final_epsilon", lambda T: 0.01)
    monkeypatch.setattr(play, "TeacherPolicy", lambda *a: None)                  # the judge of the now arms
    monkeypatch.setattr(ev.checkpoints, "list_checkpoints", lambda T: [0])
    monkeypatch.setattr(play, "play_arm", lambda arm_dir, game, policy, **kw: made.setdefault(
        os.path.basename(arm_dir), policy.kw))
    c = ev.EvalConfig(teacher="t", imitator="i", work=str(tmp_path / "w"))
    for name in ("later_imitator", "noreward_imitator", "now_imitator", "now_imitator_argmax"):
        ev.play_one(c, ev.arms(c)[name])
    assert made["noreward_imitator"]["stage_advances"] and made["later_imitator"]["stage_advances"]
    assert made["noreward_imitator"]["zero_rewards"] and not made["later_imitator"]["zero_rewards"]
    assert made["now_imitator"]["eps"] == made["later_imitator"]["eps"] == 0.01   # the teacher's final epsilon
    assert made["now_imitator_argmax"]["eps"] == 0.0                              # the reported variant


def test_listed_jobs_run_two_at_a_time_by_xargs_give_the_sequential_table(tiny_run, tiny_imitator, tmp_path):
    """--list_jobs prints the pipeline as waves of independent commands; run by `xargs -P 2`, wave
    after wave, they give the same games and the same table as the pipeline run in one process."""
    kw = dict(teacher=tiny_run, imitator=tiny_imitator, games=2, max_game_steps=150, only="now", jobs=1)
    seq = pipeline.run_pipeline(pipeline.PipelineConfig(work=str(tmp_path / "w1"), out=str(tmp_path / "o1"), **kw))
    c = pipeline.PipelineConfig(work=str(tmp_path / "w2"), out=str(tmp_path / "o2"), **kw)
    waves = [[cmd for _, cmd in w] for w in pipeline.job_waves(c)]
    names = sorted(f"{n}.log" for w in pipeline.job_waves(c) for n, _ in w)     # listed before any has run
    assert [len(w) for w in waves] == [4, 1] and waves[-1][0].endswith("--only table")
    for k in range(1, len(waves) + 1):
        listed = subprocess.run([sys.executable, "pipeline.py", "--list_jobs", str(k), "--teacher", tiny_run,
                                 "--imitator", tiny_imitator, "--games", "2", "--max_game_steps", "150", "--only", "now",
                                 "--work", c.work, "--out", c.out], cwd=ROOT,
                                capture_output=True, text=True, check=True).stdout
        assert listed.splitlines() == waves[k - 1]
        subprocess.run(["xargs", "-d", "\n", "-P", "2", "-I{}", "sh", "-c", "{}"], input=listed, text=True, check=True,
                       cwd=ROOT, capture_output=True)
    # --jobs 2: the same waves, run and watched by evaluate.py itself
    jobs = pipeline.run_pipeline(dataclasses.replace(c, jobs=2, work=str(tmp_path / "w3"), out=str(tmp_path / "o3")))
    assert sorted(os.listdir(tmp_path / "w3" / "logs")) == names
    for k in (2, 3):
        par = json.load(open(tmp_path / f"o{k}" / "verdict.json"))
        for name in ("now_teacher", "now_imitator", "now_imitator_empty", "now_imitator_argmax"):
            assert (json.load(open(tmp_path / "w1" / name / "state.json"))
                    == json.load(open(tmp_path / f"w{k}" / name / "state.json")))
        assert par["now"] == json.loads(json.dumps(seq["now"]))
        assert open(tmp_path / "o1" / "verdict.md").read() == open(tmp_path / f"o{k}" / "verdict.md").read()
    assert jobs["now"] == par["now"]


def test_listed_jobs_start_with_the_teacher_and_imitator_when_missing_and_respect_only(tmp_path):
    c = pipeline.PipelineConfig(teacher=str(tmp_path / "t"), imitator=str(tmp_path / "i"), work=str(tmp_path / "w"),
                      out=str(tmp_path / "o"), only="elsewhere")
    waves = [[cmd for _, cmd in w] for w in pipeline.job_waves(c)]
    assert [name for name, _ in pipeline.job_waves(c)[0]] == ["teacher"]
    seeds = pipeline.job_waves(dataclasses.replace(c, seeds=f"{tmp_path / 's1'},{tmp_path / 's2'}"))[1]
    assert [n for n, _ in seeds][:3] == ["imitator", "imitator_seed1", "imitator_seed2"]
    assert seeds[2][1].endswith(f"--out {tmp_path / 's2'} --seed 2") and "--seed" not in seeds[0][1]
    assert " record.py " in waves[0][0] and " imitate.py " in waves[1][0]
    # each job in the first wave after all it needs: the teacher's own arms beside the imitator's training,
    # the imitator's arms after it, the table last (the prompted arm needs elsewhere_teacher, one wave before)
    only = lambda w: [cmd.split("--only ")[1] for cmd in w if "--only " in cmd]
    assert [only(w) for w in waves[1:]] == [["elsewhere_teacher", "elsewhere_fresh", "elsewhere_random"],
                                            ["elsewhere_imitator", "elsewhere_imitator_prompted"], ["table"]]
    assert all("--table false" in cmd for w in waves[1:-1] for cmd in w if "--only" in cmd)
    assert "--table false" not in waves[-1][0]
    done = dataclasses.replace(c, imitator=str(tmp_path / "trained"))         # imitator there, elsewhere_teacher not:
    os.makedirs(done.imitator)
    open(os.path.join(done.imitator, "imitator.json"), "w").write("{}")
    assert [only(cmd for _, cmd in w) for w in pipeline.job_waves(done)[1:]] == [
        ["elsewhere_teacher", "elsewhere_fresh", "elsewhere_random", "elsewhere_imitator"],
        ["elsewhere_imitator_prompted"], ["table"]]
    # a kept arm that needs only the teacher's settings (elsewhere_fresh) counts on a fresh machine too:
    # before the teacher is recorded, its settings are the defaults its job will record with
    group = ev.arms(c)["elsewhere_fresh"].group
    os.makedirs(os.path.join(c.out, "arms"))
    toolbox.write_json(arm_files.path(c.out, "elsewhere_fresh"), dict(identity=ev.arm_identity(c, "elsewhere_fresh", group),
                                                               games=[]))
    assert ev.arm_identity(c, "elsewhere_fresh", group)["teacher_settings"] == dataclasses.asdict(dqn.DQNConfig())
    assert only(cmd for _, cmd in pipeline.job_waves(c)[1]) == ["elsewhere_teacher", "elsewhere_random"]
    # on a fresh machine such an arm waits only for the teacher to start (run_jobs), though a wave
    # scheduler lists it after the teacher's wave
    graph = {name: (w, needs) for w, name, _, needs in pipeline.job_graph(c)}
    assert graph["elsewhere_random"] == (1, [pipeline.TEACHER_STARTED]) and graph["elsewhere_teacher"] == (1, ["teacher"])
    # once the teacher has started (its config.json on disk), an arm that needs only its settings plays
    # beside it, needing nothing; the arms that need the finished teacher still wait for it
    os.makedirs(c.teacher)
    toolbox.write_json(os.path.join(c.teacher, "config.json"), dict(steps=1_000, dqn=dataclasses.asdict(dqn.DQNConfig())))
    graph = {name: (w, needs) for w, name, _, needs in pipeline.job_graph(c)}
    assert graph["teacher"] == graph["elsewhere_random"] == (0, [])
    assert graph["elsewhere_teacher"] == (1, ["teacher"]) and graph["elsewhere_imitator"] == (2, ["imitator"])
    assert graph["elsewhere_imitator_prompted"] == (2, ["teacher", "imitator", "elsewhere_teacher"])
    assert "elsewhere_fresh" not in graph                                  # still kept: the same settings
    os.remove(os.path.join(c.teacher, "config.json"))
    with pytest.raises(SystemExit, match="--quick runs in one process"):
        pipeline.job_waves(pipeline.PipelineConfig(quick=True))
    with pytest.raises(SystemExit, match="--jobs -1 must be 0"):
        pipeline.run_pipeline(dataclasses.replace(c, jobs=-1))
    assert os.listdir(tmp_path / "t") == []                                 # listing starts nothing


def test_jobs_start_as_soon_as_the_jobs_they_need_are_done_and_a_failure_stops_only_its_own(tmp_path, monkeypatch,
                                                                                              capsys):
    """--jobs runs job_graph by its needs, not wave by wave: a job of the second wave starts while
    a long job of the first still runs, once its own need is done; a failed job stops the jobs
    that need it, the others still run, and the pipeline then stops naming both."""
    m = lambda name: tmp_path / name                               # each job leaves a marker when it ends
    graph = [(0, "quick", f"touch {m('quick')}", []),
             (0, "long", f"sleep 3 && touch {m('long')}", []),
             (1, "after_quick", f"test ! -e {m('long')} && touch {m('after_quick')}", ["quick"]),   # long still runs
             (0, "broken", "exit 3", []),
             (1, "after_broken", f"touch {m('after_broken')}", ["broken"]),
             (2, "after_that", f"touch {m('after_that')}", ["after_broken"]),
             (1, "last", f"touch {m('last')}", ["after_quick"])]
    monkeypatch.setattr(pipeline, "job_graph", lambda c: graph)
    c = pipeline.PipelineConfig(work=str(tmp_path / "w"), table=False)
    with pytest.raises(SystemExit) as stop:
        pipeline.run_jobs(c, 2, poll=0.05)
    assert [os.path.exists(m(n)) for n in ("quick", "long", "after_quick", "last")] == [True] * 4
    assert not os.path.exists(m("after_broken")) and not os.path.exists(m("after_that"))
    message = str(stop.value)
    assert "broken failed (see" in message and "after_broken (not started: it needs broken)" in message
    assert "after_that (not started: it needs after_broken)" in message and "after_quick" not in message
    assert sorted(os.listdir(tmp_path / "w" / "logs")) == sorted(f"{n}.log" for n in ("quick", "long", "after_quick",
                                                                                      "broken", "last"))


# --- finished arms are kept; an unfinished teacher is no teacher ---------------------------------
def test_finished_arms_are_kept_and_outlive_their_work_folder(tiny_run, tiny_imitator, tmp_path, capsys):
    """A finished arm's games are copied to <out>/arms/<name>.json: with its work folder lost, the
    table still judges it and the pipeline does not play it again; other settings play it anew."""
    c = pipeline.PipelineConfig(teacher=tiny_run, imitator=tiny_imitator, work=str(tmp_path / "w"), out=str(tmp_path / "o"),
                      games=3, steps=1_000, control_steps=500, jobs=1)
    arm = fake_arms(tmp_path / "w")
    arm("now_teacher", 3, 100)
    arm("now_imitator", 3, 100)
    arm("now_imitator_empty", 2, 100)                                  # 2 of 3 games: running, not kept
    R1, _ = ev.write_verdict(c)
    assert os.path.exists(arm_files.path(c.out, "now_teacher")) and not os.path.exists(arm_files.path(c.out, "now_imitator_empty"))
    shutil.rmtree(tmp_path / "w")                                      # runs/ lost
    R2, _ = ev.write_verdict(c)
    assert R2["now"]["teacher"] == R1["now"]["teacher"] and R2["now"]["imitator"] == R1["now"]["imitator"]
    assert "in_progress" not in R2                                     # the running arm's games went with the folder
    assert not ev.must_play(c, "now_teacher") and ev.must_play(c, "now_imitator_empty")
    pipeline.run_pipeline(dataclasses.replace(c, only="now_teacher,now_imitator", table=False))
    assert "now_teacher: finished, its games kept in" in capsys.readouterr().out
    assert not os.path.exists(tmp_path / "w" / "now_teacher")        # nothing played again
    names = [n for w in pipeline.job_waves(dataclasses.replace(c, only="now")) for n, _ in w]
    assert "now_teacher" not in names and "now_imitator_empty" in names   # a kept arm is no job
    for other in (dict(games=4), dict(seed=1), dict(max_game_steps=500), dict(quick=True)):
        assert ev.kept_games(dataclasses.replace(c, **other), "now_teacher") is None, other   # played anew
        assert ev.must_play(dataclasses.replace(c, **other), "now_teacher"), other


def test_a_kept_arm_that_needs_the_teacher_is_played_anew_for_another_teacher_at_its_folder(tiny_run, tiny_imitator,
                                                                                            tmp_path):
    """A teacher recorded again at the same folder can be another teacher (another kind of CPU):
    the arms that need its final weights know them by content; the others do not care."""
    t = tmp_path / "t"
    shutil.copytree(tiny_run, t)
    c = pipeline.PipelineConfig(teacher=str(t), imitator=tiny_imitator, work=str(tmp_path / "w"), out=str(tmp_path / "o"))
    os.makedirs(tmp_path / "o" / "arms")
    for name, group in (("now_teacher", "now"), ("elsewhere_random", "elsewhere"), ("stage_x1", "stages")):
        toolbox.write_json(arm_files.path(c.out, name), dict(identity=ev.arm_identity(c, name, group), games=[[9, 1.0]]))
        assert ev.kept_games(c, name) == [[9, 1.0]]
    assert len(ev.arm_identity(c, "now_teacher", "now")["teacher_weights"]) == 16
    final = ev.final_teacher(c) + ".npz"
    with np.load(final, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["params"] = arrays["params"] * np.float32(1.0001)          # the same folder, another teacher
    np.savez(final, **arrays)
    assert ev.kept_games(c, "now_teacher") is None and ev.must_play(c, "now_teacher")
    assert ev.kept_games(c, "elsewhere_random") == [[9, 1.0]] and ev.kept_games(c, "stage_x1") == [[9, 1.0]]


def test_an_arm_that_prompts_a_waiting_arm_is_kept_with_its_history(tmp_path):
    """elsewhere_imitator_prompted is prompted with elsewhere_teacher's first steps: a kept
    elsewhere_teacher whose history is gone is played again while the prompted arm still waits."""
    c = pipeline.PipelineConfig(teacher=str(tmp_path / "t"), imitator=str(tmp_path / "i"), work=str(tmp_path / "w"),
                      out=str(tmp_path / "o"), steps=1_000)

    os.makedirs(tmp_path / "o" / "arms")

    def keep(name):
        toolbox.write_json(arm_files.path(c.out, name), dict(identity=ev.arm_identity(c, name, "elsewhere"),
                                                       games=[[1_000, 5.0, 1_000, -1.0]]))
    keep("elsewhere_teacher")
    assert ev.kept_games(c, "elsewhere_teacher") == [[1_000, 5.0, 1_000, -1.0]]
    assert ev.must_play(c, "elsewhere_teacher")                        # its history is needed and gone
    os.makedirs(tmp_path / "w" / "elsewhere_teacher")
    open(tmp_path / "w" / "elsewhere_teacher" / "history.json", "w").write("{}")
    assert not ev.must_play(c, "elsewhere_teacher")                    # its history is there
    shutil.rmtree(tmp_path / "w")
    keep("elsewhere_imitator_prompted")
    assert not ev.must_play(c, "elsewhere_teacher")                    # nothing waits for it any more


def test_an_unfinished_teacher_record_is_resumed_never_used(tiny_run, tiny_imitator, tmp_path):
    """A record.py run stopped part way is not the final teacher: --only refuses (saying how far it
    got) and the pipeline's first job resumes it to the steps it was started for."""
    t = tmp_path / "t"
    shutil.copytree(tiny_run, t)
    cfg = json.load(open(t / "config.json"))
    json.dump(cfg | {"steps": 6_000}, open(t / "config.json", "w"))
    assert record.progress(str(t)) == (3_000, 6_000) and not record.finished(str(t)) and record.finished(tiny_run)
    c = pipeline.PipelineConfig(teacher=str(t), imitator=tiny_imitator, work=str(tmp_path / "w"), out=str(tmp_path / "o"),
                      only="now_teacher", jobs=1)
    with pytest.raises(SystemExit, match=r"recorded 3,000 of 6,000 steps\): not found or unfinished"):
        pipeline.run_pipeline(c)
    assert not os.path.exists(tmp_path / "w")                          # refused before any work
    (name, cmd), = pipeline.job_waves(c)[0]
    assert name == "teacher" and cmd.endswith("--steps 6000") and pipeline.teacher_record_config(c).steps == 6_000
    # an arm that needs only the teacher's settings plays meanwhile, and the teacher is left as it is
    free = dataclasses.replace(c, only="elsewhere_random,elsewhere_imitator", steps=300, games=1, max_game_steps=100, table=False)
    pipeline.run_pipeline(free)
    assert os.path.exists(arm_files.path(free.out, "elsewhere_random")) and os.path.exists(arm_files.path(free.out, "elsewhere_imitator"))
    assert record.progress(str(t)) == (3_000, 6_000)
    # such an arm is kept for any teacher recorded with those settings (here the finished one), an
    # arm that needs the final teacher only for that teacher
    for teacher in (tiny_run, str(tmp_path / "t/")):
        other = dataclasses.replace(free, teacher=teacher)
        assert ev.kept_games(other, "elsewhere_random") and ev.kept_games(other, "elsewhere_imitator")
    assert ev.arm_identity(c, "now_teacher", "now") != ev.arm_identity(dataclasses.replace(c, teacher=tiny_run),
                                                                        "now_teacher", "now")
    assert [ev.needs_final_teacher(n) for n in ("now_imitator_empty", "elsewhere_imitator@seed2", "stage_x2")] == \
        [True, False, False]


def test_the_pipeline_in_one_process_records_the_teacher_by_its_job_command(tmp_path, monkeypatch):
    """Run here (--jobs 1) or as a job, the teacher is recorded by one command, record.py's (so
    with its pinned kernels); if it stops, the pipeline stops, saying how to resume."""
    c = pipeline.PipelineConfig(teacher=str(tmp_path / "t"), imitator=str(tmp_path / "i"), work=str(tmp_path / "w"),
                      out=str(tmp_path / "o"), only="all", jobs=1)
    ran = []
    monkeypatch.setattr(pipeline.subprocess, "run",
                        lambda cmd, **kw: ran.append(cmd) or types.SimpleNamespace(returncode=1))
    with pytest.raises(SystemExit, match="record.py stopped; run the same command again"):
        pipeline.run_pipeline(c)
    assert ran == [pipeline.teacher_command(c)] == [cmd for name, cmd in pipeline.job_waves(c)[0] if name == "teacher"]
    assert " record.py --game breakout " in ran[0] and "--numerics" not in ran[0]      # its default: portable


def test_evaluate_plays_arms_alone_and_names_what_the_pipeline_must_make_first(tmp_path):
    """python evaluate.py plays chosen arms in its process; it makes no teacher or imitator (the
    pipeline, which builds on it, does) and says so, naming what is missing."""
    run = lambda *a: subprocess.run([sys.executable, "evaluate.py", *a], cwd=ROOT, capture_output=True, text=True)
    p = run("--teacher", str(tmp_path / "t"), "--imitator", str(tmp_path / "i"), "--only", "now_teacher,now_imitator",
            "--work", str(tmp_path / "w"), "--out", str(tmp_path / "o"))
    assert p.returncode != 0 and "no finished record.py run" in p.stderr and "no imitator.json" in p.stderr
    assert "python pipeline.py" in p.stderr and not os.path.exists(tmp_path / "w")
    assert "python pipeline.py --quick" in run("--quick").stderr


def test_an_arm_that_needs_only_the_teachers_settings_starts_once_the_teacher_has_started(tmp_path, monkeypatch):
    """run_jobs: a job needing pipeline.TEACHER_STARTED starts as soon as the teacher's config.json is
    on disk, while the teacher still records; a job needing the teacher waits for it to finish."""
    t, m = tmp_path / "t", lambda name: tmp_path / name
    settings = json.dumps(dict(steps=1_000, dqn=dataclasses.asdict(dqn.DQNConfig())))
    graph = [(0, "teacher", f"mkdir -p {t} && echo '{settings}' > {t}/config.json && sleep 2 && touch {m('teacher')}", []),
             (1, "settings_arm", f"test ! -e {m('teacher')} && touch {m('settings_arm')}", [pipeline.TEACHER_STARTED]),
             (1, "final_arm", f"test -e {m('teacher')} && touch {m('final_arm')}", ["teacher"])]
    monkeypatch.setattr(pipeline, "job_graph", lambda c: graph)
    pipeline.run_jobs(pipeline.PipelineConfig(teacher=str(t), work=str(tmp_path / "w"), table=False), 2, poll=0.05)
    assert all(os.path.exists(m(n)) for n in ("teacher", "settings_arm", "final_arm"))
