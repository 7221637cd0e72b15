"""Deployment cooldowns (services/cooldown.py), on a fake clock."""

from __future__ import annotations

from saas_litellm_server.services.cooldown import Cooldowns
from saas_litellm_server.store import Database, migrate


def test_a_deployment_cools_down_after_consecutive_failures_then_recovers() -> None:
    now = [100.0]
    cooldowns = Cooldowns(failures=3, seconds=30, clock=lambda: now[0])
    for _ in range(2):
        cooldowns.failed("a")
        assert not cooldowns.cooling("a")
    cooldowns.failed("a")
    assert cooldowns.cooling("a") and not cooldowns.cooling("b")
    now[0] += 29.9
    assert cooldowns.cooling("a")
    now[0] += 0.2
    assert not cooldowns.cooling("a")  # tried again after the period


def test_a_success_resets_the_count() -> None:
    cooldowns = Cooldowns(failures=2, seconds=30, clock=lambda: 0.0)
    cooldowns.failed("a")
    cooldowns.succeeded("a")
    cooldowns.failed("a")
    assert not cooldowns.cooling("a")


async def test_a_cooldown_started_in_one_process_is_seen_by_the_others(database_url: str) -> None:
    """Two processes' cooldowns on one database: the one that sees the failures starts the
    cooldown, the other skips the deployment after its next sync, for the rest of the period;
    a success while cooling ends it for both."""
    db = Database(database_url)
    await db.connect()
    try:
        await migrate(db)
        now = [0.0]
        one = Cooldowns(failures=2, seconds=30, clock=lambda: now[0], db=db)
        other = Cooldowns(failures=2, seconds=30, clock=lambda: 100 + now[0], db=db)
        deployment = ("openai", "http://upstream", "m")
        one.failed(deployment)
        one.failed(deployment)
        await one.drain()
        assert one.cooling(deployment) and not other.cooling(deployment)
        await other.sync()
        assert other.cooling(deployment) and not other.cooling(("openai", None, "m"))
        other.succeeded(deployment)  # tried anyway (every deployment was cooling), and it worked
        await other.drain()
        assert not other.cooling(deployment)
        await one.sync()
        await other.sync()
        assert not other.cooling(deployment)
        assert await db.fetch_val("SELECT COUNT(*) FROM deployment_cooldowns") == 0
    finally:
        await db.disconnect()


async def test_a_shared_cooldown_ends_with_its_period(database_url: str) -> None:
    db = Database(database_url)
    await db.connect()
    try:
        await migrate(db)
        wall = [1_000_000.0]
        one = Cooldowns(failures=1, seconds=30, wall=lambda: wall[0], db=db)
        other = Cooldowns(failures=1, seconds=30, wall=lambda: wall[0], db=db)
        one.failed("d")
        await one.drain()
        await other.sync()
        assert other.cooling("d")
        wall[0] += 31
        await other.sync()
        assert not other.cooling("d")
    finally:
        await db.disconnect()
