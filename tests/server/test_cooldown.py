"""Deployment cooldowns (services/cooldown.py), on a fake clock."""

from __future__ import annotations

from saas_litellm_server.services.cooldown import Cooldowns


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
