"""evaluate.py: the verdict. Three questions, each answered by measurement, in one table.

Page five. The argument says an ideal imitator of a learning history would have learned the
learner; a transformer trained by next-move prediction, it claims, learns only the behaviour.

  1. Now.       Does the frozen imitator play like the teacher at the end of its training?
  2. Later.     The teacher keeps learning for N more steps. Does the frozen imitator keep improving?
  3. Elsewhere. In Space Invaders the DQN starts badly and learns. Does the imitator?
  Controls.     Breakout with LEFT and RIGHT swapped (can it adapt in context?), and the imitator
                with the rewards in its context zeroed (is it using reward to learn in context?).

This page defines the arms and draws their plots; play.py (before it) holds the players and the
play loop, verdict.py (after it) the rules that read the arms' games and the table; pipeline.py runs the
stages in order (the teacher, the imitator, the arms, the table); diagnose.py (an aside) asks why
an imitator fails question 1.
Every arm is a separate, resumable job. Teacher arms that learn are record.py runs that start
from the final teacher (--init_from); playing arms save their games and context after every game.

    python evaluate.py --only now            # one group (now, later, elsewhere, controls) or arm, here
    python evaluate.py --only table          # no arm: rewrite the table and plots from what is on disk
    python evaluate.py                       # every arm, one after another (the teacher and imitator must exist)
    python pipeline.py                       # the whole experiment: records and trains what is missing, then the
                                             # arms as parallel jobs (pipeline.py builds on this page)

writes results/ (or results/quick/): verdict.md (the table), verdict.json (every number), *.png.
"""
from __future__ import annotations

import argparse
import dataclasses
import functools
import hashlib
import json
import os
import time
from dataclasses import dataclass

import numpy as np

import figures
import play
import checkpoints
import history_io
import record
import table
import verdict
import toolbox


@dataclass
class EvalConfig:
    teacher: str = "runs/breakout"     # the recorded teacher run (record.py)
    imitator: str = "runs/imitator"    # the trained imitator (imitate.py)
    work: str = "runs/eval"            # one resumable folder per arm
    out: str = "results"               # table, JSON, plots
    only: str = "all"                  # comma-separated arms or groups: now, later, elsewhere, controls;
                                       # "table" runs nothing and rewrites the table from what is on disk
    games: int = 100                   # games per arm for question 1 (100: a clone of the teacher passes its
                                       # equivalence test about 99% of the time; verdict.clone_pass_rate)
    steps: int = 1_000_000             # N: agent steps of every "later" and "elsewhere" arm
    control_steps: int = 250_000       # agent steps of every control arm
    seed: int = 0                      # seeds every arm's emulator and random moves
    quick: bool = False                # run the whole pipeline at classroom scale (see QUICK)
    max_game_steps: int = 0            # end a game after this many agent steps, keeping its score so far (0: only
                                       # the emulator's own limit, 27,000 steps = 30 minutes of play); a stalled
                                       # player (one that never serves) then cannot eat the arm's time
    seeds: str = ""                    # more seeds of the imitator's recipe: comma-separated imitator folders
                                       # (e.g. imitate.py --seed 1, --seed 2); each plays every imitator arm, in
                                       # <work>/seed<k>/, and the table adds the mean and spread across seeds
    table: bool = True                 # after the arms, rewrite the table (the pipeline's parallel jobs do not,
                                       # so that they never write one file at once: its last job does)


# -------------------------------------------------------------------------------------------
# The arms
# -------------------------------------------------------------------------------------------
def learn_arm(c, name, game, steps, init_from):
    """A teacher arm that learns: a record.py run (resumable) starting from init_from or from scratch."""
    dc = play.teacher_dqn_config(c.teacher)
    dc.seed = c.seed + 17                              # its own stream of randomness
    rc = record.RecordConfig(game=game, steps=steps, out=os.path.join(c.work, name), results="",
                             init_from=init_from, checkpoint_every=record.RecordConfig.checkpoint_every
                             if steps >= 100_000 else 10_000 if steps >= 10_000 else steps,
                             chunk_steps=10_000 if steps >= 10_000 else steps)
    record.record(rc, dc)
    return load_arm(c, name)


# Question 2's sharp form: an imitator with a stage input is told these stages (multiples of the
# history's length: 1 = the end of the history it was trained on; past 1 = stages it never saw).
STAGE_PROBES = (0.25, 0.5, 1.0, 1.5, 2.0)

# An imitator arm prompted with another arm's first steps (its history's start), and that arm.
PROMPTED_BY = {"elsewhere_imitator_prompted": "elsewhere_teacher"}

# The arms that need only the teacher's settings (its config.json: the final epsilon, the DQN's
# settings), neither its final weights nor its history: they may play while it is still recorded.
SETTINGS_ONLY = ("elsewhere_fresh", "elsewhere_random", "elsewhere_imitator", "later_imitator_held") + tuple(
    f"stage_x{f:g}" for f in STAGE_PROBES)


def needs_final_teacher(name):
    """Does the arm play, prompt from or judge by the finished teacher (its last checkpoint, its
    history)?"""
    return name.partition("@seed")[0] not in SETTINGS_ONLY


def imitator_folders(c: EvalConfig):
    """The imitator, then the other seeds of its recipe (--seeds), each with its arms' folder and
    the suffix of its arms' names ("" for the first; "@seed1", ... for the others)."""
    extra = [f.strip() for f in c.seeds.split(",") if f.strip()]
    return [(c.imitator, c.work, "")] + [(f, os.path.join(c.work, f"seed{k}"), f"@seed{k}")
                                         for k, f in enumerate(extra, start=1)]


def run_arm(c: EvalConfig, arm_dir, name, game, policy, prompt=None, **kw):
    """Play one arm (play.play_arm) under the experiment's seed and game cap."""
    return play.play_arm(arm_dir, game, policy, seed=c.seed, desc=name, max_game_steps=c.max_game_steps,
                         prompt=prompt, **kw)


def final_teacher(c: EvalConfig):
    return checkpoints.checkpoint_name(c.teacher, checkpoints.list_checkpoints(c.teacher)[-1])


def teacher_arms(c: EvalConfig):
    """The arms without an imitator: name -> (group, function returning the list of games)."""
    T, W = c.teacher, c.work
    rng = lambda k: np.random.default_rng(c.seed + k)   # one stream per consumer (a fixed offset each), so
                                                        # that adding games or arms never shifts another's draws
    return {
        "now_teacher": ("now", lambda: run_arm(c, os.path.join(W, "now_teacher"), "now_teacher", "breakout",
                                               play.TeacherPolicy(final_teacher(c), play.final_epsilon(T), rng(1)),
                                               n_games=c.games)),
        "later_teacher": ("later", lambda: learn_arm(c, "later_teacher", "breakout", c.steps, T)),
        "elsewhere_teacher": ("elsewhere", lambda: learn_arm(c, "elsewhere_teacher", "space_invaders", c.steps, T)),
        "elsewhere_fresh": ("elsewhere", lambda: learn_arm(c, "elsewhere_fresh", "space_invaders", c.steps, "")),
        "elsewhere_random": ("elsewhere", lambda: run_arm(c, os.path.join(W, "elsewhere_random"), "elsewhere_random",
                                                          "space_invaders", play.RandomPolicy(rng(4)),
                                                          n_steps=c.steps)),
        "swap_teacher": ("controls", lambda: learn_arm(c, "swap_teacher", "breakout_swapped", c.control_steps, T)),
    }


def imitator_arms(c: EvalConfig, folder, work, sfx):
    """The arms of one imitator (one seed of its recipe): name + sfx -> (group, function returning
    the list of games), played in `work`. Each arm's policy is built only when the arm runs."""
    T, I = c.teacher, os.path.join(folder, "imitator")
    arm_rng = lambda name: toolbox.named_rng(c.seed, name)   # an imitator arm's moves

    def arm(name, game, prompt=None, prompt_from="end", judge=False, argmax=False, zero_rewards=False, stage=None,
            stage_advances=False, **kw):
        def run():
            policy = play.ImitatorPolicy(I, zero_rewards, stage, stage_advances,
                                         eps=0.0 if argmax else play.final_epsilon(T), rng=arm_rng(name + sfx))
            return run_arm(c, os.path.join(work, name), name + sfx, game, policy,
                           (prompt, prompt_from) if prompt else None,
                           judge=play.TeacherPolicy(final_teacher(c), 0.0, arm_rng("judge")) if judge else None, **kw)
        return run

    def stage_probe(f):                                      # only for an imitator with a stage input
        meta = toolbox.read_json(I + ".json") or {}          # its metadata: no weights loaded twice
        if not meta.get("stage_input"):
            print(f"stage_x{f:g}: {I} has no stage input (imitate.py --stage_input); skipped")
            return None                                      # f times the length of its own history:
        return arm(f"stage_x{f:g}", "breakout", stage=round(f * meta["history_steps"]), n_games=c.games)()

    mine = {
        "now_imitator": ("now", arm("now_imitator", "breakout", T, judge=True, n_games=c.games)),
        "now_imitator_empty": ("now", arm("now_imitator_empty", "breakout", judge=True, n_games=c.games)),
        "later_imitator": ("later", arm("later_imitator", "breakout", T, stage_advances=True, n_steps=c.steps)),
        # question 2 asked plainly: the frozen imitator plays on for N steps, its stage (if it has one)
        # held at the end of its history, from an empty context (at K = 32 a prompt is gone in 32 steps)
        "later_imitator_held": ("later", arm("later_imitator_held", "breakout", n_steps=c.steps)),
        "elsewhere_imitator": ("elsewhere", arm("elsewhere_imitator", "space_invaders", n_steps=c.steps)),
        "elsewhere_imitator_prompted": ("elsewhere", arm("elsewhere_imitator_prompted", "space_invaders",
                                                         arm_folder(c, PROMPTED_BY["elsewhere_imitator_prompted"]),
                                                         prompt_from="start", n_steps=c.steps)),
        "swap_imitator": ("controls", arm("swap_imitator", "breakout_swapped", T, n_steps=c.control_steps)),
        "noreward_imitator": ("controls", arm("noreward_imitator", "breakout", T, zero_rewards=True,  # the stage
                                              stage_advances=True, n_steps=c.control_steps)),  # moves on as in later
    } | {f"stage_x{f:g}": ("stages", lambda f=f: stage_probe(f)) for f in STAGE_PROBES}
    if not c.quick:                                          # the variant, argmax play: reported, not judged
        mine["now_imitator_argmax"] = ("now", arm("now_imitator_argmax", "breakout", T, judge=True, argmax=True,
                                                  n_games=c.games))
    return {name + sfx: v for name, v in mine.items()}


def arms(c: EvalConfig):
    """name -> (group, function returning the list of games). The teacher's arms once; the
    imitator's for every seed of its recipe."""
    arm_table = teacher_arms(c)
    for folder, work, sfx in imitator_folders(c):
        arm_table |= imitator_arms(c, folder, work, sfx)
    return arm_table


GROUPS = ("now", "later", "stages", "elsewhere", "controls")


def wanted(c: EvalConfig):
    """The names --only asks for: arms, groups, "all" or "table"."""
    return {w.strip() for w in c.only.split(",")}


def selected(c, arm_table):
    asked = wanted(c)
    unknown = asked - set(arm_table) - set(GROUPS) - {"all", "table"}
    if unknown:
        moved = " (the diagnoses are diagnose.py's: python diagnose.py --only copycat,q1)" \
            if unknown & {"copycat", "q1_diagnosis"} else ""
        raise SystemExit(f"--only: unknown {sorted(unknown)}{moved}; valid: all, table, {', '.join(GROUPS)}, "
                         f"{', '.join(arm_table)}")
    return [n for n, (g, _) in arm_table.items() if "all" in asked or n in asked or g in asked]


def arm_folder(c, name):
    """Where an arm plays: <work>/<name>, or <work>/seed<k>/<name> for the k-th extra seed."""
    base, _, k = name.partition("@seed")
    return os.path.join(c.work, f"seed{k}", base) if k else os.path.join(c.work, name)


def work_games(c, name):
    """The games an arm has played in its work folder (finished or not), or None if it has none."""
    folder = arm_folder(c, name)
    state = os.path.join(folder, "state.json")
    if os.path.exists(state):
        with open(state) as f:
            return json.load(f)["games"]
    if os.path.exists(os.path.join(folder, "curve.csv")):            # a teacher arm: a record.py run
        s, v = record.read_curve(folder)
        return [[int(a), float(b), 0, -1.0] for a, b in zip(s, v)]
    return None


def load_arm(c, name, group=None):
    """The games of a finished or partly finished arm: its kept copy if it has one (kept_games),
    else its work folder's, or None if it never ran."""
    games = kept_games(c, name, group)
    return games if games is not None else work_games(c, name)


def arm_target(c, group):
    """(target, unit) of an arm of this group: games for question 1 and the stage probes, agent
    steps for the rest."""
    if group in ("now", "stages"):
        return c.games, "games"
    return (c.control_steps if group == "controls" else c.steps), "steps"


def arm_progress(c, name, group, games, kept=None):
    """(done, target, unit) of an arm, from its games (load_arm): a played arm's steps end with its
    last saved game; a teacher arm's are those recorded in its history, which runs past its last
    finished game; a kept arm is finished (kept: whether games are its kept copy; None: look)."""
    folder = arm_folder(c, name)
    target, unit = arm_target(c, group)
    if kept is None:
        kept = kept_games(c, name, group) is not None
    if kept:
        return target, target, unit
    if unit == "games":
        return len(games or []), target, unit
    if os.path.exists(os.path.join(folder, "history.json")):
        return history_io.history_length(folder), target, unit
    return (games[-1][0] if games else 0), target, unit


# -------------------------------------------------------------------------------------------
# Finished arms, kept: the games outlive the work folder
# -------------------------------------------------------------------------------------------
# An arm's work folder holds what it needs to resume (a learning arm's history and replay, gigabytes);
# its games are a few kilobytes. When an arm finishes, its games are copied to <out>/arms/<name>.json
# with what they depend on, so that a lost work folder costs only the arms still running: a finished
# arm is then neither played again nor missing from the table. The copy is used only while every
# setting it names is the run's own (another --games, --steps, seed, teacher or imitator: played anew).
# --quick keeps nothing: its arms take minutes, and a class should see them played.
def kept_path(c, name):
    return os.path.join(c.out, "arms", f"{name}.json")


def teacher_fingerprint(c):
    """The finished teacher's final weights, by content (the first 16 hex digits of their SHA-256;
    "" while it is unfinished): a run recorded again at the same folder on another kind of CPU can
    be another teacher (OpenBLAS and Numba choose their kernels, so the order of float sums, by CPU)."""
    if not record.finished(c.teacher):
        return ""
    path = final_teacher(c) + ".npz"
    return _weights_sha(path, os.path.getmtime(path), os.path.getsize(path))


@functools.lru_cache(maxsize=8)
def _weights_sha(path, mtime, size):               # read once per file version
    with np.load(path, allow_pickle=False) as z:
        return hashlib.sha256(np.ascontiguousarray(z["params"]).tobytes()).hexdigest()[:16]


def teacher_settings(c):
    """The teacher's learning settings: its run's, or, before it is recorded (a fresh machine's
    --list_jobs), the defaults the pipeline's teacher job records with."""
    if os.path.exists(os.path.join(c.teacher, "config.json")):
        return play.teacher_dqn_config(c.teacher)
    return record.DQNConfig()


def arm_identity(c, name, group):
    """What an arm's games depend on besides the code: its name, the teacher (its folder, as given,
    and its final weights; for an arm that needs only its settings, those: any teacher recorded with
    them will do), the imitator's folder, the seed, its length and the game cap."""
    k = name.partition("@seed")[2]
    imitator = "" if name in teacher_arms(c) else os.path.normpath(imitator_folders(c)[int(k or 0)][0])
    target, unit = arm_target(c, group)
    teacher = (dict(teacher=os.path.normpath(c.teacher), teacher_weights=teacher_fingerprint(c))
               if needs_final_teacher(name) else
               dict(teacher_settings=dataclasses.asdict(teacher_settings(c))))
    return dict(arm=name, imitator=imitator, seed=c.seed, target=target, unit=unit,
                max_game_steps=c.max_game_steps) | teacher


def kept_games(c, name, group=None):
    """The games of the arm's kept copy, if it has one made with the run's own settings, else None.
    group: the arm's group (None: looked up in the arm table)."""
    kept = None if c.quick else toolbox.read_json(kept_path(c, name))
    if kept is None:
        return None
    group = group or arms(c)[name][0]
    return kept["games"] if kept.get("identity") == arm_identity(c, name, group) else None


def must_play(c, name):
    """Does the arm still have to be played (or its work folder kept)? Not if it is kept, unless an
    arm still to be played is prompted from its history and its work folder is gone."""
    arm_table = arms(c)
    if kept_games(c, name, arm_table[name][0]) is None:
        return True
    waiting = [n for n, (g, _) in arm_table.items()
               if PROMPTED_BY.get(n.partition("@seed")[0]) == name and kept_games(c, n, g) is None]
    return bool(waiting) and not os.path.exists(os.path.join(arm_folder(c, name), "history.json"))


def keep_arm(c, name, group=None):
    """Copy a finished arm's games from its work folder to <out>/arms/<name>.json (once)."""
    group = group or arms(c)[name][0]
    if c.quick or kept_games(c, name, group) is not None:
        return
    games = work_games(c, name)
    done, target, _ = arm_progress(c, name, group, games, kept=False)
    if games is None or done < target:
        return
    os.makedirs(os.path.dirname(kept_path(c, name)), exist_ok=True)
    began = toolbox.read_json(os.path.join(arm_folder(c, name), "started.json")) or {}   # a playing arm's
    toolbox.write_json(kept_path(c, name), dict(identity=arm_identity(c, name, group), games=games,
                                                cpu=toolbox.cpu_info(), started=began.get("started", "not recorded"),
                                                started_on=began.get("cpu", "not recorded"),
                                                kept=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())))


# -------------------------------------------------------------------------------------------
# The verdict: verdict.py reads the games by its rules; here, which games and where they go.
# -------------------------------------------------------------------------------------------


def write_verdict(c: EvalConfig, teacher_record=None):
    """The verdict from every finished arm on disk: verdict.json, verdict.md and the plots in c.out
    (and verdict_seed<k>.json/.md, the whole table of each other seed of the imitator's recipe).
    An arm still running is not judged (its reading could flip as it goes on); it is listed.
    teacher_record: a folder with the teacher's teacher_summary.json, whose learning the table then shows."""
    g_all, running, arm_table = {}, {}, arms(c)
    for name, (group, _) in arm_table.items():
        kept = kept_games(c, name, group)                     # read once per arm
        games = kept if kept is not None else work_games(c, name)
        done, target, unit = arm_progress(c, name, group, games, kept=kept is not None)
        if done >= target:
            g_all[name] = games
            if kept is None:                     # finished by a job that kept nothing (run by hand, say)
                keep_arm(c, name, group)
        elif done:
            running[name] = f"{done:,} of {target:,} {unit}"

    def games_of(sfx):               # one seed's arms, under the first seed's names, and the teacher's (shared)
        return {n: g_all.get(n + sfx if n + sfx in arm_table else n) for n in arm_table if "@seed" not in n}

    Rs, folders = [], imitator_folders(c)
    for folder, _, sfx in folders:                                # one verdict per seed of the imitator
        meta = toolbox.read_json(os.path.join(folder, "imitator.json")) or {}
        Rs.append(verdict.judge(games_of(sfx), dict(steps=c.steps, control_steps=c.control_steps, games=c.games,
                                                    quick=c.quick, imitator_stage_input=bool(meta.get("stage_input"))),
                                np.random.default_rng(c.seed + 99),          # the bootstrap's own stream
                                toolbox.read_json(os.path.join(folder, "metrics.json")),
                                toolbox.read_json(os.path.join(c.out, "copycat.json")) if not sfx else None))
    R = Rs[0]
    if running:
        R["in_progress"] = running
    if teacher_record:                           # the teacher's learning, from its committed full-scale record
        folder = teacher_record
        R["teacher_record"] = dict(folder=folder, **toolbox.read_json(os.path.join(folder, "teacher_summary.json")))
    os.makedirs(c.out, exist_ok=True)
    for (folder, _, sfx), Rk in list(zip(folders, Rs))[1:]:              # each other seed's whole table
        Rk["imitator"] = folder
        toolbox.write_json(os.path.join(c.out, f"verdict_{sfx[1:]}.json"), Rk)
        with open(os.path.join(c.out, f"verdict_{sfx[1:]}.md"), "w") as f:
            f.write(table.table(Rk))
    if len(Rs) > 1:
        R["seeds"] = verdict.across_seeds(Rs, [f for f, _, _ in folders])
    g = games_of("")
    toolbox.write_json(os.path.join(c.out, "verdict.json"), R)
    text = table.table(R)
    with open(os.path.join(c.out, "verdict.md"), "w") as f:
        f.write(text)
    figures.plots(g, R, c.out)
    return R, text


# -------------------------------------------------------------------------------------------
# Playing the chosen arms, one after another, then the table
# -------------------------------------------------------------------------------------------
def check_config(c: EvalConfig):
    """Refuse bad settings before anything is played or written, naming the flag."""
    toolbox.check_positive(c, ("games", "steps", "control_steps"))
    if c.max_game_steps < 0:
        raise SystemExit(f"--max_game_steps {c.max_game_steps} must be 0 (no cap) or a positive number of steps")


def play_arms(c: EvalConfig, teacher_record=None, log=print):
    """Play the arms --only chooses, one after another in this process (each resumable), keep each
    finished arm's games, then (--table) write the table from every finished arm on disk.
    teacher_record: as write_verdict's. Returns the verdict's numbers ({} without a table)."""
    all_arms = arms(c)
    for name in selected(c, all_arms):
        if not must_play(c, name):
            log(f"arm {name}: finished, its games kept in {kept_path(c, name)}")
            continue
        log(f"arm {name}")
        all_arms[name][1]()
        keep_arm(c, name, all_arms[name][0])
    if not c.table:
        return {}
    if not any(load_arm(c, name) for name in all_arms):           # finished or running
        log(f"nothing to tabulate: no finished arm under {c.work}; {c.out}/verdict.md is left as it is. "
            f"Run the arms first (python evaluate.py --only now, ...).")
        return {}
    R, text = write_verdict(c, teacher_record)
    log(text)
    return R


def main():
    ap = argparse.ArgumentParser(description="Play the experiment's arms (--only) and write the table. The teacher "
                                             "and the imitator must exist: pipeline.py makes them.")
    toolbox.add_config_flags(ap, EvalConfig)
    c = toolbox.config_from_args(EvalConfig, ap.parse_args())
    check_config(c)
    if c.quick:
        raise SystemExit("--quick is the pipeline's classroom run: python pipeline.py --quick (make quick)")
    chosen = selected(c, arms(c))                               # an unknown --only stops here, before any work
    folder_of = {sfx: folder for folder, _, sfx in imitator_folders(c)}  # "" / "@seed1" ... -> its imitator
    own = teacher_arms(c)
    imitators = {folder_of["@seed" + n.partition("@seed")[2] if "@seed" in n else ""] for n in chosen if n not in own}
    missing = [f"--imitator {f} (no imitator.json)" for f in sorted(imitators)
               if not os.path.exists(os.path.join(f, "imitator.json"))]
    if any(needs_final_teacher(n) for n in chosen) and not record.finished(c.teacher):
        missing.insert(0, f"--teacher {c.teacher} (no finished record.py run)")
    if missing:
        raise SystemExit(f"{'; '.join(missing)}: make them first, with python pipeline.py (the whole experiment, "
                         f"which records and trains what is missing), or record.py and imitate.py")
    play_arms(c)


if __name__ == "__main__":
    main()
