"""Credit events (services/credit_events.py): ``credits.low`` when a charge crosses the team's
low-balance threshold, ``credits.exhausted`` when it reaches 0, ``credits.refilled`` on a
refill — each once, from the change that caused it, through the one seam
(``credits_event``)."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
from support import TEAM, bearer, create_team, open_job

from saas_litellm_server.services import refills

HI = {"messages": [{"role": "user", "content": "Hi"}]}


def _events(caplog: pytest.LogCaptureFixture) -> list[tuple[str, dict[str, Any]]]:
    return [
        (
            r.event_type,  # type: ignore[attr-defined]
            {k: getattr(r, k) for k in ("team_id", "credits_remaining") if hasattr(r, k)},
        )
        for r in caplog.records
        if r.name == "saas_litellm_server.credits"
    ]


async def _spend_one(http: httpx.AsyncClient, key: str) -> None:
    job = await open_job(http, key)
    assert (await http.post(f"/api/jobs/{job}/llm-call", json=HI, headers=bearer(key))).is_success
    r = await http.post(
        f"/api/jobs/{job}/complete", json={"status": "completed"}, headers=bearer(key)
    )
    assert r.json()["costs"]["credits_charged"] == 1


async def test_crossing_the_threshold_and_reaching_zero(
    http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="saas_litellm_server.credits")
    key = await create_team(http, credits=3, low_balance_threshold=2)
    team = (await http.get(f"/api/teams/{TEAM}")).json()
    assert team["low_balance_threshold"] == 2
    await _spend_one(http, key)  # 3 -> 2: crosses the threshold
    assert _events(caplog) == [("credits.low", {"team_id": TEAM, "credits_remaining": 2})]
    await _spend_one(http, key)  # 2 -> 1: already below, no second event
    assert len(_events(caplog)) == 1
    await _spend_one(http, key)  # 1 -> 0
    assert _events(caplog)[1:] == [("credits.exhausted", {"team_id": TEAM, "credits_remaining": 0})]


async def test_a_big_charge_crosses_both_at_once(
    http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="saas_litellm_server.credits")
    key = await create_team(
        http,
        credits=3,
        low_balance_threshold=2,
        budget_mode="consumption_tokens",
        tokens_per_credit=10,
    )
    job = await open_job(http, key)
    body = {**HI, "max_tokens": 16}  # worst case 7 + 16 tokens: 3 credits
    assert (await http.post(f"/api/jobs/{job}/llm-call", json=body, headers=bearer(key))).is_success
    r = await http.post(
        f"/api/jobs/{job}/complete", json={"status": "completed"}, headers=bearer(key)
    )
    assert r.json()["costs"]["credits_charged"] == 3
    assert [kind for kind, _ in _events(caplog)] == ["credits.low", "credits.exhausted"]


async def test_no_threshold_no_low_event_and_grants_raise_none(
    http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="saas_litellm_server.credits")
    key = await create_team(http, credits=2)
    await _spend_one(http, key)
    assert (await http.post(f"/api/teams/{TEAM}/credits/add", json={"credits": 5})).is_success
    assert _events(caplog) == []
    r = await http.patch(f"/api/teams/{TEAM}", json={"low_balance_threshold": None})
    assert r.status_code == 200 and r.json()["low_balance_threshold"] is None


async def test_a_refill_is_an_event(
    http: httpx.AsyncClient, app: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="saas_litellm_server.credits")
    await create_team(http, credits=0)
    r = await http.put(
        f"/api/teams/{TEAM}/auto-refill", json={"amount": 4, "period": "daily", "mode": "add"}
    )
    assert r.status_code == 200
    runtime = app.state.runtime
    assert await refills.refill_due(runtime.db, runtime.clock()) == 1
    assert await refills.refill_due(runtime.db, runtime.clock()) == 0
    [(kind, data)] = _events(caplog)
    assert (kind, data) == ("credits.refilled", {"team_id": TEAM, "credits_remaining": 4})
    record = next(r for r in caplog.records if r.name == "saas_litellm_server.credits")
    assert record.credits == 4  # type: ignore[attr-defined]
    assert record.period == refills.period_keys(runtime.clock())["daily"]  # type: ignore[attr-defined]
