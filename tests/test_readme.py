"""The README's first lines are the two commands, and CI runs the test one exactly."""

from __future__ import annotations

import re
from pathlib import Path

from support import run_mypy

ROOT = Path(__file__).resolve().parents[1]


def test_readme_opens_with_the_demo_and_test_commands() -> None:
    lines = (ROOT / "README.md").read_text().splitlines()
    block = lines[lines.index("```sh") + 1 : lines.index("```")]
    assert lines.index("```sh") <= 3
    assert len(block) == 2
    assert block[0].split("#")[0].strip().endswith("nox -s demo")
    assert block[1].split("#")[0].strip().endswith("nox -s lint typecheck tests clients")
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


# -- the SDK snippets type-check ----------------------------------------------------------------

SNIPPET_DOCS = [
    "README.md",
    "docs/sdk.md",
    "docs/guide.md",
    "docs/structured_outputs.md",
    "docs/openai.md",
    "docs/anthropic.md",
    "docs/webhooks.md",
]
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)
# Names a snippet may use without defining: the client and job of the surrounding text.
_CONTEXT = {
    "client": "SaasLiteLLMClient",
    "job": "Job",
    "messages": "list[MessageParam]",
    "base_url": "str",
    "team_id": "str",
    "virtual_key": "str",
    "invoice_id": "str",
}
_PERSON = "class Person(BaseModel):\n    name: str\n    age: int\n"


def _snippet_module(code: str) -> tuple[str, int]:
    """``code`` as a module mypy can check: inside an ``async def`` (snippets use top-level
    ``await``), given the context names it uses without binding them. Returns the module and
    how many lines come before the snippet's first."""
    params = [
        f"{name}: {kind}"
        for name, kind in _CONTEXT.items()
        if re.search(rf"\b{name}\b", code)
        and not re.search(rf"\bas {name}\b|^\s*{name}\s*=", code, re.MULTILINE)
    ]
    prelude = [
        "from __future__ import annotations",
        "from pydantic import BaseModel",
        "from saas_litellm_client import Job, MessageParam, SaasLiteLLMClient",
        *(_PERSON.splitlines() if "Person" in code and "class Person" not in code else []),
        f"async def snippet({', '.join(params)}) -> None:",
    ]
    body = "\n".join(f"    {line}" if line else "" for line in code.splitlines())
    return "\n".join(prelude) + "\n" + body + "\n", len(prelude)


def test_every_python_snippet_of_the_docs_passes_mypy_strict(tmp_path: Path) -> None:
    modules: dict[str, str] = {}
    origin: dict[str, tuple[str, int, int]] = {}  # module -> (doc, first line, prelude lines)
    for doc in SNIPPET_DOCS:
        text = (ROOT / doc).read_text()
        for number, match in enumerate(_BLOCK.finditer(text)):
            name = f"{Path(doc).stem}_{number}".replace("-", "_")
            modules[name], prelude = _snippet_module(match.group(1))
            origin[name] = (doc, text.count("\n", 0, match.start(1)) + 1, prelude)
    assert len(modules) >= 8  # the extraction found the snippets

    errors = run_mypy(modules, tmp_path)

    report = []
    for name, lines in errors.items():
        doc, first, prelude = origin[name]
        for line in lines:
            where, _, message = line.partition(": error: ")
            report.append(f"{doc}:{first + int(where.split(':')[1]) - prelude - 1}: {message}")
    assert report == [], "\n".join(report)


def test_no_page_installs_saas_litellm_from_an_index_it_is_not_on() -> None:
    """saas-litellm is not published (issue 26, item 14): every install of it is from a clone
    (``pip install .``, ``".[server]"``, ``-e``), and the project names it that way."""
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    from_index = re.compile(r"pip install(?:\s+-\S+)*\s+[\"']?saas-litellm\b")
    for page in pages:
        found = from_index.findall(page.read_text())
        assert not found, f"{page.name}: {found}"
    assert 'pip install ".[server]"' in (ROOT / "README.md").read_text()
