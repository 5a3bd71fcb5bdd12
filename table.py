"""table.py: the verdict's numbers as the Markdown table the README shows. An appendix page.

verdict.py's judge() turns the arms' games into numbers and readings (verdict.json); this page
only writes them out: one row per question, the teacher's column and the imitator's, each number
with its interval and each reading in bold, an imitator that cannot be tested said so, and the
rules in words under the table (verdict.rule_sentences). Nothing here decides anything.
"""
from __future__ import annotations

import numpy as np

import toolbox
import verdict


def num(x, digits=1):
    """x rounded for the table, never "-0.0" (a slope of -0.004 rounds to 0.0, not to a negative zero)."""
    text = f"{x:.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def fmt(d, key="mean"):
    """A number with its interval, with enough digits that a narrow interval stays readable."""
    if not np.isfinite(d[key]):
        return "n/a (fewer than 3 games)"
    width = d["hi"] - d["lo"]                             # 0: every game alike (e.g. no point scored)
    digits = 1 if width >= 0.2 or width == 0 else 2 if width >= 0.02 else 3
    return f"{num(d[key], digits)} [{num(d['lo'], digits)}, {num(d['hi'], digits)}]"


def word(r):
    """A rule's reading in bold: yes, no, or too short to tell."""
    return f"**{r}**"


def trend_cell(t):
    """Slope, its reading and the four quarter means; an imitator's also its slope minus the bar
    (half the teacher's), on which it is read."""
    q = " / ".join(f"{x['mean']:.1f}" if x["n"] else "-" for x in t["quarters"])
    if "minus_bar" not in t:
        return f"slope {fmt(t, 'slope')}, {word(t['reading'])}; quarters {q}"
    m = t["minus_bar"]
    return (f"slope {fmt(t, 'slope')} against the bar {num(t['bar'], 2)}: minus the bar {num(m['diff'], 2)} "
            f"[{num(m['lo'], 2)}, {num(m['hi'], 2)}], {word(t['reading'])}; quarters {q}")


def imitator_cell(cell, d):
    """An imitator's cell; for one that cannot be tested (row d says why), the numbers without a reading in bold."""
    return cell if d.get("imitator_testable", True) else \
        f"not testable ({d.get('untestable_because') or 'fails Q1'}): {cell.replace('**', '')}"


ROWS = [("now", "1. **Now**: plays like the teacher at the end of its training"),
        ("later", "2. **Later**: plays on for N more steps (its stage held at the end), keeps improving"),
        ("stages", "2'. **Later, told so**: told a stage past the end of its history, plays better"),
        ("elsewhere", "3. **Elsewhere**: learns Space Invaders"),
        ("swap", "control: LEFT/RIGHT swapped, adapts"),
        ("noreward", "control: uses the rewards in its context")]


def table_cells(key, d, R):
    """The (DQN teacher, transformer imitator) cells of one row of the verdict table."""
    if key == "now":
        m = R.get("imitator_training_metrics", {})
        tvt = m.get("teacher_vs_teacher")
        ref = (f" (the teacher vs itself {(tvt['checkpoints'][1] - tvt['checkpoints'][0]) // 1000}k steps earlier: "
               f"{tvt['agreement']:.0%})") if tvt and tvt["agreement"] < 1 else ""   # 100%: a frozen teacher
        e = d["equivalence"]                                               # its agreement on the teacher's
        held, decisive = m.get("agree_with_final_teacher_greedy"), m.get("decisive", {}).get(   # held-out states
            "agree_with_final_teacher_greedy")
        on_teacher = (f", {held:.0%} on the teacher's held-out states" +
                      (f", {decisive:.0%} where its choice matters most" if decisive is not None else "")
                      ) if held is not None else ""
        variants = "".join(f"; {what}: {fmt(d[k])}" for k, what in (("imitator_empty_context", "empty context"),
                                                                    ("imitator_argmax", "argmax play")) if k in d)
        need = d.get("games_a_clone_needs")
        clone = (f" (a clone of the teacher passes this test {d['clone_pass_rate']:.0%} of the time over {d['games']} "
                 f"games; {need if need else 'more than 500'} games give it {verdict.CLONE_PASS_TARGET:.0%})")
        return (f"score {fmt(d['teacher'])} over {d['teacher']['n']} games",
                f"score {fmt(d['imitator'])}{variants}; difference {e['diff']:.1f}, 90% interval [{e['lo']:.1f}, "
                f"{e['hi']:.1f}] vs margin ±{e['margin']:.1f}{clone}; its move = the teacher's greedy move "
                f"{d['move_agreement']:.0%} of its steps in play{on_teacher}{ref}; {word(e['reading'])}")
    if key == "later":
        return (trend_cell(d["teacher"]),
                imitator_cell(f"{trend_cell(d['imitator'])}; mean {fmt(d['imitator_mean'])} against the teacher's "
                              f"final {d['teacher_final_score']:.1f}", d))
    if key == "stages":
        e = d["beyond_minus_end"]
        curve = ", ".join(f"{f:g}x: {s['mean']:.1f}" for f, s in zip(d["history_multiples"], d["scores"]))
        moving = (f"; told its stage as it plays on from 1x (`later_imitator`): "
                  f"{trend_cell(d['stage_advancing'])}") if "stage_advancing" in d else ""
        return ("(its stage is where it is)",
                imitator_cell(f"score by stage told (multiples of the history's length) {curve}; {e['beyond']:g}x "
                              f"minus 1x {e['diff']:.1f} [{e['lo']:.1f}, {e['hi']:.1f}] (needs > 0 and >= "
                              f"{e['min_gain']:.1f}); {word(e['reading'])}{moving}", d))
    if key == "elsewhere":
        prompted = (f"; prompted with the transplanted teacher's first steps: {trend_cell(d['imitator_prompted'])}, "
                    f"mean {fmt(d['imitator_prompted']['mean'])}") if "imitator_prompted" in d else ""
        return (f"transplanted: {trend_cell(d['teacher'])}; fresh DQN: {trend_cell(d['fresh'])}",
                imitator_cell(f"empty context: {trend_cell(d['imitator'])}; mean score {fmt(d['imitator']['mean'])} "
                              f"vs random {fmt(d['random']['mean'])}{prompted}", d))
    if key == "swap":
        return trend_cell(d["teacher"]), imitator_cell(trend_cell(d["imitator"]), d)
    e = d["zeroed_minus_normal"]
    return ("(learns from reward by design)",
            imitator_cell(f"rewards zeroed: score {fmt(d['zeroed'])} vs normal {fmt(d['normal'])}, difference "
                          f"{e['diff']:.2f} (needs >= {e['min_effect']:.2f} and an interval excluding 0); "
                          f"{word(e['reading'])}", d))


def teacher_record_lines(R):
    """At small scale no arm is long enough to show a DQN learning; the teacher's own record is."""
    t = R.get("teacher_record")
    if not t:
        return []
    q = " / ".join(f"{x:.1f}" for x in t["quarter_means"])
    return [f"The teacher does learn: its committed full-scale record ({t['folder']}, {t['steps']:,} steps from random "
            f"weights, {t['games']:,} games; curve in {t['folder']}/curve.png) has quarter mean scores {q}. The "
            f"arms below start from its final weights and its imitator; at this scale they are minutes long, so "
            f"most learning rules read *too short to tell*.", ""]


def table(R):
    """The verdict table (Markdown) with the rules under it."""
    sc = R["scale"]
    scale = "SMALL-SCALE (--quick) " if sc["quick"] else ""
    seeds = (f"the imitator's recipe trained with {len(R['seeds']['imitators'])} seeds, each playing its own arms "
             f"(the teacher's arms once)") if "seeds" in R else \
        "one seed of the imitator's recipe" if "imitator" in R else "one seed per arm"
    lines = [f"# {scale}Verdict: can a transformer imitation-learn how to continual-learn?", "",
             f"Scale: N = {sc['steps']:,} agent steps per later/elsewhere arm, {sc['control_steps']:,} per control, "
             f"{sc['games']} games per arm in question 1; {seeds}. Slopes are raw score per 100k agent steps."
             + (f" The imitator: `{R['imitator']}` (another seed of the recipe; the teacher's arms are shared)."
                if "imitator" in R else ""), "",
             ] + teacher_record_lines(R) + [
             "| question | ideal imitator (by argument) | DQN teacher (measured) | transformer imitator (measured) |",
             "|---|---|---|---|"]
    for key, question in ROWS:
        waiting = ", ".join(f"`{n}`" for n in verdict.NEEDS.get(key, ()) if n not in R["arms_judged"])
        missing = f"waiting for {waiting}" if waiting else "not run yet"
        teacher, imitator = table_cells(key, R[key], R) if key in R else (missing, missing)
        if key == "stages" and not sc.get("imitator_stage_input"):
            teacher, imitator = "-", "n/a: this imitator has no stage input"
        lines.append(f"| {question} | yes | {teacher} | {imitator} |")
    if R.get("in_progress"):
        lines += ["", "Still running, not judged until finished (a reading could flip as an arm goes on): " +
                  "; ".join(f"`{n}` {p}" for n, p in R["in_progress"].items()) + "."]
    if "seeds" in R:
        what = dict(now="score", later="slope", stages="gain, largest stage - end", elsewhere="slope", swap="slope",
                    noreward="zeroed - normal")
        lines += ["", f"Across {len(R['seeds']['imitators'])} seeds of the imitator's recipe (the teacher's arms "
                  "once, shared; the table above is the first seed):", "",
                  "| question | imitator, per seed | mean (min to max) | readings |", "|---|---|---|---|"]
        for key, question in ROWS:
            if key in R["seeds"]:
                d, f2 = R["seeds"][key], lambda x: num(x, 2)
                lines.append(f"| {question} | {what[key]}: {' / '.join(f2(x) for x in d['values'])} | "
                             f"{f2(d['mean'])} ({f2(d['min'])} to {f2(d['max'])}) | {' / '.join(d['readings'])}: "
                             f"yes in {d['yes']} of {len(d['readings'])} |")
    lines += ["", "Numbers are mean raw game scores or least-squares slopes of game score against agent step "
              "(raw score per 100k steps), with bootstrap intervals in brackets (95% for means and differences "
              f"of means; {verdict.TREND_LEVEL:.0%} for slopes and an imitator's slope minus the bar, each end a one-sided "
              "test at 5%; Q1's difference 90%, as its rule says), and the mean score of each quarter of the arm. "
              "The rules, fixed before the results:",
              ] + [f"- {rule}" for rule in verdict.rule_sentences()] + [""]
    return "\n".join(lines)


def write(path, R):
    """The verdict's numbers R as path.json and its table as path.md; returns the table's text."""
    toolbox.write_json(path + ".json", R)
    text = table(R)
    with open(path + ".md", "w") as f:
        f.write(text)
    return text
