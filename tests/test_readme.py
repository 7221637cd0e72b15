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


def _settings_table() -> list[list[str]]:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Server configuration") :]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    table_end = section.index("\n\n", section.index("| variable |"))
    return [
        [cell.strip() for cell in row.strip("|").split("|")]
        for row in rows
        if section.index(row) < table_end
    ]


def test_every_server_setting_and_flag_is_in_the_readme_table() -> None:
    from saas_litellm_server import Settings
    from saas_litellm_server._cli import build_parser

    rows = _settings_table()
    documented = {name for row in rows for name in re.findall(r"`([A-Z_]+)`", row[0])}
    assert documented == {field.upper() for field in Settings.model_fields}
    flags = {flag for row in rows for flag in re.findall(r"`(--[a-z-]+)`", row[1])}
    _, commands = build_parser()
    serve_flags = {
        option
        for action in commands["serve"]._actions
        for option in action.option_strings
        if option.startswith("--") and option not in {"--help", "--log-level"}
    }
    assert flags == serve_flags


def test_the_license_file_matches_the_package_metadata() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text()  # no tomllib on Python 3.10
    assert re.search(r'^license = "MIT"$', pyproject, re.MULTILINE)
    assert (ROOT / "LICENSE").read_text().startswith("MIT License\n")
    sdist = re.search(r"\[tool\.hatch\.build\.targets\.sdist\]\ninclude = (\[.*\])", pyproject)
    assert sdist is not None and '"LICENSE"' in sdist.group(1)
