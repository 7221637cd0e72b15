"""The catalog cache (services/_cache.py): concurrent misses of one key share one load."""

from __future__ import annotations

import asyncio

import pytest

from saas_litellm_server.services._cache import TTLCache


async def test_concurrent_misses_make_one_load() -> None:
    cache: TTLCache[str] = TTLCache(5)
    loads = 0
    gate = asyncio.Event()

    async def load() -> str:
        nonlocal loads
        loads += 1
        await gate.wait()
        return "alias"

    waiting = [asyncio.ensure_future(cache.get_or_load("a", load)) for _ in range(64)]
    await asyncio.sleep(0)
    gate.set()
    assert await asyncio.gather(*waiting) == ["alias"] * 64
    assert loads == 1
    assert await cache.get_or_load("a", load) == "alias" and loads == 1  # cached now


async def test_a_failed_load_fails_its_waiters_and_the_next_miss_loads_again() -> None:
    cache: TTLCache[str] = TTLCache(5)
    attempts = 0

    async def load() -> str:
        nonlocal attempts
        attempts += 1
        await asyncio.sleep(0)
        if attempts == 1:
            raise ConnectionError("database away")
        return "alias"

    results = await asyncio.gather(
        *(cache.get_or_load("a", load) for _ in range(3)), return_exceptions=True
    )
    assert all(isinstance(r, ConnectionError) for r in results)
    assert await cache.get_or_load("a", load) == "alias"
    assert attempts == 2


async def test_nothing_loaded_before_a_clear_is_kept_after_it() -> None:
    """An admin change clears the cache while a read of the old alias is in flight: that read
    answers its own callers but is not cached."""
    cache: TTLCache[str] = TTLCache(5)
    gate = asyncio.Event()
    versions = iter(["old", "new"])

    async def load() -> str:
        value = next(versions)
        if value == "old":
            await gate.wait()
        return value

    first = asyncio.ensure_future(cache.get_or_load("a", load))
    await asyncio.sleep(0)
    cache.clear()
    gate.set()
    assert await first == "old"
    assert await cache.get_or_load("a", load) == "new"
    assert cache.get("a") == "new"


async def test_a_cancelled_waiter_leaves_the_load_to_the_others() -> None:
    cache: TTLCache[str] = TTLCache(5)
    gate = asyncio.Event()

    async def load() -> str:
        await gate.wait()
        return "alias"

    leaving = asyncio.ensure_future(cache.get_or_load("a", load))
    staying = asyncio.ensure_future(cache.get_or_load("a", load))
    await asyncio.sleep(0)
    leaving.cancel()
    gate.set()
    assert await staying == "alias"
    with pytest.raises(asyncio.CancelledError):
        await leaving
