"""Developer tasks: ``nox -s lint typecheck tests`` (CI runs exactly that), ``nox -s demo``."""

from __future__ import annotations

import nox

nox.options.sessions = ["lint", "typecheck", "tests"]
nox.options.reuse_venv = "yes"
nox.options.error_on_missing_interpreters = True

PACKAGES = [
    "shared_models/saas_litellm_models",
    "client/saas_litellm_client",
    "server/saas_litellm_server",
]


@nox.session
def tests(session: nox.Session) -> None:
    """Every test, on SQLite and (when reachable) PostgreSQL."""
    session.install("-e", ".[server,test]")
    session.run("pytest", *session.posargs)


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the three packages."""
    session.install("-e", ".[server,test,dev]")
    session.run("mypy", "--strict", *PACKAGES)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def demo(session: nox.Session) -> None:
    """The integration guide's flow against a throw-away local server (SQLite, mock model)."""
    session.install("-e", ".[server]")
    session.run("python", "-m", "saas_litellm_server", "demo", *session.posargs)
