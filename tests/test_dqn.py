"""dqn.py: the network's input, the whole Q-network's gradient (its layers: test_layers.py),
the replay buffer's stacks, checkpoints, and a learning loop that must actually learn."""
import numpy as np
import pytest
from conftest import assert_grad_close, numerical_grad

import catch
import checkpoints
import copy_task
import dqn
import layers
import toolbox


# --- the network's input and the Q-network ---------------------------------------------------
def test_stacks_to_input_matches_space_to_depth():
    stacks = np.random.default_rng(1).integers(0, 256, (3, 4, 84, 84), dtype=np.uint8)
    ref = layers.space_to_depth(stacks.transpose(0, 2, 3, 1).astype(np.float32) / 255, 4)
    np.testing.assert_allclose(dqn.stacks_to_input(stacks), ref, rtol=1e-6)


def test_q_network_gradient():
    rng = np.random.default_rng(7)
    shapes = dqn.param_shapes(4)
    flat = dqn.init_q_params(rng, 4, np.float64)
    p = toolbox.param_views(flat, shapes)
    gflat = np.zeros_like(flat)
    g = toolbox.param_views(gflat, shapes)
    x = rng.random((2, 21, 21, 64))
    q, cache = dqn.q_forward(p, x)
    dq = rng.standard_normal(q.shape)
    dqn.q_backward(dq, cache, g)
    loss = lambda: (dqn.q_forward(p, x)[0] * dq).sum()
    for name, _ in shapes:                                  # a sample of entries of every parameter
        v = p[name].reshape(-1)
        for i in rng.choice(v.size, min(6, v.size), replace=False):
            old = v[i]
            v[i] = old + 1e-6
            hi = loss()
            v[i] = old - 1e-6
            lo = loss()
            v[i] = old
            num, ana = (hi - lo) / 2e-6, g[name].reshape(-1)[i]
            assert abs(num - ana) <= 1e-6 * max(1.0, abs(num)), (name, i, num, ana)


# --- replay ----------------------------------------------------------------------------------
def test_replay_stacks_equal_what_the_emulator_showed():
    """Frames are stored once; the rebuilt stack at every step equals the env's own 4-frame stack,
    including right after each reset, where the env shows zeros before the first frame."""
    env = dqn.make_env("breakout")
    obs, _ = env.reset(seed=3)
    rep, rng, first, seen = dqn.Replay(3000), np.random.default_rng(0), True, []
    for _ in range(2500):
        seen.append(obs[0].copy())
        a = int(rng.integers(4))
        env.send(np.array([a]))
        obs2, r, term, trunc, _ = env.recv()
        rep.add(obs[0, -1], a, float(r[0]), bool(term[0]), first)
        obs, first = obs2, bool(term[0])
    assert rep.first.sum() >= 3, "the test should cross several episode starts"
    out = np.empty((4, 84, 84), np.uint8)
    for t in range(2500):
        dqn.stack_at(rep.frames, rep.first, t, out)
        np.testing.assert_array_equal(out, seen[t])
        np.testing.assert_array_equal(rep.frames[t], seen[t][3])  # each frame stored exactly once


def test_replay_never_stacks_across_episodes_and_n_step_stops_at_done():
    rep = dqn.Replay(50)
    n = 20
    frames = np.arange(1, n + 1, dtype=np.uint8)[:, None, None] * np.ones((1, 84, 84), np.uint8)  # step i shows i+1
    first = np.zeros(n, bool)
    first[[0, 6, 7]] = True                                # games start at steps 0, 6 and 7
    done = np.zeros(n, bool)
    done[3] = True                                         # a life lost at step 3
    rewards = np.arange(n, dtype=np.float32)
    rep.extend(frames, np.zeros(n, np.uint8), rewards, done, first)
    assert rep.done[5] and rep.done[6], "the step before a new game must stop bootstrapping"
    s, a, ret, disc, s2 = dqn.gather_batch(rep.frames, rep.first, rep.actions, rep.rewards, rep.done,
                                           np.array([8, 6, 1, 10]), 3, 0.5)
    assert [list(st[:, 0, 0]) for st in s] == [[0, 0, 8, 9], [0, 0, 0, 7], [0, 0, 1, 2], [8, 9, 10, 11]]
    np.testing.assert_allclose(ret, [8 + 0.5 * 9 + 0.25 * 10, 6, 1 + 0.5 * 2 + 0.25 * 3, 10 + 5.5 + 3])
    np.testing.assert_allclose(disc, [0.125, 0, 0, 0.125])  # step 6 ends a game; step 3 a life
    assert list(s2[0][:, 0, 0]) == [9, 10, 11, 12] and list(s2[3][:, 0, 0]) == [11, 12, 13, 14]


def test_replay_wraps_around():
    rep = dqn.Replay(10)
    for t in range(25):
        rep.add(np.full((84, 84), t, np.uint8), t % 4, 0.0, False, t == 0)
    assert rep.t == 25 and sorted(rep.frames[:, 0, 0]) == list(range(15, 25))
    idx = np.random.default_rng(0).integers(15 + 3, 25 - 3, 100)
    s, *_ = dqn.gather_batch(rep.frames, rep.first, rep.actions, rep.rewards, rep.done, idx, 2, 0.9)
    for i, st in zip(idx, s):
        assert list(st[:, 0, 0]) == [i - 3, i - 2, i - 1, i]


# --- the agent ---------------------------------------------------------------------------------
def test_checkpoint_round_trip_and_mismatch(tmp_path):
    cfg = dqn.DQNConfig(replay_capacity=100, seed=3)
    a = dqn.Agent(cfg)
    a.steps, a.updates = 123, 7
    a.m[:] = 0.5
    a.rng.random(5)
    checkpoints.save_agent(a, str(tmp_path / "ck"))
    b = dqn.Agent(dqn.DQNConfig(replay_capacity=100, seed=9))
    checkpoints.load_agent(b, str(tmp_path / "ck"))
    np.testing.assert_array_equal(a.flat, b.flat)
    np.testing.assert_array_equal(a.m, b.m)
    assert (b.steps, b.updates) == (123, 7) and a.rng.random() == b.rng.random()
    with pytest.raises(ValueError, match="ck.npz is not a 2013-DQN checkpoint with 6 actions"):
        checkpoints.load_checkpoint(str(tmp_path / "ck"), n_actions=6)
    with pytest.raises(ValueError, match="cannot read teacher checkpoint"):
        checkpoints.load_checkpoint(str(tmp_path / "nothing"))


def test_unknown_game_lists_valid_ones_and_swap_exchanges_left_right():
    with pytest.raises(ValueError, match="valid games: breakout, breakout_swapped, space_invaders"):
        dqn.make_env("pong")
    sent = []

    class Spy:
        def send(self, a):
            sent.append(list(a))
    dqn.RemappedActions(Spy(), dqn.GAMES["breakout_swapped"][1]).send(np.array([0, 1, 2, 3]))
    assert sent == [[0, 1, 3, 2]]




def test_learning_loop_improves_returns_on_catch():
    """Not a smoke test: after 5000 steps (~1200 updates) the greedy policy must catch the ball
    (python catch.py, with that page's own settings for Catch)."""
    lines = []
    before, after = catch.learn_catch(catch.CatchConfig(steps=5000), log=lines.append)
    assert before < -0.3, before
    assert after > 0.6, f"greedy return after learning {after:.2f} (random {before:.2f})"
    assert len(lines) == 2 + 5 and lines[-1].startswith("greedy play after 5000 steps")


def test_config_flags_mirror_the_dataclass():
    import argparse
    ap = argparse.ArgumentParser()
    toolbox.add_config_flags(ap, dqn.DQNConfig)
    assert toolbox.config_from_args(dqn.DQNConfig, ap.parse_args([])) == dqn.DQNConfig()
    got = toolbox.config_from_args(dqn.DQNConfig, ap.parse_args(["--lr", "0.5", "--n_step", "1"]))
    assert got.lr == 0.5 and got.n_step == 1

    from dataclasses import dataclass

    @dataclass
    class WithBool:
        quick: bool = False
    ap = argparse.ArgumentParser()
    toolbox.add_config_flags(ap, WithBool)
    assert [ap.parse_args(a).quick for a in ([], ["--quick"], ["--quick", "false"])] == [False, True, False]


def test_every_flag_of_every_page_has_help_from_its_comment():
    import argparse
    import dataclasses

    import distill
    import evaluate
    import dqn_source
    import horizon
    import imitate
    import pipeline
    import record
    import revisit
    import watch
    for cls in (dqn.DQNConfig, catch.CatchConfig, record.RecordConfig, copy_task.DemoConfig, imitate.ImitateConfig,
                evaluate.EvalConfig, pipeline.PipelineConfig, distill.DistillConfig, horizon.HorizonConfig,
                dqn_source.DQNSourceConfig, revisit.RevisitConfig, watch.WatchConfig):
        comments = toolbox.field_comments(cls)
        missing = [f.name for f in dataclasses.fields(cls) if not comments.get(f.name)]
        assert not missing, (cls.__name__, missing)
    ap = argparse.ArgumentParser()
    toolbox.add_config_flags(ap, imitate.ImitateConfig)
    helps = {a.dest: a.help for a in ap._actions}
    assert helps["model"].startswith('"transformer": the imitator above; "bc": the yardstick')
    assert "DrQ uses 4" in helps["augment"] and helps["augment"].endswith("(default: 4)")
