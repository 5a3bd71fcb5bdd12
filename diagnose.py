"""diagnose.py: why an imitator fails question 1, and what it takes to pass. Page five's aside.

Question 1 is the one the argument grants: a frozen imitator should at least play like the teacher
does at the end of its history. When it does not, its "no" on questions 2 and 3 says nothing about
continual learning, so it is worth knowing why. Two diagnoses, each on recorded steps of the
teacher the imitator never trained on (the end of its last held-out span) and in play:

  copycat  Does it lean on its previous-action input, the classic failure of behaviour cloning?
           Its moves fed the teacher's previous moves (open loop), its own (fed back), and in play.
  q1       Where does it go wrong? Accuracy on decisive states (the top quarter of the teacher's
           Q-gap), how often the prediction changes when the ball is erased from the frames,
           argmax against sampled play, and a hand-over curve (the imitator plays the first k steps
           of each game, then the final teacher).
  actions  The moves each player makes (--rungs, beside the final teacher) in Breakout and in Space
           Invaders, by the common protocol from an empty context: the share of NOOP, FIRE, RIGHT and
           LEFT, and the score. "Plays as well as" is not "plays like"; and in Space Invaders, where
           nothing is learned, what an imitator does with its Breakout habits (FIRE is what scores).
  ladder   Question 1 itself, for many imitators at once (--rungs): each plays 100 games by the
           common protocol (epsilon-greedy at the teacher's final epsilon), against the same 100
           games of the final teacher, judged by verdict.py's equivalence rule. Given imitators
           trained with more and more optimizer updates (imitate.py --iters), it is the compute
           ladder: how score grows with training, and where the trend would reach the teacher.

    python diagnose.py --teacher runs/breakout --imitator runs/imitator --out results            # both, ~7 min
    python diagnose.py --teacher runs/breakout --imitator runs/imitator --out results --only copycat
    python diagnose.py --only actions --teacher_final results/breakout_portable/teacher_final \
        --rungs results/q1_recipe_portable_s0,results/q1_recipe_first_s0 --out results   # ~1 min a player
    python diagnose.py --only ladder --teacher runs/breakout --rungs runs/bc_x1,runs/tf_x1,runs/tf_x4 --out results

writes <out>/copycat.json and <out>/q1_diagnosis.json (evaluate.py's verdict.json carries copycat.json's
numbers when it finds one in its own --out); <out>/action_mix.json; the ladder <out>/q1_ladder.json,
.md (its table), .png.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
from dataclasses import dataclass

import numpy as np

import dqn
import play
import imitate
import heldout
import checkpoints
import history_io
import record
import table
import verdict
import toolbox


@dataclass
class DiagnoseConfig:
    teacher: str = "runs/breakout"     # the recorded teacher run (record.py): the held-out states are its steps at
                                       # the end of the imitator's last held-out span
    imitator: str = "runs/imitator"    # the trained imitator (imitate.py)
    out: str = "results"               # where copycat.json and q1_diagnosis.json go
    only: str = "copycat,q1"           # which diagnoses, comma-separated: copycat, q1
    states: int = 3_000                # held-out teacher steps read (and, for copycat, agent steps played)
    games: int = 10                    # games per way of playing in q1 (argmax, sampled, each hand-over point)
    seed: int = 0                      # seeds the emulator and the sampled moves
    rungs: str = ""                    # ladder, actions: comma-separated imitator folders (imitate.py --out), each
                                       # judged on Q1 (ladder) or watched in both games (actions)
    teacher_final: str = ""            # ladder: the teacher checkpoint they are judged against (a path without
                                       # .npz/.json); "" = the last checkpoint of --teacher
    ladder_games: int = 100            # ladder: games per player (the verdict's Q1 protocol)
    max_game_steps: int = 0            # ladder: end a game at this many agent steps (0: the emulator's 27,000)
    work: str = "runs/ladder"          # ladder: one resumable folder of games per player
    families: str = "results/arms,results/arms_first_teacher"   # actions: folders of kept arms whose Space
                                       # Invaders imitator arms (elsewhere_imitator*.json) are summarised beside


DIAGNOSES = ("copycat", "q1", "ladder", "actions")


def imitator_heldout_end(imitator, teacher):
    """Where the imitator's last held-out span ends (its imitator.json): the steps before it, back
    to the span's start, were never trained on. Imitators trained on a held-out tail: the history's end."""
    meta = toolbox.read_json(os.path.join(imitator, "imitator.json")) or {}
    spans = meta.get("heldout") or [[meta.get("train_steps", 0), history_io.history_length(teacher)]]
    return spans[-1]


def held_out(teacher, n, margin, span=None):
    """n recorded steps of the teacher that the imitator never trained on: the last n of the held-out
    span (first, end) (default: the end of the history), with margin steps before them so that every
    frame stack is whole (the first held-out step is h's step `margin`): (history h, stacks (n, 4,
    84, 84), previous moves (n,), previous rewards as the imitator's tokens (n,), the teacher's moves (n,))."""
    first, end = span or (0, history_io.history_length(teacher))
    n = min(n, end - first - (2 * margin if span is None else 0))
    h = history_io.load_history(teacher, start=end - n - margin, stop=end)
    stacks, pa, pr, y = imitate.window_inputs(h, np.array([margin]), n)
    return h, stacks, pa[0], np.array([imitate.token_reward(t) for t in pr[0]]), y[0]


def copycat(c: DiagnoseConfig):
    """Does the imitator lean on its previous-action input (the "copycat" failure of behaviour
    cloning)? Feed it the held-out steps three ways and look at its moves, then watch it play."""
    m = 8                                                 # steps before the first held-out one
    h, stacks, pa, pr, y = held_out(c.teacher, c.states, m, imitator_heldout_end(c.imitator, c.teacher))
    n, first = len(y), h["first"][m:m + len(y)]
    mix = lambda a: [float(x) for x in np.bincount(a, minlength=dqn.N_ACTIONS) / len(a)]
    repeats = lambda a: float((a[1:] == a[:-1]).mean())
    player = play.Player(os.path.join(c.imitator, "imitator"))
    open_loop = np.array([player.act(stacks[t], int(pa[t]), float(pr[t])) for t in range(n)])
    player.reset()
    own, prev = [], play.NEW_GAME
    for t in range(n):                                    # the teacher's states, its own moves fed back
        prev = player.act(stacks[t], play.NEW_GAME if first[t] else prev, float(pr[t]))
        own.append(prev)
    own = np.array(own)

    def closed_loop(game):                                # playing: its own states and moves, n steps,
        player.reset()                                    # one context carried across games
        moves = play.play_moves(game, lambda stack, prev, prev_r, t: player.act(stack, prev, prev_r), c.seed)
        played = np.array([a for _, (_, a, _, _) in zip(range(n), moves)])
        moves.close()
        return dict(repeat_rate=repeats(played), action_mix=mix(played))

    out = dict(steps=n, teacher=dict(repeat_rate=repeats(y), action_mix=mix(y)),
               open_loop=dict(acc_vs_teacher=float((open_loop == y).mean()), repeat_rate=repeats(open_loop)),
               own_moves_fed_back=dict(acc_vs_teacher=float((own == y).mean()), repeat_rate=repeats(own),
                                       action_mix=mix(own)),
               closed_loop=closed_loop("breakout"), closed_loop_space_invaders=closed_loop("space_invaders"))
    return save(c.out, "copycat.json", out)


BALL_BAND = (slice(38, 75), slice(5, 79))   # rows between the bricks and the paddle, inside the walls


def play_games(game, act, n_games, seed, max_steps=5_000):
    """Scores of n_games games (play.play_moves); a game stopped at max_steps keeps its score so far."""
    scores, score = [], 0.0
    for _, _, r, over in play.play_moves(game, act, seed, max_steps):
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
    h, stacks, pa, pr, y = held_out(T, c.states, m, imitator_heldout_end(c.imitator, T))
    n = len(y)
    teacher = play.TeacherPolicy(checkpoints.checkpoint_name(T, checkpoints.list_checkpoints(T)[-1]),
                                     play.final_epsilon(T), np.random.default_rng(seed))
    q = heldout.teacher_q(teacher.p_flat, h, np.arange(m, m + n))   # batched, once: greedy moves and Q-gaps
    greedy, gap = q.argmax(1), heldout.q_gap(q)
    decisive = gap >= np.quantile(gap, 0.75)
    model = play.load_player(os.path.join(c.imitator, "imitator"))

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
    return save(c.out, "q1_diagnosis.json", out)


def checkpoint_epsilon(ckpt):
    """The final exploration rate of the teacher a checkpoint holds: every player's epsilon in Q1."""
    with open(ckpt + ".json") as f:
        return float(json.load(f)["config"]["eps_end"])


def recipe_name(kind, late_share):
    """A rung's recipe: its kind and the lever it pulls (the ladder's trend lines join one recipe's
    rungs only; batch size and updates are the ladder's own axis)."""
    return f"{kind}, late_share {late_share:g}" if late_share else kind


def recipe_of(rung):
    """The recipe of one rung of q1_ladder.json."""
    return recipe_name(rung["kind"], rung.get("late_share", 0.0))


def rungs_by_recipe(out):
    """{recipe: its rungs with a known number of updates, fewest first}, recipes in sorted order:
    what a trend line and a plotted line each join."""
    groups = {}
    for r in sorted((r for r in out["rungs"] if r["updates"]), key=lambda r: r["updates"]):
        groups.setdefault(recipe_of(r), []).append(r)
    return dict(sorted(groups.items()))


def rung_facts(folder):
    """What the ladder's table says about one imitator: its kind, optimizer updates, examples per
    update, training minutes and held-out accuracy (imitate.py's imitator.json and metrics.json)."""
    meta = toolbox.read_json(os.path.join(folder, "imitator.json")) or {}
    m = toolbox.read_json(os.path.join(folder, "metrics.json")) or {}
    ck = (toolbox.read_json(os.path.join(folder, "checkpoint.json")) or {}).get("config", {})
    bc = meta.get("kind") == "bc"
    batch = meta.get("batch", ck.get("batch"))
    K = 1 if bc else meta.get("transformer", {}).get("block_size")
    kind, late = "behaviour cloning" if bc else "transformer", meta.get("late_share", ck.get("late_share", 0.0))
    return dict(kind=kind, late_share=late, seed=ck.get("seed"), updates=meta.get("trained_steps"), batch=batch,
                context=K, examples_per_update=batch * K if batch and K else None,
                train_minutes=meta.get("train_minutes"), heldout_acc=m.get("acc_vs_teacher_actions"),
                heldout_last_span_acc=m.get("last_span", {}).get("acc_vs_teacher_actions"),
                heldout_layout="interleaved blocks" if meta.get("heldout") else "the last 5% (tail)")


ACTION_GAMES = ("breakout", "space_invaders")


def action_mix(c: DiagnoseConfig):
    """Each player's moves by share (dqn.ACTIONS) and its mean score over c.games games of each of
    ACTION_GAMES, epsilon-greedy at the teacher's final epsilon, the imitators from an empty context
    (their stage, if they have one, the end of their history): <out>/action_mix.json."""
    ckpt = c.teacher_final or checkpoints.checkpoint_name(c.teacher, checkpoints.list_checkpoints(c.teacher)[-1])
    eps = checkpoint_epsilon(ckpt)
    players = [("teacher", lambda rng: play.TeacherPolicy(ckpt, eps, rng))] + [
        (f, lambda rng, f=f: play.ImitatorPolicy(os.path.join(f, "imitator"), eps=eps, rng=rng))
        for f in (x.strip() for x in c.rungs.split(",")) if f]
    out = dict(teacher_checkpoint=ckpt, epsilon=eps, games=c.games, actions=list(dqn.ACTIONS), players={})
    for name, make in players:
        out["players"][name] = {}
        for game in ACTION_GAMES:
            policy, counts = make(toolbox.named_rng(c.seed, f"actions {name} {game}")), np.zeros(dqn.N_ACTIONS)
            act = lambda stack, prev, prev_r, t: policy.act(stack, prev, prev_r)
            scores, score = [], 0.0
            for _, a, r, over in play.play_moves(game, act, c.seed, max_game_steps=5_000, fresh_games=False):
                counts[a] += 1
                score += r
                if over:
                    scores, score = scores + [score], 0.0
                    if len(scores) == c.games:
                        break
            out["players"][name][game] = dict(share={k: float(v) for k, v in zip(dqn.ACTIONS, counts / counts.sum())},
                                              mean_score=float(np.mean(scores)), steps=int(counts.sum()))
            print(f"{name:40s} {game:15s} score {np.mean(scores):6.1f}  " +
                  "  ".join(f"{k} {v:.0%}" for k, v in out["players"][name][game]["share"].items()), flush=True)
    out["space_invaders_arms"] = elsewhere_families(c)
    return save(c.out, "action_mix.json", out)


def elsewhere_families(c: DiagnoseConfig):
    """Question 3 across imitators: every kept Space Invaders imitator arm in the --families folders
    (each family an imitator recipe trained on one teacher's history), its mean score and its
    slope by verdict.py's rule for a player on its own (the imitators of one teacher together)."""
    out = {}
    for folder in (f.strip() for f in c.families.split(",") if f.strip()):
        for path in sorted(glob.glob(os.path.join(folder, "elsewhere_imitator*.json"))):
            kept = toolbox.read_json(path)
            steps, scores = (np.array([x[k] for x in kept["games"]], float) for k in (0, 1))
            rng = np.random.default_rng(c.seed + 99)
            out[path] = dict(imitator=kept["identity"]["imitator"], games=len(scores),
                             mean=verdict.mean_ci(scores, rng), share_of_games_scoring_0=float(np.mean(scores == 0)),
                             slope=verdict.slope_reading(steps, scores, rng))
    return out


def ladder(c: DiagnoseConfig):
    """Question 1 under the common protocol for every imitator of --rungs, against one teacher:
    <out>/q1_ladder.json (every number), .md (the table), .png (score against optimizer updates).
    Rungs judged by an earlier run against the same teacher games (same checkpoint, protocol and
    seeds, hence the same scores) stay in the table, so a rung's folder may be deleted once judged;
    a table judged against other teacher games is refused, naming the file, never overwritten."""
    ckpt = c.teacher_final or checkpoints.checkpoint_name(c.teacher, checkpoints.list_checkpoints(c.teacher)[-1])
    eps = checkpoint_epsilon(ckpt)
    stream = lambda name: toolbox.named_rng(c.seed, name)   # one per player
    prompt = (c.teacher, "end") if os.path.exists(os.path.join(c.teacher, "history.json")) else None
    run = lambda name, policy, **kw: play.play_arm(
        os.path.join(c.work, name), "breakout", policy, n_games=c.ladder_games, seed=c.seed, desc=name,
        max_game_steps=c.max_game_steps, **kw)
    teacher = [x[1] for x in run("teacher", play.TeacherPolicy(ckpt, eps, stream("teacher")))]
    boot = np.random.default_rng(c.seed + 99)
    out = dict(teacher_checkpoint=ckpt, epsilon=eps, games=c.ladder_games, context="prompted with the teacher's "
               "last recorded steps" if prompt else "empty (no recorded history at --teacher)",
               teacher=verdict.mean_ci(teacher, boot),
               clone_pass_rate=verdict.clone_pass_rate(np.mean(teacher), np.std(teacher), len(teacher), boot), rungs=[])
    folders = [f.strip() for f in c.rungs.split(",") if f.strip()]
    saved = os.path.join(c.out, "q1_ladder.json")
    before = toolbox.read_json(saved) or {}
    differ = [k for k in ("teacher_checkpoint", "epsilon", "games", "context", "teacher")
              if before.get(k) != out[k]] if before.get("rungs") else []
    if differ:                                             # never drop rungs judged against other games
        raise SystemExit(f"{saved} holds rungs judged against other teacher games ({differ[0]}: "
                         f"{before.get(differ[0])} there, {out[differ[0]]} now); judge into another --out, "
                         f"or delete {saved} to start that table anew")
    out["rungs"] = [r for r in before.get("rungs", []) if r["name"] not in
                    {os.path.basename(os.path.normpath(f)) for f in folders}]
    for folder in folders:
        name = os.path.basename(os.path.normpath(folder))
        games = run(name, play.ImitatorPolicy(os.path.join(folder, "imitator"), eps=eps, rng=stream(name)),
                     judge=play.TeacherPolicy(ckpt, 0.0, stream("judge")), prompt=prompt)
        scores = [x[1] for x in games]
        e = verdict.equivalence(scores, teacher, boot)
        out["rungs"].append(dict(name=name, folder=folder, **rung_facts(folder), score=verdict.mean_ci(scores, boot),
                                 of_teacher=float(np.mean(scores) / np.mean(teacher)), equivalence=e,
                                 reading=e["reading"], move_agreement=verdict.move_agreement(games),
                                 capped_games=int(sum(x[2] >= (c.max_game_steps or 27_000) for x in games))))
    return write_ladder(out, c.out)


def write_ladder(out, out_dir):
    """The ladder's trend lines, then <out_dir>/q1_ladder.json, .md and .png. From a saved
    q1_ladder.json alone, without playing: write_ladder(toolbox.read_json(path), out_dir)."""
    out["trend"], out["replications"] = ladder_trend(out), replications(out)
    save(out_dir, "q1_ladder.json", out)
    with open(os.path.join(out_dir, "q1_ladder.md"), "w") as f:
        f.write(ladder_table(out))
    ladder_plot(out, os.path.join(out_dir, "q1_ladder.png"))
    return out


def ladder_trend(out):
    """Per kind of imitator with 2+ rungs: the least-squares line of score against log10(updates),
    and the updates at which it would reach 75% of the teacher (None if the line does not rise)."""
    goal, trends = 0.75 * out["teacher"]["mean"], {}
    for kind, rs in rungs_by_recipe(out).items():
        pts = [(np.log10(r["updates"]), r["score"]["mean"]) for r in rs]
        if len({x for x, _ in pts}) < 2:
            continue
        b, a = np.polyfit(*np.array(pts).T, 1)             # score = a + b * log10(updates)
        trends[kind] = dict(per_tenfold=float(b), updates_for_75pct=float(10 ** ((goal - a) / b)) if b > 0 else None)
    return trends


def replications(out):
    """Rungs of one recipe at the same updates and examples per update (seeds of one run, say), with
    how many of them pass: [{recipe, updates, examples_per_update, names, yes, of}], groups of 2+ only.
    A recipe replicates question 1 when yes == of (the rule of results/README.md, fixed beforehand)."""
    groups = {}
    for r in out["rungs"]:
        groups.setdefault((recipe_of(r), r["updates"], r["examples_per_update"]), []).append(r)
    return [dict(recipe=k[0], updates=k[1], examples_per_update=k[2], names=[r["name"] for r in rs],
                 yes=sum(r["reading"] == "yes" for r in rs), of=len(rs))
            for k, rs in groups.items() if len(rs) > 1]


def ladder_table(out):
    t = out["teacher"]
    lines = [f"# Question 1 for each imitator: {out['games']} games each, epsilon {out['epsilon']:g} for every player", "",
             f"Teacher `{out['teacher_checkpoint']}`: {table.fmt(t)} (75%: {0.75 * t['mean']:.1f}; equivalence margin "
             f"±{verdict.EQUIV_MARGIN * t['mean']:.1f}; a clone of it passes {out['clone_pass_rate']:.0%} of the time "
             f"over these games). Imitators' context: {out['context']}.", "",
             "| imitator | kind | optimizer updates | examples per update | training minutes | held-out accuracy "
             "(last held-out span) | score [95%] | of the teacher | move = teacher's greedy | Q1 |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    pct = lambda x: f"{x:.1%}" if x is not None else "-"
    for r in out["rungs"]:
        lines.append(f"| `{r['name']}` | {recipe_of(r)} | {r['updates'] or 0:,} | {r['examples_per_update'] or '-'} | "
                     f"{r['train_minutes'] if r['train_minutes'] is not None else '-'} | {pct(r['heldout_acc'])} "
                     f"({pct(r['heldout_last_span_acc'])}; {r['heldout_layout']}) | {table.fmt(r['score'])} | "
                     f"{r['of_teacher']:.0%} | {r['move_agreement']:.0%} | **{r['reading']}** |")
    for g in out.get("replications", []):
        lines.append(f"\n{g['recipe']} at {g['updates'] or 0:,} updates of {g['examples_per_update']} examples, "
                     f"{g['of']} runs ({', '.join(g['names'])}): Q1 **yes in {g['yes']} of {g['of']}**"
                     + (" (replicates)." if g["yes"] == g["of"] else "."))
    for kind, tr in out.get("trend", {}).items():
        reach = f"{tr['updates_for_75pct']:,.0f} updates" if tr["updates_for_75pct"] else "never (it does not rise)"
        lines.append(f"\n{kind}: {tr['per_tenfold']:+.1f} points per tenfold updates; the line reaches 75% of the "
                     f"teacher at {reach}.")
    return "\n".join(lines) + "\n"


def ladder_plot(out, path):
    plt = toolbox.pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for kind, rs in rungs_by_recipe(out).items():
        marker = "s" if kind.startswith("behaviour") else "o"
        xs = [r["updates"] for r in rs]                      # seeds at the same updates side by side,
        line = "-" if len(set(xs)) == len(xs) else ""       # and no line through them
        xs = [x * 1.06 ** xs[:j].count(x) for j, x in enumerate(xs)]
        toolbox.errorbars(ax, xs, [[r["score"][k] for k in ("mean", "lo", "hi")] for r in rs],
                          fmt=marker + line, label=kind)
    t = out["teacher"]["mean"]
    ax.axhline(t, color="gray", ls="--", label=f"final teacher ({t:.1f})")
    ax.axhline(0.75 * t, color="gray", ls=":", label="75% of the teacher")
    ax.set_xscale("log")
    lo, hi = ax.get_xlim()
    if hi < 4 * lo:                                          # one rung, or seeds of one: a decade around them
        ax.set_xlim(lo / 3, hi * 3)
    toolbox.save_figure(fig, ax, path, "optimizer updates (log scale)", f"mean score over {out['games']} games (95% CI)",
                        f"Question 1, compute ladder: all players epsilon-greedy at {out['epsilon']:g}")
    plt.close(fig)


def save(out_dir, name, out):
    os.makedirs(out_dir, exist_ok=True)
    toolbox.write_json(os.path.join(out_dir, name), out)
    print(f"{name}:\n{json.dumps(out, indent=1)}")
    return out


def chosen(c: DiagnoseConfig):
    return {w.strip() for w in c.only.split(",")}


def check_config(c: DiagnoseConfig):
    """Refuse bad settings before any work, naming the flag."""
    unknown = chosen(c) - set(DIAGNOSES)
    if unknown:
        raise SystemExit(f"--only: unknown {sorted(unknown)}; valid: {', '.join(DIAGNOSES)}")
    toolbox.check_positive(c, ("states", "games", "ladder_games"))
    if c.max_game_steps < 0:
        raise SystemExit(f"--max_game_steps {c.max_game_steps} must be 0 (no cap) or positive")
    needs = [("teacher", c.teacher, "config.json")] if chosen(c) - {"ladder", "actions"} or not c.teacher_final else []
    if chosen(c) - {"ladder", "actions"}:
        needs.append(("imitator", c.imitator, "imitator.json"))
    if chosen(c) & {"ladder", "actions"}:
        rungs = [f.strip() for f in c.rungs.split(",") if f.strip()]
        if not rungs:
            raise SystemExit(f"--only {' and '.join(sorted(chosen(c) & {'ladder', 'actions'}))} needs --rungs: "
                             f"comma-separated imitator folders")
        needs += [("rungs", f, "imitator.json") for f in rungs]
        if c.teacher_final and not os.path.exists(c.teacher_final + ".json"):
            raise SystemExit(f"--teacher_final {c.teacher_final}: no {c.teacher_final}.json there")
    for flag, path, f in needs:
        if not os.path.exists(os.path.join(path, f)):
            raise SystemExit(f"--{flag} {path}: no {f} there (record.py and imitate.py make them)")


def run(c: DiagnoseConfig):
    check_config(c)
    return {name: fn(c) for name, fn in (("copycat", copycat), ("q1", q1), ("ladder", ladder), ("actions", action_mix))
            if name in chosen(c)}


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="Why an imitator fails question 1 (the copycat and q1 diagnoses), "
                                             "and question 1 for many imitators at once (the ladder).")
    toolbox.add_config_flags(ap, DiagnoseConfig)
    cfg = toolbox.config_from_args(DiagnoseConfig, ap.parse_args())
    try:
        run(cfg)
    except (history_io.HistoryError, ValueError) as e:
        raise SystemExit(f"error: {e}")
