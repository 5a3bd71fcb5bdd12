"""play.py: the players at the controls, by one rule, in one play loop.

Page five, first half. Every player of the verdict plays Atari the same way here: the frozen
teacher (a checkpoint of dqn.py), the frozen imitator and the behaviour-cloning network (imitate.py),
and random play. One protocol for all of them, the Atari evaluation protocol (Mnih et al. 2015;
Machado et al. 2018): with probability epsilon, the teacher's final exploration rate, a uniformly
random move, else the player's own best move. That way no player can stall a game by never
pressing FIRE, and the imitator is compared with the teacher as the teacher plays.

    Player, BCPlayer       the frozen imitator (a sliding context of its last K steps) and BC network
    TeacherPolicy, ImitatorPolicy, RandomPolicy   the rule above, around each of them
    play_moves             the one play loop: a move per step, yielded as it is made
    play_arm               play_moves, saving after every game, so that a stopped arm resumes
                           with the same games (evaluate.py's arms, diagnose.py's ladder)

Nothing here learns: the weights are read-only from the moment they are loaded.
"""
from __future__ import annotations

import contextlib
import itertools
import json
import os
import time

import numpy as np

import checkpoints
import dqn
import imitate
import history_io
import toolbox
import transformer

NEW_GAME = imitate.NEW_GAME          # the previous-move input at the first step of a game


# -------------------------------------------------------------------------------------------
# The frozen players
# -------------------------------------------------------------------------------------------
class Player:
    """The frozen imitator playing one step at a time: it picks the most likely next move given
    the newest frame stack, its previous move and the previous reward, with a sliding context of
    the last K steps (transformer.Decoder). Its weights are read-only: they cannot change in play."""

    def __init__(self, path, n_actions=dqn.N_ACTIONS):
        try:
            with open(path + ".json") as f:
                meta = json.load(f)
            with np.load(path + ".npz", allow_pickle=False) as z:
                flat = z["params"]
        except (OSError, ValueError, KeyError) as e:
            raise ValueError(f"cannot read imitator {path}(.npz/.json): {e}") from e
        if meta.get("kind") != "imitator" or meta.get("n_actions") != n_actions:
            raise ValueError(f"{path}.json is not an imitator for {n_actions} actions "
                             f"(kind={meta.get('kind')}, n_actions={meta.get('n_actions')})")
        self.tcfg = transformer.TransformerConfig(**meta["transformer"])
        shapes = imitate.imitator_shapes(self.tcfg, meta.get("stage_input", False))
        if flat.size != sum(int(np.prod(s)) for _, s in shapes):
            raise ValueError(f"{path}.npz holds {flat.size} parameters, its .json describes another model")
        flat.setflags(write=False)                                 # frozen: any write would raise
        self.flat, self.p = flat, toolbox.param_views(flat, shapes)
        self.decoder = transformer.Decoder(self.p, self.tcfg)
        self.see_prev_action = meta.get("see_prev_action", True)
        self.history_steps = int(meta.get("history_steps", 0))
        self.stage = self.history_steps / imitate.STAGE_UNIT                # the end of the history, unless set_stage
        self.reset()

    def set_stage(self, step):
        """Play as the learner at agent step `step` of its history (only with a stage input; any
        step, even one past the end of the history the imitator was trained on)."""
        if "w_stage" not in self.p:
            raise ValueError("this imitator was trained without a stage input (--stage_input)")
        self.stage = step / imitate.STAGE_UNIT

    def reset(self):
        """Forget the context (a fresh start, e.g. in a new game world)."""
        self.decoder.reset()

    def context(self):
        """The context as it stands (an array: save it with np.save), for restore()."""
        return self.decoder.window()

    def restore(self, context):
        """Continue from a context saved by context(), as if play had never stopped."""
        self.decoder.reset()
        self.decoder.prefill(np.asarray(context, self.decoder.inputs.dtype))

    def logits(self, stack, prev_action, prev_reward):
        """stack (4, 84, 84); prev_action in 0..3 or NEW_GAME; prev_reward clipped -1, 0 or 1."""
        if not self.see_prev_action:
            prev_action = NEW_GAME                           # trained without it: hide it here too
        x, _ = imitate.tokens(self.p, imitate.encode(self.p, stack[None])[0], np.array([[prev_action]]),
                              np.array([[imitate.reward_token(prev_reward)]]), np.array([[self.stage]], np.float32))
        return self.decoder.step(x[0, 0])

    def act(self, stack, prev_action, prev_reward):
        return int(np.argmax(self.logits(stack, prev_action, prev_reward)))


class BCPlayer:
    """The frozen behaviour-cloning network: the most likely move for the newest frame stack alone
    (no context, so nothing to prompt, save or forget). Same interface as Player."""

    def __init__(self, path, n_actions=dqn.N_ACTIONS):
        try:
            with np.load(path + ".npz", allow_pickle=False) as z:
                flat = z["params"]
        except (OSError, ValueError, KeyError) as e:
            raise ValueError(f"cannot read behaviour-cloning network {path}.npz: {e}") from e
        if flat.size != sum(int(np.prod(s)) for _, s in dqn.param_shapes(n_actions)):
            raise ValueError(f"{path}.npz does not hold a 2013-DQN network with {n_actions} outputs")
        flat.setflags(write=False)
        self.p = toolbox.param_views(flat, dqn.param_shapes(n_actions))

    def reset(self):
        pass

    def logits(self, stack, prev_action, prev_reward):
        return dqn.q_forward(self.p, dqn.stacks_to_input(stack[None]))[0][0]

    def act(self, stack, prev_action, prev_reward):
        return int(np.argmax(self.logits(stack, prev_action, prev_reward)))


def load_player(path):
    """The frozen player saved at path (.npz/.json) by imitate.train(): a Player or a BCPlayer."""
    try:
        with open(path + ".json") as f:
            kind = json.load(f).get("kind")
    except (OSError, ValueError) as e:
        raise ValueError(f"cannot read {path}.json: {e}") from e
    return BCPlayer(path) if kind == "bc" else Player(path)


# -------------------------------------------------------------------------------------------
# The rule every player plays by
# -------------------------------------------------------------------------------------------
def teacher_dqn_config(run_dir):
    with open(os.path.join(run_dir, "config.json")) as f:
        return dqn.DQNConfig(**json.load(f)["dqn"])


def final_epsilon(run_dir):
    return teacher_dqn_config(run_dir).eps_end


class TeacherPolicy:
    """A frozen teacher checkpoint, epsilon-greedy."""

    def __init__(self, ckpt, eps, rng):
        self.p_flat = checkpoints.load_checkpoint(ckpt)[1]["params"]
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
        self.model, self.zero = load_player(path), zero_rewards
        self.eps, self.rng = eps, rng if rng is not None else np.random.default_rng(0)
        self.player = self.model if isinstance(self.model, Player) else None   # has a context
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
        K, L = self.player.tcfg.block_size, history_io.history_length(teacher_run)
        if L < K + 1:
            raise ValueError(f"{teacher_run}: {L} recorded steps, fewer than the imitator's context of {K}")
        h = history_io.load_history(teacher_run, start=max(0, L - K - 8) if where == "end" else 0)
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
# The play loop
# -------------------------------------------------------------------------------------------
def play_moves(game, act, seed, max_game_steps=0, fresh_games=True, prev_reward=0.0):
    """The play loop: yields (stack seen, move, reward, game over) at every agent step, for ever
    (leave the loop to stop). act(stack, prev_action, prev_reward, step_in_game) picks each move;
    the first move of a game sees prev_action NEW_GAME. A game longer than max_game_steps (if > 0)
    is ended there (a stalled policy ends).

    fresh_games: game k is a fresh reset of the emulator from seed + k, so that any game can be
    replayed alone. Otherwise the games follow on from one another in one emulator, reset once from
    `seed`, the previous reward carried from game to game (starting at prev_reward): what lets an
    arm save after every game and resume with the same games (play_arm). A game cut at
    max_game_steps then resets the emulator from seed + 1000 * (games so far) + (steps so far)."""
    env = dqn.make_env(game)
    try:
        g = dqn.new_game(env, seed)
        steps = 0
        for k in itertools.count():
            if fresh_games and k:                                      # game 0 is the reset above
                g = dqn.new_game(env, seed + k)
            if fresh_games:
                prev_reward = 0.0
            prev = NEW_GAME
            for t in itertools.count():
                stack = g.obs[0]
                a = act(stack, prev, prev_reward, t)
                g, r, term, trunc, _ = dqn.env_step(env, g, a)        # the emulator step learn() takes
                steps += 1
                prev, prev_reward = a, float(np.sign(r))
                cut = t + 1 == max_game_steps and not (term or trunc)
                if cut and not fresh_games:                            # the emulator would go on: a new game
                    g = dqn.new_game(env, seed + 1000 * (k + 1) + steps)
                over = term or trunc or cut
                yield stack, a, r, over
                if over:
                    break
    finally:
        env.close()


# -------------------------------------------------------------------------------------------
# A playing arm: play games, log each one, save after each one so a restart loses nothing.
# -------------------------------------------------------------------------------------------
def resume_arm(arm_dir, policy, prompt):
    """An arm's saved state (games so far, the last move and reward) or a fresh one, and its
    player's context: restored as it was after the last saved game, or filled with the prompt.
    Returns (state, state path, context path, the player with a context or None)."""
    os.makedirs(arm_dir, exist_ok=True)
    state_path, ctx_path = os.path.join(arm_dir, "state.json"), os.path.join(arm_dir, "context.npy")
    state = toolbox.read_json(state_path) or (dict(steps=0, games=[], prev_action=NEW_GAME, prev_reward=0.0)
                                              | (dict(prompt=prompt[0], prompt_from=prompt[1]) if prompt else {}))
    started = os.path.join(arm_dir, "started.json")                  # when and where the arm began (kept arms say)
    if not os.path.exists(started):
        toolbox.write_json(started, dict(started=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                                         cpu=toolbox.cpu_info()))
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
    with toolbox.one_writer(arm_dir, "played"):              # one process per arm folder
        state, state_path, ctx_path, player = resume_arm(arm_dir, policy, prompt)
        done = lambda: (n_steps is not None and state["steps"] >= n_steps) or \
                       (n_games is not None and len(state["games"]) >= n_games)
        if done():
            return state["games"]

        def act(stack, prev, prev_r, t):
            if t == 0 and hasattr(policy, "at_arm_step"):
                policy.at_arm_step(state["steps"])                      # e.g. the stage told moves on
            return policy.act(stack, prev, prev_r)

        # A fresh emulator seed at every (re)start, different for each restart point and reproducible.
        moves = play_moves(game, act, seed + 1000 * len(state["games"]) + state["steps"], max_game_steps,
                           fresh_games=False, prev_reward=state["prev_reward"])
        score, length, agree = 0.0, 0, 0
        with contextlib.closing(moves), toolbox.progress(total=n_steps or n_games, desc=desc, unit="step" if n_steps else "game",
                                             initial=state["steps"] if n_steps else len(state["games"])) as bar:
            for stack, a, r, over in moves:
                agree += judge is not None and a == judge.greedy(stack)
                score, length = score + r, length + 1
                if n_steps:
                    bar.update(1)
                if not over:
                    continue
                state["steps"] += length
                state["games"].append([state["steps"], score, length, agree / length if judge else -1.0])
                state["prev_action"], state["prev_reward"] = a, float(np.sign(r))
                if player is not None:
                    toolbox.save_npy(ctx_path, player.context())
                toolbox.write_json(state_path, state)
                score, length, agree = 0.0, 0, 0
                if not n_steps:
                    bar.update(1)
                bar.set_postfix(games=len(state["games"]), last=f"{state['games'][-1][1]:.0f}", refresh=False)
                if done():
                    break
        return state["games"]
