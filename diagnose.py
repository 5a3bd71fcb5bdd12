"""diagnose.py: why an imitator fails question 1. Page five's aside.

Question 1 is the one the argument grants: a frozen imitator should at least play like the teacher
does at the end of its history. When it does not, its "no" on questions 2 and 3 says nothing about
continual learning, so it is worth knowing why. Two diagnoses, each on the teacher's last recorded
steps (held out from the imitator's training) and in play:

  copycat  Does it lean on its previous-action input, the classic failure of behaviour cloning?
           Its moves fed the teacher's previous moves (open loop), its own (fed back), and in play.
  q1       Where does it go wrong? Accuracy on decisive states (the top quarter of the teacher's
           Q-gap), how often the prediction changes when the ball is erased from the frames,
           argmax against sampled play, and a hand-over curve (the imitator plays the first k steps
           of each game, then the final teacher).

    python diagnose.py --teacher runs/breakout --imitator runs/imitator --out results            # both, ~7 min
    python diagnose.py --teacher runs/breakout --imitator runs/imitator --out results --only copycat

writes <out>/copycat.json and <out>/q1_diagnosis.json (evaluate.py's verdict.json carries copycat.json's
numbers when it finds one in its own --out).
"""
from __future__ import annotations

import argparse
import json
import os
from dataclasses import dataclass

import numpy as np

import dqn
import evaluate
import imitate
import record
import verdict


@dataclass
class DiagnoseConfig:
    teacher: str = "runs/breakout"     # the recorded teacher run (record.py): its last steps are the held-out states
    imitator: str = "runs/imitator"    # the trained imitator (imitate.py)
    out: str = "results"               # where copycat.json and q1_diagnosis.json go
    only: str = "copycat,q1"           # which diagnoses, comma-separated: copycat, q1
    states: int = 3_000                # held-out teacher steps read (and, for copycat, agent steps played)
    games: int = 10                    # games per way of playing in q1 (argmax, sampled, each hand-over point)
    seed: int = 0                      # seeds the emulator and the sampled moves


DIAGNOSES = ("copycat", "q1")


def held_out(teacher, n, margin):
    """The teacher's last n recorded steps (never trained on), with margin steps before them so
    that every frame stack is whole (the first held-out step is h's step `margin`): (history h,
    stacks (n, 4, 84, 84), previous moves (n,), previous rewards as the imitator's tokens (n,), the
    teacher's moves (n,))."""
    L = record.history_length(teacher)
    n = min(n, L - 2 * margin)
    h = imitate.load_history(teacher, start=L - n - margin)
    stacks, pa, pr, y = imitate.window_inputs(h, np.array([margin]), n)
    return h, stacks, pa[0], np.array([imitate.token_reward(t) for t in pr[0]]), y[0]


def copycat(c: DiagnoseConfig):
    """Does the imitator lean on its previous-action input (the "copycat" failure of behaviour
    cloning)? Feed it the held-out steps three ways and look at its moves, then watch it play."""
    m = 8                                                 # steps before the first held-out one
    h, stacks, pa, pr, y = held_out(c.teacher, c.states, m)
    n, first = len(y), h["first"][m:m + len(y)]
    mix = lambda a: [float(x) for x in np.bincount(a, minlength=dqn.N_ACTIONS) / len(a)]
    repeats = lambda a: float((a[1:] == a[:-1]).mean())
    player = imitate.Player(os.path.join(c.imitator, "imitator"))
    open_loop = np.array([player.act(stacks[t], int(pa[t]), float(pr[t])) for t in range(n)])
    player.reset()
    own, prev = [], imitate.NEW_GAME
    for t in range(n):                                    # the teacher's states, its own moves fed back
        prev = player.act(stacks[t], imitate.NEW_GAME if first[t] else prev, float(pr[t]))
        own.append(prev)
    own = np.array(own)

    def closed_loop(game):                                # playing: its own states and moves, n steps,
        player.reset()                                    # one context carried across games
        moves = evaluate.play_moves(game, lambda stack, prev, prev_r, t: player.act(stack, prev, prev_r), c.seed)
        played = np.array([a for _, (_, a, _, _) in zip(range(n), moves)])
        moves.close()
        return dict(repeat_rate=repeats(played), action_mix=mix(played))

    out = dict(steps=n, teacher=dict(repeat_rate=repeats(y), action_mix=mix(y)),
               open_loop=dict(acc_vs_teacher=float((open_loop == y).mean()), repeat_rate=repeats(open_loop)),
               own_moves_fed_back=dict(acc_vs_teacher=float((own == y).mean()), repeat_rate=repeats(own),
                                       action_mix=mix(own)),
               closed_loop=closed_loop("breakout"), closed_loop_space_invaders=closed_loop("space_invaders"))
    return save(c, "copycat.json", out)


BALL_BAND = (slice(38, 75), slice(5, 79))   # rows between the bricks and the paddle, inside the walls


def play_games(game, act, n_games, seed, max_steps=5_000):
    """Scores of n_games games (evaluate.play_moves); a game stopped at max_steps keeps its score so far."""
    scores, score = [], 0.0
    for _, _, r, over in evaluate.play_moves(game, act, seed, max_steps):
        score += r
        if over:
            scores, score = scores + [score], 0.0
            if len(scores) == n_games:
                return scores
    return scores


def q1(c: DiagnoseConfig):
    """Why does an imitator fail question 1? The four measurements of the docstring, written to
    <out>/q1_diagnosis.json."""
    T, m, seed = c.teacher, 16, c.seed + 11               # m: steps before the first held-out one
    h, stacks, pa, pr, y = held_out(T, c.states, m)
    n = len(y)
    teacher = evaluate.TeacherPolicy(record.checkpoint_name(T, record.list_checkpoints(T)[-1]),
                                     evaluate.final_epsilon(T), np.random.default_rng(seed))
    q = imitate.teacher_q(teacher.p_flat, h, np.arange(m, m + n))   # batched, once: greedy moves and Q-gaps
    greedy, gap = q.argmax(1), imitate.q_gap(q)
    decisive = gap >= np.quantile(gap, 0.75)
    model = imitate.load_player(os.path.join(c.imitator, "imitator"))

    def predictions(st):                                  # open loop: the teacher's own moves as context
        model.reset()
        return np.array([model.logits(st[t], int(pa[t]), float(pr[t])) for t in range(n)])

    erased = stacks.copy()
    erased[:, :, BALL_BAND[0], BALL_BAND[1]] = 0          # easy to overlook: the ball, and nothing else
    pred, pred_erased = predictions(stacks).argmax(1), predictions(erased).argmax(1)
    both = lambda hit: dict(all=float(hit.mean()), decisive=float(hit[decisive].mean()))
    out = dict(states=n, decisive_min_q_gap=float(gap[decisive].min()),
               acc_vs_teacher=both(pred == y), agree_with_teacher_greedy=both(pred == greedy),
               teacher_greedy_vs_its_actions=both(greedy == y),
               ball_erased_changes_prediction=both(pred != pred_erased))
    rng = np.random.default_rng(seed)

    def imitator_act(sample):
        def act(stack, prev, prev_r, t):
            if t == 0:
                model.reset()                             # every game from an empty context
            z = model.logits(stack, prev, prev_r)
            if not sample:
                return int(np.argmax(z))
            p = np.exp(z - z.max())
            return int(rng.choice(len(p), p=p / p.sum()))
        return act

    argmax_act = imitator_act(False)
    out["play"] = {name: verdict.mean_ci(play_games("breakout", imitator_act(s), c.games, seed), rng)
                   for name, s in (("argmax", False), ("sampled", True))}
    out["hand_over"] = {}
    for k in (0, 100, 300, 1000, 5000):                   # imitator for k steps, then the teacher
        act = lambda stack, prev, prev_r, t, k=k: (argmax_act(stack, prev, prev_r, t) if t < k
                                                   else teacher.act(stack, prev, prev_r))
        out["hand_over"][str(k)] = verdict.mean_ci(play_games("breakout", act, c.games, seed), rng)
    return save(c, "q1_diagnosis.json", out)


def save(c, name, out):
    os.makedirs(c.out, exist_ok=True)
    dqn.write_json(os.path.join(c.out, name), out)
    print(f"{name}:\n{json.dumps(out, indent=1)}")
    return out


def chosen(c: DiagnoseConfig):
    return {w.strip() for w in c.only.split(",")}


def check_config(c: DiagnoseConfig):
    """Refuse bad settings before any work, naming the flag."""
    unknown = chosen(c) - set(DIAGNOSES)
    if unknown:
        raise SystemExit(f"--only: unknown {sorted(unknown)}; valid: {', '.join(DIAGNOSES)}")
    for name in ("states", "games"):
        if getattr(c, name) <= 0:
            raise SystemExit(f"--{name} {getattr(c, name)} must be positive")
    for flag, path, f in (("teacher", c.teacher, "config.json"), ("imitator", c.imitator, "imitator.json")):
        if not os.path.exists(os.path.join(path, f)):
            raise SystemExit(f"--{flag} {path}: no {f} there (record.py and imitate.py make them)")


def run(c: DiagnoseConfig):
    check_config(c)
    return {name: fn(c) for name, fn in (("copycat", copycat), ("q1", q1)) if name in chosen(c)}


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="Why an imitator fails question 1: the copycat and q1 diagnoses.")
    dqn.add_config_flags(ap, DiagnoseConfig)
    cfg = dqn.config_from_args(DiagnoseConfig, ap.parse_args())
    try:
        run(cfg)
    except (record.HistoryError, ValueError) as e:
        raise SystemExit(f"error: {e}")
