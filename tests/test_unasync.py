"""The synchronous clients are what ``scripts/unasync.py`` makes of the async ones: never edited
by hand, never out of date."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

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
