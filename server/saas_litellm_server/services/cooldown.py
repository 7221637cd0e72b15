"""Deployment cooldowns: a deployment that keeps failing is skipped for a while.

After ``failures`` consecutive retryable failures a deployment cools down for ``seconds``; routing
then tries the alias's other deployments first, and tries it again once the period is over (a
success resets its count). The state is per server process: each process learns on its own.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass

__all__ = ["Cooldowns"]


@dataclass
class _Health:
    failures: int = 0
    until: float = 0.0


class Cooldowns:
    def __init__(
        self, *, failures: int, seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.failures = failures
        self.seconds = seconds
        self.clock = clock
        self._health: dict[Hashable, _Health] = {}

    def cooling(self, key: Hashable) -> bool:
        health = self._health.get(key)
        return health is not None and health.until > self.clock()

    def failed(self, key: Hashable) -> None:
        health = self._health.setdefault(key, _Health())
        health.failures += 1
        if health.failures >= self.failures:
            health.failures = 0
            health.until = self.clock() + self.seconds

    def succeeded(self, key: Hashable) -> None:
        self._health.pop(key, None)
