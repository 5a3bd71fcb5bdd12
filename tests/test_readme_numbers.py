"""Every number the README's "Where it stands" states is in a committed file of results/: a number
typed by hand, copied from a printout or left over from an earlier table fails here, naming it."""
import glob
import json
import os
import re

from conftest import ROOT

SECTION = ("## Where it stands", "\n## ")
# Words of the protocol, not results: question numbers, K = 32, the 90%/95% of an interval, the
# per-100k unit of a slope, the seeds' names (0 / 1 / 2). Anything else must come from a file.
STRUCTURAL = {"1", "2", "3", "0", "32", "90", "95", "100k", "2'"}


# The files a summary may quote: the verdicts, the rules' power, the action mixes, the teacher's
# summary, the imitators' training metrics, pages 6-8's numbers; never an arm's raw games.
SOURCES = ("verdict*.json", "power*.json", "action_mix.json", "watch.json", "*/teacher_summary.json",
           "q1_recipe_*/metrics.json", "imitator*/imitator.json", "q1_recipe_*/imitator.json", "distill/*.json",
           "dqn_source/dial.json", "dqn_source/seeds.json", "dqn_source/*/dial.json", "revisit/revisit.json",
           "revisit/*/revisit.json",
           "nostage/verdict.json")
LONG = 12                         # a list longer than this is a curve or a game list: not quoted in a summary


def committed_values():
    """Every number of the SOURCES files (lists of at most LONG entries), as the strings a reader would
    see: to 0, 1 and 2 decimals, with thousands separators, as percentages, as 250k and 1M."""
    seen = set()

    def add(x):
        if isinstance(x, bool) or not isinstance(x, (int, float)) or x != x:
            return
        for v in (x, -x) if x < 0 else (x,):
            for d in (0, 1, 2):
                seen.add(f"{v:.{d}f}")
                seen.add(f"{v:,.{d}f}")
            if abs(x) <= 1.5:
                for d in (0, 1):
                    seen.add(f"{100 * v:.{d}f}%")
        if x >= 1000 and float(x).is_integer():
            for unit, size in (("k", 1_000), ("M", 1_000_000)):
                if x % size == 0:
                    seen.add(f"{int(x) // size}{unit}")

    def walk(o):
        if isinstance(o, dict):
            for v in o.values():
                walk(v)
        elif isinstance(o, list):
            for v in o if len(o) <= LONG else ():
                walk(v)
        else:
            add(o)

    for pattern in SOURCES:
        for path in glob.glob(os.path.join(ROOT, "results", pattern)):
            with open(path) as f:
                walk(json.load(f))
    return seen


def stated_numbers(text):
    """The numbers of a Markdown text, without what links, file names and code spans hold."""
    text = re.sub(r"`[^`]*`", " ", text)                          # code: file names, commands
    text = re.sub(r"\]\([^)]*\)", "]", text)                      # link targets
    text = re.sub(r"!\[[^\]]*\]", " ", text)                      # image captions' alt text
    text = re.sub(r"\b\d{1,2} (Dec|Nov) 20\d\d\b", " ", text)     # dates
    return re.findall(r"(?<![\w.])-?\d[\d,]*(?:\.\d+)?(?:%|k\b|M\b)?", text)


def test_every_number_where_it_stands_states_is_in_a_committed_json():
    with open(os.path.join(ROOT, "README.md")) as f:
        readme = f.read()
    start = readme.index(SECTION[0])
    section = readme[start:readme.index(SECTION[1], start + 1)]
    known = committed_values()
    missing = sorted({n for n in stated_numbers(section) if n.rstrip(",") not in known | STRUCTURAL})
    assert not missing, f"README 'Where it stands' states numbers no committed results/**/*.json holds: {missing}"


def test_the_check_finds_a_number_typed_by_hand():
    assert stated_numbers("score 33.9 [31.5, 36.2] in `results/x_12.json`, 7 Dec 2026") == ["33.9", "31.5", "36.2"]
    assert "123456.7" not in committed_values()
