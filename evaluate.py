"""evaluate.py: the verdict. Three questions, each answered by measurement, in one table.

Page five. The argument says an ideal imitator of a learning history would have learned the
learner; a transformer trained by next-move prediction, it claims, learns only the behaviour.

  1. Now.       Does the frozen imitator play like the teacher at the end of its training?
  2. Later.     The teacher keeps learning for N more steps. Does the frozen imitator keep improving?
  3. Elsewhere. In Space Invaders the DQN starts badly and learns. Does the imitator?
  Controls.     Breakout with LEFT and RIGHT swapped (can it adapt in context?), and the imitator
                with the rewards in its context zeroed (is it using reward to learn in context?).

This page lists the arms as a plain table (TEACHER_ARMS, IMITATOR_ARMS: one Arm row each, who
plays which game from what), plays the chosen ones (play_one) and writes the table from their
games. play.py (before it) holds the players and the play loop, verdict.py (after it) the rules
that read the games; appendix pages keep the rest: arm_files.py (finished arms' games kept beside
the table), table.py and figures.py (the Markdown table, the plots); pipeline.py runs the stages in
order (the teacher, the imitator, the arms as parallel jobs, the table); diagnose.py (an aside) asks
why an imitator fails question 1.
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
import os
import time
from dataclasses import dataclass

import numpy as np

import figures
import play
import checkpoints
import arm_files
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
    rc = record.RecordConfig(game=game, steps=steps, out=arm_folder(c, name), results="",
                             init_from=init_from, checkpoint_every=record.RecordConfig.checkpoint_every
                             if steps >= 100_000 else 10_000 if steps >= 10_000 else steps,
                             chunk_steps=10_000 if steps >= 10_000 else steps)
    record.record(rc, dc)
    return load_arm(c, name)


# Question 2's sharp form: an imitator with a stage input is told these stages (multiples of the
# history's length: 1 = the end of the history it was trained on; past 1 = stages it never saw).
STAGE_PROBES = (0.25, 0.5, 1.0, 1.5, 2.0)

@dataclass(frozen=True)
class Arm:
    """One arm of the experiment as a row of data: who plays which game, starting from what. How long
    follows from its group (arm_target); play_one turns the row into games."""
    name: str                      # as --only and the table name it; "<arm>@seed<k>": the k-th extra seed's
    group: str                     # now, later, stages, elsewhere, controls
    game: str                      # a dqn.GAMES name
    player: str                    # "teacher" (frozen), "learner" (a record.py run), "random", "imitator"
    from_teacher: bool = True      # a learner starts from the final teacher (False: from random weights)
    prompt: str = ""               # the imitator's context first holds "teacher": its history's last K steps,
                                   # or <an arm's name>: that arm's first K steps; "": nothing
    judge: bool = False            # also count how often its move is the final teacher's greedy move
    argmax: bool = False           # always the most likely move (else epsilon-greedy at the teacher's final epsilon)
    zero_rewards: bool = False     # every reward in its context reads 0
    stage: float | None = None     # told this multiple of its history's length as its stage (None: its default)
    stage_advances: bool = False   # its stage moves on with the steps it plays
    rng_offset: int = 0            # a teacher or random player's stream: seed + offset, fixed per arm, so that
                                   # adding games or arms never shifts another's draws
    settings_only: bool = False    # needs only the teacher's settings (its config.json: the final epsilon, the
                                   # DQN's), neither its final weights nor its history: may play while it records


def split_seed(name):
    """(base name, k) of an arm's name: "later_imitator@seed2" -> ("later_imitator", 2); k = 0 for the first."""
    base, _, k = name.partition("@seed")
    return base, int(k or 0)


def needs_final_teacher(name):
    """Does the arm play, prompt from or judge by the finished teacher (its last checkpoint, its
    history)?"""
    return not ARMS_BY_NAME[split_seed(name)[0]].settings_only


def imitator_folders(c: EvalConfig):
    """The imitator, then the other seeds of its recipe (--seeds), each with its arms' folder and
    the suffix of its arms' names ("" for the first; "@seed1", ... for the others)."""
    extra = [f.strip() for f in c.seeds.split(",") if f.strip()]
    return [(c.imitator, c.work, "")] + [(f, os.path.join(c.work, f"seed{k}"), f"@seed{k}")
                                         for k, f in enumerate(extra, start=1)]


def final_teacher(c: EvalConfig):
    return checkpoints.checkpoint_name(c.teacher, checkpoints.list_checkpoints(c.teacher)[-1])


TEACHER_ARMS = (
    Arm("now_teacher", "now", "breakout", "teacher", rng_offset=1),
    Arm("later_teacher", "later", "breakout", "learner"),
    Arm("elsewhere_teacher", "elsewhere", "space_invaders", "learner"),
    Arm("elsewhere_fresh", "elsewhere", "space_invaders", "learner", from_teacher=False, settings_only=True),
    Arm("elsewhere_random", "elsewhere", "space_invaders", "random", rng_offset=4, settings_only=True),
    Arm("swap_teacher", "controls", "breakout_swapped", "learner"),
)

IMITATOR_ARMS = (
    Arm("now_imitator", "now", "breakout", "imitator", prompt="teacher", judge=True),
    Arm("now_imitator_empty", "now", "breakout", "imitator", judge=True),
    Arm("later_imitator", "later", "breakout", "imitator", prompt="teacher", stage_advances=True),
    # question 2 asked plainly: the frozen imitator plays on for N steps, its stage (if it has one)
    # held at the end of its history, from an empty context (at K = 32 a prompt is gone in 32 steps)
    Arm("later_imitator_held", "later", "breakout", "imitator", settings_only=True),
    Arm("elsewhere_imitator", "elsewhere", "space_invaders", "imitator", settings_only=True),
    Arm("elsewhere_imitator_prompted", "elsewhere", "space_invaders", "imitator", prompt="elsewhere_teacher"),
    Arm("swap_imitator", "controls", "breakout_swapped", "imitator", prompt="teacher"),
    Arm("noreward_imitator", "controls", "breakout", "imitator", prompt="teacher", zero_rewards=True,
        stage_advances=True),                                        # the stage moves on as in later_imitator
) + tuple(Arm(f"stage_x{f:g}", "stages", "breakout", "imitator", stage=f, settings_only=True) for f in STAGE_PROBES)

TEACHER_NAMES = {a.name for a in TEACHER_ARMS}

# the variant, argmax play: reported, not judged (not in --quick's classroom run)
ARGMAX_ARM = Arm("now_imitator_argmax", "now", "breakout", "imitator", prompt="teacher", judge=True, argmax=True)
ARMS_BY_NAME = {a.name: a for a in TEACHER_ARMS + IMITATOR_ARMS + (ARGMAX_ARM,)}   # the first seed's names


def arms(c: EvalConfig):
    """name -> Arm: the teacher's arms once, the imitator's for every seed of its recipe."""
    table = {a.name: a for a in TEACHER_ARMS}
    for _, _, sfx in imitator_folders(c):
        for a in IMITATOR_ARMS + (() if c.quick else (ARGMAX_ARM,)):
            table[a.name + sfx] = dataclasses.replace(a, name=a.name + sfx)
    return table


def prompted_by(arm: Arm):
    """The arm whose history's first steps prompt this one, or ""."""
    return "" if arm.prompt in ("", "teacher") else arm.prompt


def play_one(c: EvalConfig, arm: Arm):
    """Play (or learn) one arm from its row: its games, resumable (play.play_arm, record.py); None
    for a stage probe of an imitator without a stage input."""
    T, k = c.teacher, split_seed(arm.name)[1]
    target, unit = arm_target(c, arm.group)
    if arm.player == "learner":
        return learn_arm(c, arm.name, arm.game, target, T if arm.from_teacher else "")
    judge, stream = None, np.random.default_rng(c.seed + arm.rng_offset)
    if arm.player == "teacher":
        policy = play.TeacherPolicy(final_teacher(c), play.final_epsilon(T), stream)
    elif arm.player == "random":
        policy = play.RandomPolicy(stream)
    else:
        I = os.path.join(imitator_folders(c)[k][0], "imitator")
        stage = None
        if arm.stage is not None:                                  # f times the length of its own history
            meta = toolbox.read_json(I + ".json") or {}            # its metadata: no weights loaded twice
            if not meta.get("stage_input"):
                print(f"{arm.name}: {I} has no stage input (imitate.py --stage_input); skipped")
                return None
            stage = round(arm.stage * meta["history_steps"])
        policy = play.ImitatorPolicy(I, arm.zero_rewards, stage, arm.stage_advances,
                                     eps=0.0 if arm.argmax else play.final_epsilon(T),
                                     rng=toolbox.named_rng(c.seed, arm.name))
        if arm.judge:
            judge = play.TeacherPolicy(final_teacher(c), 0.0, toolbox.named_rng(c.seed, "judge"))
    prompt = (T, "end") if arm.prompt == "teacher" else (arm_folder(c, arm.prompt), "start") if arm.prompt else None
    length = dict(n_games=target) if unit == "games" else dict(n_steps=target)
    return play.play_arm(arm_folder(c, arm.name), arm.game, policy, seed=c.seed, desc=arm.name,
                         max_game_steps=c.max_game_steps, prompt=prompt, judge=judge, **length)


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
    return [n for n, a in arm_table.items() if "all" in asked or n in asked or a.group in asked]


def arm_folder(c, name):
    """Where an arm plays: <work>/<name>, or <work>/seed<k>/<name> for the k-th extra seed."""
    base, k = split_seed(name)
    return os.path.join(c.work, f"seed{k}", base) if k else os.path.join(c.work, name)


def arm_status(c, name, group):
    """(games, kept, done, target, unit) of an arm: its kept copy's games if it has one (kept_games;
    a kept arm is finished), else its work folder's (None if it never ran) and how far they go."""
    target, unit = arm_target(c, group)
    games = kept_games(c, name, group)
    if games is not None:
        return games, True, target, target, unit
    folder = arm_folder(c, name)
    games = arm_files.work_games(folder)
    return games, False, arm_files.progress(folder, games, unit), target, unit


def load_arm(c, name, group=None):
    """The games of a finished or partly finished arm, or None if it never ran."""
    return arm_status(c, name, group or arms(c)[name].group)[0]


def arm_target(c, group):
    """(target, unit) of an arm of this group: games for question 1 and the stage probes, agent
    steps for the rest."""
    if group in ("now", "stages"):
        return c.games, "games"
    return (c.control_steps if group == "controls" else c.steps), "steps"


# -------------------------------------------------------------------------------------------
# Finished arms, kept (arm_files.py): the games outlive the work folder
# -------------------------------------------------------------------------------------------
def arm_identity(c, name, group):
    """What an arm's games depend on besides the code: its name, the teacher (its folder, as given,
    and its final weights; for an arm that needs only its settings, those: any teacher recorded with
    them will do), the imitator's folder, the seed, its length and the game cap."""
    imitator = "" if name in TEACHER_NAMES else os.path.normpath(imitator_folders(c)[split_seed(name)[1]][0])
    target, unit = arm_target(c, group)
    if not needs_final_teacher(name):
        teacher = dict(teacher_settings=dataclasses.asdict(teacher_settings(c)))
    else:
        weights = arm_files.weights_fingerprint(final_teacher(c) + ".npz") if record.finished(c.teacher) else ""
        teacher = dict(teacher=os.path.normpath(c.teacher), teacher_weights=weights)
    return dict(arm=name, imitator=imitator, seed=c.seed, target=target, unit=unit,
                max_game_steps=c.max_game_steps) | teacher


def teacher_settings(c):
    """The teacher's learning settings: its run's, or, before it is recorded (a fresh machine's
    --list_jobs), the defaults the pipeline's teacher job records with."""
    if os.path.exists(os.path.join(c.teacher, "config.json")):
        return play.teacher_dqn_config(c.teacher)
    return record.DQNConfig()


def kept_games(c, name, group=None):
    """The games of the arm's kept copy, if it has one made with the run's own settings, else None.
    --quick keeps nothing: its arms take minutes, and a class should see them played."""
    if c.quick:
        return None
    return arm_files.read(c.out, name, lambda: arm_identity(c, name, group or arms(c)[name].group))


def must_play(c, name):
    """Does the arm still have to be played (or its work folder kept)? Not if it is kept, unless an
    arm still to be played is prompted from its history and its work folder is gone."""
    arm_table = arms(c)
    if kept_games(c, name, arm_table[name].group) is None:
        return True
    waiting = [n for n, a in arm_table.items() if prompted_by(a) == name and kept_games(c, n, a.group) is None]
    return bool(waiting) and not os.path.exists(os.path.join(arm_folder(c, name), "history.json"))


def keep_arm(c, name, group=None, status=None):
    """Copy a finished arm's games from its work folder to <out>/arms/<name>.json (once); status: its
    arm_status, if already read."""
    group = group or arms(c)[name].group
    games, kept, done, target, _ = status or arm_status(c, name, group)
    if not (c.quick or kept) and games is not None and done >= target:
        arm_files.write(c.out, name, arm_identity(c, name, group), games, arm_folder(c, name))


# -------------------------------------------------------------------------------------------
# The verdict: verdict.py reads the games by its rules; here, which games and where they go.
# -------------------------------------------------------------------------------------------


def write_verdict(c: EvalConfig, teacher_record=None):
    """The verdict from every finished arm on disk: verdict.json, verdict.md and the plots in c.out
    (and verdict_seed<k>.json/.md, the whole table of each other seed of the imitator's recipe).
    An arm still running is not judged (its reading could flip as it goes on); it is listed.
    teacher_record: a folder with the teacher's teacher_summary.json, whose learning the table then shows."""
    finished, running, arm_table = {}, {}, arms(c)
    for name, arm in arm_table.items():
        status = games, kept, done, target, unit = arm_status(c, name, arm.group)    # read once per arm
        if done >= target:
            finished[name] = games
            keep_arm(c, name, arm.group, status)  # if a job that kept nothing finished it (run by hand, say)
        elif done:
            running[name] = f"{done:,} of {target:,} {unit}"

    def games_of(sfx):               # one seed's arms, under the first seed's names, and the teacher's (shared)
        return {n: finished.get(n + sfx if n + sfx in arm_table else n) for n in arm_table if "@seed" not in n}

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
        table.write(os.path.join(c.out, f"verdict_{sfx[1:]}"), Rk | dict(imitator=folder))
    if len(Rs) > 1:
        R["seeds"] = verdict.across_seeds(Rs, [f for f, _, _ in folders])
    text = table.write(os.path.join(c.out, "verdict"), R)
    figures.plots(games_of(""), R, c.out)
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
            log(f"arm {name}: finished, its games kept in {arm_files.path(c.out, name)}")
            continue
        log(f"arm {name}")
        play_one(c, all_arms[name])
        keep_arm(c, name, all_arms[name].group)
    if not c.table:
        return {}
    if not any(load_arm(c, name, a.group) for name, a in all_arms.items()):   # finished or running
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
    imitators = {imitator_folders(c)[split_seed(n)[1]][0] for n in chosen if n not in TEACHER_NAMES}
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
