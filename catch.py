"""catch.py: the DQN of page one learns Catch, a toy game, from pixels in about a minute.

Page one's demonstration, kept apart so that dqn.py is only the learner. The agent, the network and
the learning loop are dqn.py's, unchanged; only the game and a few settings are small (a larger
learning rate, a short exploration schedule, a small replay memory, a target copied often). It is
how to see the whole DQN work before spending two hours on Atari (record.py, the next page).

Run:
    python catch.py                # 23 s on one core of an AMD EPYC Zen 4: random play -0.70 a game,
                                   # greedy play +1.00 after 6,000 steps of learning
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass

import numpy as np

import toolbox
from dqn import Agent, DQNConfig, env_step, learn, new_game


class Catch:
    """A game small enough to learn in a minute, with AtariVectorEnv's reset/send/recv and shapes.

    A 12x12 ball falls down one of 7 columns for 6 steps; the agent moves a paddle on the bottom
    row (RIGHT = action 2, LEFT = action 3, anything else stays). Reward +1 for a catch, -1 for a
    miss, then the next game starts. A random policy averages about -0.6."""

    def __init__(self):
        self.rng = np.random.default_rng(0)

    def _frame(self):
        f = np.zeros((84, 84), np.uint8)
        f[self.row * 12:(self.row + 1) * 12, self.col * 12:(self.col + 1) * 12] = 255
        f[72:84, self.pad * 12:(self.pad + 1) * 12] = 128
        return f

    def _new_game(self):
        self.col, self.row, self.pad = int(self.rng.integers(7)), 0, 3
        self.stack = np.zeros((4, 84, 84), np.uint8)
        self.stack[3] = self._frame()

    def reset(self, seed=None):
        self.rng = np.random.default_rng(seed)
        self._new_game()
        return self.stack[None].copy(), {"lives": np.array([1])}

    def send(self, actions):
        self.action = int(actions[0])

    def recv(self):
        self.pad = int(np.clip(self.pad + {2: 1, 3: -1}.get(self.action, 0), 0, 6))
        self.row += 1
        r, term = 0.0, False
        if self.row == 6:
            r, term = (1.0 if self.pad == self.col else -1.0), True
            self._new_game()
        else:
            self.stack = np.concatenate([self.stack[1:], self._frame()[None]])
        return self.stack[None].copy(), np.array([r]), np.array([term]), np.array([False]), {"lives": np.array([1])}

    def close(self):
        pass


@dataclass
class CatchConfig:
    steps: int = 6000                # agent steps of learning Catch (about a minute on 2 cores)
    report_every: int = 1000         # print the learning curve every this many steps
    seed: int = 1                    # seeds the network and the agent's sampling


# Settings that learn Catch in a few thousand steps: Atari's are for millions (a larger learning
# rate, a short exploration schedule, a small replay memory, a target copied often).
CATCH_DQN = dict(lr=1e-3, learning_starts=500, eps_decay_steps=2500, target_every=250, replay_capacity=10_000,
                 n_step=3)


def mean_return(agent, env, games, eps, seed):
    """The agent's mean return over `games` games of env, epsilon-greedy at eps, without learning."""
    game, total, done = new_game(env, seed), 0.0, 0
    while done < games:
        game, r, term, _, _ = env_step(env, game, agent.act(game.obs[0], eps))
        total += r
        done += term
    return total / games


def learn_catch(c: CatchConfig, log=print):
    """Learn Catch from random weights, printing the curve; returns (random play, greedy play after)."""
    agent = Agent(DQNConfig(**CATCH_DQN, seed=c.seed))
    before = mean_return(agent, Catch(), 200, 1.0, seed=5)
    log(f"random play: mean return {before:+.2f} per game (+1 a catch, -1 a miss)")
    ends = []
    env = Catch()
    for t, rec in enumerate(learn(env, agent, c.steps, new_game(env, 0)), start=1):
        if rec["terminated"]:
            ends.append(rec["reward_clip"])
        if t % c.report_every == 0:
            log(f"step {t:6d}  epsilon {rec['epsilon']:.2f}  updates {agent.updates:5d}  "
                f"mean return of its last 100 games {np.mean(ends[-100:]):+.2f}")
    after = mean_return(agent, Catch(), 200, 0.0, seed=6)
    log(f"greedy play after {c.steps} steps: mean return {after:+.2f} per game")
    return before, after



if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="The DQN of dqn.py learns Catch from pixels in about a minute (the Atari run is "
                                             "record.py's, the next page's).")
    toolbox.add_config_flags(ap, CatchConfig)
    c = toolbox.config_from_args(CatchConfig, ap.parse_args())
    toolbox.check_positive(c, ("steps", "report_every"))
    learn_catch(c)
