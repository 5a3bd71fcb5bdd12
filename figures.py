"""figures.py: the verdict's plots. An appendix page.

From the arms' games (evaluate.py) and the verdict's numbers (verdict.judge): later.png,
elsewhere.png and controls.png (each arm's game scores against agent steps, with a moving mean),
now.png (question 1's scores), stages.png (the score told each stage, question 2'); and
imitate.py's loss.png (plot_losses).
"""
from __future__ import annotations

import os

import numpy as np

import toolbox


CURVE_FIGURES = [   # (file, title, arms, labels): one learning-curve figure each
    ("later.png", "2. Later: Breakout, N more steps", ["later_teacher", "later_imitator_held", "later_imitator"],
     ["DQN teacher, learning on", "frozen imitator, its stage held at the end of its history",
      "frozen imitator, told its stage as it plays on (2')"]),
    ("elsewhere.png", "3. Elsewhere: Space Invaders",
     ["elsewhere_teacher", "elsewhere_fresh", "elsewhere_imitator", "elsewhere_imitator_prompted", "elsewhere_random"],
     ["Breakout teacher, learning on", "fresh DQN", "frozen imitator, empty context",
      "frozen imitator, prompted with the teacher's first steps", "random"]),
    ("controls.png", "Controls: swapped LEFT/RIGHT, zeroed rewards", ["swap_teacher", "swap_imitator", "noreward_imitator"],
     ["teacher, swapped, learning on", "imitator, swapped", "imitator, rewards zeroed"])]


def plot_curves(plt, games, R, out, tag):
    """later.png, elsewhere.png, controls.png: each arm's game scores and their moving mean."""
    for fname, title, names, labels in CURVE_FIGURES:
        if not any(games.get(n) for n in names):
            continue                                       # none of its arms has run yet
        fig, ax = plt.subplots(figsize=(7, 4))
        for n, lab in zip(names, labels):
            if games.get(n):
                s, v = np.array([x[0] for x in games[n]]) / 1000, np.array([x[1] for x in games[n]])   # s in thousands
                line, = ax.plot(s, v, ".", ms=2, alpha=0.3)
                k = min(30, len(v))
                ax.plot(s[k - 1:], toolbox.moving_average(v, k), color=line.get_color(), lw=2,
                        label=f"{lab} (mean of {k} games)")
        if fname == "later.png" and "now" in R:
            ax.axhline(R["now"]["teacher"]["mean"], color="gray", ls="--", label="teacher's final score")
        toolbox.save_figure(fig, ax, os.path.join(out, fname), "thousands of agent steps since the arm began\n"
                            "(teacher arms: since the end of its recorded history)", "raw game score", title + tag)
        plt.close(fig)


def plot_stages(plt, R, out, tag):
    """stages.png: the score told each stage, question 2's sharp form."""
    d = R["stages"]
    fig, ax = plt.subplots(figsize=(6, 4))
    toolbox.errorbars(ax, d["history_multiples"], [[s["mean"], s["lo"], s["hi"]] for s in d["scores"]], fmt="o-",
                      label="frozen imitator, told this stage")
    ax.axvline(1.0, color="gray", ls=":", label="end of its training history")
    if "now" in R:
        ax.axhline(R["now"]["teacher"]["mean"], color="gray", ls="--", label="teacher at the end")
    toolbox.save_figure(fig, ax, os.path.join(out, "stages.png"), "stage told (multiples of the history's length)",
                        "mean raw score (95% CI)", "2'. Later, told so: Breakout" + tag)
    plt.close(fig)


def plot_now(plt, R, out, tag):
    """now.png: question 1's scores, the teacher's and the imitator's."""
    fig, ax = plt.subplots(figsize=(6, 4))
    bars = [("teacher", R["now"]["teacher"]), ("imitator,\nprompted", R["now"]["imitator"])]
    if "imitator_empty_context" in R["now"]:
        bars.append(("imitator,\nempty context", R["now"]["imitator_empty_context"]))
    for i, (lab, d) in enumerate(bars):
        ax.bar(i, d["mean"], yerr=[[d["mean"] - d["lo"]], [d["hi"] - d["mean"]]], capsize=6)
    ax.set_xticks(range(len(bars)), [b[0] for b in bars])
    toolbox.save_figure(fig, ax, os.path.join(out, "now.png"), "", "mean raw score (95% CI)",
                        "1. Now: Breakout, end of training" + tag)
    plt.close(fig)


def plots(games, R, out):
    """now.png, later.png, elsewhere.png, controls.png (and stages.png) in out, from the arms' games
    (arm name -> its games) and the numbers R."""
    plt = toolbox.pyplot()
    tag = " (small-scale)" if R["scale"]["quick"] else ""
    plot_curves(plt, games, R, out, tag)
    if "stages" in R:
        plot_stages(plt, R, out, tag)
    if "now" in R:
        plot_now(plt, R, out, tag)


def plot_losses(state, path):
    """imitate.py's loss.png: the training batches' loss, its moving mean, and the held-out loss."""
    plt = toolbox.pyplot()
    tr = np.array(state["train_loss"])
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(tr[:, 0], tr[:, 1], alpha=0.3, label="training batch")
    if len(tr) >= 20:
        k = max(10, len(tr) // 50)
        ax.plot(tr[k - 1:, 0], toolbox.moving_average(tr[:, 1], k), label=f"training, mean of {k}")
    if state["val_loss"]:
        va = np.array(state["val_loss"])
        ax.plot(va[:, 0], va[:, 1], "o-", label="held-out steps")
    toolbox.save_figure(fig, ax, path, "optimizer step", "next-action cross-entropy (nats)",
                        "Imitator: next-action prediction on the DQN's learning history", legend=10)
    plt.close(fig)
