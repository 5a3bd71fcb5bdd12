"""compare_pytorch.py: the same work in this project's NumPy code and in PyTorch, in one run.

Not a page of the experiment and not a requirement of the project: an optional yardstick. It
needs PyTorch, which `make bench` installs into a separate environment (.venv-bench) so that the
project itself never depends on it. For each of three pieces of work it

  1. checks correctness in the spirit of llm.c: the same weights and the same inputs must give the
     same loss and the same gradients in both implementations, to float32 tolerance;
  2. times both on this machine, in this run, and prints ours, theirs and the ratio.

    make bench                                   # installs .venv-bench once, then runs this
    .venv-bench/bin/python benchmarks/compare_pytorch.py [--seconds 20] [--only dqn,transformer,imitator]

The pieces: one DQN training update (batch 32 sampled from a replay buffer, online forward and
backward, target forward, Adam), one transformer training step (d_model 128, 4 layers, 4 heads,
context 512, batch 8: forward, backward, gradient clipping, AdamW) and one imitator training step
(the same transformer fed by the conv encoder over 4,096 frame stacks). Both libraries use the
machine's 2 cores (PyTorch: torch.set_num_threads(2); NumPy: OpenBLAS's default).
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
import dqn          # noqa: E402
import layers       # noqa: E402
import imitate      # noqa: E402
import transformer  # noqa: E402
import toolbox  # noqa: E402
from speed import DQN_WARMUP, bench_file, dqn_case, paired, threads, timed, transformer_case, transformer_step  # noqa: E402

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    raise SystemExit("compare_pytorch.py needs PyTorch: run `make bench`, which installs it into .venv-bench "
                     "(never into the project's own environment)")


def rel_err(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.abs(a - b).max() / max(1e-12, np.abs(b).max()))


def report_check(name, errors, tol=1e-3):
    worst = max(errors.values())
    ok = worst < tol
    print(f"  correctness ({name}): worst relative gradient/loss difference {worst:.1e} "
          f"({'OK' if ok else 'MISMATCH'}, tolerance {tol:.0e}); by tensor: "
          + ", ".join(f"{k} {v:.0e}" for k, v in errors.items()))
    return ok


# -------------------------------------------------------------------------------------------
# Layout conversions: our flat vectors <-> PyTorch's tensors
# -------------------------------------------------------------------------------------------
def fc_from_features(w, c=32, hw=9):
    """Our (hw*hw*c, out) weight reads features flattened as (y, x, c); PyTorch flattens NCHW as
    (c, y, x) and stores weights (out, in)."""
    out = w.shape[1]
    return np.ascontiguousarray(w.reshape(hw, hw, c, out).transpose(3, 2, 0, 1).reshape(out, c * hw * hw))


def fc_to_features(wt, c=32, hw=9):
    out = wt.shape[0]
    return wt.reshape(out, c, hw, hw).transpose(2, 3, 1, 0).reshape(hw * hw * c, out)


def T(a, grad=True):
    return torch.tensor(np.ascontiguousarray(a), dtype=torch.float32, requires_grad=grad)


# -------------------------------------------------------------------------------------------
# 1. The DQN update
# -------------------------------------------------------------------------------------------
class TorchQ:
    """The 2013 DQN in PyTorch, holding the same numbers as our parameter views."""

    def __init__(self, p):
        self.w1, self.b1, self.w2, self.b2 = T(p["w1"]), T(p["b1"]), T(p["w2"]), T(p["b2"])
        self.w3, self.b3 = T(fc_from_features(p["w3"])), T(p["b3"])
        self.w4, self.b4 = T(p["w4"].T), T(p["b4"])
        self.params = [self.w1, self.b1, self.w2, self.b2, self.w3, self.b3, self.w4, self.b4]

    def __call__(self, x):                                 # x (B, 4, 84, 84) float in [0, 1]
        h = F.relu(F.conv2d(x, self.w1, self.b1, stride=4))
        h = F.relu(F.conv2d(h, self.w2, self.b2, stride=2))
        h = F.relu(F.linear(h.flatten(1), self.w3, self.b3))
        return F.linear(h, self.w4, self.b4)

    def grads_in_our_layout(self):
        g = [t.grad.numpy() for t in self.params]
        return dict(w1=g[0], b1=g[1], w2=g[2], b2=g[3], w3=fc_to_features(g[4]), b3=g[5], w4=g[6].T, b4=g[7])


def bench_dqn(seconds, warmup=DQN_WARMUP):
    print("\n[1] DQN training update: batch 32 from replay, online forward + backward, target forward, Adam")
    cfg, agent, rng = dqn_case()
    agent.target_flat[...] = agent.flat + 0.01 * rng.standard_normal(agent.flat.size).astype(np.float32)

    # correctness: one batch, both implementations, loss and gradients
    s, a, ret, disc, s2 = agent.replay.sample(np.random.default_rng(5), 32, cfg.n_step, cfg.gamma)
    q2, _ = dqn.q_forward(agent.target, dqn.stacks_to_input(s2))
    y = ret + disc * q2.max(axis=1)
    q, cache = dqn.q_forward(agent.p, dqn.stacks_to_input(s))
    rows = np.arange(32)
    loss, err = layers.huber_forward(q[rows, a], y)
    dq = np.zeros_like(q)
    dq[rows, a] = layers.huber_backward(err)
    dqn.q_backward(dq, cache, agent.g)
    online, target = TorchQ(agent.p), TorchQ(agent.target)
    with torch.no_grad():
        ty = torch.from_numpy(ret) + torch.from_numpy(disc) * target(torch.from_numpy(s2).float() / 255).max(1).values
    tq = online(torch.from_numpy(s).float() / 255).gather(1, torch.from_numpy(a)[:, None])[:, 0]
    tloss = F.smooth_l1_loss(tq, ty)                      # Huber with delta 1, mean over the batch
    tloss.backward()
    errors = {"loss": rel_err(loss, tloss.item())}
    errors |= {k: rel_err(agent.g[k], v) for k, v in online.grads_in_our_layout().items()}
    ok = report_check("DQN", errors)

    # speed: ours is Agent.update; theirs samples from the same replay, then the same work in torch
    opt = torch.optim.Adam(online.params, lr=cfg.lr, eps=cfg.adam_eps)
    trng = np.random.default_rng(6)

    def torch_update():
        s, a, ret, disc, s2 = agent.replay.sample(trng, 32, cfg.n_step, cfg.gamma)
        with torch.no_grad():
            q2 = target(torch.from_numpy(s2).float() / 255).max(1).values
            yy = torch.from_numpy(ret) + torch.from_numpy(disc) * q2
        qq = online(torch.from_numpy(s).float() / 255).gather(1, torch.from_numpy(a)[:, None])[:, 0]
        opt.zero_grad(set_to_none=True)
        F.smooth_l1_loss(qq, yy).backward()
        opt.step()

    # Steady state, as in training: after `warmup` updates a dead unit's Adam moments have decayed
    # towards float32's subnormal range, where an Intel core is ~100x slower (layers.adam_step).
    for _ in toolbox.progress(range(warmup), desc="  warm-up updates, both sides", leave=False):
        agent.update()
        torch_update()
    r = paired(agent.update, torch_update, 2 * seconds)
    torch.set_flush_denormal(True)                        # what a PyTorch user can set against subnormals
    theirs_ftz = timed(torch_update, seconds)
    torch.set_flush_denormal(False)
    print(f"  after {warmup} updates, {r['rounds']} interleaved rounds: ours {1e3 * r['ours_s']:6.2f} ms   PyTorch "
          f"{1e3 * r['theirs_s']:6.2f} ms   ratio {r['ratio']:4.2f}x [{r['ratio_min']:.2f}, {r['ratio_max']:.2f}] "
          f"(median and range over rounds; above 1: ours is faster); PyTorch with set_flush_denormal(True) "
          f"{1e3 * theirs_ftz:6.2f} ms")
    return dict(warmup_updates=warmup, ours_ms=1e3 * r["ours_s"], torch_ms=1e3 * r["theirs_s"], ratio=r["ratio"],
                ratio_min=r["ratio_min"], ratio_max=r["ratio_max"], rounds=r["rounds"],
                torch_flush_denormal_ms=1e3 * theirs_ftz, correct=ok, errors=errors)


# -------------------------------------------------------------------------------------------
# 2. The transformer training step (and 3. with the imitator's conv encoder in front)
# -------------------------------------------------------------------------------------------
class TorchGPT:
    """transformer.py's model in PyTorch ops, reading the same parameter views."""

    def __init__(self, p, cfg):
        self.cfg = cfg
        self.t = {k: T(v) for k, v in p.items()}

    def __call__(self, x):                                 # x (B, T, C) -> (B, T, V)
        t, cfg = self.t, self.cfg
        B, Tn, C = x.shape
        NH, hs = cfg.n_head, C // cfg.n_head
        h = x + t["wpe"][:Tn]
        for l in range(cfg.n_layer):
            a = F.layer_norm(h, (C,), t[f"h{l}.ln1_g"], t[f"h{l}.ln1_b"], eps=1e-5)
            q, k, v = (a @ t[f"h{l}.w_qkv"] + t[f"h{l}.b_qkv"]).view(B, Tn, 3, NH, hs).permute(2, 0, 3, 1, 4)
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)        # (B, NH, T, hs)
            h = h + y.transpose(1, 2).reshape(B, Tn, C) @ t[f"h{l}.w_o"] + t[f"h{l}.b_o"]
            m = F.layer_norm(h, (C,), t[f"h{l}.ln2_g"], t[f"h{l}.ln2_b"], eps=1e-5)
            f = F.gelu(m @ t[f"h{l}.w_fc"] + t[f"h{l}.b_fc"], approximate="tanh")
            h = h + f @ t[f"h{l}.w_fc2"] + t[f"h{l}.b_fc2"]
        hf = F.layer_norm(h, (C,), t["lnf_g"], t["lnf_b"], eps=1e-5)
        return hf @ t["w_head"] + t["b_head"]

    def adamw(self, lr=1e-4, wd=0.1):
        decay = [v for v in self.t.values() if v.ndim >= 2]
        no_decay = [v for v in self.t.values() if v.ndim < 2]
        return torch.optim.AdamW([dict(params=decay, weight_decay=wd), dict(params=no_decay, weight_decay=0.0)],
                                 lr=lr, betas=(0.9, 0.95), eps=1e-8)


def bench_transformer(seconds):
    print("\n[2] transformer training step: d_model 128, 4 layers, 4 heads, context 512, batch 8 "
          "(forward, backward, clipping, AdamW)")
    cfg, shapes, flat, p, grad, g, x, y = transformer_case()
    (B, Tn), rng = x.shape[:2], np.random.default_rng(1)
    for name, arr in p.items():                           # non-trivial biases and gains for the check
        if arr.ndim == 1:
            arr += rng.normal(0, 0.1, arr.shape).astype(np.float32)

    out, cache = transformer.transformer_forward(p, x, cfg)
    loss, cc = layers.cross_entropy_forward(out.reshape(-1, cfg.n_out), y)
    transformer.transformer_backward(layers.cross_entropy_backward(cc).reshape(out.shape), cache, g, cfg)
    model = TorchGPT(p, cfg)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    tloss = F.cross_entropy(model(tx).reshape(-1, cfg.n_out), ty)
    tloss.backward()
    errors = {"loss": rel_err(loss, tloss.item())}
    errors |= {k: rel_err(g[k], v.grad.numpy()) for k, v in model.t.items() if k in ("wpe", "h0.w_qkv", "h0.ln1_g",
                                                                                       "h3.w_fc", "h3.b_fc2", "w_head")}
    errors["all"] = rel_err(grad, np.concatenate([model.t[k].grad.numpy().reshape(-1) for k, _ in shapes]))
    ok = report_check("transformer", errors)

    opt = transformer.AdamW(flat, shapes)
    topt = model.adamw()

    ours_step = lambda: transformer_step(cfg, flat, p, grad, g, opt, x, y)

    def torch_step():
        topt.zero_grad(set_to_none=True)
        F.cross_entropy(model(tx).reshape(-1, cfg.n_out), ty).backward()
        torch.nn.utils.clip_grad_norm_(list(model.t.values()), 1.0)
        topt.step()

    r = paired(ours_step, torch_step, 2 * seconds)
    ours, theirs = r["ours_s"], r["theirs_s"]
    n = B * Tn
    print(f"  ours {n / ours:7.0f} tokens/s   PyTorch {n / theirs:7.0f} tokens/s   ratio {r['ratio']:4.2f}x "
          f"[{r['ratio_min']:.2f}, {r['ratio_max']:.2f}] over {r['rounds']} interleaved rounds "
          f"(above 1: ours is faster)")
    return dict(ours_tokens_s=n / ours, torch_tokens_s=n / theirs, ratio=r["ratio"], ratio_min=r["ratio_min"],
                ratio_max=r["ratio_max"], rounds=r["rounds"], correct=ok, errors=errors)


def kink_check(p, stacks, rng):
    """Our conv encoder's float32 gradient against float64 at the same ReLU kinks.

    A ReLU's gradient jumps at 0. A unit whose pre-activation is within rounding of 0 (measured: one
    of 5.3 million, at 7e-9 where its typical value is 0.1) can sit on one side in float32 and on
    the other in float64; that one unit then moves a conv weight's gradient by a whole term,
    ~3e-3 of it for a random upstream gradient. So the referee here is float64 arithmetic on
    float32's activations (public encode/encode_backward; the cache is (stacks, h1, features)):
    it isolates the backward's own rounding. Returns (units across the kink, {w1, w2: distance})."""
    p64 = {k: p[k].astype(np.float64) for k in imitate.TORSO}
    f32, c32 = imitate.encode(p, stacks)
    f64, c64 = imitate.encode(p64, stacks)
    crossings = int(((c32[1] > 0) != (c64[1] > 0)).sum() + ((f32 > 0) != (f64 > 0)).sum())
    dfeat = rng.standard_normal(f32.shape) * 1e-4
    g32 = {k: np.zeros_like(p[k]) for k in imitate.TORSO}
    imitate.encode_backward(dfeat.astype(np.float32), c32, p, g32)
    g64 = {k: np.zeros_like(p64[k]) for k in imitate.TORSO}
    imitate.encode_backward(dfeat, (c32[0],) + tuple(a.astype(np.float64) for a in c32[1:]), p64, g64)
    return crossings, {k: rel_err(g32[k], g64[k]) for k in ("w1", "w2")}


def bench_imitator(seconds):
    c = imitate.ImitateConfig()
    print(f"\n[3] imitator training step: conv encoder over {c.batch * c.context} frame stacks + the transformer "
          f"(batch {c.batch} x context {c.context})")
    tcfg, rng = imitate.tcfg_of(c), np.random.default_rng(0)
    flat, shapes = imitate.init_imitator(tcfg, rng)
    grad = np.zeros_like(flat)
    p, g = toolbox.param_views(flat, shapes), toolbox.param_views(grad, shapes)
    B, K = c.batch, c.context
    stacks = rng.integers(0, 256, (B * K, 4, 84, 84), dtype=np.uint8)
    pa, pr, y = rng.integers(0, 5, (B, K)), rng.integers(0, 3, (B, K)), rng.integers(0, 4, (B, K))

    logits, cache = imitate.imitator_forward(p, stacks, pa, pr, tcfg)
    loss, cc = layers.cross_entropy_forward(logits.reshape(-1, dqn.N_ACTIONS), y.reshape(-1))
    imitate.imitator_backward(layers.cross_entropy_backward(cc).reshape(logits.shape), cache, g, tcfg)

    gpt = TorchGPT({k: v for k, v in p.items() if k not in ("w1", "b1", "w2", "b2", "w_obs", "e_act", "e_rew",
                                                           "b_obs")}, tcfg)
    enc = dict(w1=T(p["w1"]), b1=T(p["b1"]), w2=T(p["w2"]), b2=T(p["b2"]), w_obs=T(fc_from_features(p["w_obs"])),
               b_obs=T(p["b_obs"]), e_act=T(p["e_act"]), e_rew=T(p["e_rew"]))
    ts, tpa, tpr, ty = (torch.from_numpy(a) for a in (stacks, pa, pr, y.reshape(-1)))

    def torch_loss():
        h = F.relu(F.conv2d(ts.float() / 255, enc["w1"], enc["b1"], stride=4))
        h = F.relu(F.conv2d(h, enc["w2"], enc["b2"], stride=2))
        x = F.linear(h.flatten(1), enc["w_obs"], enc["b_obs"]).view(B, K, -1) + enc["e_act"][tpa] + enc["e_rew"][tpr]
        return F.cross_entropy(gpt(x).reshape(-1, dqn.N_ACTIONS), ty)

    tloss = torch_loss()
    tloss.backward()
    torch_g = dict(w1=enc["w1"].grad.numpy(), w2=enc["w2"].grad.numpy(), w_obs=fc_to_features(enc["w_obs"].grad.numpy()),
                   e_act=enc["e_act"].grad.numpy(), **{"h0.w_qkv": gpt.t["h0.w_qkv"].grad.numpy()})
    errors = {"loss": rel_err(loss, tloss.item())} | {k: rel_err(g[k], v) for k, v in torch_g.items()}
    # The first conv's gradient sums 4096 x 400 float32 products, so both float32 results carry
    # rounding error of ~1e-3 there. Referee: our same code in float64 (checked by the finite-
    # difference tests). Ours passes if it is no further from it than PyTorch is, or within 1e-4.
    flat64 = flat.astype(np.float64)
    g64 = toolbox.param_views(np.zeros_like(flat64), shapes)
    logits64, cache64 = imitate.imitator_forward(toolbox.param_views(flat64, shapes), stacks, pa, pr, tcfg)
    _, cc64 = layers.cross_entropy_forward(logits64.reshape(-1, dqn.N_ACTIONS), y.reshape(-1))
    imitate.imitator_backward(layers.cross_entropy_backward(cc64).reshape(logits64.shape), cache64, g64, tcfg)
    ours64 = {k: rel_err(g[k], g64[k]) for k in torch_g}
    theirs64 = {k: rel_err(v, g64[k]) for k, v in torch_g.items()}
    print("  distance from float64: ours " + ", ".join(f"{k} {v:.0e}" for k, v in ours64.items())
          + "; PyTorch " + ", ".join(f"{k} {v:.0e}" for k, v in theirs64.items()))
    ok = report_check("imitator", errors, tol=max(1e-3, 2 * max(theirs64.values())))
    crossings, same_kinks = kink_check(p, stacks, rng)
    print(f"  ReLU units on the other side of 0 in float32 than in float64: {crossings}; with float32's kinks, "
          f"ours is " + ", ".join(f"{k} {v:.0e}" for k, v in same_kinks.items()) + " from float64")
    close = all(ours64[k] <= max(1e-4, 1.5 * theirs64[k]) for k in ours64)
    ok = ok and (close or (crossings > 0 and max(same_kinks.values()) <= 1e-5))

    opt = transformer.AdamW(flat, shapes)
    allt = list(enc.values()) + list(gpt.t.values())
    topt = torch.optim.AdamW(allt, lr=1e-4, betas=(0.9, 0.95))

    def torch_step():
        topt.zero_grad(set_to_none=True)
        torch_loss().backward()
        torch.nn.utils.clip_grad_norm_(allt, 1.0)
        topt.step()

    r = paired(lambda: imitate.train_step(p, g, flat, grad, opt, (stacks, pa, pr, y, None), tcfg, 1.0, 1e-4), torch_step,
               2 * seconds)
    ours, theirs = r["ours_s"], r["theirs_s"]
    n = B * K
    print(f"  ours {n / ours:7.0f} tokens/s   PyTorch {n / theirs:7.0f} tokens/s   ratio {r['ratio']:4.2f}x "
          f"[{r['ratio_min']:.2f}, {r['ratio_max']:.2f}] over {r['rounds']} interleaved rounds "
          f"(above 1: ours is faster)")
    return dict(ours_tokens_s=n / ours, torch_tokens_s=n / theirs, ratio=r["ratio"], ratio_min=r["ratio_min"],
                ratio_max=r["ratio_max"], rounds=r["rounds"], correct=ok, errors=errors)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="Our NumPy code against PyTorch: correctness, then speed, in one run.")
    ap.add_argument("--seconds", type=float, default=15.0, help="time spent timing each side of each piece")
    ap.add_argument("--only", default="dqn,transformer,imitator", help="comma-separated: dqn, transformer, imitator")
    ap.add_argument("--json", default="", help="also write every figure to this JSON file; \"auto\": "
                                               "results/bench_<cpu>.json, one file per kind of CPU met")
    ap.add_argument("--torch_threads", type=int, default=2, help="PyTorch's threads (torch.set_num_threads)")
    ap.add_argument("--dqn_warmup", type=int, default=DQN_WARMUP,
                    help="DQN updates each side makes before timing: training's steady state, not its first steps")
    a = ap.parse_args()
    pieces = {"dqn": lambda sec: bench_dqn(sec, a.dqn_warmup), "transformer": bench_transformer,
              "imitator": bench_imitator}
    wanted = [w.strip() for w in a.only.split(",") if w.strip()]
    bad = [w for w in wanted if w not in pieces]
    if bad:
        raise SystemExit(f"--only: unknown {bad}; valid: {', '.join(pieces)}")
    torch.set_num_threads(a.torch_threads)
    toolbox.keep_freed_memory()                    # as our training scripts do (it applies to both libraries)
    print(f"CPU: {toolbox.cpu_name()} ({os.cpu_count()} cores, {toolbox.cpu_flags()}); numpy {np.__version__}, "
          f"torch {torch.__version__} ({torch.get_num_threads()} threads)")
    results = dict(cpu=toolbox.cpu_info(), numpy=np.__version__, torch=torch.__version__,
                   threads=threads() | dict(torch=torch.get_num_threads()))
    for w in wanted:
        results[w] = pieces[w](a.seconds)
    if a.json:
        toolbox.write_json(bench_file(results["cpu"], "bench", "" if a.torch_threads == 2 else f"_torch{a.torch_threads}") if a.json == "auto" else a.json, results)
    bad = [w for w in wanted if not results[w]["correct"]]
    if bad:
        raise SystemExit(f"correctness check failed for: {', '.join(bad)}")
