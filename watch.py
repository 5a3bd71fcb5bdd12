"""watch.py: watch them play. Animated GIFs of the teacher and the frozen imitator, side by side.

An appendix to page five: a score says how well a player did, a picture says how. Each panel is
what the player sees (the newest 84x84 gray frame of its input), one agent step per frame, with
the running score of its game. Made from committed weights in a few minutes on 2 cores:

    python watch.py                     # results/watch_breakout.gif: final teacher | frozen imitator
                                        # (and results/watch.json: the players and the scores shown last)
    python watch.py --transplant runs/quick/eval/elsewhere_teacher
                                        # and results/watch_space_invaders.gif: the Breakout teacher
                                        # as it arrives in Space Invaders, after its last checkpoint
                                        # of learning there, and the imitator

The imitator plays from an empty context (a fresh start), the teacher at its final epsilon. The
Space Invaders GIF needs the checkpoints of evaluate.py's elsewhere_teacher arm (a run folder:
runs/quick/eval/... after `make quick`, 10k steps; runs/eval/... after the full run, 1M steps);
without it only the Breakout GIF is made.
"""
from __future__ import annotations

import argparse
import json
import os
from dataclasses import dataclass

import numpy as np

import play
import checkpoints
import toolbox


@dataclass
class WatchConfig:
    teacher: str = "results/breakout_portable/teacher_final"  # the teacher whose history the imitator learned (no extension)
    imitator: str = "results/q1_recipe_portable_s0/imitator"  # the frozen imitator (or behaviour-cloning network), no extension
    transplant: str = ""           # the transplanted teacher's run folder (evaluate.py's elsewhere_teacher), or ""
    steps: int = 600               # agent steps shown per panel (games restart when they end)
    every: int = 2                 # keep one agent step in `every` as a GIF frame (smaller files)
    fps: int = 15                  # GIF frames per second
    eps: float = 0.01              # the teachers' epsilon while watched (their final exploration)
    seed: int = 0                  # seeds the emulators and the teachers' random moves
    out: str = "results"           # where the GIFs go


def record_play(game, policy, steps, seed):
    """Frames (steps, 84, 84) the policy saw and the running score of its game at each step
    (play.play_moves; games restart when they end)."""
    frames, scores, score = np.empty((steps, 84, 84), np.uint8), np.empty(steps), 0.0
    moves = play.play_moves(game, lambda stack, prev, prev_r, t: policy.act(stack, prev, prev_r), seed)
    for t, (stack, _, r, over) in zip(range(steps), moves):
        frames[t], scores[t] = stack[-1], score
        score = 0.0 if over else score + r
    moves.close()
    return frames, scores


def make_gif(panels, path, every, fps, title):
    """panels: list of (label, frames, scores), shown side by side; one GIF frame per `every` steps."""
    plt = toolbox.pyplot()
    from matplotlib.animation import FuncAnimation, PillowWriter
    fig, axes = plt.subplots(1, len(panels), figsize=(2.4 * len(panels), 2.9), dpi=90)
    axes = np.atleast_1d(axes)
    images, texts = [], []
    for ax, (label, frames, _) in zip(axes, panels):
        images.append(ax.imshow(frames[0], cmap="gray", vmin=0, vmax=255, interpolation="nearest"))
        texts.append(ax.set_title(label, fontsize=8))
        ax.axis("off")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    idx = range(0, len(panels[0][1]), every)

    def draw(t):
        for im, tx, (label, frames, scores) in zip(images, texts, panels):
            im.set_data(frames[t])
            tx.set_text(f"{label}\nscore {scores[t]:.0f}")
        return images + texts

    anim = FuncAnimation(fig, draw, frames=list(idx), blit=False)
    anim.save(path, writer=PillowWriter(fps=fps))
    plt.close(fig)
    return os.path.getsize(path)


def watch(c: WatchConfig):
    toolbox.check_positive(c, ("steps", "every", "fps"))
    if not 0.0 <= c.eps <= 1.0:
        raise SystemExit(f"--eps {c.eps} must be in [0, 1]")
    for path, what in ((c.teacher, "--teacher"), (c.imitator, "--imitator")):
        if not os.path.exists(path + ".npz"):
            raise SystemExit(f"{what} {path}: no {path}.npz")
    if c.transplant and not os.path.exists(os.path.join(c.transplant, "checkpoints")):
        raise SystemExit(f"--transplant {c.transplant}: not a run folder with checkpoints (evaluate.py's "
                         f"elsewhere_teacher arm writes one)")
    os.makedirs(c.out, exist_ok=True)
    rng = np.random.default_rng(c.seed)
    made = []
    jobs = [("breakout", [("final teacher", lambda: play.TeacherPolicy(c.teacher, c.eps, rng)),
                          ("frozen imitator", lambda: play.ImitatorPolicy(c.imitator))])]
    if c.transplant:
        ck = checkpoints.list_checkpoints(c.transplant)          # the Breakout teacher as it arrives, and after learning
        first, last = (checkpoints.checkpoint_name(c.transplant, s) for s in (ck[0], ck[-1]))
        jobs.append(("space_invaders", [
            (f"teacher, {ck[0] // 1000}k steps in", lambda: play.TeacherPolicy(first, c.eps, rng)),
            (f"teacher, {ck[-1] // 1000}k steps in", lambda: play.TeacherPolicy(last, c.eps, rng)),
            ("frozen imitator", lambda: play.ImitatorPolicy(c.imitator))]))
    for game, players in jobs:
        panels = []
        for label, make in toolbox.progress(players, desc=f"playing {game}", unit="player"):
            frames, scores = record_play(game, make(), c.steps, c.seed)
            panels.append((label, frames, scores))
        path = os.path.join(c.out, f"watch_{game}.gif")
        size = make_gif(panels, path, c.every, c.fps, game.replace("_", " ").title())
        made.append(dict(path=path, megabytes=round(size / 2 ** 20, 2),
                         final_scores={lab: float(s[-1]) for lab, _, s in panels}))
        print(f"wrote {path} ({size / 2 ** 20:.1f} MB)")
    toolbox.write_json(os.path.join(c.out, "watch.json"),          # the scores the GIFs end on, kept beside them
                       dict(teacher=c.teacher, imitator=c.imitator, transplant=c.transplant, steps=c.steps, gifs=made))
    return made


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="GIFs of the teacher and the frozen imitator playing.")
    toolbox.add_config_flags(ap, WatchConfig)
    cfg = toolbox.config_from_args(WatchConfig, ap.parse_args())
    try:
        print(json.dumps(watch(cfg), indent=1))
    except ValueError as e:
        raise SystemExit(f"error: {e}")
