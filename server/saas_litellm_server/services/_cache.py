"""A small time-bounded cache for catalog data read on every call (aliases, team groups)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

__all__ = ["TTLCache"]

V = TypeVar("V")


class TTLCache(Generic[V]):
    """Entries live ``ttl`` seconds (``0`` disables caching); at most ``maxsize`` of them."""

    def __init__(
        self, ttl: float, *, maxsize: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl
        self.maxsize = maxsize
        self.clock = clock
        self._items: dict[Hashable, tuple[float, V]] = {}
        self._loading: dict[Hashable, asyncio.Future[V | None]] = {}
        self._generation = 0
        """Moved on by :meth:`clear`: a load begun before it does not fill the cache after."""

    def get(self, key: Hashable) -> V | None:
        item = self._items.get(key)
        if item is None:
            return None
        if item[0] <= self.clock():
            del self._items[key]
            return None
        return item[1]

    def put(self, key: Hashable, value: V) -> None:
        if self.ttl <= 0:
            return
        if len(self._items) >= self.maxsize:
            self._items.clear()  # crude but bounded; a full cache is a sign of misuse anyway
        self._items[key] = (self.clock() + self.ttl, value)

    def clear(self) -> None:
        self._items.clear()
        self._loading.clear()
        self._generation += 1

    async def get_or_load(self, key: Hashable, load: Callable[[], Awaitable[V | None]]) -> V | None:
        """The cached value, or ``load()``'s (kept unless ``None``). Concurrent misses of one
        key share one load: when an entry expires under load, 64 calls in flight make one
        query, not 64."""
        value = self.get(key)
        if value is not None:
            return value
        pending = self._loading.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._load(key, load, self._generation))
            self._loading[key] = pending
        # shielded: a waiter cancelled (its client left) does not cancel the others' load
        return await asyncio.shield(pending)

    async def _load(
        self, key: Hashable, load: Callable[[], Awaitable[V | None]], generation: int
    ) -> V | None:
        try:
            value = await load()
            if value is not None and generation == self._generation:
                self.put(key, value)
            return value
        finally:
            if generation == self._generation:
                self._loading.pop(key, None)
