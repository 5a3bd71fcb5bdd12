"""distill.py: where imitating a learner DOES learn in context. The positive control.

Page six. The Atari pages can only show the argument's "no". Here is the strongest case for "yes":
Algorithm Distillation (Laskin et al. 2022). Record a learning algorithm's histories on MANY tasks,
train the same kind of transformer (transformer.py, page 3) by plain next-action prediction on
them, freeze it, and put it in front of a task it has never seen. If its context spans the
learning, it can improve from pull to pull with frozen weights: it has learned to infer, from the
context, what the source learner would do next, and the source learner was improving.

The tasks are 5-armed Bernoulli bandits: each arm (a bandit's lever, as the literature calls it;
not one of page 5's experiment arms) pays 1 with its own probability, drawn uniformly for every new
task. The source learner is Thompson sampling. One token per pull:

    token_t  = E_action[arm pulled at t-1 (or "start")] + E_reward[its reward (or "start")]
    logits_t = transformer(token_1 .. token_t)           -> which arm the learner pulls at t

Measured: the frozen imitator's learning curve on new bandits (the chosen arm's success
probability over the best arm's, per fifth of the pulls) beside Thompson sampling's and random
play's.

Then AD's dark room: a 9x9 grid, each episode 20 steps from the centre, one hidden goal cell
paying 1 per step spent on it. The source learner explores by posterior sampling over where the
goal is (walk to a cell not yet ruled out; once paid, go back there every episode), so its
learning fits in a context of a few episodes. Tokens add where the agent is: embeddings of its
row and of its column. The frozen imitator plays held-out goals for 25 episodes with its context carried across episodes, beside
the source learner, random play and AD's control: the same imitator trained on expert episodes
only (a learner that already knows the goal), which has never seen a search and should not find
new goals.

    python distill.py                # bandits and the dark room (~15 min on one core)
    python distill.py --quick        # the same, small, for a classroom (~3-5 min)
    python distill.py --part room    # one experiment: bandits or room

Both learners here learn within a context; the argument is about a learner whose learning
outlasts any context. Page 7 (horizon.py) turns page 6's dials toward that regime.

writes results/distill/: distill.json (every number), bandits.png, room.png.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import time
from dataclasses import dataclass

import numpy as np

import layers
import transformer
import toolbox
import verdict


@dataclass
class DistillConfig:
    arms: int = 5                 # arms per bandit
    pulls: int = 100              # pulls per history (and per test episode)
    train_tasks: int = 2000       # bandits the source learner's histories come from
    test_tasks: int = 200         # new bandits the frozen imitator is tested on
    context: int = 100            # positions the imitator sees (training windows and play)
    train_pulls: int = 100        # keep only the first train_pulls pulls of each training history
    n_layer: int = 3              # transformer blocks
    n_head: int = 4               # attention heads per block
    n_embd: int = 64              # model width
    batch: int = 64               # training windows per step
    iters: int = 2000             # optimizer steps
    lr: float = 1e-3              # peak learning rate (warm-up, then cosine decay)
    weight_decay: float = 0.01    # AdamW's decoupled weight decay on matrices
    seed: int = 0                 # seeds the bandits, the source learner, the weights and play
    room_histories: int = 1000    # dark room: source-learner histories to train on (goals from the training set)
    room_episodes: int = 20       # dark room: episodes per training history
    room_context: int = 100       # dark room: positions the imitator sees (5 episodes of 20 steps)
    room_iters: int = 1200        # dark room: optimizer steps (each imitator)
    room_test_episodes: int = 25  # dark room: episodes the frozen imitator plays on each held-out goal
    room_test_runs: int = 64      # dark room: runs on the 16 held-out goals (each goal several times)
    part: str = "all"             # "bandits", "room" or "all" (both)
    out: str = "results/distill"  # where the numbers and plots go
    quick: bool = False           # classroom scale: fewer tasks and steps


QUICK = dict(train_tasks=500, test_tasks=100, iters=300, room_histories=400, room_iters=300, room_test_episodes=15,
             room_test_runs=32)

# The rule's minimum effect, fixed before the runs it judges (as page 5's are): a gain smaller than
# this is not "improves", however sure the interval, and "no" needs the interval below it.
MIN_ROOM_GAIN = 2.0               # dark room: steps on the goal per episode gained, last 5 vs first 3 episodes

# Every consumer of randomness has its own generator, seeded c.seed + a fixed offset, so that
# changing one part (more test bandits, a longer training) never changes another part's draws.
# The table is pages 6's and 7's (horizon.py's question 2 draws from play_q2, bootstrap_q2, room_q2).
STREAMS = dict(tasks=0, train=1, source_test=2, random_test=3, play=4, play_q2=5, bootstrap_q2=6, sweep_test=10,
               room=20, room_source=21, room_random=22, room_play=23, room_shown=24, room_bootstrap=25, room_q2=26)


def stream(c, name):
    return np.random.default_rng(c.seed + STREAMS[name])


# -------------------------------------------------------------------------------------------
# Tasks and the source learner
# -------------------------------------------------------------------------------------------
def make_bandits(rng, n, arms):
    """n bandits (n, arms): each arm's probability of paying 1, uniform in [0, 1]."""
    return rng.uniform(0.0, 1.0, (n, arms))


def thompson(probs, pulls, rng):
    """Thompson sampling on every bandit at once: keep a Beta(1 + wins, 1 + losses) belief per arm,
    sample one value from each belief, pull the arm with the largest sample. Returns the arms
    pulled and rewards (n, pulls). It starts at random and converges on the best arm."""
    n, A = probs.shape
    wins, losses = np.zeros((n, A)), np.zeros((n, A))
    actions, rewards = np.empty((n, pulls), np.int64), np.empty((n, pulls), np.int64)
    rows = np.arange(n)
    for t in range(pulls):
        a = rng.beta(1 + wins, 1 + losses).argmax(axis=1)               # (n,)
        r = (rng.random(n) < probs[rows, a]).astype(np.int64)
        wins[rows, a] += r
        losses[rows, a] += 1 - r
        actions[:, t], rewards[:, t] = a, r
    return actions, rewards


def quality(probs, actions):
    """The chosen arm's success probability over the best arm's, per pull (n, pulls): 1 = optimal."""
    return np.take_along_axis(probs, actions, axis=1) / probs.max(axis=1, keepdims=True)


def by_fifth(q):
    """Mean of quality per fifth of the pulls (5,)."""
    return [float(x.mean()) for x in np.array_split(q, 5, axis=1)]


# -------------------------------------------------------------------------------------------
# The imitator: embeddings of (previous arm, previous reward) -> transformer.py -> next arm
# -------------------------------------------------------------------------------------------
def model_shapes(c: DistillConfig, n_act, room=0, rooms=1):
    """The transformer's config and every parameter's shape; room > 0 (the side of a square room)
    adds E_row and E_col, embeddings of the agent's row and column. rooms > 1: that many rooms
    stacked one above the other (page 9's), so a row says the room too."""
    tcfg = transformer.TransformerConfig(block_size=c.context, n_layer=c.n_layer, n_head=c.n_head, n_embd=c.n_embd,
                                n_out=n_act)
    cells = [("e_row", (rooms * room, c.n_embd)), ("e_col", (room, c.n_embd))] if room else []
    return tcfg, [("e_act", (n_act + 1, c.n_embd)), ("e_rew", (3, c.n_embd))] + cells + transformer.param_shapes(tcfg)


def tokens(actions, rewards, n_act, episode=None):
    """Inputs of each position: the previous step's action and reward; "start" (n_act, 2) at
    position 0 and, with episodes of `episode` steps, at the first step of every episode."""
    prev_a = np.concatenate([np.full((len(actions), 1), n_act), actions[:, :-1]], axis=1)   # (n, T)
    prev_r = np.concatenate([np.full((len(rewards), 1), 2), rewards[:, :-1]], axis=1)       # (n, T)
    if episode:
        prev_a[:, ::episode], prev_r[:, ::episode] = n_act, 2
    return prev_a, prev_r


def forward(p, prev_a, prev_r, tcfg, cells=None, offset=None):
    ea, ca = layers.embedding_forward(prev_a, p["e_act"])                 # (B, T, C)
    er, cr = layers.embedding_forward(prev_r, p["e_rew"])                 # (B, T, C)
    x = ea + er
    cc = None
    if cells is not None:                                             # the dark room: where the agent is,
        side = len(p["e_col"])                                        # as its row and its column
        ey, cy = layers.embedding_forward(cells // side, p["e_row"])
        ex, cx = layers.embedding_forward(cells % side, p["e_col"])
        x += ey + ex
        cc = (cy, cx)
    logits, ct = transformer.transformer_forward(p, x, tcfg, offset)           # (B, T, n_act)
    return logits, (ca, cr, cc, ct)


def backward(dlogits, cache, g, tcfg):
    ca, cr, cc, ct = cache
    dx = transformer.transformer_backward(dlogits, ct, g, tcfg)
    g["e_act"][...] = layers.embedding_backward(dx, ca)                    # forward was: x = ea + er (+ ey + ex)
    g["e_rew"][...] = layers.embedding_backward(dx, cr)
    if cc is not None:
        g["e_row"][...] = layers.embedding_backward(dx, cc[0])
        g["e_col"][...] = layers.embedding_backward(dx, cc[1])


def train(c: DistillConfig, actions, rewards, n_act=None, cells=None, room=0, episode=None, desc="imitator", rooms=1):
    """Next-action prediction on windows of c.context steps cut from the histories (n, T): bandit
    pulls, or (with cells, the agent's cell at each step) dark-room steps in episodes of `episode`
    (in one of `rooms` rooms of side `room`, cell numbers running on from room to room).
    Histories shorter than the context (question 2's, cut early) are placed whole at a random
    position of it, so that every position a longer test reaches is trained."""
    toolbox.keep_freed_memory()
    n_act = n_act or c.arms
    rng = stream(c, "train")
    tcfg, shapes = model_shapes(c, n_act, room, rooms)
    (flat, p), (grad, g) = toolbox.alloc_params(shapes), toolbox.alloc_params(shapes)
    transformer.init_params(p, tcfg, rng)
    opt = transformer.AdamW(flat, shapes, weight_decay=c.weight_decay)
    prev_a, prev_r = tokens(actions, rewards, n_act, episode)
    n, T = actions.shape
    K = min(c.context, T)
    losses = []
    for step in toolbox.progress(range(c.iters), desc=desc, unit="step", leave=False):
        rows = rng.integers(0, n, c.batch)
        t0 = rng.integers(0, T - K + 1, c.batch)[:, None] + np.arange(K)   # (B, K) a window of each history
        win = rows[:, None], t0
        offset = rng.integers(0, c.context - K + 1, c.batch) if K < c.context else None   # where in the context
        logits, cache = forward(p, prev_a[win], prev_r[win], tcfg, None if cells is None else cells[win], offset)
        loss, cc = layers.cross_entropy_forward(logits.reshape(-1, n_act), actions[win].reshape(-1))
        backward(layers.cross_entropy_backward(cc).reshape(logits.shape), cache, g, tcfg)
        transformer.clip_grad_norm(grad, 1.0)
        opt.step(flat, grad, transformer.lr_at(step, c.lr, min(100, c.iters // 10), c.iters))
        losses.append(float(loss))
    flat.setflags(write=False)                                          # frozen from here on: views made
    return toolbox.param_views(flat, shapes), tcfg, losses                  # after this are read-only too


def gain_reading(gains, rng, min_gain):
    """The rule for "improves" on page 6, with three readings, as page 5's: per-run gains (or levels
    above a bar) with a 95% bootstrap interval of their mean; "yes" when the interval lies above 0
    and the mean gain is at least min_gain, "no" when the interval lies below min_gain, otherwise
    "too short to tell"."""
    gains = np.asarray(gains, float)
    lo, hi = np.quantile(verdict.bootstrap_means(gains, rng), [0.025, 0.975])
    yes, no = bool(lo > 0 and gains.mean() >= min_gain), bool(hi < min_gain)
    return dict(mean=float(gains.mean()), lo=float(lo), hi=float(hi), min_gain=min_gain,
                reading="yes" if yes else "no" if no else "too short to tell")


def sample(logits, rng):
    """A move drawn from the imitator's predicted distribution (softmax of the logits)."""
    z = np.exp(logits.astype(np.float64) - logits.max())
    return int(rng.choice(len(z), p=z / z.sum()))


def play(p, tcfg, probs, pulls, rng):
    """The frozen imitator on new bandits: one pull at a time, sampling its next arm from its
    prediction, its own pulls and rewards entering its context (sliding, transformer.Decoder)."""
    n, A = probs.shape
    actions = np.empty((n, pulls), np.int64)
    for i in range(n):
        dec = transformer.Decoder(p, tcfg)
        a, r = A, 2                                                     # "start"
        for t in range(pulls):
            a = sample(dec.step(p["e_act"][a] + p["e_rew"][r]), rng)
            r = int(rng.random() < probs[i, a])
            actions[i, t] = a
    return actions


# -------------------------------------------------------------------------------------------
# The dark room: a goal that must be found by exploring, then returned to
# -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Room:
    """A square dark room of side x side cells, numbered row * side + column; every episode starts
    in the centre and lasts `episode` steps."""
    side: int = 9
    episode: int = 20

    @property
    def start(self):
        return (self.side // 2) * self.side + self.side // 2

    @property
    def n_cells(self):
        return self.side * self.side


DARK = Room()                                  # AD's dark room: 9 x 9, episodes of 20 steps
ROOM, START, EPISODE = DARK.side, DARK.start, DARK.episode
MOVES = np.array([[0, 0], [-1, 0], [1, 0], [0, -1], [0, 1]])   # stay, up, down, left, right: (d row, d column)
N_MOVES = len(MOVES)
N_TEST_GOALS = 16                              # goal cells never seen in training
SWAPPED = np.array([0, 2, 1, 4, 3])            # up <-> down, left <-> right: a room it never trained in


def room_goals(rng, room=DARK):
    """Every cell but the start can hold the goal: (training goals, held-out goals)."""
    cells = rng.permutation(np.setdiff1d(np.arange(room.n_cells), [room.start]))
    return cells[N_TEST_GOALS:], cells[:N_TEST_GOALS]


def room_move(cell, a, room=DARK):
    """The cell after move a from cell (arrays or numbers); the walls stop the agent."""
    n = room.side
    y, x = np.divmod(cell, n)
    return np.clip(y + MOVES[a, 0], 0, n - 1) * n + np.clip(x + MOVES[a, 1], 0, n - 1)


def toward(cell, target, rng, room=DARK):
    """The move one step closer to target (a random one of the two when row and column both
    differ), or stay when there."""
    (y, x), (ty, tx) = np.divmod(cell, room.side), np.divmod(target, room.side)
    dy, dx = ty != y, tx != x
    vertical = dy & (~dx | (rng.random(np.shape(cell)) < 0.5))
    return np.where(vertical, np.where(ty < y, 1, 2), np.where(dx, np.where(tx < x, 3, 4), 0))


def explorer(goals, episodes, rng, knows_goal=False, room=DARK, learn_every=1):
    """The source learner, on len(goals) rooms at once: posterior sampling over where the goal is.
    It rules out every cell it visits without being paid, walks toward a cell drawn at random from
    those not ruled out, draws another when it gets there, and once paid it walks back to that cell
    every episode and stays on it. knows_goal: it knows the goal from the start (AD's "expert").
    learn_every > 1: a slower learner, which updates its beliefs (cells ruled out, the goal found)
    only from every learn_every-th episode and forgets what it saw in the others.
    Returns cells, actions, rewards (n, episodes * room.episode): the cell each move was chosen in,
    the move, and whether it landed on the goal."""
    n, rows, T = len(goals), np.arange(len(goals)), episodes * room.episode
    ruled_out = np.zeros((n, room.n_cells), bool)
    ruled_out[:, room.start] = True
    found = np.full(n, knows_goal)
    target = np.where(found, goals, room.start)
    cells, actions, rewards = (np.empty((n, T), np.int64) for _ in range(3))
    for t in range(T):
        cell = np.full(n, room.start) if t % room.episode == 0 else nxt
        stale = ~found & ((target == cell) | ruled_out[rows, target])
        if stale.any():                                                  # draw a new cell to try
            score = rng.random((n, room.n_cells))
            score[ruled_out] = -1.0
            target = np.where(stale, score.argmax(1), target)
        a = toward(cell, target, rng, room)
        nxt = room_move(cell, a, room)
        r = nxt == goals
        if (t // room.episode) % learn_every == 0:                      # an episode it learns from
            found |= r
            ruled_out[rows, nxt] |= ~r
        target = np.where(found, goals, target)
        cells[:, t], actions[:, t], rewards[:, t] = cell, a, r
    return cells, actions, rewards


def episode_returns(rewards, room=DARK):
    """Reward per episode (n, episodes) from per-step rewards (n, episodes * room.episode)."""
    return rewards.reshape(len(rewards), -1, room.episode).sum(2)


def random_room(goals, episodes, rng, room=DARK):
    """Random moves in the room: the returns (n, episodes) of a player that does not learn."""
    n, returns = len(goals), np.zeros((len(goals), episodes))
    for e in range(episodes):
        cell = np.full(n, room.start)
        for _ in range(room.episode):
            cell = room_move(cell, rng.integers(0, N_MOVES, n), room)
            returns[:, e] += cell == goals
    return returns


def play_room(p, tcfg, goals, episodes, rng, room=DARK, keep=None, controls=None, visits=None):
    """The frozen imitator in rooms with the given goals, `episodes` episodes each, its context
    carried from episode to episode (sliding, keeping the newest `keep` steps; transformer.Decoder):
    returns (n, episodes). controls: the move each chosen move makes (e.g. SWAPPED), or None for
    the usual ones; its context shows the move it chose, as the source's shows its own. visits
    (n, episodes): the room each episode is played in, goals then (n, rooms), one per room (page 9's
    rooms, stacked: the cell's row counts on from room to room)."""
    n = len(goals)
    goals = np.asarray(goals).reshape(n, -1)                            # (n, rooms)
    visits = np.zeros((n, episodes), np.int64) if visits is None else visits
    returns = np.zeros((n, episodes))
    for i in toolbox.progress(range(n), desc="dark room, frozen imitator", unit="room", leave=False):
        dec = transformer.Decoder(p, tcfg, keep)
        for e in range(episodes):
            here, goal = visits[i, e], goals[i, visits[i, e]]
            cell, a, r = room.start, N_MOVES, 2                          # "start" of an episode
            for _ in range(room.episode):
                row = here * room.side + cell // room.side
                x = p["e_row"][row] + p["e_col"][cell % room.side] + p["e_act"][a] + p["e_rew"][r]
                a = sample(dec.step(x), rng)
                cell = int(room_move(cell, a if controls is None else controls[a], room))
                r = int(cell == goal)
                returns[i, e] += r
    return returns


# -------------------------------------------------------------------------------------------
# The experiments
# -------------------------------------------------------------------------------------------
def bandit_tasks(c: DistillConfig):
    """The bandits of one run: the source learner's histories on the training bandits (actions,
    rewards: (train_tasks, pulls)), the new test bandits, and the quality (test_tasks, pulls) of
    Thompson sampling and of random arms on them."""
    rng = stream(c, "tasks")
    train_probs, test_probs = make_bandits(rng, c.train_tasks, c.arms), make_bandits(rng, c.test_tasks, c.arms)
    acts, rews = thompson(train_probs, c.pulls, rng)
    source = quality(test_probs, thompson(test_probs, c.pulls, stream(c, "source_test"))[0])
    rand = quality(test_probs, stream(c, "random_test").integers(0, c.arms, (c.test_tasks, c.pulls)))
    return acts, rews, test_probs, dict(source=source, random=rand)


def imitate_bandits(c: DistillConfig, acts, rews, test_probs, play_stream="play", desc="imitator"):
    """Train an imitator on the histories, freeze it, let it play c.pulls pulls of every test bandit:
    its quality (test_tasks, pulls), its training seconds and its final loss."""
    t0 = time.perf_counter()
    p, tcfg, losses = train(c, acts, rews, desc=desc)
    seconds = time.perf_counter() - t0
    q = quality(test_probs, play(p, tcfg, test_probs, c.pulls, stream(c, play_stream)))
    return q, seconds, float(np.mean(losses[-50:]))


def positive_control(c: DistillConfig, log=print):
    """Source learner, frozen imitator and random play on the same new bandits."""
    acts, rews, test_probs, Q = bandit_tasks(c)
    Q["imitator"], train_s, loss = imitate_bandits(c, acts, rews, test_probs)
    R = dict(config=dataclasses.asdict(c), train_seconds=train_s, final_loss=loss,
             curves={k: by_fifth(Q[k]) for k in ("source", "imitator", "random")},
             per_pull={k: Q[k].mean(0).tolist() for k in ("source", "imitator", "random")})
    log(f"positive control ({c.train_tasks} training bandits, context {c.context}, {train_s:.0f} s of training):")
    for k, v in R["curves"].items():
        log(f"  {k:9s} " + " -> ".join(f"{x:.2f}" for x in v))
    return R


def room_tasks(c: DistillConfig):
    """The dark room's tasks, shared by its experiments: (the room stream, training goals, held-out
    goals, the goals of the training histories, the test runs (each held-out goal several times),
    the source learner's returns on them (runs, c.room_test_episodes))."""
    rng = stream(c, "room")
    train_goals, test_goals = room_goals(rng)
    goals = rng.choice(train_goals, c.room_histories)
    runs = np.resize(test_goals, c.room_test_runs)
    source = episode_returns(explorer(runs, c.room_test_episodes, stream(c, "room_source"))[2])
    return rng, train_goals, test_goals, goals, runs, source


def dark_room(c: DistillConfig, log=print):
    """The dark room: the source learner, the frozen imitator trained on its histories, AD's
    control (the imitator trained on expert episodes only) and random play, on held-out goals."""
    rng, train_goals, test_goals, goals, runs, source = room_tasks(c)
    cr = dataclasses.replace(c, context=c.room_context, iters=c.room_iters)
    E = c.room_test_episodes
    R = dict(train_goals=train_goals.tolist(), test_goals=test_goals.tolist(), context=c.room_context,
             iters=c.room_iters, histories=c.room_histories, episodes_per_history=c.room_episodes)
    curves = dict(source=source,
                  random=random_room(runs, E, stream(c, "room_random")))
    t0 = time.perf_counter()
    for name, knows in (("imitator", False), ("expert_trained", True)):
        cells, acts, rews = explorer(goals, c.room_episodes, rng, knows_goal=knows)
        p, tcfg, losses = train(cr, acts, rews, n_act=N_MOVES, cells=cells, room=ROOM, episode=EPISODE,
                                desc=f"dark room, {name}")
        R[f"{name}_final_loss"] = float(np.mean(losses[-50:]))
        curves[name] = play_room(p, tcfg, runs, E, stream(c, "room_play"))
    R["seconds"] = time.perf_counter() - t0
    R["per_episode"] = {k: v.mean(0).tolist() for k, v in curves.items()}
    R["training_histories_return"] = episode_returns(explorer(goals[:200], c.room_episodes,
                                                              stream(c, "room_shown"))[2]).mean(0).tolist()
    boot = stream(c, "room_bootstrap")
    first, last = lambda v: v[:, :3].mean(1), lambda v: v[:, -5:].mean(1)   # per run: episodes 1-3, last 5
    for k, v in curves.items():
        gain = gain_reading(last(v) - first(v), boot, MIN_ROOM_GAIN)
        R[k] = dict(first_3_episodes=float(first(v).mean()), last_5_episodes=float(last(v).mean()),
                    improvement=gain, reading=gain["reading"], improves=gain["reading"] == "yes")
    log(f"dark room ({len(test_goals)} held-out goals, {c.room_test_runs} runs of {E} episodes; "
        f"reward per episode, first 3 episodes -> last 5):")
    for k in curves:
        log(f"  {k:15s} {R[k]['first_3_episodes']:5.2f} -> {R[k]['last_5_episodes']:5.2f}"
            f"  improves (by >= {MIN_ROOM_GAIN:g}): {R[k]['reading']}")
    return R


def plot_bandits(plt, R, out):
    """bandits.png: the source, the frozen imitator and random arms per pull on new bandits."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for k, lab in (("source", "Thompson sampling (the source learner)"), ("imitator", "frozen imitator"),
                   ("random", "random arms")):
        y = toolbox.moving_average(R["per_pull"][k], 5)
        ax.plot(np.arange(len(y)) + 5, y, label=lab)
    toolbox.save_figure(fig, ax, os.path.join(out, "bandits.png"), "pull on a new bandit (mean of 5)",
                "chosen arm's p / best arm's p", "Imitating a learner on many tasks: in-context learning on new bandits")
    plt.close(fig)


def plot_room(plt, R, out):
    """room.png: reward per episode on held-out goals, the four players of the dark room."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for k, lab in (("source", "posterior-sampling explorer (the source learner)"),
                   ("imitator", "frozen imitator, trained on its learning histories"),
                   ("expert_trained", "frozen imitator, trained on expert episodes only (AD's control)"),
                   ("random", "random moves")):
        y = R["room"]["per_episode"][k]
        ax.plot(np.arange(1, len(y) + 1), y, "o-", ms=3, label=lab)
    toolbox.save_figure(fig, ax, os.path.join(out, "room.png"), "episode in a room with a held-out goal",
                "reward per episode (steps on the goal)", "Dark room: finding a goal never seen in training")
    plt.close(fig)


def plot(R, out):
    """Every figure whose numbers R holds, into out."""
    plt = toolbox.pyplot()
    if "per_pull" in R:
        plot_bandits(plt, R, out)
    if "room" in R:
        plot_room(plt, R, out)


PARTS = ("all", "bandits", "room")


def check_config(c: DistillConfig):
    toolbox.check_positive(c, ("arms", "pulls", "train_tasks", "test_tasks", "context", "n_layer", "n_head", "n_embd",
                               "batch", "iters", "room_histories", "room_episodes", "room_context", "room_iters", "room_test_episodes", "room_test_runs"))
    if c.arms < 2:
        raise SystemExit(f"--arms {c.arms}: a bandit needs at least 2 arms")
    if c.n_embd % c.n_head:
        raise SystemExit(f"--n_embd {c.n_embd} must be a multiple of --n_head {c.n_head}")
    if c.part not in PARTS:
        raise SystemExit(f"--part {c.part!r} is unknown; valid: {', '.join(PARTS)}")
    if c.room_context > c.room_episodes * EPISODE:
        raise SystemExit(f"--room_context {c.room_context} is longer than a training history "
                         f"({c.room_episodes} episodes x {EPISODE} steps)")
    if c.room_test_episodes < 8:
        raise SystemExit(f"--room_test_episodes {c.room_test_episodes} must be at least 8 (first 3 vs last 5 episodes)")
    if c.pulls < 25:
        raise SystemExit(f"--pulls {c.pulls} must be at least 25 (the curves are read per fifth, the last 20 pulls)")


def main(c: DistillConfig):
    if c.quick:
        c = dataclasses.replace(c, **QUICK, out=os.path.join(c.out, "quick"))
    check_config(c)
    os.makedirs(c.out, exist_ok=True)
    path = os.path.join(c.out, "distill.json")
    R = toolbox.read_json(path) or {}                                   # the parts not run keep their numbers
    if c.part in ("all", "bandits"):
        R |= positive_control(c)
    if c.part in ("all", "room"):
        R["room"] = dark_room(c)
    R["config"] = dataclasses.asdict(c)
    toolbox.write_json(path, R)
    plot(R, c.out)
    print(f"wrote {c.out}/distill.json and plots")
    return R


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="Algorithm distillation on bandits: the positive control.")
    toolbox.add_config_flags(ap, DistillConfig)
    main(toolbox.config_from_args(DistillConfig, ap.parse_args()))
