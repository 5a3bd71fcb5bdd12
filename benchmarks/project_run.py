"""project_run.py: how long `make run` takes on this kind of machine, from rates measured on it.

`make run` is pipeline.py's job graph (the teacher, three imitators, every arm, the table) run at most
--jobs processes at once, each job as soon as the jobs it needs are done (pipeline.run_jobs). This
script plays that same rule forward in time, with each job's hours computed from measured rates:

  - the rates, with the command and CPU each was measured with: a JSON file (default
    results/make_run_rates.json; every job one BLAS thread beside another job, as make run runs them)
  - the length of an arm of games (question 1, the stage probes): the agent steps the committed arm of
    the same name took (results/arms/<name>.json), since a game's length depends on who plays it

    python benchmarks/project_run.py                        # 2 cores, the committed rates
    python benchmarks/project_run.py --jobs 8 --json auto   # and write results/make_run_projection.json

It is a projection, not a run: the rates are medians of short runs, and two jobs on two cores slow
each other a little more than one job beside one (the rates were measured beside one).
"""
from __future__ import annotations

import argparse
import heapq
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import evaluate  # noqa: E402
import pipeline  # noqa: E402
import toolbox  # noqa: E402

RATES = os.path.join(ROOT, "results", "make_run_rates.json")


def arm_steps(c, name, arms_dir):
    """Agent steps an arm plays: its target for an arm of steps; for an arm of games, what the
    committed arm of that name took (its last game's end step)."""
    arm = evaluate.arms(c)[name]
    target, unit = evaluate.arm_target(c, arm.group)
    if unit == "steps":
        return target
    kept = toolbox.read_json(os.path.join(arms_dir, f"{name}.json"))
    if kept is None:
        raise SystemExit(f"{arms_dir}/{name}.json: no committed arm to take its games' length from")
    return kept["games"][-1][0] * target / len(kept["games"])


def job_hours(c, name, rates, arms_dir):
    """Hours of one job of pipeline.job_graph, from the measured rates (agent steps/s; minutes)."""
    if name == "teacher":
        return 1_000_000 / rates["dqn_learning_steps_per_s"] / 3600
    if name.startswith("imitator"):
        return rates["imitator_train_minutes"] / 60
    if name == "table":
        return 0.0
    arm = evaluate.arms(c)[name]
    steps = arm_steps(c, name, arms_dir)
    if arm.player == "learner":
        return steps / rates["dqn_learning_steps_per_s"] / 3600 + (rates["replay_refill_minutes"] / 60
                                                                    if arm.from_teacher else 0.0)
    rate = dict(teacher="teacher_play_steps_per_s", random="random_play_steps_per_s").get(
        arm.player, "imitator_judged_play_steps_per_s" if arm.judge else "imitator_play_steps_per_s")
    return steps / rates[rate] / 3600


def schedule(jobs, hours, n_jobs):
    """pipeline.run_jobs's rule played forward: at most n_jobs at once, each job, first listed first,
    as soon as every job it needs has finished (an arm that needs only the teacher's settings, as
    soon as the teacher has started). jobs: [(name, needs)]; hours: name -> duration. Returns
    {name: (start, end)} in hours."""
    waiting, running, done, times, now = list(jobs), [], set(), {}, 0.0
    while waiting or running:
        ready = [j for j in waiting if done.issuperset(j[1])]
        if ready and len(running) < n_jobs:
            name, needs = ready[0]
            waiting.remove((name, needs))
            times[name] = (now, now + hours[name])
            heapq.heappush(running, (now + hours[name], name))
            if name == "teacher":
                done.add(pipeline.TEACHER_STARTED)         # its settings are on disk in its first seconds
            continue                                       # look again: that may have freed another job
        if not running:
            raise SystemExit(f"jobs that can never start: {[n for n, _ in waiting]}")
        now, name = heapq.heappop(running)
        done.add(name)
    return times


def project(rates, n_jobs, arms_dir):
    """The make run of a fresh machine (no teacher yet, three seeds of the imitator): every job's
    hours and start, and the total."""
    c = pipeline.PipelineConfig(teacher="runs/projected/teacher", imitator="runs/projected/imitator",
                                work="runs/projected/eval", out="runs/projected/results",
                                seeds="runs/projected/imitator_seed1,runs/projected/imitator_seed2")
    jobs = [(name, needs) for _, name, _, needs in pipeline.job_graph(c)]
    hours = {name: job_hours(c, name, rates, arms_dir) for name, _ in jobs}
    times = schedule(jobs, hours, n_jobs)
    return dict(jobs=n_jobs, total_hours=max(end for _, end in times.values()),
                core_hours=sum(hours.values()), job_hours=hours, starts={n: s for n, (s, _) in times.items()})


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="make run's wall time, projected from measured rates.")
    ap.add_argument("--rates", default=RATES, help="JSON of measured rates (see results/make_run_rates.json)")
    ap.add_argument("--jobs", type=int, default=2, help="processes at once (make run: one per core)")
    ap.add_argument("--arms", default=os.path.join(ROOT, "results", "arms"),
                    help="committed arms, whose games' lengths set the length of an arm of games")
    ap.add_argument("--json", default="", help='also write the projection here; "auto": '
                                               "results/make_run_projection.json")
    a = ap.parse_args()
    if a.jobs < 1:
        raise SystemExit(f"--jobs {a.jobs} must be 1 or more")
    with open(a.rates) as f:
        rates = json.load(f)
    P = project(rates, a.jobs, a.arms)
    for name, h in sorted(P["job_hours"].items(), key=lambda kv: P["starts"][kv[0]]):
        print(f"  {name:34s} starts at {P['starts'][name]:5.2f} h, takes {h:5.2f} h")
    print(f"make run on {a.jobs} cores: {P['total_hours']:.1f} h ({P['core_hours']:.1f} core-hours), "
          f"from the rates in {os.path.relpath(a.rates, ROOT)} ({rates.get('cpu', 'CPU not named')})")
    if a.json:
        toolbox.write_json(os.path.join(ROOT, "results", "make_run_projection.json") if a.json == "auto" else a.json,
                           P | dict(rates=rates))
