"""dqn.py: a Deep Q-Network that learns Atari from raw pixels, written from scratch in NumPy.

This is page one of the experiment: the *teacher*. Everything later (the imitator, the
evaluation) watches this learner or competes with it, so every piece is here in plain sight:

  environment  -> ale-py's AtariVectorEnv (84x84 gray, frame skip 4, 4-frame stack), 4 actions
  network      -> the 2013 Atari DQN (Mnih et al. 2013): conv 16x8x8/4, conv 32x4x4/2, fc 256, fc A
  layers       -> layers.py (page 0): the convolutions as one matrix product each, linear, Huber, Adam
  replay       -> every frame stored once; stacks rebuilt by index, never across an episode start
  learning     -> epsilon-greedy, n-step Huber TD loss, target network, Adam

Nothing to run on its own: `python catch.py` shows this agent learn a toy game in a minute, and the
Atari learning run, which also records the history, is `python record.py` (the next page). Its
checkpoint files are checkpoints.py's (an appendix page); the speed figures benchmarks/speed.py's.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

import toolbox
from layers import (adam_step, conv_backward, conv_forward, depth_to_space, huber_backward, huber_forward,
                    init_uniform_fan_in, linear_backward, linear_forward, relu_backward, relu_forward,
                    space_to_depth)

# Dimension letters used in shape comments:
#   B batch, C channels, H/W height/width (after space-to-depth), F filters, A actions, N replay capacity


@dataclass
class DQNConfig:
    """Learning settings. The defaults are the ones behind the README's Breakout run."""
    lr: float = 1e-4                 # Adam step size (Dopamine's Adam DQN)
    adam_eps: float = 1.5e-4         # Adam epsilon (Dopamine)
    gamma: float = 0.99              # discount
    n_step: int = 3                  # n-step returns: speeds up early credit assignment (Rainbow)
    batch_size: int = 32             # transitions per update
    train_every: int = 4             # agent steps per update
    learning_starts: int = 20_000    # fill this much replay before the first update
    target_every: int = 2_000        # agent steps between target-network copies
    eps_start: float = 1.0           # epsilon-greedy: exploration at step 0 ...
    eps_end: float = 0.01            # ... decays linearly to this ...
    eps_decay_steps: int = 250_000   # ... over this many agent steps
    replay_capacity: int = 1_000_000 # frames kept (one 84x84 byte image each: 7 GB at 1M)
    sticky: float = 0.25             # ALE sticky-action probability (Machado et al. 2018)
    seed: int = 0                    # seeds the network, the emulator and all sampling


def check_dqn_config(c: DQNConfig):
    """Refuse bad learning settings before anything starts, naming the flag and the valid range."""
    toolbox.check_positive(c, ("lr", "adam_eps", "n_step", "batch_size", "train_every", "target_every",
                               "eps_decay_steps", "replay_capacity"))
    if c.learning_starts < 0:
        raise SystemExit(f"--learning_starts {c.learning_starts} must be 0 or more")
    for name in ("gamma", "eps_start", "eps_end", "sticky"):
        if not 0.0 <= getattr(c, name) <= 1.0:
            raise SystemExit(f"--{name} {getattr(c, name)} must be in [0, 1]")
    if c.replay_capacity < c.batch_size + c.n_step + 4:
        raise SystemExit(f"--replay_capacity {c.replay_capacity} is too small for --batch_size {c.batch_size}")


# -------------------------------------------------------------------------------------------
# Environment: ale-py does the standard preprocessing in C++; we only fix the action space.
# -------------------------------------------------------------------------------------------
ACTIONS = ("NOOP", "FIRE", "RIGHT", "LEFT")   # both games' minimal action sets begin with these
N_ACTIONS = len(ACTIONS)
MAX_FRAMES = 108_000                          # emulator frames per game at most (30 min of play)
GAMES = {                                     # name -> (ROM, emulator action pressed for each of ours)
    "breakout": ("breakout", (0, 1, 2, 3)),
    "space_invaders": ("space_invaders", (0, 1, 2, 3)),
    "breakout_swapped": ("breakout", (0, 1, 3, 2)),   # a control: RIGHT and LEFT exchanged
}


class RemappedActions:
    """Wraps an env so that our action a presses emulator action mapping[a]; all else passes through."""

    def __init__(self, env, mapping):
        self.env, self.mapping = env, np.array(mapping)

    def send(self, actions):
        self.env.send(self.mapping[actions])

    def __getattr__(self, name):
        return getattr(self.env, name)


def make_env(game: str, sticky: float = 0.25):
    """One Atari game as a 1-env AtariVectorEnv: obs (1, 4, 84, 84) uint8, raw (unclipped) rewards."""
    if game not in GAMES:
        raise ValueError(f"unknown game {game!r}; valid games: {', '.join(sorted(GAMES))}")
    from ale_py.vector_env import AtariVectorEnv
    rom, mapping = GAMES[game]
    env = AtariVectorEnv(rom, 1, repeat_action_probability=sticky,
                         reward_clipping=False,        # easy to overlook: scores are raw, we clip to learn
                         autoreset_mode="SameStep",    # a finished game returns the next game's first obs
                         noop_max=30, use_fire_reset=True, episodic_life=False,
                         max_num_frames_per_episode=MAX_FRAMES)
    names = [a.name for a in env.ale.get_action_set()[:N_ACTIONS]]
    assert tuple(names) == ACTIONS, f"{game}: action set starts {names}, expected {ACTIONS}"
    return env if mapping == (0, 1, 2, 3) else RemappedActions(env, mapping)


# -------------------------------------------------------------------------------------------
# The network's input: four 84x84 frames cut into 4x4 blocks (layers.py's space to depth)
# -------------------------------------------------------------------------------------------
@njit(cache=True)
def stacks_to_input(stacks):
    """Frame stacks (B, 4, 84, 84) uint8 -> network input (B, 21, 21, 64) float32 in [0, 1].

    Space-to-depth with block 4: out[b, Y, X, (py*4 + px)*4 + c] = stacks[b, c, 4Y+py, 4X+px]/255.
    Equal to space_to_depth(stacks.transpose(0, 2, 3, 1) / 255, 4) (tests check this)."""
    B, C, H, W = stacks.shape
    out = np.empty((B, H // 4, W // 4, 16 * C), np.float32)
    scale = np.float32(1.0 / 255.0)
    for b in range(B):
        for c in range(C):
            for y in range(H):
                Y, py = y // 4, y % 4
                for x in range(W):
                    out[b, Y, x // 4, (py * 4 + x % 4) * C + c] = stacks[b, c, y, x] * scale
    return out


# -------------------------------------------------------------------------------------------
# The Q-network: all parameters live in one flat float32 vector, so Adam is one loop over it.
# -------------------------------------------------------------------------------------------
def param_shapes(n_actions=N_ACTIONS):
    return [("w1", (16, 4, 8, 8)), ("b1", (16,)), ("w2", (32, 16, 4, 4)), ("b2", (32,)),
            ("w3", (9 * 9 * 32, 256)), ("b3", (256,)), ("w4", (256, n_actions)), ("b4", (n_actions,))]


def init_q_params(rng, n_actions=N_ACTIONS, dtype=np.float32):
    shapes = param_shapes(n_actions)
    flat = np.empty(toolbox.n_params(shapes), dtype)
    init_uniform_fan_in(toolbox.param_views(flat, shapes), rng, ("1", "2", "3", "4"))
    return flat


def torso_forward(p, x):
    """The convolutional torso: input (B, 21, 21, 64) -> features (B, 2592). The imitator reuses it."""
    B = x.shape[0]
    z1, c1 = conv_forward(x, p["w1"], p["b1"])             # (B, 20, 20, 16)
    h1, r1 = relu_forward(z1)
    z2, c2 = conv_forward(space_to_depth(h1, 2), p["w2"], p["b2"])  # (B, 9, 9, 32)
    h2, r2 = relu_forward(z2)
    return h2.reshape(B, -1), (c1, r1, c2, r2)             # (B, 2592), flattened as (y, x, c)


def torso_backward(dfeat, cache, g):
    c1, r1, c2, r2 = cache
    dz2 = relu_backward(dfeat.reshape(r2.shape), r2)       # (B, 9, 9, 32)
    dx2, g["w2"][...], g["b2"][...] = conv_backward(dz2, c2)
    dz1 = relu_backward(depth_to_space(dx2, 2), r1)        # (B, 20, 20, 16)
    _, g["w1"][...], g["b1"][...] = conv_backward(dz1, c1, need_dx=False)  # pixels need no gradient


def q_forward(p, x):
    """Q-values (B, A) for network input x (B, 21, 21, 64); p is a dict of parameter views."""
    feat, ct = torso_forward(p, x)                         # (B, 2592)
    z3, c3 = linear_forward(feat, p["w3"], p["b3"])        # (B, 256)
    h3, r3 = relu_forward(z3)
    q, c4 = linear_forward(h3, p["w4"], p["b4"])           # (B, A)
    return q, (ct, c3, r3, c4)


def q_backward(dq, cache, g):
    """Backward through q_forward; writes the gradients into the views g (same names as p)."""
    ct, c3, r3, c4 = cache
    dh3, g["w4"][...], g["b4"][...] = linear_backward(dq, c4)
    dfeat, g["w3"][...], g["b3"][...] = linear_backward(relu_backward(dh3, r3), c3)
    torso_backward(dfeat, ct, g)


def greedy(p, stacks):
    """Greedy actions (B,) of the network p for frame stacks (B, 4, 84, 84)."""
    return q_forward(p, stacks_to_input(stacks))[0].argmax(axis=1)


def epsilon_greedy(rng, eps, best, n_actions=N_ACTIONS):
    """With probability eps a uniformly random action, else best() (the greedy one, computed only
    then). Every player of the experiment acts by this rule: the teacher while it learns and
    when frozen, and the imitators, at the teacher's final epsilon."""
    if rng.random() < eps:
        return int(rng.integers(n_actions))
    return best()


# -------------------------------------------------------------------------------------------
# Replay: one 84x84 frame per agent step; a stack is the frame and the 3 before it.
# -------------------------------------------------------------------------------------------
@njit(cache=True)
def stack_at(frames, first, i, out):
    """Write the 4-frame stack ending at absolute step i into out (4, 84, 84). Frames before the
    episode's first frame are zeros, exactly as the environment shows them after a reset."""
    N = frames.shape[0]
    out[3] = frames[i % N]
    alive = True
    for c in range(2, -1, -1):
        if first[(i - 2 + c) % N]:                         # frame i-2+c started an episode ...
            alive = False                                  # ... so everything before it is blank
        if alive:
            out[c] = frames[(i - 3 + c) % N]
        else:
            out[c] = 0


@njit(cache=True)
def gather_batch(frames, first, actions, rewards, done, idx, n_step, gamma):
    """Build a batch of n-step transitions starting at the absolute steps idx.

    Return G = r_i + g r_(i+1) + ... stops at the first step whose `done` is set (game over,
    lost life, or the history cut there); then there is no bootstrap (discount 0)."""
    N = frames.shape[0]
    B = idx.shape[0]
    s = np.empty((B, 4, frames.shape[1], frames.shape[2]), np.uint8)    # (B, 4, 84, 84)
    s2 = np.empty_like(s)
    a = np.empty(B, np.int64)
    ret = np.zeros(B, np.float32)
    disc = np.zeros(B, np.float32)
    for b in range(B):
        i = idx[b]
        stack_at(frames, first, i, s[b])
        a[b] = actions[i % N]
        g, k, ended = 1.0, 0, False
        while True:
            ret[b] += g * rewards[(i + k) % N]
            g *= gamma
            if done[(i + k) % N]:
                ended = True
                break
            k += 1
            if k == n_step:
                break
        disc[b] = 0.0 if ended else g
        stack_at(frames, first, i + k, s2[b])            # unused (discount 0) when ended
    return s, a, ret, disc, s2


class Replay:
    """A ring buffer indexed by absolute agent step t (slot t % N)."""

    def __init__(self, capacity, frame_shape=(84, 84)):
        self.N = capacity
        self.frames = np.zeros((capacity, *frame_shape), np.uint8)   # (N, 84, 84): pages fill lazily
        self.actions = np.zeros(capacity, np.uint8)
        self.rewards = np.zeros(capacity, np.float32)                # clipped rewards
        self.done = np.zeros(capacity, np.bool_)                     # stop bootstrapping after this step
        self.first = np.zeros(capacity, np.bool_)                    # this frame starts an episode
        self.t = 0                                                   # steps written so far

    def add(self, frame, action, reward, done, first):
        """Append one step: the frame the agent saw, what it did, what followed.
        (The same as extend() with one row, written out because it runs every agent step.)"""
        i = self.t % self.N
        if first and self.t > 0:
            self.done[(self.t - 1) % self.N] = True        # easy to overlook: never bootstrap across a reset
        self.frames[i], self.actions[i], self.rewards[i] = frame, action, reward
        self.done[i], self.first[i] = done, first
        self.t += 1

    def extend(self, frames, actions, rewards, done, first):
        """Append many steps at once (used to rebuild the buffer from a recorded history)."""
        n = len(frames)
        if n > self.N:                                     # only the newest N steps fit
            self.t += n - self.N
            frames, actions, rewards, done, first = (x[-self.N:] for x in (frames, actions, rewards, done, first))
            n = self.N
        if self.t > 0 and first[0]:
            self.done[(self.t - 1) % self.N] = True        # easy to overlook: never bootstrap across a reset
        slots = (self.t + np.arange(n)) % self.N
        self.frames[slots], self.actions[slots], self.rewards[slots] = frames, actions, rewards
        self.done[slots] = done | np.append(first[1:], False)
        self.first[slots] = first
        self.t += n

    def sample(self, rng, batch_size, n_step, gamma):
        lo = max(0, self.t - self.N) + 3                   # its 3 older frames are still stored
        hi = self.t - 1 - n_step                           # step i+n exists, so done[i+n-1] is final
        idx = rng.integers(lo, hi + 1, size=batch_size)
        return gather_batch(self.frames, self.first, self.actions, self.rewards, self.done,
                            idx, n_step, gamma)


# -------------------------------------------------------------------------------------------
# The agent: network, target network, optimizer, replay, and the rules for acting and learning.
# -------------------------------------------------------------------------------------------
class Agent:
    def __init__(self, cfg: DQNConfig, n_actions=N_ACTIONS):
        self.cfg = cfg
        self.n_actions = n_actions
        self.shapes = param_shapes(n_actions)
        self.rng = np.random.default_rng(cfg.seed)
        self.flat = init_q_params(self.rng, n_actions)     # online network
        self.target_flat = self.flat.copy()                # target network
        self.grad_flat = np.zeros_like(self.flat)
        self.m, self.v = np.zeros_like(self.flat), np.zeros_like(self.flat)
        self.p = toolbox.param_views(self.flat, self.shapes)
        self.target = toolbox.param_views(self.target_flat, self.shapes)
        self.g = toolbox.param_views(self.grad_flat, self.shapes)
        self.replay = Replay(cfg.replay_capacity)
        self.steps = 0                                     # agent steps taken
        self.updates = 0                                   # gradient steps taken
        self.last_loss = float("nan")

    def epsilon(self):
        c = self.cfg
        frac = min(1.0, self.steps / c.eps_decay_steps)
        return c.eps_start + frac * (c.eps_end - c.eps_start)

    def act(self, stack, eps):
        """Epsilon-greedy action for one stack (4, 84, 84)."""
        return epsilon_greedy(self.rng, eps, lambda: int(greedy(self.p, stack[None])[0]), self.n_actions)

    def wants_update(self):
        c = self.cfg
        return self.steps >= c.learning_starts and self.steps % c.train_every == 0

    def update(self):
        """One gradient step on a replayed batch (the target network is frozen inside it)."""
        c = self.cfg
        s, a, ret, disc, s2 = self.replay.sample(self.rng, c.batch_size, c.n_step, c.gamma)
        q2, _ = q_forward(self.target, stacks_to_input(s2))          # (B, A)
        y = ret + disc * q2.max(axis=1)                              # n-step TD target (B,)
        q, cache = q_forward(self.p, stacks_to_input(s))             # (B, A)
        rows = np.arange(len(a))
        self.last_loss, err = huber_forward(q[rows, a], y)
        dq = np.zeros_like(q)
        dq[rows, a] = huber_backward(err)                            # only the taken action's Q moves
        q_backward(dq, cache, self.g)
        self.updates += 1
        adam_step(self.flat, self.grad_flat, self.m, self.v, c.lr, 0.9, 0.999, c.adam_eps, self.updates)

    def after_step(self):
        """Count the step; copy the online net into the target net on schedule."""
        self.steps += 1
        if self.steps % self.cfg.target_every == 0:
            self.target_flat[...] = self.flat


# -------------------------------------------------------------------------------------------
# The learning loop: act, step the emulator, remember, learn. It yields one record per step.
# -------------------------------------------------------------------------------------------
@dataclass
class Game:
    """Where a game stands between two agent steps: the stack the agent sees next (obs, (1, 4, 84, 84)),
    the lives it has, and whether that frame is the first of a game."""
    obs: np.ndarray
    lives: int
    first: bool


def new_game(env, seed):
    """Reset the emulator (seeded: its no-op starts and sticky moves follow from seed) for a new game."""
    obs, info = env.reset(seed=seed)
    return Game(obs, int(info["lives"][0]), True)


def env_step(env, game, a, meanwhile=None):
    """Play action a from game; run meanwhile() (if given) while the emulator works in its thread.
    Returns the next Game and what happened: (raw reward, terminated, truncated, life lost)."""
    env.send(np.array([a], np.int64))
    if meanwhile is not None:
        meanwhile()
    obs2, r, term, trunc, info = env.recv()
    term, trunc, new_lives = bool(term[0]), bool(trunc[0]), int(info["lives"][0])
    life_lost = new_lives < game.lives and not (term or trunc)
    return Game(obs2, new_lives, term or trunc), float(r[0]), term, trunc, life_lost


def learn(env, agent, n_steps, game, frozen_eps=None):
    """Run the agent for n_steps more agent steps in env from game (new_game(env, seed) for a fresh
    one), learning as it goes.

    Yields, per step, a dict with the frame the agent saw, its action, the raw and clipped reward,
    the episode-end flags and epsilon. With frozen_eps set, the agent only plays, epsilon-greedy at
    that epsilon: no replay, no update (a frozen teacher)."""
    for _ in range(n_steps):
        eps = agent.epsilon() if frozen_eps is None else frozen_eps
        a = agent.act(game.obs[0], eps)
        learns = frozen_eps is None and agent.wants_update()
        nxt, r_raw, term, trunc, life_lost = env_step(env, game, a, agent.update if learns else None)
        r_clip = float(np.sign(r_raw))                     # clip to [-1, 1]: one scale for all games
        if frozen_eps is None:
            agent.replay.add(game.obs[0, -1], a, r_clip, term or trunc or life_lost, game.first)
        agent.after_step()
        yield dict(frame=game.obs[0, -1], action=a, reward_raw=r_raw, reward_clip=r_clip,
                   terminated=term, truncated=trunc, life_lost=life_lost, first=game.first, epsilon=eps)
        game = nxt
