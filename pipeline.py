"""pipeline.py: the whole experiment in one command, its stages in order, and its jobs.

Page five's driver. evaluate.py defines the arms and plays them, verdict.py reads their games;
this page puts them in order: the teacher (record.py) if it is missing, the imitator (imitate.py,
and more seeds of its recipe, --seeds), every chosen arm, then the table. Every stage skips what
is done and resumes what is not. The arms are independent jobs, so they run one per core at once,
each as soon as the jobs it needs are done (--jobs), or as waves of shell commands for another
scheduler (--list_jobs; docs/CLUSTER.md).

    python pipeline.py                       # every arm at the default scale, one job per core at once
    python pipeline.py --seeds runs/imitator_seed1,runs/imitator_seed2   # = make run: three imitator seeds
    python pipeline.py --jobs 1              # the same in this process, one arm after another
    python pipeline.py --only now            # one group (now, later, elsewhere, controls) or arm
    python pipeline.py --only table          # no arm: rewrite the table and plots from what is on disk
    python pipeline.py --quick               # = make quick: classroom scale from the committed teacher and imitator
    python pipeline.py --list_jobs -1        # the pipeline as waves of commands, one per line

evaluate.py (which this page builds on) plays chosen arms one after another, without the stages or
the jobs. Writes results/ (or results/quick/): verdict.md (the table), verdict.json (every number), *.png.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass

from tqdm import tqdm

import dqn
import evaluate
import imitate
import history_io
import record
import toolbox
from evaluate import EvalConfig


@dataclass
class PipelineConfig(EvalConfig):
    """evaluate.py's settings (the arms, where they play, how long), and how the pipeline runs them."""
    list_jobs: int = 0                 # print the commands of wave k (1, 2, ...: each wave's commands are
                                       # independent, each wave needs the ones before it) one per line and exit,
                                       # for xargs -P, GNU parallel or a Slurm array; -1: every wave, each under
                                       # a "# wave k" line; 0: run the pipeline here
    jobs: int = 0                      # arms run at once, each its own process with one BLAS thread, wave after
                                       # wave of --list_jobs (0: one per core; 1: here, one after another)

# Classroom preset. Learning Breakout takes a DQN about 200k steps to show (half an hour here) and
# the full experiment about 9 hours, so the class starts from the committed full-scale teacher and
# imitator: question 1 is asked at full strength, in minutes; a few thousand steps of the frozen
# teacher's play are recorded to prompt the imitator and to seed the learning arms, and every other
# arm is short, so its rule mostly reads "too short to tell" (it is labelled small-scale). The
# teacher's learning itself is shown from its committed record (its curve and quarter means). The
# imitator is the recipe that passes question 1, trained on this teacher's own history (seed 0).
QUICK = dict(teacher="results/breakout/teacher_final", imitator="results/q1_recipe_first_s0",
             record=dict(steps=3_000, chunk_steps=1_000, checkpoint_every=3_000),
             evaluate=dict(games=8, steps=10_000, control_steps=4_000, max_game_steps=4_000))


def run_quick_stage1(c: PipelineConfig):
    """--quick's first stage: a few thousand steps of the committed teacher playing, frozen."""
    for path, what in ((QUICK["teacher"] + ".npz", "the committed teacher"),
                       (os.path.join(c.imitator, "imitator.json"), "the committed imitator")):
        if not os.path.exists(path):
            raise SystemExit(f"--quick starts from {what}, {path}, which is missing: run it from the project's "
                             f"folder, in a full clone")
    print(f"stage 1: the committed teacher plays, frozen ({QUICK['record']['steps']:,} steps, record.py --frozen)")
    record.record(record.RecordConfig(game="breakout", out=c.teacher, results="", frozen=QUICK["teacher"],
                                      **QUICK["record"]), dqn.DQNConfig())


def check_config(c: PipelineConfig):
    """Refuse bad settings before anything is started or written, naming the flag."""
    evaluate.check_config(c)
    if c.jobs < 0:
        raise SystemExit(f"--jobs {c.jobs} must be 0 (one per core) or a positive number of processes")
    untrained = [(k, folder) for k, folder, _ in missing_imitators(c) if k]   # (a missing --imitator: run_pipeline)
    if untrained and "all" not in evaluate.wanted(c):                  # the whole pipeline trains them
        k, folder = untrained[0]
        raise SystemExit(f"--seeds: {folder} holds no trained imitator (no imitator.json); train it with "
                         f"python imitate.py --history {c.teacher} --out {folder} --seed {k}, or run the "
                         f"whole pipeline (--only all), which does")


def missing_imitators(c: PipelineConfig):
    """(k, folder, suffix) of each imitator the pipeline must train first: seed k of imitate.py's
    default recipe goes into the k-th folder (--imitator, then each of --seeds)."""
    return [(k, folder, sfx) for k, (folder, _, sfx) in enumerate(evaluate.imitator_folders(c))
            if not os.path.exists(os.path.join(folder, "imitator.json"))]


def teacher_missing(c: PipelineConfig):
    """What is missing of the teacher, "" if nothing: the pipeline must record it first if there is
    no record.py run at --teacher, or one stopped before the steps it was started for (its last
    checkpoint is not the final teacher)."""
    if record.finished(c.teacher):
        return ""
    done, target = record.progress(c.teacher)
    return f"--teacher {c.teacher}" + (f" (recorded {done:,} of {target:,} steps)" if target else "")


def teacher_record_config(c: PipelineConfig):
    """The teacher's record.py run: the default one, or the unfinished run at --teacher resumed to
    the steps it was started for."""
    target = record.progress(c.teacher)[1] or record.RecordConfig.steps
    return record.RecordConfig(game="breakout", out=c.teacher, results=c.out, steps=target)


def one_thread_python():
    return f"OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1 {shlex.quote(sys.executable)}"


def teacher_command(c: PipelineConfig):
    """The teacher's record.py command (one BLAS thread; its default --numerics portable, so that any
    AVX2 CPU can record the same teacher again), as a job or run from here."""
    rc = teacher_record_config(c)
    return (f"{one_thread_python()} record.py --game breakout --out {shlex.quote(rc.out)} "
            f"--results {shlex.quote(rc.results)} --steps {rc.steps}")


# A need met as soon as the teacher job has written its settings (config.json, in its first seconds):
# run_jobs starts an arm that needs only those beside the teacher's record; a wave scheduler
# (--list_jobs), which cannot start a job mid-wave, puts it in the wave after the teacher.
TEACHER_STARTED = "teacher (started)"


def job_graph(c: PipelineConfig):
    """The pipeline as shell commands, one job each (one process, one BLAS thread), in the order
    listed: (wave, name, command, needs). `needs` names the listed jobs it must wait for: the
    teacher (record.py) if it is missing; then the imitators that are missing (seed k of the
    recipe into the k-th folder) and the teacher's own arms, which need only the teacher; then
    each imitator's arms, which need their imitator; then the arms that need an arm as well (the
    imitator prompted with the transplanted teacher's start); the table needs every job. An arm
    that needs only the teacher's settings (an Arm with settings_only, evaluate.py) waits for a missing
    teacher only until it has started: its settings are then on disk, and the arm plays while the
    teacher is recorded. Its wave is the first after every job it needs. Each arm plays in its own
    folder from its own seeds, so running jobs at once gives the same games as running them one
    after another."""
    if c.quick:
        raise SystemExit("--list_jobs and --jobs are for the full pipeline; --quick runs in one process "
                         "(python pipeline.py --quick)")
    py = one_thread_python()
    flags = "".join(f" --{f.name} {shlex.quote(str(getattr(c, f.name)))}" for f in dataclasses.fields(PipelineConfig)
                    if f.name not in ("only", "list_jobs", "table", "jobs") and getattr(c, f.name) != f.default)
    wave = {}                                              # job name -> its wave (0 = the first)
    jobs = []                                              # (wave, name, command, needs), in the order listed
    if teacher_missing(c):
        jobs.append((0, "teacher", teacher_command(c), []))
    first = [name for _, name, _, _ in jobs]               # ["teacher"] or []
    for k, folder, sfx in missing_imitators(c):
        jobs.append((len(first), f"imitator{sfx.replace('@', '_')}", f"{py} imitate.py --history "
                     f"{shlex.quote(c.teacher)} --out {shlex.quote(folder)}" + (f" --seed {k}" if k else ""), first))
    wave.update({name: w for w, name, _, _ in jobs})
    started = record.started(c.teacher)                    # its settings are on disk
    arm_table = evaluate.arms(c)
    for n in evaluate.selected(c, arm_table):
        k = evaluate.split_seed(n)[1]
        needs = [] if n in evaluate.TEACHER_NAMES else [f"imitator_seed{k}" if k else "imitator"]
        if evaluate.prompted_by(arm_table[n]):             # it is prompted with that arm's first steps
            needs.append(evaluate.prompted_by(arm_table[n]))
        # an arm that needs only the teacher's settings plays while a started teacher is still recorded
        settings_only = not evaluate.needs_final_teacher(n)
        after = [] if started and settings_only else first
        wave[n] = max([len(after)] + [wave[x] + 1 for x in needs if x in wave])
        if evaluate.must_play(c, n):                       # finished and kept: no job, but its wave stays,
            listed = {name for _, name, _, _ in jobs}      # so that wave k names the same jobs while arms
            waits = [TEACHER_STARTED] if after and settings_only else after      # finish (run_jobs: not wave by wave)
            jobs.append((wave[n], n, f"{py} pipeline.py{flags} --jobs 1 --table false --only {n}",
                         waits + [x for x in needs if x in listed]))
    n_waves = max([len(first) - 1] + list(wave.values())) + 1
    return jobs + [(n_waves, "table", f"{py} pipeline.py{flags} --jobs 1 --only table",
                    [name for _, name, _, _ in jobs])]


def job_waves(c: PipelineConfig):
    """job_graph as waves of (name, command), for a scheduler that runs a wave's jobs at once and
    each wave after the one before (--list_jobs; docs/CLUSTER.md): each job is in the first wave
    after every job it needs; the table is the last."""
    jobs = job_graph(c)
    return [[(name, cmd) for w, name, cmd, _ in jobs if w == k] for k in range(jobs[-1][0] + 1)]


def print_jobs(c: PipelineConfig):
    waves = job_waves(c)
    for k, wave in enumerate(waves, start=1):
        if c.list_jobs in (k, -1):
            if c.list_jobs == -1:
                print(f"# wave {k} of {len(waves)}")
            print("\n".join(cmd for _, cmd in wave))


def last_line(path):
    """The newest line a job has written to its log (tqdm rewrites its line with \\r), shortened."""
    if not os.path.exists(path):
        return ""
    with open(path, "rb") as f:
        f.seek(max(0, os.path.getsize(path) - 400))
        lines = [x.strip() for x in f.read().decode(errors="replace").replace("\r", "\n").split("\n") if x.strip()]
    return lines[-1][-100:] if lines else ""


def run_jobs(c: PipelineConfig, n_jobs, poll=2.0):
    """The jobs of job_graph run here, at most n_jobs processes at once. Each starts, first listed
    first, as soon as every job it needs has finished: an imitator's arms start while the teacher's
    long arms still learn, where waiting for the whole wave would leave a core idle for hours. Every
    job writes its output to <work>/logs/<name>.log, and one line per running job shows its newest
    progress. A failed job stops the jobs that need it; the others run on, and the pipeline then
    stops, naming them all."""
    logs = os.path.join(c.work, "logs")
    os.makedirs(logs, exist_ok=True)
    waiting = [(name, cmd, needs) for _, name, cmd, needs in job_graph(c) if c.table or name != "table"]
    print(f"{len(waiting)} jobs, at most {n_jobs} at once, each as soon as the jobs it needs are done: "
          f"{', '.join(name for name, _, _ in waiting)}")
    running = {}                                           # name -> (process, log, progress line, its slot)
    done, stopped, failed = set(), set(), []
    while waiting or running:
        if record.started(c.teacher) or "teacher" in done:
            done.add(TEACHER_STARTED)                      # its settings are on disk
        elif "teacher" in stopped:
            stopped.add(TEACHER_STARTED)                   # it failed before writing them
        for job in [j for j in waiting if stopped.intersection(j[2])]:
            waiting.remove(job)                            # a job it needs failed: it never starts
            stopped.add(job[0])
            failed.append(f"{job[0]} (not started: it needs {', '.join(sorted(stopped.intersection(job[2])))})")
        for name, cmd, needs in [j for j in waiting if done.issuperset(j[2])][:n_jobs - len(running)]:
            waiting.remove((name, cmd, needs))
            log = open(os.path.join(logs, f"{name}.log"), "w")
            slot = min(set(range(n_jobs)) - {r[3] for r in running.values()})
            running[name] = (subprocess.Popen(cmd, shell=True, stdout=log, stderr=subprocess.STDOUT), log,
                             tqdm(total=0, bar_format="{desc}", position=slot, leave=False), slot)
            tqdm.write(f"  {name}: started")
        time.sleep(poll)
        for name, (proc, log, bar, _) in list(running.items()):
            bar.set_description_str(f"  {name}: {last_line(log.name)}")
            if proc.poll() is None:
                continue
            log.close()
            bar.close()
            del running[name]
            tqdm.write(f"  {name}: {'done' if proc.returncode == 0 else f'FAILED (exit {proc.returncode})'}")
            if proc.returncode:
                stopped.add(name)
                failed.append(f"{name} failed (see {log.name})")
            else:
                done.add(name)
    if failed:
        raise SystemExit(f"{'; '.join(failed)}. Fix it and run again: finished arms are kept")


def run_pipeline(c: PipelineConfig):
    check_config(c)
    if c.quick:
        c.teacher, c.imitator = "runs/quick/breakout", QUICK["imitator"]
        c.work, c.out = "runs/quick/eval", os.path.join(c.out, "quick")
        for k, v in QUICK["evaluate"].items():
            setattr(c, k, v)
    all_arms = evaluate.arms(c)
    chosen = evaluate.selected(c, all_arms)                         # an unknown --only stops here, before any work
    wanted = evaluate.wanted(c)
    work_to_do = bool(chosen)
    # the teacher is missing for the chosen arms if one of them needs it finished, or if it was
    # never started (no settings yet); a teacher still being recorded elsewhere is never recorded here
    needs_teacher = any(map(evaluate.needs_final_teacher, chosen)) or not record.started(c.teacher)
    teacher_gap = teacher_missing(c) if needs_teacher else ""
    missing = [m for m in [teacher_gap] if m] + \
        ([f"--imitator {c.imitator}"] if not os.path.exists(os.path.join(c.imitator, "imitator.json")) else [])
    if c.quick and work_to_do:
        run_quick_stage1(c)
        missing = []
    if work_to_do and missing and "all" not in wanted:        # a chosen arm needs them: never start hours of work
        raise SystemExit(f"{' and '.join(missing)}: not found or unfinished. Make them with `python pipeline.py` "
                         f"(the whole experiment, --only all), or python record.py --out {c.teacher} (the same command resumes "
                         f"it) and python imitate.py --history {c.teacher} --out {c.imitator}, then run --only "
                         f"{c.only} again")
    n_jobs = c.jobs or os.cpu_count() or 1
    if work_to_do and n_jobs > 1 and not c.quick:             # the same stages and arms, n_jobs at once
        run_jobs(c, n_jobs)
        if not c.table:
            return {}
        print(open(os.path.join(c.out, "verdict.md")).read())
        return toolbox.read_json(os.path.join(c.out, "verdict.json"))
    if work_to_do and not c.quick:                          # what is missing, as job_waves lists it
        if teacher_gap:
            cmd = teacher_command(c)
            print(f"stage 1: the teacher: {cmd}")
            if subprocess.run(cmd, shell=True).returncode:
                raise SystemExit("the teacher's record.py stopped; run the same command again to resume it")
        for k, folder, _ in missing_imitators(c):
            print(f"stage 2: the imitator, seed {k} of its recipe (imitate.py)")
            imitate.train(imitate.ImitateConfig(history=c.teacher, out=folder, seed=k))
    return evaluate.play_arms(c, os.path.dirname(QUICK["teacher"]) if c.quick else None)


def main():
    ap = argparse.ArgumentParser(description="The whole experiment: the teacher, the imitator, every arm, the verdict.")
    toolbox.add_config_flags(ap, PipelineConfig)
    cfg = toolbox.config_from_args(PipelineConfig, ap.parse_args())
    try:
        print_jobs(cfg) if cfg.list_jobs else run_pipeline(cfg)
    except (history_io.HistoryError, ValueError) as e:
        raise SystemExit(f"error: {e}")


if __name__ == "__main__":
    main()
