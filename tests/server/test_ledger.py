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
from saas_litellm_server.store import Database, ledger_sql, migrate

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


async def test_a_dedupe_key_is_written_once_and_a_repeat_raises(database_url: str) -> None:
    """A second row for the same cause is never silently dropped: it raises, so that the
    change that wanted it rolls back with it (a dropped row once left a refill unrecorded)."""
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

        async def charge() -> None:
            await ledger_sql.append(
                db,
                team_id="t",
                kind="charge",
                credits=-1,
                credits_remaining_after=0,
                at=at,
                dedupe_key="charge:j",
            )

        await charge()
        with pytest.raises(ledger_sql.DuplicateEntry):
            async with db.transaction():
                await db.execute("UPDATE teams SET credits_allocated = credits_allocated + 1")
                await charge()
        assert await ledger_sql.balance_of(db, "t") == -1
        row = await db.fetch_one("SELECT credits_allocated FROM teams")
        assert row is not None and row["credits_allocated"] == 0  # rolled back with it
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


ADJUST = f"/api/teams/{TEAM}/credits/adjust"


async def test_an_adjustment_moves_the_balance_either_way_with_its_reason(
    http: httpx.AsyncClient,
) -> None:
    key = await create_team(http, credits=10)
    r = await http.post(ADJUST, json={"credits": 4, "reason": "goodwill"})
    assert r.status_code == 200, r.text
    assert (r.json()["credits_allocated"], r.json()["credits_remaining"]) == (14, 14)
    job = await open_job(http, key)  # holds one credit
    r = await http.post(ADJUST, json={"credits": -13, "reason": "duplicate grant"})
    assert r.status_code == 200, r.text
    assert (r.json()["credits_remaining"], r.json()["credits_reserved"]) == (1, 1)
    rows = await _walk(http, 50, bearer(key))
    assert [(t["kind"], t["credits"], t["credits_remaining_after"], t["reason"]) for t in rows][
        :2
    ] == [
        ("adjustment", -13, 1, "duplicate grant"),
        ("adjustment", 4, 14, "goodwill"),
    ]
    assert sum(t["credits"] for t in rows) == 1
    # the job's credit is held: not available to take back
    r = await http.post(ADJUST, json={"credits": -1, "reason": "too much"})
    assert r.status_code == 409 and r.json()["error"]["param"] == "credits"
    assert "1 held by its open jobs" in r.json()["error"]["message"]
    r = await http.post(f"/api/jobs/{job}/complete", json={"status": "failed"}, headers=bearer(key))
    assert r.status_code == 200
    r = await http.post(ADJUST, json={"credits": -1, "reason": "now it is free"})
    assert r.status_code == 200 and r.json()["credits_remaining"] == 0


@pytest.mark.parametrize(
    "body",
    [
        {"credits": 0, "reason": "nothing"},
        {"credits": 1.0, "reason": "a float"},
        {"credits": "5", "reason": "a string"},
        {"credits": True, "reason": "a boolean"},
        {"credits": 5},
        {"credits": 5, "reason": ""},
        {"credits": 5, "reason": "nul\u0000"},
        {"credits": -(10**12), "reason": "too much"},
        {"credits": 5, "reason": "x", "kind": "grant"},
    ],
)
async def test_a_bad_adjustment_is_refused_and_changes_nothing(
    http: httpx.AsyncClient, body: Any
) -> None:
    key = await create_team(http, credits=10)
    before = (await http.get("/api/credits/balance", headers=bearer(key))).json()
    r = await http.post(ADJUST, json=body)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["type"] == "validation_error"
    assert (await http.get("/api/credits/balance", headers=bearer(key))).json() == before
    assert len(await _walk(http, 50, bearer(key))) == 1  # the opening grant only


async def test_an_adjustment_of_an_unknown_team_is_404(http: httpx.AsyncClient) -> None:
    r = await http.post("/api/teams/nobody/credits/adjust", json={"credits": 1, "reason": "x"})
    assert r.status_code == 404


async def test_a_negative_adjustment_raises_the_low_balance_event(
    http: httpx.AsyncClient,
) -> None:
    await create_team(http, credits=10, low_balance_threshold=5)
    r = await http.post(ADJUST, json={"credits": -6, "reason": "clawback"})
    assert r.status_code == 200
    events = (await http.get("/api/audit-log", params={"action": "team.credits_adjust"})).json()
    assert [e["after"] for e in events["events"]] == [
        {"credits_remaining": 4, "reason": "clawback"}
    ]
