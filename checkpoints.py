"""checkpoints.py: runs that stop and go on, exactly as if they never stopped. An appendix page.

record.py's run can be interrupted anywhere (Ctrl-C, kill, a power cut, the end of a session);
the same command then resumes it from the last checkpoint. This page is how, so that record.py
can keep to its loop:

  - a checkpoint every 50k steps (the teacher's weights, target net, Adam state, counters, RNG),
    written after the history chunk it needs, so the history always reaches the checkpoint
  - on resume, the history and curve are cut back to the checkpoint (cut_history, cut_curve): no
    step is lost or recorded twice
  - the replay memory is rebuilt from the history's newest steps (refill_replay)
  - an emulator's mid-game state cannot be saved, so the game in progress is rebuilt: the emulator
    is reset with the seed its segment started with and every recorded move replayed, each frame
    checked against the history (fast_forward; about 1,100 steps/s). If a frame differs (another
    ale-py), a fresh game starts there and history.json's segments say so
  - a run's identity (config.json: game, settings, where it started from) is checked on resume:
    other settings are refused, another machine's kernels are said (claim_run); --same_as stops a
    run at its first game that differs from a reference curve (check_same_game)
  - sessions.json: which command recorded which stretch, when, how long, on which CPU
  - the teacher's checkpoint files themselves (save_agent, load_agent, load_checkpoint): .npz for
    arrays, JSON for everything else, no pickle anywhere
  - the imitator's training checkpoints the same way (save_training, resume_training): a checkpoint
    made with other settings is refused, naming them
"""
from __future__ import annotations

import csv
import dataclasses
import glob
import json
import os
import sys
import time

import numpy as np
from tqdm import tqdm

from dqn import N_ACTIONS, env_step, new_game, param_shapes
from history_io import HistoryError, history_index, history_segments, read_chunk, read_history, write_chunk, \
    write_history_meta
import toolbox


def save_agent(agent, path):
    """Write path.npz (weights, target, Adam moments) and path.json (counters, RNG, config) of a dqn.Agent."""
    toolbox.save_npz(path + ".npz", params=agent.flat, target=agent.target_flat, adam_m=agent.m, adam_v=agent.v)
    meta = dict(steps=agent.steps, updates=agent.updates, n_actions=agent.n_actions,
                n_params=int(agent.flat.size), network="dqn2013",
                rng=agent.rng.bit_generator.state, config=dataclasses.asdict(agent.cfg))
    toolbox.write_json(path + ".json", meta)


def load_agent(agent, path, weights_only=False):
    """Load a checkpoint written by save_agent into agent; weights_only keeps its counters and optimizer."""
    meta, arrays = load_checkpoint(path, agent.n_actions)
    agent.flat[...] = arrays["params"]
    if weights_only:
        agent.target_flat[...] = arrays["params"]
        return meta
    agent.target_flat[...] = arrays["target"]
    agent.m[...], agent.v[...] = arrays["adam_m"], arrays["adam_v"]
    agent.steps, agent.updates = meta["steps"], meta["updates"]
    agent.rng.bit_generator.state = meta["rng"]
    return meta


def load_checkpoint(path, n_actions=N_ACTIONS):
    """Read and check a teacher checkpoint: (meta, arrays); a wrong network or action count names the file."""
    try:
        with open(path + ".json") as f:
            meta = json.load(f)
        with np.load(path + ".npz", allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError) as e:
        raise ValueError(f"cannot read teacher checkpoint {path}(.npz/.json): {e}") from e
    expect = toolbox.n_params(param_shapes(n_actions))
    if meta.get("network") != "dqn2013" or meta.get("n_actions") != n_actions \
            or arrays.get("params", np.empty(0)).shape != (expect,):
        raise ValueError(f"{path}.npz is not a 2013-DQN checkpoint with {n_actions} actions "
                         f"(network={meta.get('network')}, n_actions={meta.get('n_actions')})")
    return meta, arrays


def checkpoint_name(run_dir, step):
    return os.path.join(run_dir, "checkpoints", f"step_{step:010d}")


def list_checkpoints(run_dir):
    """Steps with a complete checkpoint (both files present), ascending."""
    steps = []
    for p in glob.glob(os.path.join(run_dir, "checkpoints", "step_*.json")):
        if os.path.exists(p[:-5] + ".npz"):
            steps.append(int(os.path.basename(p)[5:-5]))
    return sorted(steps)


def cut_history(run_dir, game, step, seed):
    """Keep exactly the history steps [0, step); drop or shorten chunks after that, and the segments
    that start at or after it. Returns (chunks, segments)."""
    segments = [s for s in history_segments(run_dir, seed) if s[0] < step]
    try:
        index = history_index(run_dir)
    except HistoryError:
        index = []
    kept = []
    for c0, n, path in index:
        if c0 + n <= step:
            kept.append([c0, n])
        elif c0 < step:                                    # a chunk that straddles the cut
            cols = read_chunk(path, c0)
            write_chunk(run_dir, c0, {k: v[:step - c0] for k, v in cols.items()})
            kept.append([c0, step - c0])
    for p in glob.glob(os.path.join(run_dir, "history", "chunk_*.npz")):
        if int(os.path.basename(p)[6:16]) not in {c0 for c0, _ in kept}:
            os.remove(p)
    if sum(n for _, n in kept) != step:
        raise HistoryError(f"{run_dir}: history holds {sum(n for _, n in kept)} steps "
                           f"but the checkpoint is at step {step}")
    write_history_meta(run_dir, game, kept, segments)
    return kept, segments


def cut_curve(run_dir, step):
    """Keep the games that finished before the cut; return their rows."""
    path = os.path.join(run_dir, "curve.csv")
    rows = []
    if os.path.exists(path):
        with open(path) as f:
            rows = [r for r in csv.DictReader(f) if int(r["step"]) <= step]
    with open(path + ".tmp", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["step", "episode", "score", "length"])
        w.writerows([[r["step"], r["episode"], r["score"], r["length"]] for r in rows])
    os.replace(path + ".tmp", path)
    return rows


# What a run's config.json says of the machine that started it: not part of what the run is, but
# a resume elsewhere that changes one of them goes on as another run would (claim_run says so).
MACHINE = ("cpu_vectors", "numerics", "libraries")


def same_run(old, new):
    """Do two run identities (config.json) describe the same run? A frozen teacher never learns, so
    its replay size is not part of what it is; a run may be asked for more steps (learning on)."""
    if new.get("frozen"):
        old, new = ({**d, "dqn": {**d.get("dqn", {}), "replay_capacity": 0}} for d in (old, new))
    what = lambda d: {k: v for k, v in d.items() if k not in ("steps",) + MACHINE}
    return what(old) == what(new)


def starting_point(rc):
    """Where the teacher starts: random weights, another run's final checkpoint ("learning on",
    --init_from), or a checkpoint that only plays (--frozen). Returns (base, init_step): the agent's
    step count at the start (it drives epsilon and when learning starts; a run's own steps are
    agent.steps - base) and the --init_from checkpoint's step."""
    if rc.init_from:
        init_steps = list_checkpoints(rc.init_from)
        if not init_steps:
            raise SystemExit(f"--init_from {rc.init_from}: no teacher checkpoints in {rc.init_from}/checkpoints")
        return load_checkpoint(checkpoint_name(rc.init_from, init_steps[-1]))[0]["steps"], init_steps[-1]
    if rc.frozen:
        return load_checkpoint(rc.frozen)[0]["steps"], 0
    return 0, 0


def claim_run(rc, dc, run_dir, init_step):
    """Write the run's identity (config.json) and the steps it is to reach (the largest --steps
    asked of it: progress() reads whether it is finished); resuming with another game or other
    learning settings is refused."""
    cfg_path = os.path.join(run_dir, "config.json")
    identity = dict(game=rc.game, chunk_steps=rc.chunk_steps, dqn=dataclasses.asdict(dc),
                    init_from=os.path.abspath(rc.init_from) if rc.init_from else "", init_step=init_step)
    if rc.frozen:
        identity |= dict(frozen=os.path.abspath(rc.frozen), frozen_eps=rc.frozen_eps)
    old = toolbox.read_json(cfg_path)
    if old is not None and not same_run(old, identity):
        raise SystemExit(f"{run_dir} holds a run with other settings ({cfg_path}); use another --out or the same flags")
    identity["steps"] = max(rc.steps, old.get("steps", 0) if old else 0)
    # the kernels' vector width, whether they were pinned, and the libraries' versions decide the
    # order of float sums: with native kernels the same run is bit for bit the same on CPUs of one
    # width (AVX-512: an AMD EPYC Zen 4 and an Intel Xeon gave one teacher), not across widths (an
    # AVX2 Zen 1 parts from it after 28k steps); pinned (--numerics portable), on any AVX2 CPU
    here = dict(cpu_vectors=toolbox.kernel_width(), numerics=toolbox.numerics(),
                libraries=toolbox.library_versions())
    for k, v in here.items():
        identity[k] = (old or {}).get(k) or v              # what the run started with (an older run: now)
        if identity[k] != v:
            print(f"{run_dir}: started with {k} {identity[k]}, resumed with {v}: from here on, not bit for "
                  f"bit the run one machine would record")
    toolbox.write_json(cfg_path, identity)


def resume_agent(rc, agent, run_dir, resumed, start, base, init_step):
    """Load the agent the run goes on from (its own checkpoint at start if resumed, else the
    --init_from teacher or the frozen one), cut the history and curve back to that checkpoint,
    refill the replay from the history. Returns the history's chunks and segments, and the curve's rows."""
    if resumed:
        load_agent(agent, checkpoint_name(run_dir, start))
    elif rc.init_from:
        load_agent(agent, checkpoint_name(rc.init_from, init_step))
    elif rc.frozen:
        load_agent(agent, rc.frozen, weights_only=True)              # its weights; a fresh optimizer state,
        agent.steps = base                                     # but its step count: a later learner goes on from it
    (chunks, segments), rows = cut_history(run_dir, rc.game, start, agent.cfg.seed), cut_curve(run_dir, start)
    if not rc.frozen:
        refill_replay(agent, ([(rc.init_from, init_step)] if rc.init_from else []) + [(run_dir, start)])
    if not resumed:
        save_agent(agent, checkpoint_name(run_dir, 0))            # the teacher as this run starts
    return chunks, segments, rows


def fast_forward(env, run_dir, seg_start, stop, seed):
    """Bring a fresh emulator to where an interrupted run stopped, so that the game in progress goes
    on as if nothing had happened: reset it as the segment's first game was (seed), then replay the
    recorded moves of steps [seg_start, stop), checking every frame against the history. Returns
    (game, score and length so far of the game in progress), or None at the first frame that differs."""
    game, score, length = new_game(env, seed), 0.0, 0
    with toolbox.progress(total=stop - seg_start, desc="replaying the recorded moves", unit="step", leave=False) as bar:
        for lo, cols in read_history(run_dir, seg_start, stop):
            for j in range(len(cols["action"])):
                if game.first != cols["first"][j] or not np.array_equal(game.obs[0, -1], cols["frame"][j]):
                    tqdm.write(f"{run_dir}: replayed step {lo + j} shows another frame than the history's "
                               f"(another emulator?); a fresh game starts at step {stop}", file=sys.stderr)
                    return None
                game, r, term, trunc, _ = env_step(env, game, int(cols["action"][j]))
                score, length = (0.0, 0) if term or trunc else (score + r, length + 1)
            bar.update(len(cols["action"]))
    return game, score, length


def resume_game(env, run_dir, segments, start, seed):
    """The game the run goes on with at step start: the interrupted one, rebuilt by fast_forward, or
    a fresh one (at step 0, or if the replay does not match: a new segment). Returns (game, score,
    length); adds a new segment to segments in place."""
    if segments:
        seg_start, seg_seed = segments[-1]
        resumed = fast_forward(env, run_dir, seg_start, start, seg_seed)
        if resumed is not None:
            return resumed
    segments.append([start, seed + start])             # seeded by the step, so a new segment never
    return new_game(env, seed + start), 0.0, 0         # replays the run's very first game


def curve_game(row):
    """A curve.csv row (a dict) as (step, game, score, length)."""
    return int(row["step"]), int(row["episode"]), float(row["score"]), int(row["length"])


def check_same_game(rc, reference, game):
    """--same_as: stop at the first game that is not the reference curve's game of that number."""
    k = game[1]
    if reference is not None and k < len(reference) and reference[k] != game:
        raise SystemExit(f"--same_as {rc.same_as}: game {k} differs (step, game, score, length: {game} here, "
                         f"{reference[k]} there), so this machine ({toolbox.cpu_name()}, {toolbox.cpu_flags()}) "
                         f"records another run; stopped. The same run is bit for bit the same only with the same "
                         f"kernels: --numerics portable on any AVX2 CPU, native on CPUs of one vector width "
                         f"(results/README.md)")


def log_session(run_dir, previous, first, last, began):
    """Write <run>/sessions.json: the stretches of the record the earlier commands made (previous)
    and this command's so far, steps from and to, its start and end (UTC), minutes and CPU. Written
    at every checkpoint and at the end, so a record made in pieces, on several machines, killed or
    not, says how long each piece took and where."""
    stamp = lambda t: time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(t))
    toolbox.write_json(os.path.join(run_dir, "sessions.json"), previous + [dict(
        steps=[int(first), int(last)], started=stamp(began), ended=stamp(time.time()),
        minutes=round((time.time() - began) / 60, 1), cpu=toolbox.cpu_info())])


def refill_replay(agent, sources):
    """Fill the replay with the newest steps of histories [(run_dir, stop)], given oldest first."""
    need, plan = agent.replay.N, []
    for run, stop in reversed(sources):
        take = min(need, stop)
        plan.insert(0, (run, stop - take, stop))
        need -= take
    for run, a, b in plan:
        for _, cols in toolbox.progress(read_history(run, a, b), desc="rebuilding replay", unit="chunk", leave=False):
            agent.replay.extend(cols["frame"], cols["action"], cols["reward_clip"],
                                cols["terminated"] | cols["truncated"] | cols["life_lost"], cols["first"])


def save_training(ck, c, state, flat, opt, rng):
    """imitate.py's training checkpoint: ck.npz (the weights, AdamW's moments) and ck.json (the
    training state, the RNG, the settings c), read back by resume_training."""
    toolbox.save_npz(ck + ".npz", params=flat, adam_m=opt.m, adam_v=opt.v)
    toolbox.write_json(ck + ".json", state | dict(rng=rng.bit_generator.state, config=dataclasses.asdict(c)))


def resume_training(ck, c, defaults, ignored, flat, opt, rng):
    """The training state saved at ck (.json/.npz) by save_training, loaded into flat, opt (its Adam
    moments and step) and rng; a fresh state if there is none. A checkpoint made with settings other
    than c's (fields of the config dataclass, except those in `ignored`) is refused, naming them;
    a setting the checkpoint predates reads as its value in `defaults`."""
    state = toolbox.read_json(ck + ".json")
    if state is None:
        return dict(step=0, train_loss=[], val_loss=[], seconds=0.0)
    saved = dataclasses.asdict(defaults) | state["config"]
    changed = sorted(k for k, v in dataclasses.asdict(c).items() if k not in ignored and saved[k] != v)
    if changed:
        raise SystemExit(f"{ck}.json was trained with other settings ({', '.join(f'--{k} {saved[k]}' for k in changed)}); "
                         f"use those flags or another --out")
    with np.load(ck + ".npz", allow_pickle=False) as z:
        flat[...], opt.m[...], opt.v[...] = z["params"], z["adam_m"], z["adam_v"]
    opt.t = state["step"]
    rng.bit_generator.state = state["rng"]
    return state
