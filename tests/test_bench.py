"""The speed goals are stated once: the README's table is `make bench`'s GOALS."""

import re

import harness
from scripts import bench


def test_the_readme_states_the_goals_that_make_bench_checks():
    readme = (harness.TEMPLATE_DIR / "README.md").read_text()
    table = readme[readme.index("| benchmark | goal (seconds) |") :].split("\n\n")[0]
    stated = dict(re.findall(r"^\| (.+?) \| (.+?) \|$", table, re.MULTILINE)[1:])  # after the heading row
    assert stated == {name: "reported, no goal" if goal is None else str(goal) for name, goal in bench.GOALS.items()}
