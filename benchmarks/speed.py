"""speed.py: how fast this project's NumPy code runs, on this machine, now.

Not a page of the experiment: the figures the docs quote (docs/SPEED.md), measured by the
project's own code alone. `make bench` runs it, then benchmarks/compare_pytorch.py, which puts
PyTorch beside the same work in one run. Every figure names the CPU it was measured on.

    python benchmarks/speed.py                  # all three
    python benchmarks/speed.py --only dqn       # dqn, transformer, imitator (comma-separated)

  dqn          ms per DQN training update and per acting forward, then agent steps/s end to end
  profile      the DQN update part by part, in interleaved rounds, against its floor
  threads      the DQN update under each setting of OpenBLAS's and Numba's threads, interleaved
  profile_imitator  the imitator's training step part by part, against its floor
  transformer  training tokens/s of the default transformer, and cached decoding steps/s
  imitator     the imitator's training tokens/s, and its frozen player's steps/s with the emulator
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import re
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import dqn                # noqa: E402
import layers             # noqa: E402
import imitate            # noqa: E402
import play               # noqa: E402
import toolbox            # noqa: E402
import transformer  # noqa: E402




DQN_WARMUP = 1500      # DQN updates before timing: training's steady state (see dqn_case)


def timed(fn, seconds, min_runs=5):
    """Median seconds of fn() after two warm-up calls (compile, fault in pages), over at least
    min_runs calls or `seconds` of calls."""
    fn()
    fn()
    times, end = [], time.perf_counter() + seconds
    while time.perf_counter() < end or len(times) < min_runs:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


ROUNDS = 5             # paired timings: rounds of (ours, theirs), one after the other


def paired(ours, theirs, seconds, rounds=ROUNDS, min_runs=3):
    """Time two implementations of the same work interleaved: `rounds` rounds of (ours, theirs),
    each side's round the median of `timed` over seconds / (2 * rounds). On a shared machine the
    neighbours, the clock and the caches change over a minute; interleaving lets each change touch
    both sides alike, so their ratio holds from run to run where two back-to-back blocks do not.
    Returns the medians over rounds of each side's seconds and of the per-round ratio theirs / ours
    (above 1: ours is faster), the lowest and highest per-round ratio, and the rounds."""
    per = seconds / (2 * rounds)
    a, b = [], []
    for _ in range(rounds):
        a.append(timed(ours, per, min_runs))
        b.append(timed(theirs, per, min_runs))
    ratios = np.array(b) / np.array(a)
    return dict(ours_s=float(np.median(a)), theirs_s=float(np.median(b)), ratio=float(np.median(ratios)),
                ratio_min=float(ratios.min()), ratio_max=float(ratios.max()), rounds=rounds)


def threads():
    """The thread counts in use: OpenBLAS's (its variable, else one per core) and Numba's."""
    import numba
    return dict(openblas=os.environ.get("OPENBLAS_NUM_THREADS", f"default ({os.cpu_count()})"),
                numba=numba.get_num_threads())


def transformer_case(B=8, seed=0):
    """The benchmarked transformer (the default config: d_model 128, 4 layers, 4 heads, context 512)
    with its parameters, gradient buffers and a batch of B random inputs and targets:
    (cfg, shapes, flat, p, grad, g, x, y)."""
    cfg, rng = transformer.TransformerConfig(), np.random.default_rng(seed)
    shapes = transformer.param_shapes(cfg)
    (flat, p), (grad, g) = toolbox.alloc_params(shapes), toolbox.alloc_params(shapes)
    transformer.init_params(p, cfg, rng)
    x = rng.standard_normal((B, cfg.block_size, cfg.n_embd)).astype(np.float32)
    return cfg, shapes, flat, p, grad, g, x, rng.integers(0, cfg.n_out, B * cfg.block_size)


def transformer_step(cfg, flat, p, grad, g, opt, x, y):
    """One training step of the benchmarked transformer: forward, loss, backward, clipping, AdamW."""
    out, cache = transformer.transformer_forward(p, x, cfg)
    _, cc = layers.cross_entropy_forward(out.reshape(-1, cfg.n_out), y)
    transformer.transformer_backward(layers.cross_entropy_backward(cc).reshape(out.shape), cache, g, cfg)
    transformer.clip_grad_norm(grad, 1.0)
    opt.step(flat, grad, 1e-4)


def dqn_case(warmup=0):
    """A DQN agent over 50k random replay frames, (cfg, agent, rng), after `warmup` updates: the
    steady state of training, where a dead unit's Adam moments have decayed towards float32's
    subnormal range (an Intel core is ~100x slower there; layers.adam_step keeps them out)."""
    cfg = dqn.DQNConfig(replay_capacity=60_000, learning_starts=0)
    agent, rng, n = dqn.Agent(cfg), np.random.default_rng(1), 50_000
    agent.replay.extend(rng.integers(0, 255, (n, 84, 84), dtype=np.uint8), rng.integers(0, 4, n),
                        rng.choice([0.0, 1.0], n).astype(np.float32), rng.random(n) < 0.01, rng.random(n) < 0.002)
    for _ in range(warmup):
        agent.update()
    return cfg, agent, rng


def bench_dqn(repeats=200, warmup=DQN_WARMUP):
    """Median ms per training update (after `warmup` updates) and per acting forward, then agent
    steps/s end to end."""
    cfg, agent, rng = dqn_case(warmup)
    agent.steps = cfg.eps_decay_steps                      # past the decay: epsilon 0.01, greedy forwards

    median_ms = lambda fn: 1e3 * timed(fn, 0.0, repeats)

    stack = rng.integers(0, 255, (4, 84, 84), dtype=np.uint8)
    update_ms, act_ms = median_ms(agent.update), median_ms(lambda: agent.act(stack, 0.0))
    print(f"training update (batch {cfg.batch_size}, Adam, after {warmup} updates): {update_ms:6.2f} ms")
    print(f"acting forward (1 stack):          {act_ms:6.3f} ms")
    env, rates = dqn.make_env("breakout"), []                  # the real loop, 1 update per 4 steps
    for rep in range(3):
        t0 = time.perf_counter()
        for _ in dqn.learn(env, agent, 4000, dqn.new_game(env, rep)):
            pass
        rates.append(4000 / (time.perf_counter() - t0))
    print(f"end to end (Breakout, epsilon 0.01, 1 update / 4 steps): {np.median(rates):6.0f} agent steps/s "
          f"(1M steps in {1e6 / np.median(rates) / 60:.0f} min)")
    return dict(update_ms=update_ms, act_ms=act_ms, agent_steps_per_s=float(np.median(rates)), warmup=warmup)


def dqn_update_flops(batch=32):
    """Floating-point operations of one DQN update (2 per multiply-add): the target forward, the
    online forward, and its backward (weights' and inputs' gradients, none for the pixels)."""
    macs = dict(conv1=20 * 20 * 16 * (8 * 8 * 4), conv2=9 * 9 * 32 * (4 * 4 * 16), fc3=2592 * 256, fc4=256 * 4)
    forward = sum(macs.values())
    backward = macs["conv1"] + 2 * (macs["conv2"] + macs["fc3"] + macs["fc4"])
    return 2 * batch * (2 * forward + backward)


def time_in_rounds(work, rounds, repeats, digits):
    """Each of work's callables (the parts, then the whole, last) timed in `rounds` interleaved rounds,
    each a median of `repeats` calls; prints every part's median ms, its share of the whole and its
    range, and their sum against the whole. Returns the parts' medians, the whole's, and its range."""
    got = {k: [] for k in work}
    for _ in range(rounds):
        for k, fn in work.items():
            got[k].append(1e3 * timed(fn, 0.0, repeats))
    med = {k: float(np.median(v)) for k, v in got.items()}
    name = list(work)[-1]
    whole, w = med.pop(name), max(map(len, work)) + 2
    for k, v in med.items():
        print(f"  {k:{w}s} {v:8.{digits}f} ms  {100 * v / whole:5.1f}%   [{min(got[k]):.{digits}f}, {max(got[k]):.{digits}f}]")
    print(f"  {'sum of the parts':{w}s} {sum(med.values()):8.{digits}f} ms   {name}: {whole:.{digits}f} ms "
          f"[{min(got[name]):.{digits}f}, {max(got[name]):.{digits}f}] over {rounds} rounds")
    return med, whole, [min(got[name]), max(got[name])]


def sgemm_gflops():
    """This CPU's float32 matrix-product rate with the threads in use: one 1024^3 product, GFLOP/s."""
    A = np.ones((1024, 1024), np.float32)
    return 2 * 1024 ** 3 / timed(lambda: A @ A, 0.0, 20) / 1e9


def profile_dqn(repeats=40, warmup=DQN_WARMUP, rounds=ROUNDS):
    """The DQN update part by part (the replay's batch, the input's space to depth, the target
    forward, the online forward, its backward, Adam) and whole, in `rounds` interleaved rounds
    (every part, then the whole, then again), each a median over rounds: their sum against the
    whole update, and the floor: the update's FLOPs at this CPU's matrix-product rate with these
    threads, and the bytes Adam must move at its measured copy bandwidth."""
    cfg, agent, rng = dqn_case(warmup)
    s, a, ret, disc, s2 = agent.replay.sample(rng, cfg.batch_size, cfg.n_step, cfg.gamma)
    x, x2 = dqn.stacks_to_input(s), dqn.stacks_to_input(s2)
    q, cache = dqn.q_forward(agent.p, x)
    dq = np.zeros_like(q)
    dq[np.arange(len(a)), a] = 1.0 / len(a)
    work = {
        "replay batch (gather_batch)": lambda: agent.replay.sample(rng, cfg.batch_size, cfg.n_step, cfg.gamma),
        "space to depth (2 batches)": lambda: (dqn.stacks_to_input(s), dqn.stacks_to_input(s2)),
        "target forward": lambda: dqn.q_forward(agent.target, x2),
        "online forward": lambda: dqn.q_forward(agent.p, x),
        "online backward": lambda: dqn.q_backward(dq, cache, agent.g),
        "Adam": lambda: layers.adam_step(agent.flat, agent.grad_flat, agent.m, agent.v, 1e-9, 0.9, 0.999, 1.5e-4, 1),
        "whole update": agent.update,
    }
    med, whole, whole_range = time_in_rounds(work, rounds, repeats, 3)
    gflops = sgemm_gflops()
    flops = dqn_update_flops(cfg.batch_size)
    big = np.ones(64 * 2 ** 20 // 4, np.float32)
    out = np.empty_like(big)
    gbs = 2 * big.nbytes / timed(lambda: np.copyto(out, big), 0.0, 20) / 1e9
    adam_bytes = 7 * 4 * agent.flat.size                     # reads p, g, m, v; writes p, m, v
    floor = 1e3 * (flops / gflops + adam_bytes / gbs) / 1e9
    print(f"  floor: {flops / 1e6:.0f} MFLOP at {gflops:.0f} GFLOP/s (1024^3 sgemm, these threads) = "
          f"{1e3 * flops / gflops / 1e9:.2f} ms; Adam moves {adam_bytes / 1e6:.0f} MB at {gbs:.0f} GB/s "
          f"(copy) = {1e3 * adam_bytes / gbs / 1e9:.2f} ms; the update is {whole / floor:.1f}x its floor")
    return dict(parts_ms=med, update_ms=whole, update_ms_range=whole_range,
                rounds=rounds, mflop=flops / 1e6, sgemm_gflops=gflops, copy_gbs=gbs, floor_ms=floor, threads=threads())


def imitator_update_flops(c: imitate.ImitateConfig):
    """Floating-point operations of one imitator update at config c (2 per multiply-add): the conv
    encoder over batch x context stacks (forward; backward: conv2's input and weight gradients,
    conv1's weight gradient), the observation projection and the transformer's matrices (forward
    and two backward products each), and attention (QK^T and AV, causal: half of K^2 per head)."""
    n, C, K, L = c.batch * c.context, c.n_embd, c.context, c.n_layer
    conv1, conv2 = 20 * 20 * 16 * (8 * 8 * 4), 9 * 9 * 32 * (4 * 4 * 16)
    encoder = n * (conv1 + conv2) + n * (2 * conv2 + conv1)
    dense = 3 * n * (2592 * C + L * 12 * C * C + C * dqn.N_ACTIONS)
    attention = 3 * c.batch * L * 2 * (K * K // 2) * C
    return 2 * (encoder + dense + attention)


def profile_imitator(c: imitate.ImitateConfig = None, rounds=ROUNDS, repeats=5, steps=20_000, seed=0):
    """The imitator's training step part by part, as profile_dqn: the batch (windows cut from a
    synthetic history of `steps` random frames, then shifted), the conv encoder forward, the rest of
    the forward (projection, embeddings, transformer), the loss, the transformer's backward, the
    encoder's backward, clipping and AdamW; each a median over interleaved rounds, against the
    whole step and the floor (the step's FLOPs at this CPU's sgemm rate)."""
    c = c or imitate.ImitateConfig()
    toolbox.keep_freed_memory()
    rng = np.random.default_rng(seed)
    h = dict(frame=rng.integers(0, 255, (steps, 84, 84), dtype=np.uint8), action=rng.integers(0, 4, steps).astype(np.uint8),
             reward_clip=rng.choice([0.0, 1.0], steps).astype(np.float32), first=rng.random(steps) < 0.002, start=0)
    tcfg, starts = imitate.tcfg_of(c), np.arange(steps - c.context)
    flat, shapes = imitate.init_imitator(tcfg, rng, c.stage_input)
    (grad, g), p = toolbox.alloc_params(shapes), toolbox.param_views(flat, shapes)
    opt = transformer.AdamW(flat, shapes, weight_decay=c.weight_decay)
    batch = imitate.transformer_batch(c, h, starts, rng)
    stacks, pa, pr, y, stage = batch
    feats, c_enc = imitate.encode(p, stacks)
    logits, cache = imitate.imitator_forward(p, stacks, pa, pr, tcfg, stage)
    loss, cc = layers.cross_entropy_forward(logits.reshape(-1, dqn.N_ACTIONS), y.reshape(-1))
    dlogits = layers.cross_entropy_backward(cc).reshape(logits.shape)
    c_tf = cache[-1]
    dx = transformer.transformer_backward(dlogits, c_tf, g, tcfg)
    dfeat = layers.linear_backward(dx.reshape(-1, dx.shape[-1]), cache[2])[0]
    B, K = pa.shape

    def rest_of_forward():
        obs, _ = layers.linear_forward(feats, p["w_obs"], p["b_obs"])
        x = obs.reshape(B, K, -1) + p["e_act"][pa] + p["e_rew"][pr]
        if "w_stage" in p:
            x = x + stage[..., None] * p["w_stage"]
        return transformer.transformer_forward(p, x, tcfg)

    work = {
        "batch (windows, stacks, shifts)": lambda: imitate.transformer_batch(c, h, starts, rng),
        "conv encoder forward": lambda: imitate.encode(p, stacks),
        "projection + transformer forward": rest_of_forward,
        "loss": lambda: layers.cross_entropy_forward(logits.reshape(-1, dqn.N_ACTIONS), y.reshape(-1)),
        "transformer backward": lambda: transformer.transformer_backward(dlogits, c_tf, g, tcfg),
        "projection + encoder backward": lambda: (layers.linear_backward(dx.reshape(-1, dx.shape[-1]), cache[2]),
                                                  imitate.encode_backward(dfeat, c_enc, p, g)),
        "clip + AdamW": lambda: (transformer.clip_grad_norm(grad, 1e9), opt.step(flat, grad, 1e-12)),
        "whole step (train_step)": lambda: imitate.train_step(p, g, flat, grad, opt, batch, tcfg, 1e9, 1e-12),
    }
    med, whole, whole_range = time_in_rounds(work, rounds, repeats, 2)
    print(f"  ({c.batch * c.context / whole * 1e3:,.0f} tokens/s)")
    gflops = sgemm_gflops()
    flops = imitator_update_flops(c)
    floor = 1e3 * flops / gflops / 1e9
    print(f"  floor: {flops / 1e9:.2f} GFLOP at {gflops:.0f} GFLOP/s (1024^3 sgemm, these threads) = {floor:.1f} ms; "
          f"the step is {whole / floor:.1f}x its floor")
    return dict(parts_ms=med, step_ms=whole, step_ms_range=whole_range, rounds=rounds, gflop=flops / 1e9,
                sgemm_gflops=gflops, floor_ms=floor, tokens_per_s=c.batch * c.context / whole * 1e3, threads=threads())


THREAD_SETTINGS = ((1, 1), (1, 2), (2, 1), (2, 2))   # (OpenBLAS threads, Numba threads)


def thread_worker(warmup):
    """One setting's side of `bench_threads`: build the case, say "ready", then for each line
    "<seconds>" on stdin time the update that long and print its median ms."""
    cfg, agent, rng = dqn_case(warmup)
    print("ready", flush=True)
    for line in sys.stdin:
        print(1e3 * timed(agent.update, float(line), 3), flush=True)


def bench_threads(seconds=60, settings=THREAD_SETTINGS, rounds=ROUNDS, warmup=DQN_WARMUP):
    """The DQN update under each thread setting, interleaved: one process per setting (a library
    reads its thread count when it loads), each building the same case, then `rounds` rounds in
    which each process in turn times the update for seconds / (rounds x settings) while the others
    wait. Prints and returns each setting's median ms over rounds and its range."""
    import subprocess
    procs = {}
    for blas, nb in settings:
        env = dict(os.environ, OPENBLAS_NUM_THREADS=str(blas), NUMBA_NUM_THREADS=str(nb))
        procs[(blas, nb)] = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--worker", str(warmup)], env=env,
                                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    for key, p in procs.items():                                      # built one at a time would be fairer,
        if p.stdout.readline().strip() != "ready":                    # but they only wait here, not time
            raise SystemExit(f"the thread worker for {key} failed")
    per = seconds / (rounds * len(settings))
    got = {key: [] for key in procs}
    for _ in range(rounds):
        for key, p in procs.items():
            p.stdin.write(f"{per}\n")
            p.stdin.flush()
            got[key].append(float(p.stdout.readline()))
    for p in procs.values():
        p.stdin.close()
        p.wait()
    out = {}
    for (blas, nb), v in got.items():
        out[f"openblas{blas}_numba{nb}"] = dict(median_ms=float(np.median(v)), min_ms=min(v), max_ms=max(v))
        print(f"  OpenBLAS {blas} thread(s), Numba {nb}: {np.median(v):7.2f} ms per update "
              f"[{min(v):.2f}, {max(v):.2f}] over {rounds} rounds")
    return out


def bench_transformer(seconds=20):
    """Training tokens/s at d_model 128, 4 layers, 4 heads, context 512, batch 8; cached steps/s."""
    toolbox.keep_freed_memory()
    cfg, shapes, flat, p, grad, g, x, y = transformer_case()
    (B, T), rng = x.shape[:2], np.random.default_rng(1)
    opt = transformer.AdamW(flat, shapes)

    train_step = lambda: transformer_step(cfg, flat, p, grad, g, opt, x, y)
    tokens_s = B * T / timed(train_step, seconds)
    print(f"training: {tokens_s:8.0f} tokens/s  (median step of "
          f"{B}x{T} tokens, d_model {cfg.n_embd}, {cfg.n_layer} layers, {cfg.n_head} heads)")
    dec = transformer.Decoder(p, cfg)
    xs = rng.standard_normal((4 * T, cfg.n_embd)).astype(np.float32)
    dec.step(xs[0])
    t0 = time.perf_counter()
    for v in xs:
        dec.step(v)
    decode_s = len(xs) / (time.perf_counter() - t0)
    print(f"cached decoding: {decode_s:8.0f} steps/s (one position at a time, window {T}, slides included)")
    return dict(train_tokens_per_s=tokens_s, decode_steps_per_s=decode_s)


def bench_imitator(c: imitate.ImitateConfig, steps=5):
    """Training tokens/s at the default config on synthetic inputs, and the frozen player's steps/s."""
    toolbox.keep_freed_memory()
    tcfg, rng = imitate.tcfg_of(c), np.random.default_rng(0)
    flat, shapes = imitate.init_imitator(tcfg, rng)
    grad = np.zeros_like(flat)
    p, g = toolbox.param_views(flat, shapes), toolbox.param_views(grad, shapes)
    opt = transformer.AdamW(flat, shapes)
    B, K = c.batch, c.context
    batch = (rng.integers(0, 256, (B * K, 4, 84, 84), dtype=np.uint8), rng.integers(0, 5, (B, K)),
             rng.integers(0, 3, (B, K)), rng.integers(0, 4, (B, K)))
    batch = batch + (None,)                                           # no stage input
    imitate.train_step(p, g, flat, grad, opt, batch, tcfg, 1.0, 1e-4)        # compile, allocate
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        imitate.train_step(p, g, flat, grad, opt, batch, tcfg, 1.0, 1e-4)
        times.append(time.perf_counter() - t0)
    figures = dict(train_tokens_per_s=B * K / float(np.median(times)))
    print(f"training: {figures['train_tokens_per_s']:7.0f} tokens/s (batch {B} x context {K}, conv encoder included)")
    os.makedirs("/tmp/imitator_bench", exist_ok=True)
    np.savez("/tmp/imitator_bench/imitator.npz", params=flat)
    toolbox.write_json("/tmp/imitator_bench/imitator.json", dict(kind="imitator", n_actions=dqn.N_ACTIONS,
                                                                transformer=dataclasses.asdict(tcfg)))
    player = play.Player("/tmp/imitator_bench/imitator")
    stacks = batch[0][:256]
    player.act(stacks[0], 0, 0.0)
    t0 = time.perf_counter()
    for i in range(3 * K):                               # several slides of the window included
        player.act(stacks[i % 256], i % 4, 0.0)
    figures["player_steps_per_s"] = 3 * K / (time.perf_counter() - t0)
    print(f"frozen player: {figures['player_steps_per_s']:7.0f} steps/s (no emulator)")
    env = dqn.make_env("breakout")
    obs, _ = env.reset(seed=0)
    a, t0 = play.NEW_GAME, time.perf_counter()
    for i in range(2000):
        a = player.act(obs[0], a, 0.0)
        env.send(np.array([a]))
        obs, *_ = env.recv()
    figures["player_with_emulator_steps_per_s"] = 2000 / (time.perf_counter() - t0)
    print(f"frozen player + Breakout emulator: {figures['player_with_emulator_steps_per_s']:7.0f} steps/s")
    return figures


def bench_file(cpu, kind, extra=""):
    """results/<kind>_<cpu>.json: one file per kind of CPU met (vendor, family, model, vector
    width), e.g. results/bench_amd_epyc_f25_m17_avx512.json."""
    name = re.sub(r"[^a-z0-9]+", "_", cpu["name"].lower()).strip("_")
    vector = re.sub(r"[^a-z0-9]+", "", cpu["vector"].lower())
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return os.path.join(root, "results", f"{kind}_{name}_f{cpu['family']}_m{cpu['model']}_{vector}{extra}.json")


PARTS = ("dqn", "profile", "threads", "transformer", "imitator", "profile_imitator")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="Speed of this project's NumPy code on this machine.")
    ap.add_argument("--only", default="dqn,profile,transformer,imitator,profile_imitator",
                    help="comma-separated: dqn, profile (the DQN update part by part), threads (the update under "
                         "each thread setting), transformer, imitator, profile_imitator (its step part by part)")
    ap.add_argument("--json", default="", help="also write every part's figures to this file; "
                                               "\"auto\": results/speed_<cpu>.json, one file per kind of CPU met")
    ap.add_argument("--worker", type=int, default=-1, help=argparse.SUPPRESS)   # one side of the thread sweep
    a = ap.parse_args()
    if a.worker >= 0:
        thread_worker(a.worker)
        raise SystemExit
    parts = [p.strip() for p in a.only.split(",") if p.strip()]
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        raise SystemExit(f"--only {','.join(unknown)}: unknown; valid: {', '.join(PARTS)}")
    print(f"CPU: {toolbox.cpu_name()} ({toolbox.cpu_flags()}), {os.cpu_count()} cores; numpy {np.__version__}; "
          f"threads {threads()}")
    figures = dict(cpu=toolbox.cpu_info(), numpy=np.__version__, process_threads=threads())
    for part in parts:
        print(f"--- {part}")
        figures[part] = dict(dqn=bench_dqn, profile=profile_dqn, threads=bench_threads, transformer=bench_transformer,
                             imitator=lambda: bench_imitator(imitate.ImitateConfig()),
                             profile_imitator=profile_imitator)[part]()
    if a.json:
        toolbox.write_json(bench_file(figures["cpu"], "speed") if a.json == "auto" else a.json,
                           {k: v for k, v in figures.items() if v is not None})
