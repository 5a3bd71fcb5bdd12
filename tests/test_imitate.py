"""imitate.py: the whole imitator's gradient, training end to end with resume, the frozen player."""
import dataclasses
import json
import os

import numpy as np
import pytest

import dqn
import imitate
import windows
import heldout
import bc
import history_io
import play
import layers
import transformer
import toolbox


def tiny_config(run_dir, out, **kw):
    base = dict(context=32, n_layer=1, n_head=2, n_embd=16, batch=2, iters=12, warmup=3, eval_every=6,
                checkpoint_every=5)
    return imitate.ImitateConfig(history=run_dir, out=str(out), **(base | kw))


@pytest.mark.parametrize("stage_input", [False, True])
def test_whole_imitator_gradient_including_the_conv_encoder(stage_input):
    tcfg = transformer.TransformerConfig(block_size=3, n_layer=1, n_head=2, n_embd=4, n_out=4)
    flat32, shapes = imitate.init_imitator(tcfg, np.random.default_rng(0), stage_input)
    flat32 += np.random.default_rng(2).normal(0, 0.01, flat32.size).astype(np.float32)  # w_stage not 0
    flat = flat32.astype(np.float64)
    p = toolbox.param_views(flat, shapes)
    grad = np.zeros_like(flat)
    g = toolbox.param_views(grad, shapes)
    rng = np.random.default_rng(1)
    stacks = rng.integers(0, 256, (2 * 3, 4, 84, 84), dtype=np.uint8)
    pa, pr = rng.integers(0, 5, (2, 3)), rng.integers(0, 3, (2, 3))
    y = rng.integers(0, 4, 6)
    stage = rng.uniform(0, 2, (2, 3)) if stage_input else None

    def loss():
        logits, cache = imitate.imitator_forward(p, stacks, pa, pr, tcfg, stage)
        return layers.cross_entropy_forward(logits.reshape(-1, 4), y)[0], logits, cache

    _, logits, cache = loss()
    _, cc = layers.cross_entropy_forward(logits.reshape(-1, 4), y)
    imitate.imitator_backward(layers.cross_entropy_backward(cc).reshape(logits.shape), cache, g, tcfg)
    views = toolbox.param_views(flat, shapes)
    names = ("w1", "b1", "w2", "b2", "w_obs", "b_obs", "e_act", "e_rew", "wpe", "h0.w_qkv", "h0.ln2_g", "w_head")
    for name in names + (("w_stage",) if stage_input else ()):
        v = views[name].reshape(-1)
        for i in rng.choice(v.size, min(4, v.size), replace=False):
            old = v[i]
            v[i] = old + 1e-5
            hi = loss()[0]
            v[i] = old - 1e-5
            lo = loss()[0]
            v[i] = old
            num, ana = (hi - lo) / 2e-5, g[name].reshape(-1)[i]
            assert abs(num - ana) <= 1e-5 * max(1e-3, abs(num)), (name, i, num, ana)


def test_window_inputs_follow_the_history(tiny_run):
    h = history_io.load_history(tiny_run)
    stacks, pa, pr, y = imitate.window_inputs(h, np.array([0, 100]), 8)
    assert stacks.shape == (16, 4, 84, 84) and pa.shape == (2, 8)
    np.testing.assert_array_equal(y[1], h["action"][100:108])
    np.testing.assert_array_equal(pa[1], np.where(h["first"][100:108], imitate.NEW_GAME, h["action"][99:107]))
    np.testing.assert_array_equal(pr[1], np.sign(h["reward_clip"][99:107]) + 1)
    assert pa[0, 0] == imitate.NEW_GAME and pr[0, 0] == 1
    np.testing.assert_array_equal(stacks[8 + 3][3], h["frame"][103])


def test_train_end_to_end_and_resume_equals_uninterrupted(tiny_run, tmp_path, monkeypatch):
    full = imitate.train(tiny_config(tiny_run, tmp_path / "full"), log=lambda *a: None)
    for k in ("acc_vs_teacher_actions", "agree_with_final_teacher_greedy", "final_teacher_greedy_vs_actual_actions"):
        assert 0.0 <= full[k] <= 1.0
    assert full["teacher_vs_teacher"]["checkpoints"] == [0, 3000]
    assert set(full["by_stage"]) == {"early", "middle", "late"}
    for f in ("imitator.npz", "imitator.json", "metrics.json", "loss.png", "checkpoint.npz"):
        assert os.path.exists(tmp_path / "full" / f)

    calls = {"n": 0}
    real_clip = transformer.clip_grad_norm

    def dies_at_step_8(g, m):                         # an interruption between checkpoints 5 and 10
        calls["n"] += 1
        if calls["n"] == 8:
            raise KeyboardInterrupt
        return real_clip(g, m)

    monkeypatch.setattr(transformer, "clip_grad_norm", dies_at_step_8)
    with pytest.raises(KeyboardInterrupt):
        imitate.train(tiny_config(tiny_run, tmp_path / "cut"), log=lambda *a: None)
    assert json.load(open(tmp_path / "cut" / "checkpoint.json"))["step"] == 5
    monkeypatch.setattr(transformer, "clip_grad_norm", real_clip)
    imitate.train(tiny_config(tiny_run, tmp_path / "cut"), log=lambda *a: None)
    a = np.load(tmp_path / "full" / "imitator.npz", allow_pickle=False)["params"]
    b = np.load(tmp_path / "cut" / "imitator.npz", allow_pickle=False)["params"]
    np.testing.assert_array_equal(a, b)               # resumed = never interrupted


def test_player_matches_training_forward_and_never_changes(tiny_run, tmp_path):
    c = tiny_config(tiny_run, tmp_path / "im", iters=3, see_prev_action=True, stage_input=False)   # every input
    imitate.train(c, log=lambda *a: None)                                     # as the history gives it
    player = play.Player(str(tmp_path / "im" / "imitator"))
    before = player.flat.copy()
    h = history_io.load_history(tiny_run)
    K = 32
    stacks, pa, pr, _ = imitate.window_inputs(h, np.array([0]), K)
    full = imitate.imitator_forward(player.p, stacks, pa, pr, player.tcfg)[0][0]     # (K, 4)
    for t in range(K):                                # the player, fed step by step, agrees
        out = player.logits(stacks[t], pa[0, t], imitate.token_reward(pr[0, t]))
        np.testing.assert_allclose(out, full[t], rtol=1e-4, atol=1e-5)
    for t in range(3 * K):                            # keep playing through several slides
        a = player.act(stacks[t % K], int(pa[0, t % K]), 0.0)
        assert 0 <= a < 4
    np.testing.assert_array_equal(player.flat, before)
    with pytest.raises(ValueError):
        player.flat[0] = 1.0                          # frozen for real: read-only memory
    saved = player.context()                          # stop here, and carry on in another player
    other = play.Player(str(tmp_path / "im" / "imitator"))
    other.restore(saved)
    np.testing.assert_allclose(other.logits(stacks[5], 1, 1.0), player.logits(stacks[5], 1, 1.0), rtol=1e-5, atol=1e-6)


def test_player_refuses_mismatched_files(tiny_run, tmp_path):
    imitate.train(tiny_config(tiny_run, tmp_path / "im", iters=2), log=lambda *a: None)
    with pytest.raises(ValueError, match="not an imitator for 6 actions"):
        play.Player(str(tmp_path / "im" / "imitator"), n_actions=6)
    with pytest.raises(ValueError, match="cannot read imitator"):
        play.Player(str(tmp_path / "nothing"))
    with pytest.raises(SystemExit, match="too short"):
        imitate.train(tiny_config(tiny_run, tmp_path / "x", context=2000), log=lambda *a: None)


def test_hiding_the_previous_action(tiny_run, tmp_path):
    """The copycat ablation: trained and played with the previous-action input always "new game"."""
    h = history_io.load_history(tiny_run)
    _, pa, _, _ = imitate.window_inputs(h, np.array([100]), 16, hide_prev_action=True)
    assert (pa == imitate.NEW_GAME).all()
    imitate.train(tiny_config(tiny_run, tmp_path / "np", iters=2, see_prev_action=False), log=lambda *a: None)
    player = play.Player(str(tmp_path / "np" / "imitator"))
    stack = h["frame"][:4].copy()
    outs = []
    for a in (0, 3):
        player.reset()
        outs.append(player.logits(stack, a, 0.0))
    np.testing.assert_array_equal(outs[0], outs[1])   # the previous action cannot matter


# --- the behaviour-cloning yardstick and augmentation --------------------------------------------
def test_bc_step_learns_a_small_task():
    """Where a bright square is (left or right half) decides the move: BC must learn it from pixels."""
    rng = np.random.default_rng(0)
    shapes = dqn.param_shapes()
    flat = dqn.init_q_params(rng)
    grad = np.zeros_like(flat)
    p, g = toolbox.param_views(flat, shapes), toolbox.param_views(grad, shapes)
    opt = transformer.AdamW(flat, shapes, weight_decay=0.0)

    def batch(n):
        y = rng.integers(0, 2, n)                       # 0: square on the left -> RIGHT, 1: on the right -> LEFT
        stacks = np.zeros((n, 4, 84, 84), np.uint8)
        for i in range(n):
            x0 = int(rng.integers(0, 30)) + 44 * y[i]
            y0 = int(rng.integers(0, 70))
            stacks[i, :, y0:y0 + 10, x0:x0 + 10] = 255
        return stacks, np.where(y == 0, 2, 3)

    for step in range(150):
        bc.bc_step(p, g, flat, grad, opt, batch(32), 1.0, 1e-3)
    stacks, y = batch(200)
    acc = (heldout.network_outputs(p, stacks).argmax(1) == y).mean()
    assert acc > 0.95, acc


def test_bc_trains_end_to_end_and_plays(tiny_run, tmp_path):
    c = tiny_config(tiny_run, tmp_path / "bc", model="bc", batch=16, iters=6, augment=4)
    m = imitate.train(c, log=lambda *a: None)
    assert 0 <= m["acc_vs_teacher_actions"] <= 1 and 0 <= m["train_acc"] <= 1
    assert m["decisive"]["steps"] >= m["heldout_steps"] // 4 - 1        # the top quarter of the Q-gap
    assert json.load(open(tmp_path / "bc" / "imitator.json"))["kind"] == "bc"
    player = play.load_player(str(tmp_path / "bc" / "imitator"))
    assert isinstance(player, play.BCPlayer)
    h = history_io.load_history(tiny_run)
    stacks = history_io.stacks_at(h["frame"], h["first"], np.arange(10, 20))
    np.testing.assert_array_equal([player.act(s, 0, 0.0) for s in stacks],
                                  heldout.network_outputs(player.p, stacks).argmax(1))   # the same network, frozen
    with pytest.raises(ValueError):
        player.p["w1"][0, 0, 0, 0] = 1.0
    with pytest.raises(SystemExit, match="--lr 0.0006"):                # resuming: other settings are refused,
        imitate.train(dataclasses.replace(c, lr=1e-3, iters=8), log=lambda *a: None)   # naming the flag
    ck = tmp_path / "bc" / "checkpoint.json"                           # a checkpoint without a setting
    state = json.load(open(ck))                                        # resumes with today's default (4),
    del state["config"]["augment"]                                     # and the transformer's settings do
    json.dump(state, open(ck, "w"))                                    # not matter to behaviour cloning
    imitate.train(dataclasses.replace(c, context=64, stage_input=False, iters=8), log=lambda *a: None)
    assert json.load(open(ck))["step"] == 8


def test_init_torso_starts_from_the_bc_networks_eyes(tiny_run, tmp_path):
    """--init_torso: the transformer's conv layers start as a trained BC network's, the rest as usual;
    a folder that is not a BC network is refused before any training."""
    imitate.train(tiny_config(tiny_run, tmp_path / "bc", model="bc", batch=16, iters=3), log=lambda *a: None)
    c = tiny_config(tiny_run, tmp_path / "t", init_torso=str(tmp_path / "bc"), iters=1)
    tcfg = imitate.tcfg_of(c)
    flat, shapes = imitate.init_imitator(tcfg, np.random.default_rng(0))
    p = toolbox.param_views(flat, shapes)
    before = {n: p[n].copy() for n in ("w_obs", "b_obs", "e_act")}
    bc.copy_torso(p, str(tmp_path / "bc"))
    with np.load(tmp_path / "bc" / "imitator.npz", allow_pickle=False) as z:
        trained = toolbox.param_views(z["params"], dqn.param_shapes())
        for n in imitate.TORSO:
            np.testing.assert_array_equal(p[n], trained[n])
    for n, v in before.items():
        np.testing.assert_array_equal(p[n], v)                           # only the torso is copied
    imitate.train(c, log=lambda *a: None)
    assert json.load(open(tmp_path / "t" / "imitator.json"))["init_torso"] == str(tmp_path / "bc")
    with pytest.raises(SystemExit, match="not a behaviour-cloning network"):
        imitate.check_config(tiny_config(tiny_run, tmp_path / "u", init_torso=str(tmp_path / "t")))
    with pytest.raises(SystemExit, match="no trained network there"):
        imitate.check_config(tiny_config(tiny_run, tmp_path / "u", init_torso=str(tmp_path / "none")))


def test_augmentation_moves_pixels_keeps_shapes_and_labels(tiny_run):
    rng = np.random.default_rng(1)
    stacks = rng.integers(0, 256, (6, 4, 84, 84), dtype=np.uint8)
    np.testing.assert_array_equal(windows.shift_stacks(stacks, np.zeros((6, 2), np.int64)), stacks)
    moved = windows.shift_stacks(stacks, np.tile([[2, -3]], (6, 1)))
    assert moved.shape == stacks.shape and moved.dtype == np.uint8
    np.testing.assert_array_equal(moved[:, :, 10:70, 10:70], stacks[:, :, 12:72, 7:67])
    np.testing.assert_array_equal(moved[:, :, :, 0], stacks[:, :, np.minimum(np.arange(84) + 2, 83), 0])  # edges repeat
    out = windows.augment(stacks, np.random.default_rng(2), 4, group=3)   # two windows of three stacks
    for w in range(2):                                # one shift per window: find it and check all three
        found = [(dy, dx) for dy in range(-4, 5) for dx in range(-4, 5)
                 if np.array_equal(windows.shift_stacks(stacks[3 * w:3 * w + 3], np.tile([[dy, dx]], (3, 1))),
                                   out[3 * w:3 * w + 3])]
        assert found
    assert windows.augment(stacks, rng, 0) is stacks
    h = history_io.load_history(tiny_run)                # the labels of a window do not depend on augmentation
    a = imitate.window_inputs(h, np.array([50]), 8)
    assert np.array_equal(windows.augment(a[0], rng, 4, group=8).shape, a[0].shape)


def test_bad_flags_stop_before_anything_starts(tmp_path):
    import subprocess
    import sys
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for args, message in ((["--history", str(tmp_path / "missing")], "no recorded history there"),
                          (["--model", "lstm"], "--model 'lstm' is unknown"),
                          (["--batch", "0"], "--batch 0 must be positive")):
        p = subprocess.run([sys.executable, os.path.join(root, "imitate.py"), "--out", str(tmp_path / "o"), *args],
                           capture_output=True, text=True)
        assert p.returncode != 0 and message in p.stderr and "Traceback" not in p.stderr, p.stderr
        assert not os.path.exists(tmp_path / "o")


def test_stage_input_follows_the_history_and_steers_the_player(tiny_run, tmp_path):
    """With --stage_input every token carries its step's place in the history (in millions of steps);
    the player is told a stage, by default the end of the history, and may be set past it."""
    h = history_io.load_history(tiny_run, start=1000)
    np.testing.assert_allclose(imitate.window_stage(h, np.array([0, 500]), 4)[1],
                               (1500 + np.arange(4)) / imitate.STAGE_UNIT, rtol=1e-6)
    c = tiny_config(tiny_run, tmp_path / "st", iters=3, stage_input=True, see_prev_action=True, lr=1e-2)
    imitate.train(c, log=lambda *a: None)
    player = play.Player(str(tmp_path / "st" / "imitator"))
    assert player.stage == history_io.history_length(tiny_run) / imitate.STAGE_UNIT
    h = history_io.load_history(tiny_run)
    K = 32
    stacks, pa, pr, _ = imitate.window_inputs(h, np.array([100]), K)
    full = imitate.imitator_forward(player.p, stacks, pa, pr, player.tcfg, np.full((1, K), player.stage, np.float32))[0][0]
    for t in range(K):                                # the player feeds the same stage to every token
        np.testing.assert_allclose(player.logits(stacks[t], pa[0, t], imitate.token_reward(pr[0, t])), full[t],
                                   rtol=1e-4, atol=1e-5)
    outs = []
    for step in (0, 2_000_000):                       # the stage changes the moves' probabilities
        player.reset()
        player.set_stage(step)
        outs.append(player.logits(stacks[0], int(pa[0, 0]), 0.0))
    assert not np.allclose(outs[0], outs[1])
    imitate.train(tiny_config(tiny_run, tmp_path / "plain", iters=2, stage_input=False), log=lambda *a: None)
    with pytest.raises(ValueError, match="without a stage input"):
        play.Player(str(tmp_path / "plain" / "imitator")).set_stage(1000)


def test_heldout_blocks_are_spread_over_the_history_and_never_trained_on():
    N, K = 1_000_000, 32
    spans = windows.heldout_spans(N, 0.05, 10_000)
    assert spans == [(100_000, 110_000), (300_000, 310_000), (500_000, 510_000), (700_000, 710_000),
                     (900_000, 910_000)]                                     # 5%, one block in every twenty
    starts = windows.train_starts(N, spans, K)
    assert starts.max() == N - K                                             # the last steps are trained on
    held = np.zeros(N, bool)
    for a, b in spans:
        held[a:b] = True
    steps = starts[:, None] + np.arange(K)                                   # no training window touches a held-out step
    assert not held[steps[::997]].any() and not held[steps[-2000:]].any()
    assert len(starts) == N - K + 1 - 5 * (10_000 + K - 1)                   # and every other window is there
    v = windows.heldout_starts(spans, K)
    assert held[v[:, None] + np.arange(K)].all() and len(v) == 5 * (10_000 // K)
    assert windows.heldout_spans(N, 0.05, 0) == [(950_000, N)]              # the earlier layout: a tail
    assert windows.heldout_spans(3000, 0.05, 10_000) == [(1500, 1650)]      # a short history: shorter blocks


def test_interleaved_heldout_training_writes_its_spans(tiny_run, tmp_path):
    c = tiny_config(tiny_run, tmp_path / "im", iters=2, context=16, val_frac=0.1)
    m = imitate.train(c, log=lambda *a: None)
    meta = json.load(open(tmp_path / "im" / "imitator.json"))
    assert meta["heldout"] == m["heldout_spans"] == [[1500, 1800]]           # 3,000 steps: one group of ten blocks
    assert meta["train_steps"] == 3000 - 300 and m["heldout_steps"] == (300 // 16) * 16
    assert 0 <= m["last_span"]["acc_vs_teacher_actions"] <= 1


def test_late_share_draws_that_share_of_every_batch_from_the_last_quarter():
    N, K = 1_000_000, 32
    starts = windows.train_starts(N, windows.heldout_spans(N, 0.05, 10_000), K)
    draw = lambda share, seed=0: windows.draw_starts(imitate.ImitateConfig(batch=64, late_share=share), starts, N,
                                                     np.random.default_rng(seed))
    late = lambda s: (s >= 750_000).sum()
    assert late(draw(0.5)[:32]) == 32 and np.isin(draw(0.5), starts).all()
    assert late(draw(1.0)) == 64
    uniform = np.concatenate([draw(0.0, k) for k in range(50)])
    assert 0.2 < late(uniform) / len(uniform) < 0.3                          # the last quarter's own share
    # share 0 draws exactly as before the option existed: one uniform draw per batch
    np.testing.assert_array_equal(draw(0.0, 3), starts[np.random.default_rng(3).integers(0, len(starts), 64)])
