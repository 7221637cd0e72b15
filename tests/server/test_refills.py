"""Auto-refill (services/refills.py): once per UTC period, whoever tries — every process's
sweep, a job create short of credit — and once after downtime, however many periods it missed."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from support import TEAM, bearer, create_team, open_job, server_process

from saas_litellm_server import Settings, create_app
from saas_litellm_server.services import maintenance, refills

START = dt.datetime(2026, 12, 3, 23, 59, tzinfo=dt.timezone.utc)  # a Thursday, ISO week 49
ADMIN_KEY = "adm-refill-secret"
URL = f"/api/teams/{TEAM}/auto-refill"


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> dt.datetime:
        return self.now


@contextlib.asynccontextmanager
async def _app(
    settings: Settings, clock: Clock
) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient]]:
    app = create_app(
        settings.model_copy(update={"maintenance_interval_seconds": 3600}), clock=clock
    )
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://localhost"
        ) as http,
    ):
        yield app, http


async def _refills(http: httpx.AsyncClient, headers: dict[str, str] | None = None) -> list[Any]:
    r = await http.get(
        f"/api/teams/{TEAM}/transactions", params={"kind": "refill"}, headers=headers or {}
    )
    assert r.status_code == 200, r.text
    return [(t["credits"], t["credits_remaining_after"]) for t in r.json()["transactions"]][::-1]


def test_period_keys_are_utc_and_sort_in_time() -> None:
    keys = refills.period_keys(
        dt.datetime(2027, 1, 1, 0, 30, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    )
    assert keys == {"daily": "2026-12-31", "weekly": "2026-W53", "monthly": "2026-12"}
    assert refills.period_keys(dt.datetime(2027, 1, 4, tzinfo=dt.timezone.utc))["weekly"] == (
        "2027-W01"
    )
    assert "2026-W53" < "2027-W01" and "2026-12" < "2027-01"


async def test_a_clock_jumped_over_two_periods_refills_once(
    settings: Settings,
) -> None:
    clock = Clock()
    async with _app(settings, clock) as (app, http):
        await create_team(http, credits=0)
        r = await http.put(URL, json={"amount": 10, "period": "daily", "mode": "add"})
        assert r.status_code == 200, r.text
        assert r.json()["auto_refill"] == {
            "amount": 10,
            "period": "daily",
            "mode": "add",
            "last_refill_period": None,
        }
        runtime = app.state.runtime
        await maintenance.tick(runtime)
        await maintenance.tick(runtime)
        assert await _refills(http) == [(10, 10)]
        clock.now += dt.timedelta(minutes=2)  # past midnight: a new day
        await maintenance.tick(runtime)
        assert await _refills(http) == [(10, 10), (10, 20)]
        clock.now += dt.timedelta(days=3)  # down for two whole days
        for _ in range(3):
            await maintenance.tick(runtime)
        assert await _refills(http) == [(10, 10), (10, 20), (10, 30)]
        team = (await http.get(f"/api/teams/{TEAM}")).json()
        assert team["credits_remaining"] == 30
        assert team["auto_refill"]["last_refill_period"] == "2026-12-07"


async def test_top_up_raises_the_balance_to_the_amount_and_add_adds(settings: Settings) -> None:
    clock = Clock()
    async with _app(settings, clock) as (app, http):
        key = await create_team(http, credits=100)
        for _ in range(3):  # spend 3
            job = await open_job(http, key)
            await http.post(
                f"/api/jobs/{job}/llm-call",
                json={"messages": [{"role": "user", "content": "x"}]},
                headers=bearer(key),
            )
            await http.post(
                f"/api/jobs/{job}/complete", json={"status": "completed"}, headers=bearer(key)
            )
        assert (
            await http.put(URL, json={"amount": 100, "period": "weekly", "mode": "top_up"})
        ).status_code == 200
        await maintenance.tick(app.state.runtime)
        assert await _refills(http) == [(3, 100)]
        clock.now += dt.timedelta(days=7)
        await maintenance.tick(app.state.runtime)  # already at 100: nothing to add
        assert await _refills(http) == [(3, 100)]
        team = (await http.get(f"/api/teams/{TEAM}")).json()
        assert team["auto_refill"]["last_refill_period"] == "2026-W50"
        # the same period again keeps what was refilled; another period starts afresh
        assert (
            await http.put(URL, json={"amount": 100, "period": "weekly", "mode": "add"})
        ).status_code == 200
        await maintenance.tick(app.state.runtime)
        assert await _refills(http) == [(3, 100)]
        r = await http.put(URL, json={"amount": 7, "period": "monthly", "mode": "add"})
        assert r.json()["auto_refill"]["last_refill_period"] is None
        await maintenance.tick(app.state.runtime)
        await maintenance.tick(app.state.runtime)
        assert await _refills(http) == [(3, 100), (7, 107)]
        r = await http.delete(URL)
        assert r.status_code == 200 and r.json()["auto_refill"] is None
        clock.now += dt.timedelta(days=40)
        await maintenance.tick(app.state.runtime)
        assert await _refills(http) == [(3, 100), (7, 107)]


async def test_racing_refills_apply_once(settings: Settings) -> None:
    clock = Clock()
    async with _app(settings, clock) as (app, http):
        await create_team(http, credits=0)
        assert (await http.put(URL, json={"amount": 5, "period": "monthly"})).status_code == 200
        db = app.state.runtime.db
        done = await asyncio.gather(*(refills.refill_team(db, TEAM, clock.now) for _ in range(10)))
        assert done.count(True) == 1
        assert await _refills(http) == [(5, 5)]


async def _ledger_adds_up(http: httpx.AsyncClient) -> int:
    """The team's transactions add up to its credits_remaining, which it returns."""
    team = (await http.get(f"/api/teams/{TEAM}")).json()
    r = await http.get(f"/api/teams/{TEAM}/transactions", params={"limit": 500})
    assert sum(t["credits"] for t in r.json()["transactions"]) == team["credits_remaining"]
    remaining: int = team["credits_remaining"]
    return remaining


async def test_an_auto_refill_set_anew_in_a_period_writes_a_ledger_row_for_its_grant(
    settings: Settings,
) -> None:
    """DELETE then PUT of auto-refill, or a switch of period daily -> weekly -> daily, within
    one day: each new auto-refill applies in the current period (as documented), and each of
    its grants has its ledger row (a repeated period key once dropped the row, not the grant:
    allocated 10 against a ledger of 5)."""
    clock = Clock()
    async with _app(settings, clock) as (app, http):
        await create_team(http, credits=0)
        runtime = app.state.runtime
        assert (await http.put(URL, json={"amount": 5, "period": "daily"})).status_code == 200
        await maintenance.tick(runtime)
        assert await _ledger_adds_up(http) == 5
        assert (await http.delete(URL)).status_code == 200
        assert (await http.put(URL, json={"amount": 5, "period": "daily"})).status_code == 200
        await maintenance.tick(runtime)
        await maintenance.tick(runtime)  # once per period, still
        assert await _ledger_adds_up(http) == 10
        for period in ("weekly", "daily"):
            assert (await http.put(URL, json={"amount": 1, "period": period})).status_code == 200
            await maintenance.tick(runtime)
        # (one clock instant for all: in the order of the balance they left)
        assert sorted(await _refills(http), key=lambda t: t[1]) == [
            (5, 5),
            (5, 10),
            (1, 11),
            (1, 12),
        ]
        assert await _ledger_adds_up(http) == 12


async def test_a_job_create_short_of_credit_applies_a_due_refill(settings: Settings) -> None:
    clock = Clock()
    async with _app(settings, clock) as (_, http):
        key = await create_team(http, credits=0)
        assert (await http.put(URL, json={"amount": 1, "period": "daily"})).status_code == 200
        await open_job(http, key)  # no sweep ran: the create applied it
        r = await http.post(
            "/api/jobs/create", json={"team_id": TEAM, "job_type": "x"}, headers=bearer(key)
        )
        assert r.status_code == 402  # one refill per day
        assert await _refills(http) == [(1, 1)]


async def test_a_create_that_loses_the_refill_race_still_uses_the_refilled_credit(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A create short of credit finds the period's refill applied by someone else (a
    concurrent request, another process's sweep) just before its own attempt: it must open
    the job with those credits, not answer 402."""
    clock = Clock()
    real = refills.refill_team

    async def someone_else_refills_first(db: Any, team_id: str, now: dt.datetime) -> bool:
        await real(db, team_id, now)  # the other one's refill, committed
        return await real(db, team_id, now)  # this request's own attempt: nothing left to do

    monkeypatch.setattr(refills, "refill_team", someone_else_refills_first)
    async with _app(settings, clock) as (_, http):
        key = await create_team(http, credits=0)
        assert (await http.put(URL, json={"amount": 2, "period": "daily"})).status_code == 200

        r = await http.post(
            "/api/jobs/create", json={"team_id": TEAM, "job_type": "x"}, headers=bearer(key)
        )

        assert r.status_code == 201, r.text
        assert await _refills(http) == [(2, 2)]


@pytest.mark.parametrize("admin_key", [ADMIN_KEY])
async def test_who_may_set_an_auto_refill_and_what_it_takes(http: httpx.AsyncClient) -> None:
    admin = bearer(ADMIN_KEY)
    key = await create_team(http, credits=1, admin=admin)
    body = {"amount": 5, "period": "daily", "mode": "add"}
    before = (await http.get(f"/api/teams/{TEAM}", headers=admin)).json()
    for headers, status in ((None, 401), (bearer("sk-wrong"), 401), (bearer(key), 403)):
        for method in ("PUT", "DELETE"):
            r = await http.request(
                method, URL, json=body if method == "PUT" else None, headers=headers
            )
            assert r.status_code == status, (method, headers, r.text)
    for bad in (
        {},
        {"amount": 0, "period": "daily"},
        {"amount": -5, "period": "daily"},
        {"amount": 5.0, "period": "daily"},
        {"amount": "5", "period": "daily"},
        {"amount": 5, "period": "hourly"},
        {"amount": 5, "period": "daily", "mode": "double"},
        {"amount": 5, "period": "daily", "extra": 1},
        {"amount": 10**13, "period": "daily"},
    ):
        r = await http.put(URL, json=bad, headers=admin)
        assert r.status_code == 422, (bad, r.text)
    for raw in (b"{not json", b"[]", b"null"):
        r = await http.put(URL, content=raw, headers={**admin, "Content-Type": "application/json"})
        assert r.status_code == 400, (raw, r.text)
    assert (await http.get(f"/api/teams/{TEAM}", headers=admin)).json() == before
    r = await http.put(URL, json=body, headers=admin)
    assert r.status_code == 200 and r.json()["auto_refill"]["amount"] == 5
    assert (await http.delete(URL, headers=admin)).status_code == 200
    assert (
        await http.put("/api/teams/nope/auto-refill", json=body, headers=admin)
    ).status_code == 404


@pytest.mark.parametrize("backend", ["postgresql"])  # several processes share one database
async def test_three_processes_refill_once(database_url: str) -> None:
    """Three servers on one PostgreSQL, each sweeping every 50 ms, and job creates racing on
    all three for a team with no credit: one refill, however many tried."""
    env = {"SAAS_LITELLM_MAINTENANCE_INTERVAL_SECONDS": "0.05"}
    with contextlib.ExitStack() as stack:
        urls = [stack.enter_context(server_process(database_url, env=env))[0] for _ in range(3)]
        async with contextlib.AsyncExitStack() as clients:
            https = [
                await clients.enter_async_context(httpx.AsyncClient(base_url=u, timeout=30))
                for u in urls
            ]
            key = await create_team(https[0], credits=0)
            r = await https[1].put(URL, json={"amount": 3, "period": "daily", "mode": "add"})
            assert r.status_code == 200, r.text

            async def create(http: httpx.AsyncClient) -> int:
                r = await http.post(
                    "/api/jobs/create", json={"team_id": TEAM, "job_type": "x"}, headers=bearer(key)
                )
                return r.status_code

            statuses = await asyncio.gather(*(create(https[i % 3]) for i in range(12)))
            assert statuses.count(201) == 3 and statuses.count(402) == 9, statuses
            # every process keeps sweeping (20 times a second): still exactly one refill
            for _ in range(10):
                assert await _refills(https[2]) == [(3, 3)]
                await asyncio.sleep(0.1)
            balance = (await https[0].get("/api/credits/balance", headers=bearer(key))).json()
            assert (balance["credits_allocated"], balance["credits_reserved"]) == (3, 3)
