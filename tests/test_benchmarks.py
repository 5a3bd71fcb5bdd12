"""benchmarks/speed.py: its helpers and that each figure's code runs (no speed is asserted here:
figures are printed by `make bench`, never checked by a timed test)."""
import os
import subprocess
import sys

import numpy as np

from conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
import speed  # noqa: E402


def test_timed_warms_up_then_takes_the_median_of_at_least_min_runs():
    calls = []
    t = speed.timed(lambda: calls.append(1), 0.0, min_runs=4)
    assert len(calls) == 2 + 4 and t >= 0


def test_the_benchmarked_transformer_case_is_consistent():
    cfg, shapes, flat, p, grad, g, x, y = speed.transformer_case(B=2)
    assert x.shape == (2, cfg.block_size, cfg.n_embd) and y.shape == (2 * cfg.block_size,)
    assert flat.shape == grad.shape and set(p) == set(g) == {n for n, _ in shapes}
    assert np.abs(flat).sum() > 0 and not grad.any()


def test_transformer_figures_print_and_bad_parts_are_named(capsys):
    speed.bench_transformer(seconds=0.0)
    out = capsys.readouterr().out
    assert "tokens/s" in out and "cached decoding" in out
    p = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "speed.py"), "--only", "dqn,gpu"],
                       capture_output=True, text=True)
    assert p.returncode != 0 and "--only gpu: unknown" in p.stderr


def test_the_dqn_profile_names_every_part_and_its_floor(capsys):
    R = speed.profile_dqn(repeats=2, warmup=2, rounds=2)
    out = capsys.readouterr().out
    assert set(R["parts_ms"]) >= {"target forward", "online forward", "online backward", "Adam"} and "floor" in out
    assert 0 < R["floor_ms"] and R["update_ms_range"][0] <= R["update_ms"] <= R["update_ms_range"][1]
    assert R["rounds"] == 2 and "over 2 rounds" in out
    assert speed.dqn_update_flops(32) == 2 * 32 * (2 * 2966528 + 1638400 + 2 * (663552 + 663552 + 1024))


def test_paired_timing_interleaves_the_two_sides_and_takes_medians(monkeypatch):
    """Rounds alternate ours, theirs, ours, ...; the ratio is the median of the per-round ratios (no
    clock read here: `timed` is replaced by one that returns made-up seconds in call order)."""
    calls, seconds = [], iter([1.0, 2.0, 1.0, 3.0, 2.0, 2.0])            # ours, theirs per round: ratios 2, 3, 1
    monkeypatch.setattr(speed, "timed", lambda fn, sec, min_runs=5: (calls.append(fn()), next(seconds))[1])
    r = speed.paired(lambda: "ours", lambda: "theirs", seconds=0.6, rounds=3)
    assert calls == ["ours", "theirs"] * 3
    assert (r["ours_s"], r["theirs_s"], r["ratio"], r["ratio_min"], r["ratio_max"]) == (1.0, 2.0, 2.0, 1.0, 3.0)
    assert set(speed.threads()) == {"openblas", "numba"}


def test_the_thread_sweep_times_each_setting_in_its_own_process_in_rounds(capsys):
    R = speed.bench_threads(seconds=0.4, settings=((1, 1), (2, 1)), rounds=2, warmup=2)
    assert set(R) == {"openblas1_numba1", "openblas2_numba1"}
    assert all(0 < r["min_ms"] <= r["median_ms"] <= r["max_ms"] for r in R.values())
    assert "OpenBLAS 2 thread(s), Numba 1" in capsys.readouterr().out


def test_each_kind_of_cpu_gets_its_own_figures_file():
    cpu = dict(name="AMD EPYC", family="25", model="17", vector="AVX-512")
    assert speed.bench_file(cpu, "bench").endswith(os.path.join("results", "bench_amd_epyc_f25_m17_avx512.json"))
    other = speed.bench_file(dict(cpu, name="Intel(R) Xeon(R) Platinum", model="143", family="6"), "speed", "_torch1")
    assert other.endswith("speed_intel_r_xeon_r_platinum_f6_m143_avx512_torch1.json")


def test_the_imitator_profile_names_every_part_and_its_floor(capsys):
    import imitate
    c = imitate.ImitateConfig(batch=2, context=8, n_layer=1, n_embd=32, n_head=2)
    R = speed.profile_imitator(c, rounds=1, repeats=1, steps=500)
    assert {"conv encoder forward", "transformer backward", "clip + AdamW"} <= set(R["parts_ms"])
    assert R["floor_ms"] > 0 and R["step_ms_range"][0] <= R["step_ms"] and "floor" in capsys.readouterr().out
    n = 2 * 8                                                          # stacks (tokens) per step
    assert speed.imitator_update_flops(c) == 2 * (n * (1638400 + 663552) + n * (2 * 663552 + 1638400)
                                                  + 3 * n * (2592 * 32 + 12 * 32 * 32 + 32 * 4) + 3 * 2 * 1 * 2 * 32 * 32)


def test_the_projection_schedules_jobs_as_the_pipeline_runs_them():
    """benchmarks/project_run.py plays pipeline.run_jobs's rule forward: at most n jobs at once, each
    (first listed first) once what it needs is done."""
    import project_run
    jobs = [("teacher", []), ("a", ["teacher"]), ("b", ["teacher"]), ("c", ["a"]), ("table", ["a", "b", "c"])]
    hours = dict(teacher=1.0, a=2.0, b=0.5, c=1.0, table=0.0)
    times = project_run.schedule(jobs, hours, 2)
    assert times == dict(teacher=(0.0, 1.0), a=(1.0, 3.0), b=(1.0, 1.5), c=(3.0, 4.0), table=(4.0, 4.0))
    assert project_run.schedule(jobs, hours, 1)["table"] == (4.5, 4.5)          # one after another
    jobs[2] = ("b", [project_run.pipeline.TEACHER_STARTED])                     # b needs only the teacher's settings:
    assert project_run.schedule(jobs, hours, 2)["b"] == (0.0, 0.5)              # it plays beside the teacher


def test_the_committed_projection_covers_every_job_of_make_run():
    """Every job of a fresh machine's make run gets hours from the committed rates and arms."""
    import project_run
    with open(project_run.RATES) as f:
        rates = __import__("json").load(f)
    P = project_run.project(rates, 2, os.path.join(ROOT, "results", "arms"))
    assert P["job_hours"]["teacher"] > 0 and all(h >= 0 for h in P["job_hours"].values())
    assert len(P["job_hours"]) > 40 and P["total_hours"] >= P["core_hours"] / 2
