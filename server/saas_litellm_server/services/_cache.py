"""A small time-bounded cache for catalog data read on every call (aliases, team groups)."""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
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
