"""The README's first lines are the two commands, and CI runs the test one exactly."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_opens_with_the_demo_and_test_commands() -> None:
    lines = (ROOT / "README.md").read_text().splitlines()
    block = lines[lines.index("```sh") + 1 : lines.index("```")]
    assert lines.index("```sh") <= 3
    assert len(block) == 2
    assert block[0].split("#")[0].strip().endswith("nox -s demo")
    assert block[1].split("#")[0].strip().endswith("nox -s lint typecheck tests")
    ci = (ROOT / ".ci" / "run").read_text()
    pattern = re.search(r"grep -m 1 -E '([^']+)' README.md", ci)
    assert pattern is not None
    assert re.search(pattern.group(1), block[1])
    assert [line for line in lines if re.search(pattern.group(1), line)] == [block[1]]
