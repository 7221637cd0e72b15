"""Generate the synchronous clients from the async ones.

``python scripts/unasync.py`` rewrites each ``client/saas_litellm_client/_sync_*.py`` from its
async source (``_client.py`` → ``_sync_client.py``, …); ``--check`` only reports the ones that
are out of date (``tests/test_unasync.py`` runs it). The async modules are the only ones edited by
hand, so the two clients cannot drift apart: the same methods, retries, idempotency, deadlines,
errors and streams, with ``await`` removed.

The rewrite is textual, as httpcore's own ``scripts/unasync.py`` is (the ``unasync`` package
leaves docstrings and comments alone, and ours describe ``async with`` usage that must read
``with`` in the synchronous copy): ``async``/``await`` go, async names become their synchronous
counterparts (``httpx.AsyncClient`` → ``httpx.Client``, ``__aenter__`` → ``__enter__``,
``aclose`` → ``close``…) and the public classes get a ``Sync`` name. The few things blocking
code cannot do — be cancelled, or shield from cancellation — are named in the async code by
helpers (``move_on_after``, ``shielded``) whose ``sync_`` twins do what blocking code can. Then
``ruff`` removes the imports that became unused and formats the result: the version
``pyproject.toml`` pins, exactly (another formats differently, and the committed modules would
read as stale), so the script refuses any other.
"""

from __future__ import annotations

import argparse
import functools
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "client" / "saas_litellm_client"

MODULES = (
    "_base_client",
    "_endpoint_methods",
    "_client",
    "_admin_client",
    "_streaming",
    "_structured_calls",
    "_jobs",
)
"""The async modules; each ``_X`` generates ``_sync_X``."""

_PHRASES = (
    # Prose first, while the words are intact.
    (r"\b([Aa])n(\s+)``async (with|for)``", r"\1\2``\3``"),
    (r"\b([Aa])n(\s+)async iterator", r"\1n\2iterator"),
    (r"\b([Aa])n(\s+)async (\w)", r"\1\2\3"),
    (r"``async (with|for)``", r"``\1``"),
    (r"Await the result for the first page", "The result is the first page"),
    (r"``await`` it for the first", "the first"),
    (r"\bAsync client\b", "Synchronous client"),
    (r"\basync clients\b", "synchronous clients"),
    (r"\basync iterator\b", "iterator"),
    (r"\basync context manager\b", "context manager"),
    (
        r"``_sync_(\w+)`` is generated from this module by ``scripts/unasync.py``[^\n]*",
        r"Generated from ``_\1`` by ``scripts/unasync.py``: edit that module, not this one.",
    ),
    # Code.
    (r"\bfrom \.(" + "|".join(MODULES) + r") import\b", r"from ._sync\1 import"),
    (r"\basync def ", "def "),
    (r"\basync with ", "with "),
    (r"\basync for ", "for "),
    (r"\bawait ", ""),
    (r"\bAsyncGenerator\[([^\[\]]+), None\]", r"Generator[\1, None, None]"),
    (r"\bAwaitable\[([^\[\]]*(?:\[[^\[\]]*\])?[^\[\]]*)\]", r"\1"),
    (r"\b_retry\.sleep\b", "_retry.sync_sleep"),
    (r"  # noqa: ASYNC\d+[^\n]*", ""),  # flake8-async's rules do not apply to blocking code
)

_NAMES = {
    # Python and httpx
    "AsyncClient": "Client",
    "AsyncIterator": "Iterator",
    "AsyncIterable": "Iterable",
    "AsyncGenerator": "Generator",
    "AbstractAsyncContextManager": "AbstractContextManager",
    "asynccontextmanager": "contextmanager",
    "StopAsyncIteration": "StopIteration",
    "__aenter__": "__enter__",
    "__aexit__": "__exit__",
    "__aiter__": "__iter__",
    "__anext__": "__next__",
    "aclose": "close",
    "aread": "read",
    "aiter_sse": "iter_sse",
    # our helpers with a synchronous twin
    "aclose_quietly": "close_quietly",
    "move_on_after": "sync_move_on_after",
    "shielded": "sync_shielded",
    "async_raw_response": "sync_raw_response",
    "sse_events": "sync_sse_events",
    # the classes
    "_BaseClient": "_SyncBaseClient",
    "TeamEndpoints": "SyncTeamEndpoints",
    "AdminEndpoints": "SyncAdminEndpoints",
    "TeamEndpointsWithRawResponse": "SyncTeamEndpointsWithRawResponse",
    "AdminEndpointsWithRawResponse": "SyncAdminEndpointsWithRawResponse",
    "AsyncPaginator": "SyncPage",
    "Page": "SyncPage",
    "paginate": "sync_paginate",
    "SaasLiteLLMClient": "SaasLiteLLMSyncClient",
    "SaasLiteLLMAdminClient": "SaasLiteLLMSyncAdminClient",
    "SaasLiteLLMClientWithRawResponse": "SaasLiteLLMSyncClientWithRawResponse",
    "SaasLiteLLMAdminClientWithRawResponse": "SaasLiteLLMSyncAdminClientWithRawResponse",
    "ChatStream": "SyncChatStream",
    "StructuredStream": "SyncStructuredStream",
    "JobHandle": "SyncJobHandle",
    "JobContext": "SyncJobContext",
}
_NAME = re.compile(r"\b(" + "|".join(sorted(_NAMES, key=len, reverse=True)) + r")\b")


def _header(module: str) -> str:
    return (
        f"# Generated from {module}.py by scripts/unasync.py: edit that module and run\n"
        f"# `python scripts/unasync.py`, never this file.\n"
    )


def unasync(source: str, module: str, target: Path) -> str:
    """The synchronous module generated from ``source`` (the text of ``module``), formatted as
    ``ruff`` formats ``target``."""
    text = source
    for pattern, replacement in _PHRASES:
        text = re.sub(pattern, replacement, text)
    text = _NAME.sub(lambda match: _NAMES[match.group(1)], text)
    text = _header(module) + text
    text = _ruff(
        ["check", "--fix-only", "--unsafe-fixes", "--select", "F401,I,RUF022,UP028"], text, target
    )
    return _ruff(["format"], text, target)


@functools.cache
def _check_ruff() -> None:
    """Refuse a ruff other than the one ``pyproject.toml`` pins."""
    pinned = re.findall(r'"ruff==([^"]+)"', (ROOT / "pyproject.toml").read_text())[0]
    done = subprocess.run(
        [sys.executable, "-m", "ruff", "--version"], capture_output=True, text=True, check=False
    )
    installed = done.stdout.split()[-1] if done.returncode == 0 and done.stdout else "none"
    if installed != pinned:
        raise SystemExit(
            f"the sync clients are formatted by ruff {pinned} (pinned in pyproject.toml), "
            f"this environment has ruff {installed}: pip install ruff=={pinned}"
        )


def _ruff(args: list[str], text: str, target: Path) -> str:
    _check_ruff()
    done = subprocess.run(  # noqa: S603 - our own interpreter running ruff on our own code
        [sys.executable, "-m", "ruff", *args, "--stdin-filename", str(target), "-"],
        input=text,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"ruff {args[0]} failed on the generated {target.name}:\n{done.stderr}")
    return done.stdout


def generated() -> dict[Path, str]:
    """Every synchronous module, as it should be."""
    result = {}
    for module in MODULES:
        target = PACKAGE / f"_sync{module}.py"
        result[target] = unasync((PACKAGE / f"{module}.py").read_text(), module, target)
    return result


def stale() -> list[Path]:
    """The synchronous modules whose committed text is not what their async source gives."""
    return [
        path for path, text in generated().items() if not path.exists() or path.read_text() != text
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only report stale modules")
    args = parser.parse_args()
    if args.check:
        out_of_date = stale()
        for path in out_of_date:
            print(f"{path.name} is out of date: run `python scripts/unasync.py`")
        return 1 if out_of_date else 0
    for path, text in generated().items():
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            print(f"wrote {path.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
