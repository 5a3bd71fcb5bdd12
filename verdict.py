"""verdict.py: the rules that turn played games into answers.

Page five, second half. evaluate.py plays the arms (who plays, where, for how long); this page
reads their games and says what they show, by rules written down before any result was seen:

  one protocol  every player, teacher or imitator, plays epsilon-greedy at the teacher's final epsilon
  Q1    "plays as well as the teacher": an equivalence test, over enough games that a clone would pass
  Q2, Q3, the swap control  "keeps improving / learns / adapts": an imitator's slope against half the
        teacher's in the same arm (power.py, an appendix, checks that each can say "no" and "yes")
  Q2'   (an imitator told its stage) told a later stage, it plays better
  reward control  "uses reward": zeroing the rewards in its context changes its score

Each rule reads "yes", "no" (the data exclude the effect) or "too short to tell", and an imitator
that fails Q1 (or whose Q1 is too short to tell) reads "not testable" on the rest. The rules
are stated once, in words, by rule_sentences() below (the table's footer prints them), from
the constants that fix them.

Nothing here plays a game or loads a model: every function takes numbers (lists of games, each
[agent step at its end, score, length, move agreement]) and returns numbers or text, so each
rule can be tested on made-up games (tests/test_evaluate.py). evaluate.py calls judge(); the
appendix page table.py writes its numbers as the Markdown table, figures.py draws the plots; to
rebuild both from finished arms without playing: python evaluate.py --only table
"""
from __future__ import annotations

import numpy as np


# -------------------------------------------------------------------------------------------
# Statistics: a mean with its interval, a slope with its interval, and the verdict rules.
# -------------------------------------------------------------------------------------------
def bootstrap_means(x, rng, n_boot=4000):
    """The means of n_boot resamples (with replacement) of the values x: their spread is the
    uncertainty of x's mean (the percentile bootstrap, Efron 1979)."""
    x = np.asarray(x, float)
    return x[rng.integers(0, len(x), (n_boot, len(x)))].mean(axis=1)


def mean_ci(x, rng, n_boot=4_000, level=0.95):
    """Mean and percentile-bootstrap confidence interval."""
    x = np.asarray(x, float)
    if len(x) == 0:
        return dict(mean=float("nan"), lo=float("nan"), hi=float("nan"), n=0)
    boots = bootstrap_means(x, rng, n_boot)
    a = (1 - level) / 2
    return dict(mean=float(x.mean()), lo=float(np.quantile(boots, a)), hi=float(np.quantile(boots, 1 - a)), n=len(x))


def diff_ci(x, y, rng, n_boot=4_000, level=0.95):
    """mean(x) - mean(y), with a bootstrap interval resampling each group on its own."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(x) == 0 or len(y) == 0:
        return dict(diff=float("nan"), lo=float("nan"), hi=float("nan"))
    d = bootstrap_means(x, rng, n_boot) - bootstrap_means(y, rng, n_boot)
    a = (1 - level) / 2
    return dict(diff=float(x.mean() - y.mean()), lo=float(np.quantile(d, a)), hi=float(np.quantile(d, 1 - a)))


def slope(steps, scores):
    """Least-squares slope of score against step, in raw score per 100k agent steps."""
    s = np.asarray(steps, float) / 1e5
    return float(np.polyfit(s, np.asarray(scores, float), 1)[0]) if len(s) >= 2 and s.std() > 0 else float("nan")


# The verdict rules, fixed before the results they judge were seen.
EQUIV_MARGIN = 0.25        # Q1: "plays like the teacher" = mean score within 25% of the teacher's
MIN_REWARD_EFFECT = 0.10   # "uses reward": zeroing rewards moves the mean score by >= 10% of normal play
MIN_STAGE_GAIN = 0.10      # Q2, sharp form: told a later stage, it scores >= 10% more than told the end
BAR_SHARE = 0.5            # an imitator "keeps improving / learns / adapts" if its slope beats half the teacher's
                           # in the same arm: halfway between level (0) and keeping up with the teacher (1)
TREND_LEVEL = 0.90         # trend readings use 90% intervals: each of "yes" and "no" is a one-sided test at 5%
CLONE_PASS_TARGET = 0.95   # Q1 needs enough games that a perfect clone of the teacher passes this often


def rule_sentences():
    """The rules in words, made from the constants above: the one statement of them, which the
    table's footer prints and verdict.json carries."""
    return [
        "*one protocol*: every player, teacher or imitator, plays epsilon-greedy at the teacher's final "
        "epsilon (its most likely move, else a random one), with the same game cap; argmax play is a variant, "
        "reported, not judged;",
        f"*plays like the teacher* (Q1): two one-sided tests at 5% (the 90% bootstrap interval of imitator "
        f"minus teacher lies within ±{EQUIV_MARGIN:.0%} of the teacher's mean score), over enough games that a "
        f"simulated clone of the teacher passes {CLONE_PASS_TARGET:.0%} of the time;",
        f"*keeps improving / learns / adapts*: for a teacher, the {TREND_LEVEL:.0%} interval of its slope (a "
        "bootstrap over blocks of consecutive games: games of one run are not independent) lies above 0; for "
        f"an imitator, the {TREND_LEVEL:.0%} interval of its slope minus {BAR_SHARE:g} times the teacher's slope in "
        "the same arm (both arms resampled, each on its own) lies above 0: it improves at least half as fast as "
        "the teacher; simulated on arms of the real size and spread (power.py, results/power.json), this "
        "reads a level imitator *no*, one keeping up with the teacher *yes*, one at the bar *yes* at most 5% "
        "of the time;",
        f"*uses reward*: zeroing the rewards in its context moves the mean score by at least "
        f"{MIN_REWARD_EFFECT:.0%} of normal play, with an interval excluding 0;",
        f"*told a later stage, plays better* (Q2', imitators with a stage input): the score told the largest "
        f"stage minus the score told the end of the history, 95% interval above 0 and at least "
        f"{MIN_STAGE_GAIN:.0%} of the latter;",
        "*no* needs the data to exclude the effect: an imitator's interval (its slope minus the bar) wholly "
        "below 0 (a teacher's slope: wholly below 0), an interval "
        "wholly outside the Q1 margin, a reward effect or stage gain whose interval lies inside the minimum; "
        "everything in between reads *too short to tell*;",
        "for an imitator that fails Q1, or whose Q1 is too short to tell, questions 2, 3 and the controls "
        "read *not testable* (with the reason): both sides of "
        "the argument predict that an imitator which cannot play does not keep improving."
    ]


def rules():
    """The rules as numbers and in words (rule_sentences), for verdict.json."""
    return dict(q1_equivalence_margin=EQUIV_MARGIN, q1_clone_pass_target=CLONE_PASS_TARGET,
                min_reward_effect=MIN_REWARD_EFFECT, min_stage_gain=MIN_STAGE_GAIN, bar_share=BAR_SHARE,
                trend_level=TREND_LEVEL, text=rule_sentences())


def equivalence(x, y, rng, margin_frac=EQUIV_MARGIN, n_boot=4_000):
    """Q1's rule: two one-sided tests (TOST) at the 5% level, done with a bootstrap. Imitator scores x
    and teacher scores y "play alike" when the 90% interval of mean(x) - mean(y) lies inside
    (-margin, +margin), margin = margin_frac * mean(y). An equivalence test puts the burden of
    proof on "alike": the reading is "yes" only then, "no" when the whole interval lies outside
    the margin, and "too short to tell" when it straddles the margin's edge (more games decide)."""
    d = diff_ci(x, y, rng, n_boot=n_boot, level=0.90)
    m = margin_frac * float(np.mean(y)) if len(y) else float("nan")
    yes = bool(-m < d["lo"] and d["hi"] < m)
    return d | dict(margin=m, level=0.90, verdict=yes, reading=reading(yes, d["hi"] <= -m or d["lo"] >= m))


def clone_pass_rate(mean, sd, n_games, rng, n_sims=200):
    """How often a perfect clone of the teacher passes Q1's equivalence test over n_games games for
    each side: both sides' scores drawn from the same distribution (a normal at the teacher's mean
    and spread, floored at 0 as a game score is). A test of known answer ("yes") for the protocol:
    too few games and even the teacher itself fails to look like the teacher."""
    draw = lambda: np.maximum(rng.normal(mean, sd, n_games), 0.0)
    return float(np.mean([equivalence(draw(), draw(), rng, n_boot=1_000)["verdict"] for _ in range(n_sims)]))


def games_for_clone(mean, sd, rng, target=CLONE_PASS_TARGET, candidates=(30, 50, 100, 150, 200, 300, 500)):
    """The fewest games (of candidates) at which a clone of the teacher passes Q1 at least `target` of the time."""
    if not mean > 0:
        return None                                      # a teacher that scores nothing: no margin to be within
    return next((n for n in candidates if clone_pass_rate(mean, sd, n, rng) >= target), None)


def reading(yes, no):
    """A rule's answer in words: "yes", "no", or "too short to tell" when the data decide neither."""
    return "yes" if yes else "no" if no else "too short to tell"


def block_slopes(steps, scores, rng, n_boot=2_000):
    """The least-squares slope (per 100k steps) of n_boot moving-block resamples of the games.

    Games of one run are not independent: one learner, or one context carried from game to game,
    links neighbours. Resampling single games would treat 1,000 games as 1,000 independent facts
    and give intervals that are too narrow. A resample here is ceil(n / b) blocks of b = ceil(sqrt(n))
    consecutive games (n = 1,000: 32 blocks of 32), from random starts, cut to n games. Its slope
    needs only the sums of x, y, x*x and x*y over its games, so each block's sums come from running
    sums (cumsum) and no resample is ever copied out: about 1 ms for 2,000 resamples of 1,000 games."""
    x, y = np.asarray(steps, float) / 1e5, np.asarray(scores, float)     # (n,) steps in units of 100k
    n = len(x)
    b = int(np.ceil(np.sqrt(n)))
    k = int(np.ceil(n / b))                                              # blocks per resample
    last = n - (k - 1) * b                                               # the last block is cut to this
    starts = rng.integers(0, n - b + 1, (n_boot, k))                     # (n_boot, k)
    sums = []
    for v in (x, y, x * x, x * y):
        run = np.concatenate([[0.0], np.cumsum(v)])                      # run[i] = v[:i].sum()
        full = run[b:b + n - b + 1] - run[:n - b + 1]                    # a block of b from each start
        cut = run[last:last + n - b + 1] - run[:n - b + 1]               # the cut block from each start
        sums.append(full[starts[:, :-1]].sum(1) + cut[starts[:, -1]])    # (n_boot,)
    sx, sy, sxx, sxy = sums
    var = sxx - sx * sx / n
    ok = var > 1e-12 * np.maximum(sxx, 1.0)
    return (sxy - sx * sy / n)[ok] / var[ok], b


def block_slope_ci(steps, scores, rng, n_boot=2_000, level=0.95):
    """Slope per 100k steps with the interval of its moving-block bootstrap (block_slopes)."""
    n = len(steps)
    if n < 3:
        return dict(slope=float("nan"), lo=float("nan"), hi=float("nan"), games=n, block=0)
    boots, b = block_slopes(steps, scores, rng, n_boot)
    a = (1 - level) / 2
    return dict(slope=slope(steps, scores), lo=float(np.quantile(boots, a)), hi=float(np.quantile(boots, 1 - a)),
                games=n, block=b)


def slope_reading(steps, scores, rng):
    """The rule for a teacher's "keeps improving / learns / adapts": the slope with its block-bootstrap
    interval; "yes" if the interval lies above 0, "no" if below, else "too short to tell"."""
    s = block_slope_ci(steps, scores, rng, level=TREND_LEVEL)
    s["reading"] = reading(bool(s["lo"] > 0), bool(s["hi"] < 0))
    s["verdict"] = s["reading"] == "yes"
    return s


def against_teacher(steps, scores, teacher_steps, teacher_scores, rng, share=BAR_SHARE, n_boot=2_000):
    """The rule for an imitator's "keeps improving / learns / adapts": does its slope beat `share`
    of the teacher's slope in the same arm? The difference d = slope(imitator) - share * slope(teacher)
    (a teacher's slope below 0 counts as 0, so that an imitator must at least rise), with the
    interval of d from resampling both arms, each by its own block bootstrap (two runs, independent
    of each other); "yes" if the interval lies above 0, "no" if below, else "too short to tell".
    Comparing, rather than holding the imitator's slope to a number fixed beforehand, carries the
    teacher's own uncertainty into the reading."""
    bar = share * max(slope(teacher_steps, teacher_scores), 0.0) if len(teacher_steps) >= 2 else float("nan")
    out = dict(bar=bar, minus_bar=dict(diff=float("nan"), lo=float("nan"), hi=float("nan")),
               reading="too short to tell", verdict=False)
    if len(steps) < 3 or len(teacher_steps) < 3:
        return out
    mine, _ = block_slopes(steps, scores, rng, n_boot)
    theirs, _ = block_slopes(teacher_steps, teacher_scores, rng, n_boot)
    m = min(len(mine), len(theirs))
    d = mine[:m] - share * np.maximum(theirs[:m], 0.0)                   # (m,) paired at random: independent arms
    a = (1 - TREND_LEVEL) / 2
    out["minus_bar"] = dict(diff=slope(steps, scores) - bar, lo=float(np.quantile(d, a)),
                            hi=float(np.quantile(d, 1 - a)))
    out["reading"] = reading(bool(out["minus_bar"]["lo"] > 0), bool(out["minus_bar"]["hi"] < 0))
    out["verdict"] = out["reading"] == "yes"
    return out


def trend(steps, scores, total, rng, teacher=None):
    """An arm's trend as the table shows it: its slope, interval and reading (slope_reading; for an
    imitator, given its teacher's arm (steps, scores), the reading against_teacher, its own kept as
    own_reading), the mean of each quarter of the arm, and the slope of its second half (reported,
    not judged: half the games over half the span make its interval about three times as wide)."""
    steps, scores = np.asarray(steps, float), np.asarray(scores, float)
    s = slope_reading(steps, scores, rng)
    if teacher is not None:
        s = s | dict(own_reading=s["reading"]) | against_teacher(steps, scores, *teacher, rng)
    late = steps > total / 2
    s["second_half"] = block_slope_ci(steps[late], scores[late], rng, level=TREND_LEVEL)
    edges = np.linspace(0, total, 5)
    s["quarters"] = [mean_ci(scores[(steps > a) & (steps <= b)], rng) for a, b in zip(edges[:-1], edges[1:])]
    return s


def reward_effect(zeroed, normal, rng, min_frac=MIN_REWARD_EFFECT):
    """The rule for "uses the rewards in its context": zeroing them changes the mean score, with a
    95% interval that excludes 0 AND a size of at least min_frac of the normal mean score (a
    detectable but tiny nudge is not "using reward to learn")."""
    d = diff_ci(zeroed, normal, rng)
    m = min_frac * abs(float(np.mean(normal))) if len(normal) else float("nan")
    yes = bool((d["lo"] > 0 or d["hi"] < 0) and abs(d["diff"]) >= m)
    return d | dict(min_effect=m, verdict=yes, reading=reading(yes, -m < d["lo"] and d["hi"] < m))


def stage_gain(beyond, at_end, rng):
    """Question 2's sharp form, for an imitator told its stage: told a stage far past the end of
    its history, does it play better than told the end? The rule: the 95% interval of
    mean(beyond) - mean(at_end) lies above 0, and the gain is at least MIN_STAGE_GAIN of the
    score at the end (a real improvement, not a nudge)."""
    d = diff_ci(beyond, at_end, rng)
    m = MIN_STAGE_GAIN * abs(float(np.mean(at_end))) if len(at_end) else float("nan")
    yes = bool(d["lo"] > 0 and d["diff"] >= m)
    return d | dict(min_gain=m, verdict=yes, reading=reading(yes, d["hi"] < m))


# -------------------------------------------------------------------------------------------
# The verdict: every number
# -------------------------------------------------------------------------------------------
NEEDS = dict(now=("now_teacher", "now_imitator"), later=("later_teacher", "later_imitator_held"),   # the finished arms
             elsewhere=("elsewhere_teacher", "elsewhere_fresh", "elsewhere_imitator", "elsewhere_random"),  # each
             swap=("swap_teacher", "swap_imitator"), noreward=("noreward_imitator", "later_imitator"))  # row needs


def move_agreement(games):
    """The share of all steps played (every game's steps counted once) on which the player's move was
    the final teacher's greedy move: games are [end step, score, length, agreement in that game]."""
    lengths = np.array([x[2] for x in games], float)
    return float(np.sum(np.array([x[3] for x in games]) * lengths) / max(1.0, lengths.sum()))


def scores(games, name):
    """The scores of arm `name`'s games ([] if it has none)."""
    return [x[1] for x in games[name]] if games.get(name) else []


def end_steps(games, name):
    """The agent step at the end of each of arm `name`'s games."""
    return [x[0] for x in games[name]] if games.get(name) else []


def judge_now(games, boot, clone_rng):
    """Question 1: the imitator's score against the teacher's, the equivalence test, how often a
    clone would pass with these many games, and the reported variants."""
    teacher, imitator = scores(games, "now_teacher"), scores(games, "now_imitator")
    n_games = min(len(teacher), len(imitator))
    R = dict(teacher=mean_ci(teacher, boot), imitator=mean_ci(imitator, boot),
             imitator_minus_teacher=diff_ci(imitator, teacher, boot), equivalence=equivalence(imitator, teacher, boot),
             move_agreement=move_agreement(games["now_imitator"]),
             clone_pass_rate=clone_pass_rate(np.mean(teacher), np.std(teacher), n_games, clone_rng), games=n_games)
    R["games_a_clone_needs"] = games_for_clone(np.mean(teacher), np.std(teacher), clone_rng)
    for name, key in (("now_imitator_empty", "imitator_empty_context"), ("now_imitator_argmax", "imitator_argmax")):
        if games.get(name):                                    # the variants: reported, not judged
            R[key] = mean_ci(scores(games, name), boot)
    R["verdict"], R["reading"] = R["equivalence"]["verdict"], R["equivalence"]["reading"]
    return R


def judge_later(games, scale, boot, teacher_final):
    """Question 2: the teacher learns on for N steps; the frozen imitator plays on for N steps, its
    stage (if it has one) held at the end of its history. Does it improve at least half as fast?"""
    held = scores(games, "later_imitator_held")
    t_steps, t_scores = end_steps(games, "later_teacher"), scores(games, "later_teacher")
    return dict(teacher=trend(t_steps, t_scores, scale["steps"], boot),
                imitator=trend(end_steps(games, "later_imitator_held"), held, scale["steps"], boot, (t_steps, t_scores)),
                imitator_mean=mean_ci(held, boot), teacher_final_score=teacher_final)


def judge_elsewhere(games, scale, boot):
    """Question 3: which players learn Space Invaders (a slope each, and the mean score)? The
    imitators against half the transplanted teacher's slope; the other players on their own."""
    t_steps, t_scores = end_steps(games, "elsewhere_teacher"), scores(games, "elsewhere_teacher")
    arm = lambda n: trend(end_steps(games, n), scores(games, n), scale["steps"], boot,
                          (t_steps, t_scores) if "imitator" in n else None) | dict(mean=mean_ci(scores(games, n), boot))
    R = {n.split("_")[1]: arm(n) for n in ("elsewhere_teacher", "elsewhere_fresh", "elsewhere_imitator",
                                           "elsewhere_random")}
    if games.get("elsewhere_imitator_prompted"):               # Q3 the other way: shown the transplanted teacher's start
        R["imitator_prompted"] = arm("elsewhere_imitator_prompted")
    return R


def judge_stages(games, scale, boot, stages):
    """Question 2', for an imitator told its stage: the score told each stage, told the largest
    minus told the end; and the arm whose stage moves on past the end as it plays (later_imitator),
    against half the learning teacher's slope."""
    end, last = "stage_x1", stages[-1][1]
    R = dict(history_multiples=[f for f, _ in stages], scores=[mean_ci(scores(games, n), boot) for _, n in stages],
             beyond_minus_end=stage_gain(scores(games, last), scores(games, end), boot) | dict(beyond=stages[-1][0]))
    if games.get("later_imitator") and games.get("later_teacher"):
        R["stage_advancing"] = trend(end_steps(games, "later_imitator"), scores(games, "later_imitator"), scale["steps"],
                                     boot, (end_steps(games, "later_teacher"), scores(games, "later_teacher")))
    return R


def judge_swap(games, scale, boot):
    """The swapped-controls control: does each player adapt (a slope; the imitator's against half the teacher's)?"""
    t_steps, t_scores = end_steps(games, "swap_teacher"), scores(games, "swap_teacher")
    return dict(teacher=trend(t_steps, t_scores, scale["control_steps"], boot),
                imitator=trend(end_steps(games, "swap_imitator"), scores(games, "swap_imitator"), scale["control_steps"], boot,
                               (t_steps, t_scores)))


def judge_noreward(games, scale, boot):
    """The reward control: the imitator with its context's rewards zeroed against normal play over
    the same span of the same stage clock (later_imitator's first control_steps)."""
    same_span = [x[1] for x in games["later_imitator"] if x[0] <= scale["control_steps"]]
    zeroed = scores(games, "noreward_imitator")
    R = dict(zeroed=mean_ci(zeroed, boot), normal=mean_ci(same_span, boot),
             zeroed_minus_normal=reward_effect(zeroed, same_span, boot))
    R["verdict"], R["reading"] = R["zeroed_minus_normal"]["verdict"], R["zeroed_minus_normal"]["reading"]
    return R


def judge(games, scale, rng, training_metrics=None, copycat=None):
    """Every number of the verdict, as a dict (written to verdict.json). games: arm name -> its games (or
    None: not run); scale: the arms' lengths (steps, control_steps, games, quick); training_metrics:
    the imitator's metrics.json; copycat: diagnose.py's copycat.json, if there is one."""
    have = lambda *ns: all(games.get(n) for n in ns)
    R = dict(scale=dict(scale), rules=rules(), arms_judged=sorted(n for n in games if games[n]))
    # One stream of bootstrap draws per row, split off rng before any is used: an arm finishing (a row
    # appearing) never shifts another row's draws, so a number once reported stays what it was.
    rs = dict(zip(("now", "later", "elsewhere", "stages", "swap", "noreward", "clone"), rng.spawn(7)))
    if training_metrics:
        R["imitator_training_metrics"] = training_metrics
    if copycat:
        R["copycat"] = copycat
    if have(*NEEDS["now"]):
        R["now"] = judge_now(games, rs["now"], rs["clone"])
    # Questions 2 and 3 (and the controls) ask whether the imitator *keeps* the teacher's learning;
    # for an imitator that cannot play like the teacher now, both sides of the argument predict "no".
    testable = R.get("now", {}).get("verdict", False)
    because = dict(no="fails Q1").get(R.get("now", {}).get("reading"), "Q1 too short to tell") \
        if "now" in R else "Q1 not played"
    untestable = dict(imitator_testable=testable, untestable_because="" if testable else because)
    if have(*NEEDS["later"]):
        R["later"] = judge_later(games, scale, rs["later"], R.get("now", {}).get("teacher", {}).get("mean", float("nan")))
    if have(*NEEDS["elsewhere"]):
        R["elsewhere"] = judge_elsewhere(games, scale, rs["elsewhere"])
    stages = sorted((float(n[len("stage_x"):]), n) for n in games if n.startswith("stage_x") and games[n])
    if stages and any(f == 1.0 for f, _ in stages) and stages[-1][0] > 1.0:
        R["stages"] = judge_stages(games, scale, rs["stages"], stages)
    if have(*NEEDS["swap"]):
        R["swap"] = judge_swap(games, scale, rs["swap"])
    if have(*NEEDS["noreward"]):
        R["noreward"] = judge_noreward(games, scale, rs["noreward"])
    for key in ("later", "elsewhere", "stages", "swap", "noreward"):
        if key in R:
            R[key] |= untestable
    return R


def across_seeds(Rs, names):
    """The imitator's key number and reading per question, for each seed of its recipe (the
    verdicts Rs, one per seed, the teacher's arms shared): the spread a single seed hides."""
    picks = dict(now=lambda r: (r["now"]["imitator"]["mean"], r["now"]["reading"]),
                 later=lambda r: (r["later"]["imitator"]["slope"], r["later"]["imitator"]["reading"]),
                 stages=lambda r: (r["stages"]["beyond_minus_end"]["diff"], r["stages"]["beyond_minus_end"]["reading"]),
                 elsewhere=lambda r: (r["elsewhere"]["imitator"]["slope"], r["elsewhere"]["imitator"]["reading"]),
                 swap=lambda r: (r["swap"]["imitator"]["slope"], r["swap"]["imitator"]["reading"]),
                 noreward=lambda r: (r["noreward"]["zeroed_minus_normal"]["diff"], r["noreward"]["reading"]))
    def value_and_reading(r, key):                          # judge marked a seed that fails Q1 not testable
        x, rd = picks[key](r)
        return x, rd if r[key].get("imitator_testable", True) else f"not testable, {r[key]['untestable_because']} ({rd})"

    out = dict(imitators=list(names))
    for key in picks:
        got = [value_and_reading(r, key) for r in Rs if key in r]
        if len(got) == len(Rs):                             # every seed has played this question
            v = np.array([x for x, _ in got], float)
            readings = [rd for _, rd in got]
            out[key] = dict(values=v.tolist(), mean=float(np.mean(v)), min=float(np.min(v)), max=float(np.max(v)),
                            readings=readings, yes=readings.count("yes"))   # how many seeds pass (a bare "yes")
    return out
