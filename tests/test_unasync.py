"""The synchronous clients are what ``scripts/unasync.py`` makes of the async ones: never edited
by hand, never out of date."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("unasync_script", ROOT / "scripts" / "unasync.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_every_sync_module_is_generated_from_its_async_source() -> None:
    script = _script()

    stale = [path.name for path in script.stale()]

    assert stale == [], "run `python scripts/unasync.py` and commit the result"


def test_no_sync_module_is_left_without_a_source() -> None:
    script = _script()
    generated = {f"_sync{module}.py" for module in script.MODULES}

    on_disk = {path.name for path in (ROOT / "client" / "saas_litellm_client").glob("_sync*.py")}

    assert on_disk == generated


def test_the_rewrite_removes_every_trace_of_async() -> None:
    script = _script()
    source = '''"""An ``async with`` block; an async iterator."""
from collections.abc import AsyncIterator, Awaitable, Callable
import httpx
from ._streaming import ChatStream


class SaasLiteLLMClient:
    def __init__(self, send: Callable[[], Awaitable[int]]) -> None:
        self.http = httpx.AsyncClient()

    async def __aenter__(self) -> SaasLiteLLMClient:
        return self

    async def chunks(self, stream: ChatStream) -> AsyncIterator[str]:
        async with stream:
            async for chunk in stream:
                yield await chunk.text()
        await stream.aclose()
'''
    target = ROOT / "client" / "saas_litellm_client" / "_sync_example.py"

    result = script.unasync(source, "_example", target)

    header, _, code = result.partition('"""')
    assert header.startswith("# Generated from _example.py by scripts/unasync.py")
    assert "async" not in code and "await" not in code
    assert '"""A ``with`` block; an iterator."""' in result
    assert "from ._sync_streaming import SyncChatStream" in result
    assert "class SaasLiteLLMSyncClient:" in result
    assert "httpx.Client()" in result
    assert "def __enter__(self) -> SaasLiteLLMSyncClient:" in result
    assert "send: Callable[[], int]" in result
    assert "-> Iterator[str]:" in result
    assert "stream.close()" in result
    assert "Awaitable" not in result  # the import it no longer needs is gone


def test_ruff_is_pinned_to_one_version_wherever_it_is_installed() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text()
    noxfile = (ROOT / "noxfile.py").read_text()

    specs = re.findall(r'"(ruff[^"]*)"', pyproject)
    installs = re.findall(r"session\.install\(([^)]*ruff[^)]*|RUFF)\)", noxfile)

    assert len(specs) == 2 and len(set(specs)) == 1 and specs[0].startswith("ruff=="), specs
    assert installs == ["RUFF"], "the lint session installs the ruff pyproject.toml pins"


def test_the_script_refuses_a_ruff_other_than_the_pinned_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = _script()
    (tmp_path / "pyproject.toml").write_text('dev = ["ruff==0.0.1"]\n')
    monkeypatch.setattr(script, "ROOT", tmp_path)

    with pytest.raises(SystemExit, match=r"formatted by ruff 0\.0\.1 .* this environment has ruff"):
        script.unasync("x = 1\n", "_client", tmp_path / "_sync_client.py")
