"""power.py: can the verdict's rules say "no"? Their power, on synthetic arms of the real size.

Page 5+, an appendix to verdict.py. A rule that reads "no" to every curve tells us nothing, and
so does one that cannot say "no" to a level one. Before a long arm is played, each trend reading
of the table (question 2 "keeps improving", question 3 "learns", the swapped-controls "adapts") is
tried here on made-up arms whose answer we know, of the size and spread of the arms it will read:

  level       the imitator does not improve at all             the rule must read "no"  >= 90%
  at the bar  it improves at exactly the bar (half the teacher)  "yes" <= 10% (and "no" <= 10%)
  keeps up    it improves at the teacher's own slope             the rule must read "yes" >= 90%
  teacher flat  the teacher does not learn: its own reading      "yes" <= 10%

The arms' size and spread are measured from the committed arms (results/arms/*.json): games per
arm, the teacher's slope, and each game's deviation from its neighbours' mean. Those deviations
are the noise of the synthetic arms, drawn in blocks of consecutive games from the real ones, so
the synthetic arms have the real arms' skew (a few long Breakout games score 300) and whatever
correlation neighbouring games have; a stress test adds Gaussian noise of the same spread with a
neighbour correlation of 0.5 (the real arms measure |rho| < 0.07).

    python power.py                  # every reading, 300 synthetic pairs of arms per cell (~6 min, one core)
    python power.py --sims 50        # a quick look (~1 min)

writes results/power.json (every rate, the measured sizes, the command, the CPU) and prints the table.
"""
from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass

import numpy as np

import toolbox
import verdict


@dataclass
class PowerConfig:
    arms: str = "results/arms"        # the committed arms whose size and spread the synthetic ones copy
    sims: int = 300                   # synthetic pairs of arms (teacher, imitator) per cell of the table
    seed: int = 0                     # seeds the synthetic arms and the rules' bootstraps
    out: str = "results/power.json"   # where the rates go ("" = only print them)


# Each trend reading of the table: its teacher arm, the imitator arms whose games give the noise and
# the game length (seeds pooled), and the arm's length in agent steps (verdict.py's scale). Question 2
# reads later_imitator_held, the imitator playing on with its stage held at the end of its history:
# its noise is that of the arms that play that same policy, 100 games each (stage_x1, told the end;
# now_imitator_empty, which is told the end by default), not later_imitator's, whose stage moves on.
SEEDS = ("", "@seed1", "@seed2")
READINGS = dict(later=("later_teacher", tuple(a + k for a in ("stage_x1", "now_imitator_empty") for k in SEEDS), "steps"),
                elsewhere=("elsewhere_teacher", ("elsewhere_imitator", "elsewhere_imitator@seed1",
                                                 "elsewhere_imitator@seed2"), "steps"),
                swap=("swap_teacher", ("swap_imitator", "swap_imitator@seed1", "swap_imitator@seed2"), "control_steps"))
ARM_STEPS = dict(steps=1_000_000, control_steps=250_000)
NEIGHBOURS = 51                       # a game's noise: its score minus the mean of the 51 games around it


# -------------------------------------------------------------------------------------------
# The real arms: size, slope and noise
# -------------------------------------------------------------------------------------------
def load_games(folder, name):
    """(steps, scores, lengths) of a committed arm."""
    d = toolbox.read_json(os.path.join(folder, f"{name}.json"))
    if d is None:
        raise SystemExit(f"--arms {folder}: no {name}.json (power.py measures the committed arms)")
    g = np.array([x[:3] for x in d["games"]], float)                     # (n, 3): end step, score, length
    return g[:, 0], g[:, 1], g[:, 2]


def local_noise(scores, k=NEIGHBOURS):
    """Each game's score minus the mean of the k games centred on it (the arm's trend, whatever its
    shape, taken out); the k // 2 games at each end, which have no full neighbourhood, are dropped.
    An arm of fewer than 4k games (a 100-game arm, which has no trend to take out): minus its mean."""
    if len(scores) < 4 * k:
        return scores - scores.mean()
    m = np.convolve(scores, np.ones(k) / k, "same")
    return (scores - m)[k // 2: len(scores) - k // 2]


def measure(folder, teacher, imitators, total):
    """The real arms' size, the teacher's slope and the noise of each side; the imitator's games per
    arm are total agent steps over its arms' mean game length."""
    ts, ty, _ = load_games(folder, teacher)
    im = [load_games(folder, n) for n in imitators]
    noise = [local_noise(y) for _, y, _ in im]
    lag1 = lambda r: float(np.corrcoef(r[:-1], r[1:])[0, 1])
    return dict(teacher_games=len(ty), teacher_slope=verdict.slope(ts, ty), teacher_noise=local_noise(ty),
                imitator_games=int(round(total / np.concatenate([n for _, _, n in im]).mean())),
                imitator_noise=np.concatenate(noise), imitator_arms=list(imitators),
                teacher_sd=float(local_noise(ty).std()), imitator_sd=float(np.concatenate(noise).std()),
                teacher_rho=lag1(local_noise(ty)), imitator_rho=float(np.mean([lag1(r) for r in noise])))


# -------------------------------------------------------------------------------------------
# Synthetic arms of known slope
# -------------------------------------------------------------------------------------------
def block_draw(pool, n, rng):
    """n values of the real noise, in blocks of consecutive games (block length sqrt(n)) from random
    places of the pool, so that neighbours stay neighbours."""
    b = int(np.ceil(np.sqrt(n)))
    starts = rng.integers(0, len(pool) - b + 1, int(np.ceil(n / b)))
    return pool[(starts[:, None] + np.arange(b)).ravel()[:n]]


def ar1(n, sd, rho, rng):
    """Gaussian noise of spread sd whose neighbours correlate by rho."""
    e = rng.normal(0, sd * np.sqrt(1 - rho ** 2), n)
    e[0] = rng.normal(0, sd)
    for i in range(1, n):
        e[i] += rho * e[i - 1]
    return e


def synthetic_arm(n_games, total, slope_per_100k, noise):
    """An arm of n_games games spread evenly over total agent steps, its true score rising by
    slope_per_100k per 100k steps, plus the noise given (one value per game)."""
    steps = np.linspace(total / n_games, total, n_games)                 # (n,) each game's last step
    return steps, slope_per_100k * steps / 1e5 + noise


# -------------------------------------------------------------------------------------------
# The readings tried: each takes a teacher arm and an imitator arm and returns a reading
# -------------------------------------------------------------------------------------------
def comparative_rule(share):
    """verdict.py's trend readings: the teacher's own trend, the imitator's slope against `share`
    of the teacher's (verdict.against_teacher; verdict.BAR_SHARE is the table's)."""
    def rule(key, teacher, imitator, total, rng):
        t = verdict.slope_reading(*teacher, rng)
        i = verdict.against_teacher(*imitator, *teacher, rng, share=share)
        return t["reading"], i["reading"]
    return rule


# The rules tried, by the share of the teacher's slope that is the imitator's bar: the table's
# (verdict.BAR_SHARE), and a lower bar, which needs more games to tell a level imitator from one at it.
BAR_SHARES = (verdict.BAR_SHARE, 0.25)


# -------------------------------------------------------------------------------------------
# The simulation
# -------------------------------------------------------------------------------------------
def scenarios(m, share):
    """name -> (teacher's true slope, imitator's true slope, which reading is scored, what is wanted):
    the imitator's bar is `share` of the teacher's slope."""
    T = m["teacher_slope"]
    return dict(level=(T, 0.0, "imitator", "no"), at_bar=(T, share * T, "imitator", "yes"),
                keeps_up=(T, T, "imitator", "yes"), teacher_flat=(0.0, 0.0, "teacher", "yes"))


def rates(rule, key, m, total, sims, rng, share, noise="real", rho=0.5):
    """For each scenario, the share of `sims` synthetic pairs read "yes" and "no" (the rest: "too short
    to tell")."""
    out = {}
    for name, (t_slope, i_slope, side, _) in scenarios(m, share).items():
        counts = dict(yes=0, no=0)
        for _ in range(sims):
            if noise == "real":
                tn = block_draw(m["teacher_noise"], m["teacher_games"], rng)
                inoise = block_draw(m["imitator_noise"], m["imitator_games"], rng)
            else:                                                           # the stress test
                tn = ar1(m["teacher_games"], m["teacher_sd"], rho, rng)
                inoise = ar1(m["imitator_games"], m["imitator_sd"], rho, rng)
            teacher = synthetic_arm(m["teacher_games"], total, t_slope, tn)
            imitator = synthetic_arm(m["imitator_games"], total, i_slope, inoise)
            rd = rule(key, teacher, imitator, total, rng)[0 if side == "teacher" else 1]
            if rd in counts:
                counts[rd] += 1
        out[name] = dict(yes=counts["yes"] / sims, no=counts["no"] / sims)
    return out


def passes(r):
    """The targets a rule must meet before it reads a real arm."""
    return bool(r["level"]["no"] >= 0.9 and r["keeps_up"]["yes"] >= 0.9 and r["at_bar"]["yes"] <= 0.1
                and r["teacher_flat"]["yes"] <= 0.1)


def main(c: PowerConfig):
    toolbox.check_positive(c, ("sims",))
    rng = np.random.default_rng(c.seed)
    t0 = time.time()
    R = dict(command=f"python power.py --sims {c.sims} --seed {c.seed}", cpu=toolbox.cpu_name(), sims=c.sims,
             readings={})
    for key, (teacher, imitators, unit) in READINGS.items():
        m = measure(c.arms, teacher, imitators, ARM_STEPS[unit])
        sizes = {k: v for k, v in m.items() if not k.endswith("noise")}
        R["readings"][key] = dict(measured=sizes, rules={})
        for share in BAR_SHARES:
            rname, rule = f"bar {share:g}", comparative_rule(share)
            real = rates(rule, key, m, ARM_STEPS[unit], c.sims, rng, share)
            stress = rates(rule, key, m, ARM_STEPS[unit], c.sims, rng, share, noise="ar1")
            R["readings"][key]["rules"][rname] = dict(real_noise=real, ar1_rho_0_5=stress, passes=passes(real),
                                                      passes_stress=passes(stress))
            print(f"{key:9s} {rname:10s} " + "  ".join(
                f"{s}: yes {v['yes']:.0%} no {v['no']:.0%}" for s, v in real.items()) +
                f"  | rho 0.5: level no {stress['level']['no']:.0%}, keeps up yes {stress['keeps_up']['yes']:.0%}"
                f" -> {'passes' if passes(real) else 'FAILS'}", flush=True)
    R["seconds"] = round(time.time() - t0, 1)
    if c.out:
        toolbox.write_json(c.out, R)
        print(f"wrote {c.out} ({R['seconds']:.0f} s, {R['cpu']})")
    return R


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="The verdict's trend rules on synthetic arms of the real size: "
                                             "how often each reads right.")
    toolbox.add_config_flags(ap, PowerConfig)
    main(toolbox.config_from_args(PowerConfig, ap.parse_args()))
