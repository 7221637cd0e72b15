"""Developer tasks: ``nox -s lint typecheck tests clients`` (CI runs exactly that), ``nox -s demo``
(and the sessions below)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import nox

nox.options.sessions = ["lint", "typecheck", "tests"]
nox.options.reuse_venv = "yes"
nox.options.error_on_missing_interpreters = True

RUFF = re.findall(r'"(ruff==[^"]+)"', Path("pyproject.toml").read_text())[0]
"""The ruff of ``pyproject.toml``'s extras, exactly: the committed sync clients are formatted by
it (``scripts/unasync.py``), and another version formats (and lints) differently."""

PACKAGES = [
    "shared_models/saas_litellm_models",
    "client/saas_litellm_client",
    "server/saas_litellm_server",
]


@nox.session
def tests(session: nox.Session) -> None:
    """Every test, on SQLite and (when reachable) PostgreSQL."""
    session.install("-e", ".[server,test]")
    # One pytest-xdist worker per core (each with its own databases, upstream stub and
    # browser), at most 4: every worker's servers hold PostgreSQL connections, and the default
    # server allows 100. ``nox -s tests -- -n 0`` runs in one process (for pdb).
    workers = min(os.cpu_count() or 1, 4)
    session.run("pytest", "-n", str(workers), *session.posargs)


CLIENTS = ["langchain-openai==1.8.1", "pydantic-ai-slim[openai,anthropic]==2.78.0"]
"""The third-party clients ``nox -s clients`` drives, at the versions it was last run with."""


@nox.session
def clients(session: nox.Session) -> None:
    """Third-party clients against a live server: LangChain's ``ChatOpenAI`` (Responses and chat
    completions) and ``OpenAIEmbeddings``, pydantic-ai's OpenAI Responses and Anthropic models."""
    session.install("-e", ".[server,test]", *CLIENTS)
    workers = min(os.cpu_count() or 1, 4)
    session.run("pytest", "-m", "clients", "-n", str(workers), "tests/clients", *session.posargs)


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the three packages."""
    session.install("-e", ".[server,test,dev]")
    session.run("mypy", "--strict", *PACKAGES)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check."""
    session.install(RUFF)
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def demo(session: nox.Session) -> None:
    """The integration guide's flow against a throw-away local server (SQLite, mock model)."""
    session.install("-e", ".[server]")
    session.run("python", "-m", "saas_litellm_server", "demo", *session.posargs)


LITELLM = "litellm[proxy]==1.108.7"


@nox.session
def interop(session: nox.Session) -> None:
    """The server in front of a real LiteLLM proxy (installed into a venv of its own, ~750 MB)."""
    session.install("-e", ".[server,test]")
    proxy_venv = Path(session.virtualenv.location).parent / "litellm-proxy"
    binary = proxy_venv / "bin" / "litellm"
    if not binary.exists():
        session.run("python", "-m", "venv", str(proxy_venv))
        session.run(
            str(proxy_venv / "bin" / "python"), "-m", "pip", "install", "-q", LITELLM, external=True
        )
    session.run(
        "pytest",
        "-m",
        "interop",
        "tests/interop",
        *session.posargs,
        env={"SAAS_LITELLM_LITELLM_BIN": str(binary)},
    )


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks against the direct upstream and a real LiteLLM proxy (bench/RESULTS.md; a
    ``--quick`` run writes the git-ignored bench/RESULTS-quick.md instead).

    ``nox -s bench`` runs the full version (~15-20 minutes: 10,000 open streams, the concurrency
    curve, ``serve --workers`` and a call log of 10⁷ calls included), ``nox -s bench -- --quick``
    a reduced one (about two minutes). Installs wrk (apt-get) and the LiteLLM proxy (into
    ``.nox/litellm-proxy``, shared with ``nox -s interop``) when missing. The per-stage CPU
    profile is ``python bench/profile.py`` (bench/README.md; installs py-spy when missing).
    """
    session.install("-e", ".[server]")
    command = " ".join(["nox -s bench", *(["--", *session.posargs] if session.posargs else [])])
    session.run(
        "python",
        "bench/run.py",
        *session.posargs,
        env={
            "BENCH_COMMAND": command,
            "BENCH_LITELLM_VENV": str(Path(session.virtualenv.location).parent / "litellm-proxy"),
        },
    )


@nox.session
def soak(session: nox.Session) -> None:
    """A bounded soak (a few minutes, loopback only): errors and server memory over time."""
    session.install("-e", ".[server]")
    session.run("python", "soak/run.py", *session.posargs)
