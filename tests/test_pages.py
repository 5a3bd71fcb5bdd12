"""The book's pages: every page file is in the README's pages table, opens with a docstring naming
what it shows, and its length is printed (python -m pytest -q -s tests/test_pages.py): the core
path's total is what a reader must read to follow the argument."""
import glob
import os
import re

from conftest import ROOT

CORE = ("layers.py", "dqn.py", "record.py", "transformer.py", "imitate.py", "play.py", "verdict.py", "evaluate.py")


def pages():
    return sorted(os.path.basename(p) for p in glob.glob(os.path.join(ROOT, "*.py")))


def lines(name):
    with open(os.path.join(ROOT, name)) as f:
        return sum(1 for _ in f)


def test_every_page_is_in_the_readme_table_and_opens_with_what_it_shows():
    with open(os.path.join(ROOT, "README.md")) as f:
        rows = [line.split("|") for line in f if line.startswith("|") and line.count("|") >= 5]
    table = {name for cells in rows for name in re.findall(r"`([\w.]+\.py)`", cells[2])}   # the "file" column
    missing = [p for p in pages() if p not in table]
    assert not missing, f"pages missing from README's pages table: {missing}"
    for name in pages():
        with open(os.path.join(ROOT, name)) as f:
            head = f.read(3000)
        assert head.startswith(f'"""{name}: '), f"{name}: does not open with a docstring naming what it shows"


def test_print_each_pages_lines_and_the_core_paths_total():
    sizes = {p: lines(p) for p in pages()}
    for p, n in sizes.items():
        print(f"{p:20s} {n:5d} {'core' if p in CORE else ''}")
    core = sum(sizes[p] for p in CORE)
    print(f"{'core path':20s} {core:5d}   (all pages {sum(sizes.values())})")
    assert set(CORE) <= set(sizes) and core > 0
