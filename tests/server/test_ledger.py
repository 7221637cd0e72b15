"""The credit ledger (services/ledger.py): every change of a team's credits, append-only, with
the balance after it; paginated; readable by the admin and by the team itself, nobody else."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import httpx
import pytest
from support import ORG, TEAM, bearer, create_team, open_job

from saas_litellm_server import Settings
from saas_litellm_server.store import Database, ledger, migrate

ADMIN_KEY = "adm-ledger-secret"
ADMIN = bearer(ADMIN_KEY)
URL = f"/api/teams/{TEAM}/transactions"


async def _walk(
    http: httpx.AsyncClient, limit: int, headers: dict[str, str]
) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        r = await http.get(URL, params=params, headers=headers)
        assert r.status_code == 200, r.text
        page = r.json()
        assert len(page["transactions"]) <= limit
        seen.extend(page["transactions"])
        cursor = page["next_cursor"]
        if cursor is None:
            return seen


async def test_every_change_is_one_transaction_and_they_add_up(http: httpx.AsyncClient) -> None:
    key = await create_team(http, credits=10)
    for credits in (5, 7):
        r = await http.post(f"/api/teams/{TEAM}/credits/add", json={"credits": credits})
        assert r.status_code == 200
    for _ in range(3):
        job = await open_job(http, key)
        r = await http.post(
            f"/api/jobs/{job}/llm-call",
            json={"messages": [{"role": "user", "content": "x"}]},
            headers=bearer(key),
        )
        assert r.status_code == 200
        r = await http.post(
            f"/api/jobs/{job}/complete", json={"status": "completed"}, headers=bearer(key)
        )
        assert r.status_code == 200
    rows = await _walk(http, 2, bearer(key))
    assert [(t["kind"], t["credits"], t["credits_remaining_after"]) for t in rows] == [
        ("charge", -1, 19),
        ("charge", -1, 20),
        ("charge", -1, 21),
        ("grant", 7, 22),
        ("grant", 5, 15),
        ("grant", 10, 10),
    ]
    assert len({t["transaction_id"] for t in rows}) == 6
    balance = (await http.get("/api/credits/balance", headers=bearer(key))).json()
    assert sum(t["credits"] for t in rows) == balance["credits_remaining"] == 19
    kinds = await http.get(URL, params={"kind": "grant"}, headers=bearer(key))
    assert [t["credits"] for t in kinds.json()["transactions"]] == [7, 5, 10]


async def test_a_replayed_grant_is_written_once(http: httpx.AsyncClient) -> None:
    key = await create_team(http, credits=0)
    headers = {"Idempotency-Key": "grant-1"}
    for _ in range(3):
        r = await http.post(f"/api/teams/{TEAM}/credits/add", json={"credits": 4}, headers=headers)
        assert r.status_code == 200
    rows = (await http.get(URL, headers=bearer(key))).json()["transactions"]
    assert [(t["kind"], t["credits"]) for t in rows] == [("grant", 4)]  # a 0 grant is no change


async def test_a_dedupe_key_is_written_once(database_url: str) -> None:
    db = Database(database_url)
    await db.connect()
    try:
        await migrate(db)
        await db.execute(
            "INSERT INTO organizations (organization_id, name, metadata, created_at) "
            "VALUES ('o', 'o', '{}', '2026-01-01 00:00:00')"
        )
        await db.execute(
            "INSERT INTO teams (team_id, organization_id, status, key_hash, created_at) "
            "VALUES ('t', 'o', 'active', 'h', '2026-01-01 00:00:00')"
        )
        at = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
        written = [
            await ledger.append(
                db,
                team_id="t",
                kind="charge",
                credits=-1,
                credits_remaining_after=0,
                at=at,
                dedupe_key="charge:j",
            )
            for _ in range(2)
        ]
        assert written == [True, False]
        assert await ledger.balance_of(db, "t") == -1
    finally:
        await db.disconnect()


def _forge(payload: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


async def test_forged_cursors_and_bad_queries_are_refused(http: httpx.AsyncClient) -> None:
    key = await create_team(http, credits=3)
    for cursor in (
        "nope",
        _forge(["2026-01-01T00:00:00+00:00", "ctx_x'; DROP TABLE teams; --"]),
        _forge(["2026-01-01T00:00:00+02:00", "ctx_1"]),
        _forge(["not a date", "ctx_1"]),
        _forge({"a": 1}),
        "A" * 600,
    ):
        r = await http.get(URL, params={"cursor": cursor}, headers=bearer(key))
        assert r.status_code == 400, (cursor, r.text)
        assert r.json()["error"]["param"] == "cursor"
    for params in ({"limit": 0}, {"limit": 501}, {"limit": "x"}, {"kind": "theft"}):
        r = await http.get(URL, params=params, headers=bearer(key))
        assert r.status_code == 422, (params, r.text)


@pytest.mark.parametrize("admin_key", [ADMIN_KEY])
async def test_who_may_read_a_ledger(http: httpx.AsyncClient, settings: Settings) -> None:
    key = await create_team(http, credits=3, admin=ADMIN)
    other = await create_team(http, team_id="other", organization_id=ORG, credits=3, admin=ADMIN)
    assert (await http.get(URL, headers=ADMIN)).status_code == 200
    assert (await http.get(URL, headers=bearer(key))).status_code == 200
    assert (await http.get(URL)).status_code == 401
    assert (await http.get(URL, headers=bearer("sk-wrong"))).status_code == 401
    r = await http.get(URL, headers=bearer(other))
    assert r.status_code == 403, r.text
    assert "transactions" not in r.text
    assert (await http.get("/api/teams/nope/transactions", headers=ADMIN)).status_code == 404


async def test_a_removed_teams_ledger_stays_readable(http: httpx.AsyncClient) -> None:
    await create_team(http, credits=3)
    assert (await http.delete(f"/api/teams/{TEAM}")).status_code == 200
    r = await http.get(URL)
    assert r.status_code == 200
    assert [t["credits"] for t in r.json()["transactions"]] == [3]
