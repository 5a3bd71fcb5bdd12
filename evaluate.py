"""evaluate.py: the verdict. Three questions, each answered by measurement, in one table.

Page five. The argument says an ideal imitator of a learning history would have learned the
learner; a transformer trained by next-move prediction, it claims, learns only the behaviour.

  1. Now.       Does the frozen imitator play like the teacher at the end of its training?
  2. Later.     The teacher keeps learning for N more steps. Does the frozen imitator keep improving?
  3. Elsewhere. In Space Invaders the DQN starts badly and learns. Does the imitator?
  Controls.     Breakout with LEFT and RIGHT swapped (can it adapt in context?), and the imitator
                with the rewards in its context zeroed (is it using reward to learn in context?).

Every arm is a separate, resumable job. Teacher arms that learn are record.py runs that start
from the final teacher (--init_from); playing arms save their games and context after every game.

    python evaluate.py                       # every arm at the default scale, then the table
    python evaluate.py --only now            # one group (now, later, elsewhere, controls) or arm
    python evaluate.py --only table          # no arm: rewrite the table and plots from what is on disk
    python evaluate.py --quick               # the whole pipeline, small scale, <= 20 min on 2 cores

writes results/ (or results/quick/): verdict.md (the table), verdict.json (every number), *.png.
"""
from __future__ import annotations

import argparse
import json
import os
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

import dqn
import imitate
import record


@dataclass
class EvalConfig:
    teacher: str = "runs/breakout"     # the recorded teacher run (record.py)
    imitator: str = "runs/imitator"    # the trained imitator (imitate.py)
    work: str = "runs/eval"            # one resumable folder per arm
    out: str = "results"               # table, JSON, plots
    only: str = "all"                  # comma-separated arms or groups: now, later, elsewhere, controls;
                                       # "table" runs nothing and rewrites the table from what is on disk
    games: int = 30                    # games per arm for question 1
    steps: int = 1_000_000             # N: agent steps of every "later" and "elsewhere" arm
    control_steps: int = 250_000       # agent steps of every control arm
    seed: int = 0                      # seeds every arm's emulator and random moves
    quick: bool = False                # run the whole pipeline at classroom scale (see QUICK)


# Classroom preset: every stage small, outputs labelled small-scale. About 15-20 min on 2 cores.
QUICK = dict(record=dict(steps=60_000, checkpoint_every=20_000, chunk_steps=10_000),
             dqn=dict(learning_starts=5_000, eps_decay_steps=30_000, replay_capacity=100_000),
             imitate=dict(context=128, iters=150, batch=8, n_layer=2, eval_every=50, checkpoint_every=50),
             evaluate=dict(games=5, steps=15_000, control_steps=5_000))


# -------------------------------------------------------------------------------------------
# Statistics: a mean with its interval, a slope with its interval, and the verdict rules.
# -------------------------------------------------------------------------------------------
def mean_ci(x, rng, n_boot=4_000, level=0.95):
    """Mean and percentile-bootstrap confidence interval."""
    x = np.asarray(x, float)
    if len(x) == 0:
        return dict(mean=float("nan"), lo=float("nan"), hi=float("nan"), n=0)
    boots = rng.choice(x, (n_boot, len(x))).mean(axis=1)
    a = (1 - level) / 2
    return dict(mean=float(x.mean()), lo=float(np.quantile(boots, a)), hi=float(np.quantile(boots, 1 - a)), n=len(x))


def diff_ci(x, y, rng, n_boot=4_000, level=0.95):
    """mean(x) - mean(y), with a bootstrap interval resampling each group on its own."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    d = rng.choice(x, (n_boot, len(x))).mean(1) - rng.choice(y, (n_boot, len(y))).mean(1)
    a = (1 - level) / 2
    return dict(diff=float(x.mean() - y.mean()), lo=float(np.quantile(d, a)), hi=float(np.quantile(d, 1 - a)))


def slope(steps, scores):
    """Least-squares slope of score against step, in raw score per 100k agent steps."""
    s = np.asarray(steps, float) / 1e5
    return float(np.polyfit(s, np.asarray(scores, float), 1)[0]) if len(s) >= 2 and s.std() > 0 else float("nan")


def slope_ci(steps, scores, rng, n_boot=2_000, level=0.95):
    """Slope per 100k steps with a bootstrap interval over games (each game a (step, score) pair)."""
    steps, scores = np.asarray(steps, float), np.asarray(scores, float)
    if len(steps) < 3:
        return dict(slope=float("nan"), lo=float("nan"), hi=float("nan"), games=len(steps))
    return resampled_slope(steps, scores, rng.integers(0, len(steps), (n_boot, len(steps))), level)


def resampled_slope(steps, scores, idx, level):
    """The slope, and the interval of the slopes of the resamples idx (n_boot, n) of the games."""
    x, y = steps[idx] / 1e5, scores[idx]
    xc = x - x.mean(1, keepdims=True)
    var = (xc ** 2).sum(1)
    ok = var > 0
    boots = (xc * (y - y.mean(1, keepdims=True))).sum(1)[ok] / var[ok]     # least-squares slope per resample
    a = (1 - level) / 2
    return dict(slope=slope(steps, scores), lo=float(np.quantile(boots, a)), hi=float(np.quantile(boots, 1 - a)),
                games=len(steps))


def improving(s):
    """The verdict rule for "keeps improving" / "learns": the slope's whole interval is above zero."""
    return bool(s["lo"] > 0)


def not_worse(d):
    """The old, lenient rule for "plays like" (kept for comparison only): the interval of
    (imitator - teacher) reaches zero. With few games, an imitator at 20 against 30 can pass it."""
    return bool(d["hi"] >= 0)


# The verdict rules, fixed before the results they judge were seen.
EQUIV_MARGIN = 0.25        # Q1: "plays like the teacher" = mean score within 25% of the teacher's
MIN_REWARD_EFFECT = 0.10   # "uses reward": zeroing rewards moves the mean score by >= 10% of normal play
FRAGILE_SHARE = 0.02       # a trend verdict that dropping 2% of the games (at least 3) flips is fragile


def equivalence(x, y, rng, margin_frac=EQUIV_MARGIN):
    """Q1's rule: two one-sided tests (TOST) at the 5% level, done with a bootstrap. Imitator scores x
    and teacher scores y "play alike" when the 90% interval of mean(x) - mean(y) lies inside
    (-margin, +margin), margin = margin_frac * mean(y). Too few games to tell reads "no": an
    equivalence test puts the burden of proof on "alike", not on "different"."""
    d = diff_ci(x, y, rng, level=0.90)
    m = margin_frac * float(np.mean(y))
    return d | dict(margin=m, level=0.90, verdict=bool(-m < d["lo"] and d["hi"] < m))


def block_slope_ci(steps, scores, rng, n_boot=2_000, level=0.95):
    """Slope per 100k steps with a moving-block bootstrap over consecutive games.

    Games of one run are not independent: one learner, or one context carried from game to game,
    links neighbours. Resampling single games would treat 1,000 games as 1,000 independent facts
    and give intervals that are too narrow. Blocks of b = ceil(sqrt(n)) consecutive games keep
    neighbours together (n = 1,000: 32 blocks of 32 games), at the price of wider intervals."""
    steps, scores = np.asarray(steps, float), np.asarray(scores, float)
    n = len(steps)
    if n < 3:
        return dict(slope=float("nan"), lo=float("nan"), hi=float("nan"), games=n, block=0)
    b = int(np.ceil(np.sqrt(n)))
    starts = rng.integers(0, n - b + 1, (n_boot, int(np.ceil(n / b))))
    idx = (starts[:, :, None] + np.arange(b)).reshape(n_boot, -1)[:, :n]   # (n_boot, n) block-resampled
    return resampled_slope(steps, scores, idx, level) | dict(block=b)


def trend(steps, scores, total, rng):
    """The rule for "keeps improving" / "learns" / "adapts", with what a reader needs to check it:
    the block-bootstrap slope, the mean of each quarter of the arm, and a robustness check. The
    verdict is "improving" when the slope's whole interval is above zero AND it survives dropping
    the 2% of games (at least 3) that push the slope up the most; otherwise it is flagged fragile."""
    steps, scores = np.asarray(steps, float), np.asarray(scores, float)
    s = block_slope_ci(steps, scores, rng)
    edges = np.linspace(0, total, 5)
    s["quarters"] = [mean_ci(scores[(steps > a) & (steps <= b)], rng) for a, b in zip(edges[:-1], edges[1:])]
    up = improving(s)
    s["fragile"] = False
    if len(steps) >= 10 and np.isfinite(s["slope"]):
        k = max(3, int(FRAGILE_SHARE * len(steps)))
        xc = steps / 1e5 - (steps / 1e5).mean()
        resid = scores - scores.mean() - s["slope"] * xc
        push = xc * resid * (1 if up else -1)            # each game's pull toward the current verdict
        keep = np.argsort(push)[:-k]                      # without the k games that pull hardest
        keep.sort()
        s["without_top_games"] = block_slope_ci(steps[keep], scores[keep], rng)
        s["fragile"] = improving(s["without_top_games"]) != up
    s["verdict"] = bool(up and not s["fragile"])
    return s


def reward_effect(zeroed, normal, rng, min_frac=MIN_REWARD_EFFECT):
    """The rule for "uses the rewards in its context": zeroing them changes the mean score, with a
    95% interval that excludes 0 AND a size of at least min_frac of the normal mean score (a
    detectable but tiny nudge is not "using reward to learn")."""
    d = diff_ci(zeroed, normal, rng)
    normal_mean = float(np.mean(normal)) if len(normal) else float("nan")
    big = abs(d["diff"]) >= min_frac * abs(normal_mean)
    return d | dict(min_effect=min_frac * abs(normal_mean), verdict=bool((d["lo"] > 0 or d["hi"] < 0) and big))


# -------------------------------------------------------------------------------------------
# Policies that play without learning
# -------------------------------------------------------------------------------------------
class TeacherPolicy:
    """A frozen teacher checkpoint, epsilon-greedy."""

    def __init__(self, ckpt, eps, rng):
        self.p_flat = dqn.load_checkpoint(ckpt)[1]["params"]
        self.p = dqn.param_views(self.p_flat, dqn.param_shapes())
        self.eps, self.rng = eps, rng

    def greedy(self, stack):
        return int(dqn.greedy(self.p, stack[None])[0])

    def act(self, stack, prev_action, prev_reward):
        if self.rng.random() < self.eps:
            return int(self.rng.integers(dqn.N_ACTIONS))
        return self.greedy(stack)


class ImitatorPolicy:
    """The frozen imitator; zero_rewards hides every reward from its context (a control). A
    behaviour-cloning network plays the same way but has no context (self.player is then None)."""

    def __init__(self, path, zero_rewards=False):
        self.model, self.zero = imitate.load_player(path), zero_rewards
        self.player = self.model if isinstance(self.model, imitate.Player) else None   # has a context

    def act(self, stack, prev_action, prev_reward):
        return self.model.act(stack, prev_action, 0.0 if self.zero else prev_reward)

    def prompt(self, teacher_run):
        """Fill the context with the teacher's last K recorded steps, as they were recorded."""
        if self.player is None:
            return imitate.NEW_GAME, 0.0
        K = self.player.tcfg.block_size
        h = imitate.load_history(teacher_run, start=max(0, record.history_length(teacher_run) - K - 8))
        n = len(h["action"])
        stacks, pa, pr, _ = imitate.window_inputs(h, np.array([n - K]), K)
        for t in range(K):
            self.player.logits(stacks[t], int(pa[0, t]), 0.0 if self.zero else imitate.token_reward(pr[0, t]))
        return int(h["action"][-1]), float(h["reward_clip"][-1])


class RandomPolicy:
    def __init__(self, rng):
        self.rng = rng

    def act(self, stack, prev_action, prev_reward):
        return int(self.rng.integers(dqn.N_ACTIONS))


# -------------------------------------------------------------------------------------------
# A playing arm: play games, log each one, save after each one so a restart loses nothing.
# -------------------------------------------------------------------------------------------
def play_arm(arm_dir, game, policy, n_steps=None, n_games=None, seed=0, judge=None, desc=""):
    """Play until n_steps agent steps or n_games games are done. Returns the list of games:
    [end_step, score, length, agreement with judge's greedy move (or -1)].

    Resuming: finished games are kept; the game in progress when the job stopped is dropped and its
    steps are not counted; the imitator's context is restored as it was after the last saved game."""
    os.makedirs(arm_dir, exist_ok=True)
    state_path = os.path.join(arm_dir, "state.json")
    state = dict(steps=0, games=[], prev_action=imitate.NEW_GAME, prev_reward=0.0)
    if os.path.exists(state_path):
        with open(state_path) as f:
            state = json.load(f)
    player = getattr(policy, "player", None)
    ctx_path = os.path.join(arm_dir, "context.npy")
    if player is not None and os.path.exists(ctx_path):
        player.restore(np.load(ctx_path, allow_pickle=False))
    elif player is not None and state.get("prompt"):
        state["prev_action"], state["prev_reward"] = policy.prompt(state["prompt"])

    def done():
        return (n_steps is not None and state["steps"] >= n_steps) or \
               (n_games is not None and len(state["games"]) >= n_games)

    env = dqn.make_env(game)
    obs, _ = env.reset(seed=seed + 1000 * len(state["games"]) + state["steps"])
    prev_a, prev_r, first = state["prev_action"], state["prev_reward"], True
    score, length, agree, steps_here = 0.0, 0, 0, 0
    bar = tqdm(total=n_steps or n_games, initial=state["steps"] if n_steps else len(state["games"]),
               desc=desc, unit="step" if n_steps else "game")
    try:
        while not done():
            a = policy.act(obs[0], imitate.NEW_GAME if first else prev_a, prev_r)
            if judge is not None:
                agree += a == judge.greedy(obs[0])
            env.send(np.array([a], np.int64))
            obs, r, term, trunc, _ = env.recv()
            score, length, steps_here = score + float(r[0]), length + 1, steps_here + 1
            prev_a, prev_r, first = a, float(np.sign(r[0])), False
            if n_steps:
                bar.update(1)
            if term[0] or trunc[0]:
                state["steps"] += steps_here
                state["games"].append([state["steps"], score, length, agree / length if judge else -1.0])
                state["prev_action"], state["prev_reward"] = prev_a, prev_r
                if player is not None:
                    np.save(ctx_path, player.context())
                dqn.write_json(state_path, state)
                score, length, agree, steps_here, first = 0.0, 0, 0, 0, True
                if not n_steps:
                    bar.update(1)
                bar.set_postfix(games=len(state["games"]), last=f"{state['games'][-1][1]:.0f}")
    finally:
        bar.close()
        env.close()
    return state["games"]


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


def arms(c: EvalConfig):
    """name -> (group, function returning the list of games)."""
    T, I, W = c.teacher, os.path.join(c.imitator, "imitator"), c.work
    rng = lambda k: np.random.default_rng(c.seed + k)
    eps = lambda: final_epsilon(T)
    final = lambda: record.checkpoint_name(T, record.list_checkpoints(T)[-1])

    def imitator(prompt, zero_rewards=False):
        pol = ImitatorPolicy(I, zero_rewards)
        return pol, (T if prompt else None)

    def play(name, game, pol_prompt, **kw):
        pol, prompt = pol_prompt
        arm_dir = os.path.join(W, name)
        if prompt and not os.path.exists(os.path.join(arm_dir, "state.json")):
            os.makedirs(arm_dir, exist_ok=True)
            dqn.write_json(os.path.join(arm_dir, "state.json"),
                           dict(steps=0, games=[], prev_action=imitate.NEW_GAME, prev_reward=0.0, prompt=prompt))
        return play_arm(arm_dir, game, pol, seed=c.seed, desc=name, **kw)

    return {
        "now_teacher": ("now", lambda: play("now_teacher", "breakout", (TeacherPolicy(final(), eps(), rng(1)), None),
                                            n_games=c.games)),
        "now_imitator": ("now", lambda: play("now_imitator", "breakout", imitator(True), n_games=c.games,
                                             judge=TeacherPolicy(final(), 0.0, rng(2)))),
        "now_imitator_empty": ("now", lambda: play("now_imitator_empty", "breakout", imitator(False),
                                                   n_games=c.games, judge=TeacherPolicy(final(), 0.0, rng(3)))),
        "later_teacher": ("later", lambda: learn_arm(c, "later_teacher", "breakout", c.steps, T)),
        "later_imitator": ("later", lambda: play("later_imitator", "breakout", imitator(True), n_steps=c.steps)),
        "elsewhere_teacher": ("elsewhere", lambda: learn_arm(c, "elsewhere_teacher", "space_invaders", c.steps, T)),
        "elsewhere_fresh": ("elsewhere", lambda: learn_arm(c, "elsewhere_fresh", "space_invaders", c.steps, "")),
        "elsewhere_imitator": ("elsewhere", lambda: play("elsewhere_imitator", "space_invaders", imitator(False),
                                                         n_steps=c.steps)),
        "elsewhere_random": ("elsewhere", lambda: play("elsewhere_random", "space_invaders",
                                                       (RandomPolicy(rng(4)), None), n_steps=c.steps)),
        "swap_teacher": ("controls", lambda: learn_arm(c, "swap_teacher", "breakout_swapped", c.control_steps, T)),
        "swap_imitator": ("controls", lambda: play("swap_imitator", "breakout_swapped", imitator(True),
                                                   n_steps=c.control_steps)),
        "noreward_imitator": ("controls", lambda: play("noreward_imitator", "breakout", imitator(True, True),
                                                       n_steps=c.control_steps)),
    }


GROUPS = ("now", "later", "elsewhere", "controls")
DIAGNOSTICS = ("copycat", "q1_diagnosis")


def copycat_diagnosis(c, n=3000, seed=5):
    """Does the imitator lean on its previous-action input (the "copycat" failure of behaviour
    cloning)? Feed it n held-out steps three ways and look at its moves."""
    T, L = c.teacher, record.history_length(c.teacher)
    n = min(n, L - 16)
    h = imitate.load_history(T, start=L - n - 16)      # the last n steps of the history (held out)
    stacks, pa, pr, y = imitate.window_inputs(h, np.array([8]), n)
    first = h["first"][8:8 + n]
    mix = lambda a: [float(x) for x in np.bincount(a, minlength=dqn.N_ACTIONS) / len(a)]
    repeats = lambda a: float((a[1:] == a[:-1]).mean())
    player = imitate.Player(os.path.join(c.imitator, "imitator"))
    open_loop = np.array([player.act(stacks[t], int(pa[0, t]), imitate.token_reward(pr[0, t])) for t in range(n)])
    player.reset()
    own, prev = [], imitate.NEW_GAME
    for t in range(n):                                    # the teacher's states, its own moves fed back
        prev = player.act(stacks[t], imitate.NEW_GAME if first[t] else prev, imitate.token_reward(pr[0, t]))
        own.append(prev)
    own = np.array(own)

    def closed_loop(game):                                # playing: its own states and moves
        player.reset()
        env = dqn.make_env(game)
        obs, _ = env.reset(seed=seed)
        prev, prev_r, new_game, moves = imitate.NEW_GAME, 0.0, True, []
        for _ in range(n):
            a = player.act(obs[0], imitate.NEW_GAME if new_game else prev, prev_r)
            env.send(np.array([a], np.int64))
            obs, r, term, trunc, _ = env.recv()
            prev, prev_r, new_game = a, float(np.sign(r[0])), bool(term[0] or trunc[0])
            moves.append(a)
        env.close()
        return dict(repeat_rate=repeats(np.array(moves)), action_mix=mix(np.array(moves)))

    out = dict(steps=n, teacher=dict(repeat_rate=repeats(y[0]), action_mix=mix(y[0])),
               open_loop=dict(acc_vs_teacher=float((open_loop == y[0]).mean()), repeat_rate=repeats(open_loop)),
               own_moves_fed_back=dict(acc_vs_teacher=float((own == y[0]).mean()), repeat_rate=repeats(own),
                                       action_mix=mix(own)),
               closed_loop=closed_loop("breakout"), closed_loop_space_invaders=closed_loop("space_invaders"))
    os.makedirs(c.out, exist_ok=True)
    dqn.write_json(os.path.join(c.out, "copycat.json"), out)
    print(json.dumps(out, indent=1))
    return out


BALL_BAND = (slice(38, 75), slice(5, 79))   # rows between the bricks and the paddle, inside the walls


def play_games(game, act, n_games, seed, max_steps=5_000):
    """Scores of n_games games in which act(stack, prev_action, prev_reward, step_in_game) picks
    each move; a game stopped at max_steps keeps its score so far (a stalled policy ends)."""
    env, scores = dqn.make_env(game), []
    for g in range(n_games):
        obs, _ = env.reset(seed=seed + g)
        prev, prev_r, score = imitate.NEW_GAME, 0.0, 0.0
        for t in range(max_steps):
            a = act(obs[0], prev, prev_r, t)
            env.send(np.array([a], np.int64))
            obs, r, term, trunc, _ = env.recv()
            score, prev, prev_r = score + float(r[0]), a, float(np.sign(r[0]))
            if term[0] or trunc[0]:
                break
        scores.append(score)
    env.close()
    return scores


def q1_diagnosis(c, n_states=3_000, games=10, seed=11):
    """Why does an imitator fail question 1? Four measurements on the teacher's last recorded steps
    (held out from training) and in play, written to <out>/q1_diagnosis.json:

      decisive states  accuracy where the teacher's choice matters most (top quarter of its Q-gap)
      ball erased      how often the prediction changes when the ball is removed from the frames
      argmax/sampled   play by the most likely move, or by sampling the predicted distribution
      hand-over        the imitator plays the first k steps of each game, then the final teacher"""
    T = c.teacher
    L = record.history_length(T)
    n = min(n_states, L - 16)
    h = imitate.load_history(T, start=L - n - 16)
    stacks, pa, pr, y = imitate.window_inputs(h, np.array([16]), n)
    y, pa, pr = y[0], pa[0], np.array([imitate.token_reward(t) for t in pr[0]])
    teacher = TeacherPolicy(record.checkpoint_name(T, record.list_checkpoints(T)[-1]), final_epsilon(T),
                            np.random.default_rng(seed))
    q = imitate.teacher_q(teacher.p_flat, h, np.arange(16, 16 + n))   # batched, once: greedy moves and Q-gaps
    greedy, gap = q.argmax(1), imitate.q_gap(q)
    decisive = gap >= np.quantile(gap, 0.75)
    model = imitate.load_player(os.path.join(c.imitator, "imitator"))

    def predictions(st):                                  # open loop: the teacher's own moves as context
        model.reset()
        return np.array([model.logits(st[t], int(pa[t]), float(pr[t])) for t in range(n)])

    logits = predictions(stacks)
    erased = stacks.copy()
    erased[:, :, BALL_BAND[0], BALL_BAND[1]] = 0
    pred, pred_erased = logits.argmax(1), predictions(erased).argmax(1)
    out = dict(states=n, decisive_min_q_gap=float(gap[decisive].min()),
               acc_vs_teacher=dict(all=float((pred == y).mean()), decisive=float((pred == y)[decisive].mean())),
               agree_with_teacher_greedy=dict(all=float((pred == greedy).mean()),
                                              decisive=float((pred == greedy)[decisive].mean())),
               teacher_greedy_vs_its_actions=dict(all=float((greedy == y).mean()),
                                                  decisive=float((greedy == y)[decisive].mean())),
               ball_erased_changes_prediction=dict(all=float((pred != pred_erased).mean()),
                                                   decisive=float((pred != pred_erased)[decisive].mean())))
    rng = np.random.default_rng(seed)

    def imitator_act(sample):
        def act(stack, prev, prev_r, t):
            if t == 0:
                model.reset()
            z = model.logits(stack, prev, prev_r)
            if not sample:
                return int(np.argmax(z))
            p = np.exp(z - z.max())
            return int(rng.choice(len(p), p=p / p.sum()))
        return act

    argmax_act = imitator_act(False)
    out["play"] = {name: mean_ci(play_games("breakout", imitator_act(s), games, seed), rng)
                   for name, s in (("argmax", False), ("sampled", True))}
    out["hand_over"] = {}
    for k in (0, 100, 300, 1000, 5000):                   # imitator for k steps, then the teacher
        act = lambda stack, prev, prev_r, t, k=k: (argmax_act(stack, prev, prev_r, t) if t < k
                                                   else teacher.act(stack, prev, prev_r))
        out["hand_over"][str(k)] = mean_ci(play_games("breakout", act, games, seed), rng)
    os.makedirs(c.out, exist_ok=True)
    dqn.write_json(os.path.join(c.out, "q1_diagnosis.json"), out)
    print(json.dumps(out, indent=1))
    return out


def selected(c, table):
    wanted = {w.strip() for w in c.only.split(",")}
    unknown = wanted - set(table) - set(GROUPS) - set(DIAGNOSTICS) - {"all", "table"}
    if unknown:
        raise SystemExit(f"--only: unknown {sorted(unknown)}; valid: all, table, {', '.join(GROUPS + DIAGNOSTICS)}, "
                         f"{', '.join(table)}")
    return [n for n, (g, _) in table.items() if "all" in wanted or n in wanted or g in wanted]


def load_arm(c, name):
    """The games of a finished or partly finished arm, or None if it never ran."""
    state = os.path.join(c.work, name, "state.json")
    if os.path.exists(state):
        with open(state) as f:
            return json.load(f)["games"]
    if os.path.exists(os.path.join(c.work, name, "curve.csv")):
        s, v = record.read_curve(os.path.join(c.work, name))
        return [[int(a), float(b), 0, -1.0] for a, b in zip(s, v)]
    return None


# -------------------------------------------------------------------------------------------
# The verdict: every number, the table, the plots
# -------------------------------------------------------------------------------------------
def verdict(c: EvalConfig):
    rng = np.random.default_rng(c.seed + 99)
    g = {name: load_arm(c, name) for name in arms(c)}
    sc = lambda n: [x[1] for x in g[n]] if g[n] else []
    st = lambda n: [x[0] for x in g[n]] if g[n] else []
    have = lambda *ns: all(g[n] for n in ns)
    R = dict(scale=dict(steps=c.steps, control_steps=c.control_steps, games=c.games, quick=c.quick))
    metrics_path = os.path.join(c.imitator, "metrics.json")
    if os.path.exists(metrics_path):
        with open(metrics_path) as f:
            R["imitator_training_metrics"] = json.load(f)
    if os.path.exists(os.path.join(c.out, "copycat.json")):
        with open(os.path.join(c.out, "copycat.json")) as f:
            R["copycat"] = json.load(f)
    if have("now_teacher", "now_imitator"):
        agree = [x[3] for x in g["now_imitator"]]
        lengths = [x[2] for x in g["now_imitator"]]
        R["now"] = dict(teacher=mean_ci(sc("now_teacher"), rng), imitator=mean_ci(sc("now_imitator"), rng),
                        imitator_minus_teacher=diff_ci(sc("now_imitator"), sc("now_teacher"), rng),
                        equivalence=equivalence(sc("now_imitator"), sc("now_teacher"), rng),
                        move_agreement=float(np.average(agree, weights=lengths)))
        if g["now_imitator_empty"]:
            R["now"]["imitator_empty_context"] = mean_ci(sc("now_imitator_empty"), rng)
        R["now"]["lenient_not_worse"] = not_worse(R["now"]["imitator_minus_teacher"])
        R["now"]["verdict"] = R["now"]["equivalence"]["verdict"]
    # Questions 2 and 3 (and the controls) ask whether the imitator *keeps* the teacher's learning;
    # for an imitator that cannot play like the teacher now, both sides of the argument predict "no".
    testable = R.get("now", {}).get("verdict", False)
    if have("later_teacher", "later_imitator"):
        im = sc("later_imitator")
        k = min(30, len(im))
        rolling = np.convolve(im, np.ones(k) / k, "valid") if k else np.array([])
        final = R.get("now", {}).get("teacher", {}).get("mean", float("nan"))
        R["later"] = dict(teacher=trend(st("later_teacher"), sc("later_teacher"), c.steps, rng),
                          imitator=trend(st("later_imitator"), im, c.steps, rng),
                          imitator_best_rolling_mean=float(rolling.max()) if len(rolling) else float("nan"),
                          teacher_final_score=final, imitator_testable=testable)
        R["later"]["imitator_passes_teacher_final"] = bool(R["later"]["imitator_best_rolling_mean"] > final)
    if have("elsewhere_teacher", "elsewhere_fresh", "elsewhere_imitator", "elsewhere_random"):
        R["elsewhere"] = {n.split("_")[1]: trend(st(n), sc(n), c.steps, rng) | dict(mean=mean_ci(sc(n), rng))
                          for n in ("elsewhere_teacher", "elsewhere_fresh", "elsewhere_imitator", "elsewhere_random")}
        R["elsewhere"]["imitator_testable"] = testable
    if have("swap_teacher", "swap_imitator"):
        R["swap"] = dict(teacher=trend(st("swap_teacher"), sc("swap_teacher"), c.control_steps, rng),
                         imitator=trend(st("swap_imitator"), sc("swap_imitator"), c.control_steps, rng),
                         imitator_testable=testable)
    if have("noreward_imitator", "later_imitator"):
        same_span = [x[1] for x in g["later_imitator"] if x[0] <= c.control_steps]
        R["noreward"] = dict(zeroed=mean_ci(sc("noreward_imitator"), rng), normal=mean_ci(same_span, rng),
                             zeroed_minus_normal=reward_effect(sc("noreward_imitator"), same_span, rng),
                             imitator_testable=testable)
        R["noreward"]["verdict"] = R["noreward"]["zeroed_minus_normal"]["verdict"]
    os.makedirs(c.out, exist_ok=True)
    dqn.write_json(os.path.join(c.out, "verdict.json"), R)
    table = verdict_table(R, c)
    with open(os.path.join(c.out, "verdict.md"), "w") as f:
        f.write(table)
    plot_all(c, g, R)
    return R, table


def fmt(d, key="mean"):
    if not np.isfinite(d[key]):
        return "n/a (fewer than 3 games)"
    return f"{d[key]:.1f} [{d['lo']:.1f}, {d['hi']:.1f}]"


def yn(b):
    return "**yes**" if b else "**no**"


def trend_cell(t):
    """Slope, its verdict (flagged if a few games decide it) and the four quarter means."""
    q = " / ".join(f"{x['mean']:.1f}" if x["n"] else "-" for x in t["quarters"])
    flag = " (fragile: a few games decide it)" if t.get("fragile") else ""
    return f"slope {fmt(t, 'slope')}, {yn(t['verdict'])}{flag}; quarters {q}"


def imitator_cell(cell, testable):
    return cell if testable else f"not testable (fails Q1): {cell.replace('**yes**', 'yes').replace('**no**', 'no')}"


ROWS = [("now", "1. **Now**: plays like the teacher at the end of its training"),
        ("later", "2. **Later**: keeps improving over N more steps"),
        ("elsewhere", "3. **Elsewhere**: learns Space Invaders"),
        ("swap", "control: LEFT/RIGHT swapped, adapts"),
        ("noreward", "control: uses the rewards in its context")]


def table_cells(key, d, R):
    """The (DQN teacher, transformer imitator) cells of one row of the verdict table."""
    if key == "now":
        tvt = R.get("imitator_training_metrics", {}).get("teacher_vs_teacher")
        ref = (f" (the teacher vs itself {(tvt['checkpoints'][1] - tvt['checkpoints'][0]) // 1000}k steps earlier: "
               f"{tvt['agreement']:.0%})") if tvt and tvt["agreement"] < 1 else ""   # 100%: a frozen teacher
        e = d["equivalence"]
        return (f"score {fmt(d['teacher'])}",
                f"score {fmt(d['imitator'])}; difference {e['diff']:.1f}, 90% interval [{e['lo']:.1f}, {e['hi']:.1f}] "
                f"vs margin ±{e['margin']:.1f}; its move = the teacher's greedy move {d['move_agreement']:.0%} of the "
                f"time{ref}; {yn(d['verdict'])}")
    testable = d.get("imitator_testable", True)
    if key == "later":
        return (trend_cell(d["teacher"]),
                imitator_cell(f"{trend_cell(d['imitator'])}; best 30-game mean {d['imitator_best_rolling_mean']:.1f} "
                              f"{'passes' if d['imitator_passes_teacher_final'] else 'never passes'} the teacher's "
                              f"final {d['teacher_final_score']:.1f}", testable))
    if key == "elsewhere":
        return (f"transplanted: {trend_cell(d['teacher'])}; fresh DQN: {trend_cell(d['fresh'])}",
                imitator_cell(f"{trend_cell(d['imitator'])}; mean score {fmt(d['imitator']['mean'])} vs random "
                              f"{fmt(d['random']['mean'])}", testable))
    if key == "swap":
        return trend_cell(d["teacher"]), imitator_cell(trend_cell(d["imitator"]), testable)
    e = d["zeroed_minus_normal"]
    return ("(learns from reward by design)",
            imitator_cell(f"rewards zeroed: score {fmt(d['zeroed'])} vs normal {fmt(d['normal'])}, difference "
                          f"{e['diff']:.2f} (needs >= {e['min_effect']:.2f} and an interval excluding 0); "
                          f"{yn(d['verdict'])}", testable))


def verdict_table(R, c):
    scale = "SMALL-SCALE (--quick) " if c.quick else ""
    lines = [f"# {scale}Verdict: can a transformer imitation-learn how to continual-learn?", "",
             f"Scale: N = {c.steps:,} agent steps per later/elsewhere arm, {c.control_steps:,} per control, "
             f"{c.games} games per arm in question 1; one seed per arm. Slopes are raw score per 100k agent steps.", "",
             "| question | ideal imitator (by argument) | DQN teacher (measured) | transformer imitator (measured) |",
             "|---|---|---|---|"]
    for key, question in ROWS:
        teacher, imitator = table_cells(key, R[key], R) if key in R else ("not run yet", "not run yet")
        lines.append(f"| {question} | yes | {teacher} | {imitator} |")
    lines += ["", "Numbers are mean raw game scores or least-squares slopes of game score against agent step "
              "(raw score per 100k steps), with 95% bootstrap intervals in brackets, and the mean score of each "
              "quarter of the arm. The rules, fixed before the results:",
              f"- *plays like the teacher* (Q1): two one-sided tests at 5% (the 90% bootstrap interval of imitator "
              f"minus teacher lies within ±{EQUIV_MARGIN:.0%} of the teacher's mean score);",
              "- *keeps improving / learns / adapts*: the slope's 95% interval, from a bootstrap over blocks of "
              "consecutive games (games of one run are not independent), lies above 0, and stays above 0 without "
              f"the {FRAGILE_SHARE:.0%} of games (at least 3) that push it up most; otherwise flagged fragile;",
              f"- *uses reward*: zeroing the rewards in its context moves the mean score by at least "
              f"{MIN_REWARD_EFFECT:.0%} of normal play, with an interval excluding 0;",
              "- for an imitator that fails Q1, questions 2, 3 and the controls read *not testable*: both sides of "
              "the argument predict that an imitator which cannot play does not keep improving.", ""]
    return "\n".join(lines)


def plot_all(c, g, R):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    tag = " (small-scale)" if c.quick else ""

    def curve(ax, name, label):
        if not g.get(name):
            return
        s, v = np.array([x[0] for x in g[name]]), np.array([x[1] for x in g[name]])
        line, = ax.plot(s, v, ".", ms=2, alpha=0.3)
        k = min(30, len(v))
        ax.plot(s[k - 1:], np.convolve(v, np.ones(k) / k, "valid"), color=line.get_color(), lw=2,
                label=f"{label} (mean of {k} games)")

    for fname, title, names, labels in [
            ("later.png", "2. Later: Breakout, N more steps", ["later_teacher", "later_imitator"],
             ["DQN teacher, learning on", "frozen imitator"]),
            ("elsewhere.png", "3. Elsewhere: Space Invaders",
             ["elsewhere_teacher", "elsewhere_fresh", "elsewhere_imitator", "elsewhere_random"],
             ["Breakout teacher, learning on", "fresh DQN", "frozen imitator", "random"]),
            ("controls.png", "Controls: swapped LEFT/RIGHT, zeroed rewards",
             ["swap_teacher", "swap_imitator", "noreward_imitator"],
             ["teacher, swapped, learning on", "imitator, swapped", "imitator, rewards zeroed"])]:
        if not any(g.get(n) for n in names):
            continue                                       # none of its arms has run yet
        fig, ax = plt.subplots(figsize=(7, 4))
        for n, lab in zip(names, labels):
            curve(ax, n, lab)
        if fname == "later.png" and "now" in R:
            ax.axhline(R["now"]["teacher"]["mean"], color="gray", ls="--", label="teacher's final score")
        ax.set_xlabel("agent steps since the arm began (teacher arms: since the end of its recorded history)")
        ax.set_ylabel("raw game score")
        ax.set_title(title + tag)
        if ax.lines:
            ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(os.path.join(c.out, fname), dpi=120)
        plt.close(fig)
    if "now" in R:
        fig, ax = plt.subplots(figsize=(6, 4))
        bars = [("teacher", R["now"]["teacher"]), ("imitator,\nprompted", R["now"]["imitator"])]
        if "imitator_empty_context" in R["now"]:
            bars.append(("imitator,\nempty context", R["now"]["imitator_empty_context"]))
        for i, (lab, d) in enumerate(bars):
            ax.bar(i, d["mean"], yerr=[[d["mean"] - d["lo"]], [d["hi"] - d["mean"]]], capsize=6)
        ax.set_xticks(range(len(bars)), [b[0] for b in bars])
        ax.set_ylabel("mean raw score (95% CI)")
        ax.set_title("1. Now: Breakout, end of training" + tag)
        fig.tight_layout()
        fig.savefig(os.path.join(c.out, "now.png"), dpi=120)
        plt.close(fig)


# -------------------------------------------------------------------------------------------
# The whole pipeline: record (if needed), imitate (if needed), the chosen arms, the verdict.
# -------------------------------------------------------------------------------------------
def run_pipeline(c: EvalConfig):
    rcfg, dcfg, icfg = {}, {}, {}
    if c.quick:
        c.teacher, c.imitator = "runs/quick/breakout", "runs/quick/imitator"
        c.work, c.out = "runs/quick/eval", os.path.join(c.out, "quick")
        rcfg, dcfg, icfg = QUICK["record"], QUICK["dqn"], QUICK["imitate"]
        for k, v in QUICK["evaluate"].items():
            setattr(c, k, v)
    all_arms = arms(c)
    chosen = selected(c, all_arms)                         # an unknown --only stops here, before any work
    wanted = {w.strip() for w in c.only.split(",")}
    work_to_do = bool(chosen) or bool(wanted & set(DIAGNOSTICS))
    if work_to_do and (not os.path.exists(os.path.join(c.teacher, "config.json")) or not os.path.exists(
            os.path.join(c.imitator, "imitator.json"))):
        print("stage 1: the teacher (record.py)")
        record.record(record.RecordConfig(game="breakout", out=c.teacher, results=c.out, **rcfg),
                      dqn.DQNConfig(**dcfg))
        print("stage 2: the imitator (imitate.py)")
        imitate.train(imitate.ImitateConfig(history=c.teacher, out=c.imitator, **icfg))
    for name in chosen:
        print(f"arm {name}")
        all_arms[name][1]()
    if "all" in wanted or "copycat" in wanted:
        copycat_diagnosis(c)
    if "q1_diagnosis" in wanted:
        q1_diagnosis(c)
    if wanted <= set(DIAGNOSTICS):                         # a diagnosis alone: leave the table as it is
        return {}
    if not any(load_arm(c, name) for name in all_arms):
        print(f"nothing to tabulate: no finished arm under {c.work}; {c.out}/verdict.md is left as it is. "
              f"Run the arms first (python evaluate.py --only now, ...).")
        return {}
    R, table = verdict(c)
    print(table)
    return R


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="Measure the three questions and write the verdict table.")
    dqn.add_config_flags(ap, EvalConfig)
    cfg = dqn.config_from_args(EvalConfig, ap.parse_args())
    try:
        run_pipeline(cfg)
    except (record.HistoryError, ValueError) as e:
        raise SystemExit(f"error: {e}")
