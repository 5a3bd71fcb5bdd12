"""evaluate.py: the verdict. Three questions, each answered by measurement, in one table.

Page five. The argument says an ideal imitator of a learning history would have learned the
learner; a transformer trained by next-move prediction, it claims, learns only the behaviour.

  1. Now.       Does the frozen imitator play like the teacher at the end of its training?
  2. Later.     The teacher keeps learning for N more steps. Does the frozen imitator keep improving?
  3. Elsewhere. In Space Invaders the DQN starts badly and learns. Does the imitator?
  Controls.     Breakout with LEFT and RIGHT swapped (can it adapt in context?), and the imitator
                with the rewards in its context zeroed (is it using reward to learn in context?).

This page defines the arms and plays them; verdict.py (its second half) holds the rules that
read their games, the table and the plots; pipeline.py runs the stages in order (the teacher, the
imitator, the arms, the table); diagnose.py (an aside) asks why an imitator fails question 1.
Every arm is a separate, resumable job. Teacher arms that learn are record.py runs that start
from the final teacher (--init_from); playing arms save their games and context after every game.

    python evaluate.py --only now            # one group (now, later, elsewhere, controls) or arm
    python evaluate.py --only table          # no arm: rewrite the table and plots from what is on disk
    python evaluate.py                       # the whole pipeline: the same as python pipeline.py

writes results/ (or results/quick/): verdict.md (the table), verdict.json (every number), *.png.
"""
from __future__ import annotations

import itertools
import json
import os
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

import dqn
import imitate
import record
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
    table: bool = True                 # after the arms, rewrite the table (the jobs of --list_jobs do not, so
                                       # that parallel jobs never write one file at once: their last wave does)
    list_jobs: int = 0                 # print the commands of wave k (1, 2, ...: each wave's commands are
                                       # independent, each wave needs the ones before it) one per line and exit,
                                       # for xargs -P, GNU parallel or a Slurm array; -1: every wave, each under
                                       # a "# wave k" line; 0: run the pipeline here
    jobs: int = 0                      # arms run at once, each its own process with one BLAS thread, wave after
                                       # wave of --list_jobs (0: one per core; 1: here, one after another)


# -------------------------------------------------------------------------------------------
# Policies that play without learning
# -------------------------------------------------------------------------------------------
class TeacherPolicy:
    """A frozen teacher checkpoint, epsilon-greedy."""

    def __init__(self, ckpt, eps, rng):
        self.p_flat = dqn.load_checkpoint(ckpt)[1]["params"]
        self.p = toolbox.param_views(self.p_flat, dqn.param_shapes())
        self.eps, self.rng = eps, rng

    def greedy(self, stack):
        return int(dqn.greedy(self.p, stack[None])[0])

    def act(self, stack, prev_action, prev_reward):
        return dqn.epsilon_greedy(self.rng, self.eps, lambda: self.greedy(stack))


class ImitatorPolicy:
    """The frozen imitator; zero_rewards hides every reward from its context (a control). A
    behaviour-cloning network plays the same way but has no context (self.player is then None).

    It plays by the teacher's rule: with probability eps (the teacher's final epsilon) a uniformly
    random move, else its most likely one. Every step still enters its context, whichever move is
    made, as every step of the teacher's entered its history. eps = 0 is plain argmax play.

    An imitator with a stage input is told a stage: `stage` (an agent step of the history, e.g.
    past its end), or by default the end of its history; with `stage_advances` the stage moves on
    with every step the arm plays, as the learning teacher's does (question 2's sharp form)."""

    def __init__(self, path, zero_rewards=False, stage=None, stage_advances=False, eps=0.0, rng=None):
        self.model, self.zero = imitate.load_player(path), zero_rewards
        self.eps, self.rng = eps, rng if rng is not None else np.random.default_rng(0)
        self.player = self.model if isinstance(self.model, imitate.Player) else None   # has a context
        self.has_stage = self.player is not None and "w_stage" in self.player.p
        self.stage = stage if stage is not None else (self.player.history_steps if self.player else 0)
        self.stage_advances = stage_advances
        self.at_arm_step(0)

    def at_arm_step(self, steps):
        """Called before each game with the arm's steps so far: sets the stage told."""
        if self.has_stage:
            self.player.set_stage(self.stage + (steps if self.stage_advances else 0))

    def act(self, stack, prev_action, prev_reward):
        a = self.model.act(stack, prev_action, 0.0 if self.zero else prev_reward)   # the step enters the context
        return dqn.epsilon_greedy(self.rng, self.eps, lambda: a)

    def prompt(self, teacher_run, where="end"):
        """Fill the context with K steps of a teacher's recorded history, as they were recorded:
        its last K steps (where="end"), or its first K (where="start": e.g. the transplanted
        teacher's first moves in a new game). Returns the last prompted move and reward."""
        if self.player is None:
            return imitate.NEW_GAME, 0.0
        K, L = self.player.tcfg.block_size, record.history_length(teacher_run)
        if L < K + 1:
            raise ValueError(f"{teacher_run}: {L} recorded steps, fewer than the imitator's context of {K}")
        h = imitate.load_history(teacher_run, start=max(0, L - K - 8) if where == "end" else 0)
        s = len(h["action"]) - K if where == "end" else 0
        stacks, pa, pr, _ = imitate.window_inputs(h, np.array([s]), K)
        for t in range(K):
            self.player.logits(stacks[t], int(pa[0, t]), 0.0 if self.zero else imitate.token_reward(pr[0, t]))
        return int(h["action"][s + K - 1]), float(h["reward_clip"][s + K - 1])


class RandomPolicy:
    def __init__(self, rng):
        self.rng = rng

    def act(self, stack, prev_action, prev_reward):
        return int(self.rng.integers(dqn.N_ACTIONS))


# -------------------------------------------------------------------------------------------
# A playing arm: play games, log each one, save after each one so a restart loses nothing.
# -------------------------------------------------------------------------------------------
def resume_arm(arm_dir, policy, prompt):
    """An arm's saved state (games so far, the last move and reward) or a fresh one, and its
    player's context: restored as it was after the last saved game, or filled with the prompt.
    Returns (state, state path, context path, the player with a context or None)."""
    os.makedirs(arm_dir, exist_ok=True)
    state_path, ctx_path = os.path.join(arm_dir, "state.json"), os.path.join(arm_dir, "context.npy")
    state = toolbox.read_json(state_path) or (dict(steps=0, games=[], prev_action=imitate.NEW_GAME, prev_reward=0.0)
                                              | (dict(prompt=prompt[0], prompt_from=prompt[1]) if prompt else {}))
    player = getattr(policy, "player", None)
    if player is not None and os.path.exists(ctx_path):
        player.restore(np.load(ctx_path, allow_pickle=False))
    elif player is not None and state.get("prompt"):
        state["prev_action"], state["prev_reward"] = policy.prompt(state["prompt"], state.get("prompt_from", "end"))
    return state, state_path, ctx_path, player


def play_arm(arm_dir, game, policy, n_steps=None, n_games=None, seed=0, judge=None, desc="", max_game_steps=0,
             prompt=None):
    """Play until n_steps agent steps or n_games games are done. Returns the list of games:
    [end_step, score, length, agreement with judge's greedy move (or -1)]. A game longer than
    max_game_steps (if > 0) is ended there with the score it has. prompt: (teacher run, "end" or
    "start"): an imitator's context is first filled with K steps of that run's history (prompt()).

    Resuming: finished games are kept; the game in progress when the job stopped is dropped and its
    steps are not counted; the imitator's context is restored as it was after the last saved game."""
    state, state_path, ctx_path, player = resume_arm(arm_dir, policy, prompt)

    def done():
        return (n_steps is not None and state["steps"] >= n_steps) or \
               (n_games is not None and len(state["games"]) >= n_games)

    env = dqn.make_env(game)
    # A fresh emulator seed at every (re)start, different for each restart point and reproducible.
    obs, _ = env.reset(seed=seed + 1000 * len(state["games"]) + state["steps"])
    prev_a, prev_r, first = state["prev_action"], state["prev_reward"], True
    score, length, agree, steps_here = 0.0, 0, 0, 0
    bar = tqdm(total=n_steps or n_games, initial=state["steps"] if n_steps else len(state["games"]),
               desc=desc, unit="step" if n_steps else "game")
    try:
        while not done():
            if first and hasattr(policy, "at_arm_step"):
                policy.at_arm_step(state["steps"])                 # e.g. the stage told moves on
            a = policy.act(obs[0], imitate.NEW_GAME if first else prev_a, prev_r)
            if judge is not None:
                agree += a == judge.greedy(obs[0])
            env.send(np.array([a], np.int64))
            obs, r, term, trunc, _ = env.recv()
            score, length, steps_here = score + float(r[0]), length + 1, steps_here + 1
            prev_a, prev_r, first = a, float(np.sign(r[0])), False
            if n_steps:
                bar.update(1)
            cut = bool(max_game_steps) and length >= max_game_steps and not (term[0] or trunc[0])
            if cut:                                                # end it here; the emulator starts a new game
                obs, _ = env.reset(seed=seed + 1000 * (len(state["games"]) + 1) + state["steps"] + steps_here)
            if term[0] or trunc[0] or cut:
                state["steps"] += steps_here
                state["games"].append([state["steps"], score, length, agree / length if judge else -1.0])
                state["prev_action"], state["prev_reward"] = prev_a, prev_r
                if player is not None:
                    toolbox.save_npy(ctx_path, player.context())
                toolbox.write_json(state_path, state)
                score, length, agree, steps_here, first = 0.0, 0, 0, 0, True
                if not n_steps:
                    bar.update(1)
                bar.set_postfix(games=len(state["games"]), last=f"{state['games'][-1][1]:.0f}")
    finally:
        bar.close()
        env.close()
    return state["games"]


def play_moves(game, act, seed, max_game_steps=0):
    """The plain play loop (no saving, no resuming): yields (stack seen, move, reward, game over) at
    every agent step, for ever. act(stack, prev_action, prev_reward, step_in_game) picks each move;
    game k starts from emulator seed seed + k, and a game longer than max_game_steps (if > 0) ends
    there (a stalled policy ends). Each game here is a fresh reset of the emulator, so any game can
    be replayed alone; play_arm's games instead follow on from one another in one emulator (which
    is what lets an arm save after every game and resume mid-run with the same games)."""
    env = dqn.make_env(game)
    try:
        for k in itertools.count():
            obs, _ = env.reset(seed=seed + k)
            prev, prev_r = imitate.NEW_GAME, 0.0
            for t in itertools.count():
                stack = obs[0]
                a = act(stack, prev, prev_r, t)
                env.send(np.array([a], np.int64))
                obs, r, term, trunc, _ = env.recv()
                prev, prev_r = a, float(np.sign(r[0]))
                over = bool(term[0] or trunc[0]) or t + 1 == max_game_steps
                yield stack, a, float(r[0]), over
                if over:
                    break
    finally:
        env.close()


# -------------------------------------------------------------------------------------------
# The arms
# -------------------------------------------------------------------------------------------
def teacher_dqn_config(run_dir):
    with open(os.path.join(run_dir, "config.json")) as f:
        return dqn.DQNConfig(**json.load(f)["dqn"])


def final_epsilon(run_dir):
    return teacher_dqn_config(run_dir).eps_end


def learn_arm(c, name, game, steps, init_from):
    """A teacher arm that learns: a record.py run (resumable) starting from init_from or from scratch."""
    dc = teacher_dqn_config(c.teacher)
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


def imitator_folders(c: EvalConfig):
    """The imitator, then the other seeds of its recipe (--seeds), each with its arms' folder and
    the suffix of its arms' names ("" for the first; "@seed1", ... for the others)."""
    extra = [f.strip() for f in c.seeds.split(",") if f.strip()]
    return [(c.imitator, c.work, "")] + [(f, os.path.join(c.work, f"seed{k}"), f"@seed{k}")
                                         for k, f in enumerate(extra, start=1)]


def arms(c: EvalConfig):
    """name -> (group, function returning the list of games). The teacher's arms once; the
    imitator's for every seed of its recipe."""
    T, W = c.teacher, c.work
    rng = lambda k: np.random.default_rng(c.seed + k)   # one stream per consumer (a fixed offset each), so
                                                        # that adding games or arms never shifts another's draws
    arm_rng = lambda name: toolbox.named_rng(c.seed, name)   # an imitator arm's moves
    eps = lambda: final_epsilon(T)
    final = lambda: record.checkpoint_name(T, record.list_checkpoints(T)[-1])

    def play(arm_dir, name, game, pol_prompt, **kw):
        pol, prompt = pol_prompt
        return play_arm(arm_dir, game, pol, seed=c.seed, desc=name, max_game_steps=c.max_game_steps, prompt=prompt,
                        **kw)

    table = {
        "now_teacher": ("now", lambda: play(os.path.join(W, "now_teacher"), "now_teacher", "breakout",
                                            (TeacherPolicy(final(), eps(), rng(1)), None), n_games=c.games)),
        "later_teacher": ("later", lambda: learn_arm(c, "later_teacher", "breakout", c.steps, T)),
        "elsewhere_teacher": ("elsewhere", lambda: learn_arm(c, "elsewhere_teacher", "space_invaders", c.steps, T)),
        "elsewhere_fresh": ("elsewhere", lambda: learn_arm(c, "elsewhere_fresh", "space_invaders", c.steps, "")),
        "elsewhere_random": ("elsewhere", lambda: play(os.path.join(W, "elsewhere_random"), "elsewhere_random",
                                                       "space_invaders", (RandomPolicy(rng(4)), None), n_steps=c.steps)),
        "swap_teacher": ("controls", lambda: learn_arm(c, "swap_teacher", "breakout_swapped", c.control_steps, T)),
    }
    for folder, work, sfx in imitator_folders(c):
        I = os.path.join(folder, "imitator")

        def imitator(prompt, zero_rewards=False, prompt_from="end", I=I, argmax=False, **stage):
            return lambda name: (ImitatorPolicy(I, zero_rewards, eps=0.0 if argmax else eps(), rng=arm_rng(name),
                                                **stage), (prompt, prompt_from) if prompt else None)

        def arm(name, game, policy, judge=False, work=work, sfx=sfx, **kw):   # built only when the arm runs
            return lambda: play(os.path.join(work, name), name + sfx, game, policy(name + sfx),
                                judge=TeacherPolicy(final(), 0.0, arm_rng("judge")) if judge else None, **kw)

        def stage_probe(f, I=I, arm=arm):                    # only for an imitator with a stage input
            meta = toolbox.read_json(I + ".json") or {}              # its metadata: no weights loaded twice
            if not meta.get("stage_input"):
                print(f"stage_x{f:g}: {I} has no stage input (imitate.py --stage_input); skipped")
                return None                                  # f times the length of its own history:
            return arm(f"stage_x{f:g}", "breakout", imitator(None, I=I, stage=round(f * meta["history_steps"])),
                       n_games=c.games)()

        mine = {
            "now_imitator": ("now", arm("now_imitator", "breakout", imitator(T), judge=True, n_games=c.games)),
            "now_imitator_empty": ("now", arm("now_imitator_empty", "breakout", imitator(None), judge=True,
                                              n_games=c.games)),
            "later_imitator": ("later", arm("later_imitator", "breakout", imitator(T, stage_advances=True),
                                            n_steps=c.steps)),
            "elsewhere_imitator": ("elsewhere", arm("elsewhere_imitator", "space_invaders", imitator(None),
                                                    n_steps=c.steps)),
            "elsewhere_imitator_prompted": ("elsewhere", arm(
                "elsewhere_imitator_prompted", "space_invaders",
                imitator(os.path.join(W, "elsewhere_teacher"), prompt_from="start"), n_steps=c.steps)),
            "swap_imitator": ("controls", arm("swap_imitator", "breakout_swapped", imitator(T),
                                              n_steps=c.control_steps)),
            "noreward_imitator": ("controls", arm("noreward_imitator", "breakout",     # the stage moves on as in
                                                  imitator(T, True, stage_advances=True),   # later_imitator, the arm
                                                  n_steps=c.control_steps)),                # it is compared with
        } | {f"stage_x{f:g}": ("stages", lambda f=f, probe=stage_probe: probe(f)) for f in STAGE_PROBES}
        if not c.quick:                                    # the variant, argmax play: reported, not judged
            mine["now_imitator_argmax"] = ("now", arm("now_imitator_argmax", "breakout", imitator(T, argmax=True),
                                                      judge=True, n_games=c.games))
        table |= {name + sfx: v for name, v in mine.items()}
    return table


GROUPS = ("now", "later", "stages", "elsewhere", "controls")


def selected(c, table):
    wanted = {w.strip() for w in c.only.split(",")}
    unknown = wanted - set(table) - set(GROUPS) - {"all", "table"}
    if unknown:
        moved = " (the diagnoses are diagnose.py's: python diagnose.py --only copycat,q1)" \
            if unknown & {"copycat", "q1_diagnosis"} else ""
        raise SystemExit(f"--only: unknown {sorted(unknown)}{moved}; valid: all, table, {', '.join(GROUPS)}, "
                         f"{', '.join(table)}")
    return [n for n, (g, _) in table.items() if "all" in wanted or n in wanted or g in wanted]


def arm_folder(c, name):
    """Where an arm plays: <work>/<name>, or <work>/seed<k>/<name> for the k-th extra seed."""
    base, _, k = name.partition("@seed")
    return os.path.join(c.work, f"seed{k}", base) if k else os.path.join(c.work, name)


def load_arm(c, name):
    """The games of a finished or partly finished arm, or None if it never ran."""
    folder = arm_folder(c, name)
    state = os.path.join(folder, "state.json")
    if os.path.exists(state):
        with open(state) as f:
            return json.load(f)["games"]
    if os.path.exists(os.path.join(folder, "curve.csv")):            # a teacher arm: a record.py run
        s, v = record.read_curve(folder)
        return [[int(a), float(b), 0, -1.0] for a, b in zip(s, v)]
    return None


def arm_progress(c, name, group, games):
    """(done, target, unit) of an arm, from its games (load_arm): games for question 1 and the stage
    probes, agent steps for the rest (a played arm's steps end with its last saved game; a teacher
    arm's are those recorded in its history, which runs past its last finished game)."""
    folder = arm_folder(c, name)
    if group in ("now", "stages"):
        return len(games or []), c.games, "games"
    target = c.control_steps if group == "controls" else c.steps
    if os.path.exists(os.path.join(folder, "history.json")):
        return record.history_length(folder), target, "steps"
    return (games[-1][0] if games else 0), target, "steps"


# -------------------------------------------------------------------------------------------
# The verdict: verdict.py reads the games by its rules; here, which games and where they go.
# -------------------------------------------------------------------------------------------


def write_verdict(c: EvalConfig, teacher_record=None):
    """The verdict from every finished arm on disk: verdict.json, verdict.md and the plots in c.out
    (and verdict_seed<k>.json/.md, the whole table of each other seed of the imitator's recipe).
    An arm still running is not judged (its reading could flip as it goes on); it is listed.
    teacher_record: a folder with the teacher's teacher_summary.json, whose learning the table then shows."""
    g_all, running, table = {}, {}, arms(c)
    for name, (group, _) in table.items():
        games = load_arm(c, name)
        done, target, unit = arm_progress(c, name, group, games)
        if done >= target:
            g_all[name] = games
        elif done:
            running[name] = f"{done:,} of {target:,} {unit}"

    def games_of(sfx):               # one seed's arms, under the first seed's names, and the teacher's (shared)
        return {n: g_all.get(n + sfx if n + sfx in table else n) for n in table if "@seed" not in n}

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
            f.write(verdict.table(Rk))
    if len(Rs) > 1:
        R["seeds"] = verdict.across_seeds(Rs, [f for f, _, _ in folders])
    g = games_of("")
    toolbox.write_json(os.path.join(c.out, "verdict.json"), R)
    text = verdict.table(R)
    with open(os.path.join(c.out, "verdict.md"), "w") as f:
        f.write(text)
    verdict.plots(g, R, c.out)
    return R, text


if __name__ == "__main__":                  # the pipeline's command line (pipeline.py), under this page's name too
    import pipeline
    pipeline.main()
