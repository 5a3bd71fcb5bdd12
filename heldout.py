"""heldout.py: how well does a network predict the teacher's moves on steps it never trained on?
An appendix page to imitate.py (and bc.py).

Accuracy against the teacher's actual moves mixes two things: the teacher's exploration (random
moves nobody can predict) and its policy. So each prediction is also compared with the final
teacher's greedy move, on all held-out steps, on the decisive quarter (where the teacher's best
move beats its second best by the most: the ball about to be missed) and on the last held-out block
(the stage nearest the final teacher); and the teacher is compared with itself 50k steps earlier,
the agreement an imitator can hope for. window_report adds, for a model that predicts windows of
steps (the transformer imitator), its accuracy by stage of the history.
"""
from __future__ import annotations

import numpy as np

import checkpoints
import dqn
import history_io
import toolbox
import windows


def network_outputs(p, stacks, batch=512):
    """The 2013 network's outputs (N, A) on frame stacks (N, 4, 84, 84), batch by batch."""
    return np.concatenate([dqn.q_forward(p, dqn.stacks_to_input(stacks[i:i + batch]))[0]
                           for i in range(0, len(stacks), batch)])


def outputs_at(p, h, idx, batch=512):
    """The same on the history's states at steps idx, their stacks built one batch at a time
    (a whole held-out tail of stacks would not fit in memory)."""
    return np.concatenate([network_outputs(p, history_io.stacks_at(h["frame"], h["first"], idx[i:i + batch]), batch)
                           for i in range(0, len(idx), batch)])


def teacher_q(params_flat, h, idx, batch=512):
    """A teacher network's Q-values (len(idx), A) on the states at absolute steps idx."""
    return outputs_at(toolbox.param_views(params_flat, dqn.param_shapes()), h, idx, batch)


def q_gap(q):
    """The Q-value margin between the best and second-best move, per state: large where the choice
    matters (the ball about to be missed), near 0 where any move will do."""
    q = np.sort(q, axis=1)
    return q[:, -1] - q[:, -2]


def heldout_metrics(pred, actual, idx, h, history, spans):
    """Accuracies of predictions `pred` on held-out steps idx, against the teacher's actual moves, the
    final teacher's greedy moves, on all steps, on the decisive quarter (largest Q-gap) and on the
    last held-out span (the stage nearest the final teacher)."""
    ckpts = checkpoints.list_checkpoints(history)
    final = ckpts[-1]
    earlier = max([s for s in ckpts if s <= final - 50_000] or [ckpts[0]])
    load = lambda s: checkpoints.load_checkpoint(checkpoints.checkpoint_name(history, s))[1]["params"]
    q_final = teacher_q(load(final), h, idx)                   # one pass: greedy moves and Q-gaps
    g_final, g_earlier = q_final.argmax(1), teacher_q(load(earlier), h, idx).argmax(1)
    gap = q_gap(q_final)
    decisive = gap >= np.quantile(gap, 0.75)                   # the top quarter of the teacher's Q-gap
    last = idx >= spans[-1][0]
    return dict(heldout_steps=int(len(idx)), heldout_spans=[[int(a), int(b)] for a, b in spans],
                acc_vs_teacher_actions=float((pred == actual).mean()),
                agree_with_final_teacher_greedy=float((pred == g_final).mean()),
                decisive=dict(steps=int(decisive.sum()), min_q_gap=float(gap[decisive].min()),
                              acc_vs_teacher_actions=float((pred == actual)[decisive].mean()),
                              agree_with_final_teacher_greedy=float((pred == g_final)[decisive].mean())),
                last_span=dict(steps=int(last.sum()), acc_vs_teacher_actions=float((pred == actual)[last].mean()),
                               agree_with_final_teacher_greedy=float((pred == g_final)[last].mean())),
                final_teacher_greedy_vs_actual_actions=float((g_final == actual).mean()),
                teacher_vs_teacher={"checkpoints": [earlier, final], "agreement": float((g_final == g_earlier).mean())},
                chance_of_most_common_action=float(np.bincount(actual, minlength=4).max() / actual.size))


def window_report(predict, h, history, spans, starts, K, seed):
    """The held-out metrics (heldout_metrics) of a model that predicts windows of K steps, and its
    accuracy by stage of the history on training windows (8 from each third: how well it learned
    each stage). predict(starts) -> (predictions, targets), each (len(starts), K); starts: the
    training windows' first steps."""
    val_starts = windows.heldout_starts(spans, K)
    pred, actual = predict(val_starts)
    idx = (val_starts[:, None] + np.arange(K)).reshape(-1)
    m = heldout_metrics(pred.reshape(-1), actual.reshape(-1), idx, h, history, spans)
    rng, N = np.random.default_rng(seed + 7), len(h["action"])   # its own stream: fixed windows
    m["by_stage"] = {}
    for name, (a, b) in zip(("early", "middle", "late"), ((0, N // 3), (N // 3, 2 * N // 3), (2 * N // 3, N))):
        pr, ac = predict(rng.choice(starts[(starts >= a) & (starts < b)], 8))
        m["by_stage"][name] = {"steps": [int(a), int(b)], "acc_vs_teacher_actions": float((pr == ac).mean())}
    return m
