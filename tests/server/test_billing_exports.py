"""CSV exports and the usage report (``?format=csv`` on the ledger, ``GET /api/usage``), and
spend per virtual key (``llm_calls.key_id``, ``key_rollups``), on SQLite and PostgreSQL: the
CSV is every row the JSON gives (parsed with ``csv``), money exact, hostile cells neutralised,
and the figures are those of the other usage endpoints whether rolled up or not."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

import httpx
import pytest
from dashboard_client import call, complete
from support import ORG, TEAM, bearer, create_alias, create_team, open_job

from saas_litellm_server import Settings
from saas_litellm_server._csv import Dollars, cell
from saas_litellm_server.services import ledger, stats
from saas_litellm_server.store import Database, rollups_sql

ADMIN_KEY = "adm-exports-secret-0123456789abcdef"
ADMIN = bearer(ADMIN_KEY)
LEDGER = f"/api/teams/{TEAM}/transactions"
GROUPS = ("team", "organization", "job_type", "model", "day")


def _parse(r: httpx.Response) -> list[dict[str, str]]:
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"].startswith("attachment; filename=")
    return list(csv.DictReader(io.StringIO(r.text)))


async def _walk(http: httpx.AsyncClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = (await http.get(LEDGER, params=params, headers=headers)).json()
        seen.extend(page["transactions"])
        cursor = page["next_cursor"]
        if cursor is None:
            return seen


def _text(value: Any) -> str:
    return "" if value is None else str(value)


async def test_the_ledger_csv_is_every_transaction_of_the_filter(
    http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ledger, "_CSV_PAGE", 2)  # several pages of the stream
    key = await create_team(http, credits=10)
    for credits in (3, 4):
        await http.post(f"/api/teams/{TEAM}/credits/add", json={"credits": credits})
    await http.post(f"/api/teams/{TEAM}/credits/adjust", json={"credits": -5, "reason": "fix"})
    job = await open_job(http, key)
    await call(http, key, job)
    await complete(http, key, job)
    rows = _parse(await http.get(LEDGER, params={"format": "csv"}, headers=bearer(key)))
    expected = await _walk(http, bearer(key))
    assert len(rows) == len(expected) == 5
    assert list(rows[0]) == [
        "transaction_id",
        "at",
        "kind",
        "credits",
        "credits_remaining_after",
        "job_id",
        "reason",
    ]
    for row, t in zip(rows, expected, strict=True):
        assert row["transaction_id"] == t["transaction_id"]
        assert row["kind"] == t["kind"]
        assert int(row["credits"]) == t["credits"]  # -5 stays a number, not neutralised
        assert int(row["credits_remaining_after"]) == t["credits_remaining_after"]
        assert row["job_id"] == _text(t["job_id"]) and row["reason"] == _text(t["reason"])
    balance = (await http.get("/api/credits/balance", headers=bearer(key))).json()
    assert sum(int(r["credits"]) for r in rows) == balance["credits_remaining"] == 11
    grants = _parse(await http.get(LEDGER, params={"format": "csv", "kind": "grant"}))
    assert [int(r["credits"]) for r in grants] == [4, 3, 10]
    json_page = await http.get(LEDGER, params={"format": "json", "limit": "1"})
    assert len(json_page.json()["transactions"]) == 1 and json_page.json()["next_cursor"]
    for bad in ({"format": "xml"}, {"format": "csv", "kind": "gift"}):
        r = await http.get(LEDGER, params=bad)
        assert r.status_code == 422 and r.headers["content-type"] == "application/json"


async def test_hostile_text_cannot_become_a_spreadsheet_formula(
    http: httpx.AsyncClient,
) -> None:
    await create_team(http, credits=100)
    hostile = ['=HYPERLINK("http://evil")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx", "fine"]
    for reason in hostile:
        r = await http.post(
            f"/api/teams/{TEAM}/credits/adjust", json={"credits": 1, "reason": reason}
        )
        assert r.status_code == 200, r.text
    rows = _parse(await http.get(LEDGER, params={"format": "csv", "kind": "adjustment"}))
    assert [r["reason"] for r in rows] == ["fine", *("'" + h for h in reversed(hostile[:-1]))]
    # every text cell of every export goes through the one function; numbers stay numbers
    assert [cell(v) for v in ("-x", "=1", "a=b", -5, Dollars(3_003), Dollars(2_000_000), None)] == [
        "'-x",
        "'=1",
        "a=b",
        "-5",
        "0.003003",
        "2.000000",
        "",
    ]


@pytest.mark.parametrize("group_by", GROUPS)
async def test_the_usage_report_is_what_the_usage_endpoints_say(
    http: httpx.AsyncClient, database_url: str, group_by: str
) -> None:
    await create_alias(http, "Priced", input_cost_per_million=0.15, output_cost_per_million=0.6)
    keys = {
        "t1": await create_team(http, team_id="t1", organization_id="o1"),
        "t2": await create_team(http, team_id="t2", organization_id="o2"),
    }
    db = Database(database_url)
    await db.connect()
    try:
        for round_ in range(2):  # rolled up, then not yet: both sources, one figure
            for team, key in keys.items():
                for job_type in ("summary", "chat"):
                    job = await open_job(http, key, team_id=team, job_type=job_type)
                    await call(http, key, job, model="Priced")
                    await call(http, key, job)
                    if team == "t1" or round_:
                        await complete(http, key, job)
            if not round_:
                await rollups_sql.roll_up(db)
    finally:
        await db.disconnect()
    report = await http.get("/api/usage", params={"group_by": group_by})
    assert report.status_code == 200, report.text
    body = report.json()
    assert body["group_by"] == group_by
    rows = _parse(await http.get("/api/usage", params={"group_by": group_by, "format": "csv"}))
    assert [r["group"] for r in rows] == [r["group"] for r in body["rows"]]
    for row, expected in zip(rows, body["rows"], strict=True):
        assert list(row) == list(expected)
        for name, value in expected.items():
            if name.endswith("_usd"):  # exact decimals in the CSV, the same amount
                assert Decimal(row[name]) == Decimal(repr(value))
                assert len(row[name].split(".")[1]) == 6
            else:
                assert row[name] == _text(value), (name, row, expected)
    by_group = {r["group"]: r for r in body["rows"]}
    if group_by == "model":
        assert all(r["jobs"] is None and r["credits"] is None for r in body["rows"])
        assert by_group["Priced"]["calls"] == 8 and by_group["Priced"]["client_cost_usd"] > 0
    if group_by in ("team", "organization"):
        for team, org in (("t1", "o1"), ("t2", "o2")):
            usage = (await http.get(f"/api/teams/{team}/usage")).json()["by_job_type"]
            row = by_group[team if group_by == "team" else org]
            assert row["jobs"] == sum(u["jobs"] for u in usage) == 4
            assert row["calls"] == sum(u["calls"] for u in usage) == 8
            assert row["total_tokens"] == sum(u["tokens"] for u in usage)
            assert row["credits"] == sum(u["credits"] for u in usage)
            assert row["client_cost_usd"] == pytest.approx(sum(u["cost_usd"] for u in usage))
        assert by_group["t1" if group_by == "team" else "o1"]["credits"] == 4
        assert by_group["t2" if group_by == "team" else "o2"]["credits"] == 2
    if group_by == "job_type":
        org = {
            u["job_type"]: u
            for o in ("o1", "o2")
            for u in (await http.get(f"/api/organizations/{o}/usage")).json()["by_job_type"]
            if o == "o1"
        }
        assert by_group["summary"]["jobs"] == 4 and by_group["chat"]["calls"] == 8
        assert org["summary"]["jobs"] == 2
    if group_by == "day":
        assert len(body["rows"]) == 1 and body["rows"][0]["calls"] == 16


async def test_usage_report_windows_and_bad_queries(http: httpx.AsyncClient) -> None:
    key = await create_team(http)
    job = await open_job(http, key)
    await call(http, key, job)
    r = await http.get(
        "/api/usage", params={"since": "2000-01-01T00:00:00Z", "until": "2000-01-02T00:00:00Z"}
    )
    assert r.status_code == 200 and r.json()["rows"] == []
    assert (
        _parse(
            await http.get("/api/usage", params={"format": "csv", "until": "2000-01-01T00:00:00Z"})
        )
        == []
    )
    for bad in (
        {"group_by": "key"},
        {"since": "yesterday"},
        {"format": "pdf"},
        {"group_by": "x" * 5000},
    ):
        r = await http.get("/api/usage", params=bad)
        assert r.status_code == 422, (bad, r.text)
        assert r.json()["error"]["type"] == "validation_error"


@pytest.mark.parametrize("admin_key", [ADMIN_KEY])
async def test_who_may_read_the_usage_report_and_the_csv(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    key = await create_team(http, admin=ADMIN)
    other = await create_team(http, team_id="other", organization_id=ORG, admin=ADMIN)
    for params in ({}, {"format": "csv"}):
        assert (await http.get("/api/usage", params=params, headers=ADMIN)).status_code == 200
        assert (await http.get("/api/usage", params=params)).status_code == 401
        assert (
            await http.get("/api/usage", params=params, headers=bearer("sk-wrong"))
        ).status_code == 401
        r = await http.get("/api/usage", params=params, headers=bearer(key))
        assert r.status_code == 403 and "rows" not in r.text
    csv_params = {"format": "csv"}
    assert (await http.get(LEDGER, params=csv_params, headers=ADMIN)).status_code == 200
    assert (await http.get(LEDGER, params=csv_params, headers=bearer(key))).status_code == 200
    r = await http.get(LEDGER, params=csv_params, headers=bearer(other))
    assert r.status_code == 403 and "credits_remaining_after" not in r.text
    assert (await http.get(LEDGER, params=csv_params)).status_code == 401
    r = await http.get("/api/teams/nope/transactions", params=csv_params, headers=ADMIN)
    assert r.status_code == 404
    # no secret in an export
    r = await http.get(LEDGER, params=csv_params, headers=ADMIN)
    assert key not in r.text and ADMIN_KEY not in r.text


async def test_spend_per_key_survives_rollups(http: httpx.AsyncClient, database_url: str) -> None:
    first = await create_team(http, credits=100)
    r = await http.post(f"/api/teams/{TEAM}/keys", json={"name": "batch"})
    assert r.status_code == 201, r.text
    second, second_id = r.json()["virtual_key"], r.json()["key_id"]
    db = Database(database_url)
    await db.connect()
    try:
        for key, calls in ((first, 1), (second, 2)):
            job = await open_job(http, key)
            for _ in range(calls):
                await call(http, key, job)
            await complete(http, key, job)
        before = await stats.spend_by_key(db, TEAM)
        assert await rollups_sql.roll_up(db) == (3, 2)
        job = await open_job(http, second)
        await call(http, second, job)  # not rolled up yet: read raw with the rollups
        after = await stats.spend_by_key(db, TEAM)
    finally:
        await db.disconnect()
    first_round = {s.name: s for s in before}
    assert {name: s.calls for name, s in first_round.items()} == {"batch": 2, "default": 1}
    now = {s.name: s for s in after}
    assert now["batch"].key_id == second_id and now["batch"].calls == 3
    assert now["batch"].tokens == first_round["batch"].tokens * 3 // 2
    assert now["default"].calls == 1 and now["default"].tokens == first_round["default"].tokens
    assert sum(s.calls for s in after) == 4
