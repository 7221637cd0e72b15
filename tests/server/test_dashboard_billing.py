"""Billing from the dashboard (dashboard/billing.py) over httpx, on SQLite and PostgreSQL, in
local-dev mode: billing settings, auto-refill, adjustments (a negative one confirmed first),
the ledger's and the usage report's CSV exports, and spend per virtual key — each as the admin
API sees it, and a refused change changes nothing."""

from __future__ import annotations

import csv
import html
import io
from typing import Any

import httpx
from dashboard_client import Dash, call, cells, complete
from support import TEAM, bearer, create_team, open_job

PAGE = f"/admin/teams/{TEAM}"


async def _team(http: httpx.AsyncClient) -> dict[str, Any]:
    r = await http.get(f"/api/teams/{TEAM}")
    assert r.status_code == 200
    team: dict[str, Any] = r.json()
    return team


async def _ledger_adds_up(http: httpx.AsyncClient) -> int:
    """The sum of the team's whole ledger, which is its balance."""
    rows = (await http.get(f"/api/teams/{TEAM}/transactions", params={"limit": 500})).json()
    total = sum(t["credits"] for t in rows["transactions"])
    assert total == (await _team(http))["credits_remaining"]
    return total


async def test_billing_settings_change_the_mode_and_refuse_a_mode_without_its_rate(
    http: httpx.AsyncClient,
) -> None:
    key = await create_team(http, credits=50)
    job = await open_job(http, key)  # opened under job_based: finishes under it
    dash = Dash(http)
    page = await dash.get(PAGE)
    assert "applies to jobs opened after the change" in page
    form = {
        "budget_mode": "consumption_tokens",
        "tokens_per_credit": "",
        "credits_per_dollar": "",
        "markup_percent": "0",
        "low_balance_threshold": "",
    }
    r = await dash.post(f"{PAGE}/billing", form, status=422)
    assert "consumption_tokens needs tokens_per_credit" in r.text
    assert (await _team(http))["budget_mode"] == "job_based"
    r = await dash.post(
        f"{PAGE}/billing", {**form, "markup_percent": "ten", "tokens_per_credit": "5"}, status=400
    )
    assert "markup_percent" in r.text and (await _team(http))["budget_mode"] == "job_based"
    r = await dash.post(
        f"{PAGE}/billing",
        {
            **form,
            "tokens_per_credit": "1000",
            "markup_percent": "12.5",
            "low_balance_threshold": "7",
        },
    )
    assert r.headers["location"] == f"{PAGE}?done=billing"
    team = await _team(http)
    assert (team["budget_mode"], team["tokens_per_credit"], team["markup_percent"]) == (
        "consumption_tokens",
        1000,
        12.5,
    )
    assert team["low_balance_threshold"] == 7
    page = await dash.get(f"{PAGE}?done=billing")
    assert "a new budget mode applies to jobs opened from now on" in page
    assert "consumption_tokens: 1,000 tokens per credit" in page
    detail = (await http.get(f"/api/jobs/{job}", headers=bearer(key))).json()
    assert detail["budget_mode"] == "job_based"
    # emptying the threshold removes it; the audit log names the dashboard session
    await dash.post(f"{PAGE}/billing", {**form, "tokens_per_credit": "1000"})
    assert (await _team(http))["low_balance_threshold"] is None
    audit = (await http.get("/api/audit-log", params={"action": "team.update"})).json()
    assert audit["events"][0]["actor"].startswith("dashboard:")


async def test_auto_refill_is_set_changed_and_turned_off(http: httpx.AsyncClient) -> None:
    await create_team(http, credits=5)
    dash = Dash(http)
    r = await dash.post(
        f"{PAGE}/auto-refill", {"amount": "100", "period": "weekly", "mode": "top_up"}
    )
    assert r.headers["location"] == f"{PAGE}?done=refill"
    refill = (await _team(http))["auto_refill"]
    assert (refill["amount"], refill["period"], refill["mode"]) == (100, "weekly", "top_up")
    assert "top up 100 weekly" in await dash.get(PAGE)
    for bad in ({"amount": "0", "period": "weekly"}, {"amount": "5", "period": "hourly"}):
        await dash.post(f"{PAGE}/auto-refill", bad, status=400)
    assert (await _team(http))["auto_refill"]["amount"] == 100
    # turning it off asks first (without JavaScript: a page), then does it
    r = await http.post(f"{PAGE}/auto-refill/remove", data={"csrf": dash.csrf})
    assert r.status_code == 200 and "Turn this team's auto-refill off?" in html.unescape(r.text)
    assert (await _team(http))["auto_refill"] is not None
    await dash.post(f"{PAGE}/auto-refill/remove", {})
    assert (await _team(http))["auto_refill"] is None
    assert cells(await dash.get(PAGE), "key-spend") == [["No calls yet."]]


async def test_adjustments_confirm_negative_ones_and_keep_the_ledger_equal_to_the_balance(
    http: httpx.AsyncClient,
) -> None:
    key = await create_team(http, credits=10)
    dash = Dash(http)
    await dash.get(PAGE)
    r = await dash.post(f"{PAGE}/adjust", {"credits": "5", "reason": "goodwill"})
    assert r.headers["location"] == f"{PAGE}?done=adjusted"
    assert await _ledger_adds_up(http) == 15
    # a negative one: a page asks (no JavaScript needed), nothing changes until it is confirmed
    r = await http.post(
        f"{PAGE}/adjust", data={"credits": "-4", "reason": "=refund", "csrf": dash.csrf}
    )
    assert r.status_code == 200 and "Take 4 credits from team" in r.text
    assert await _ledger_adds_up(http) == 15
    await dash.post(f"{PAGE}/adjust", {"credits": "-4", "reason": "=refund"})
    assert await _ledger_adds_up(http) == 11
    page = await dash.get(PAGE)
    assert cells(page, "ledger")[0][1:4] == ["adjustment", "-4", "11"]
    assert cells(page, "ledger")[0][5] == "=refund"
    # more than is available (an open job holds one): refused, nothing changed
    await open_job(http, key)
    r = await dash.post(f"{PAGE}/adjust", {"credits": "-11", "reason": "too much"}, status=409)
    assert "10 credits available" in r.text
    assert await _ledger_adds_up(http) == 11
    for bad in (
        {"credits": "0", "reason": "nothing"},
        {"credits": "3", "reason": ""},
        {"credits": "x", "reason": "r"},
        {"credits": "99999999999999", "reason": "huge"},
    ):
        await dash.post(f"{PAGE}/adjust", bad, status=400)
    assert await _ledger_adds_up(http) == 11
    assert (await http.post("/admin/teams/nope/adjust", data={"credits": "1"})).status_code == 403


async def test_exports_and_spend_per_key(http: httpx.AsyncClient) -> None:
    first = await create_team(http, credits=20)
    r = await http.post(f"/api/teams/{TEAM}/keys", json={"name": "batch"})
    second, prefix = r.json()["virtual_key"], r.json()["prefix"]
    for key, calls in ((first, 1), (second, 2)):
        job = await open_job(http, key, job_type="nightly")
        for _ in range(calls):
            await call(http, key, job)
        await complete(http, key, job)
    await http.post(
        f"/api/teams/{TEAM}/credits/adjust", json={"credits": 1, "reason": "@SUM(A1:A9)"}
    )
    dash = Dash(http)
    page = await dash.get(PAGE)
    assert first not in page and second not in page
    spend = {row[0]: row for row in cells(page, "key-spend")}
    usage = (await http.get(f"/api/teams/{TEAM}/usage")).json()["by_job_type"][0]
    assert spend["batch"][1] == f"{prefix}…" and spend["batch"][2] == "2"
    assert spend["default"][2] == "1"
    assert sum(int(row[3].replace(",", "")) for row in spend.values()) == usage["tokens"]
    assert 'href="/admin/teams/acme-corp/transactions.csv"' in page
    r = await http.get(f"{PAGE}/transactions.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert rows[0]["reason"] == "'@SUM(A1:A9)"
    assert sum(int(t["credits"]) for t in rows) == (await _team(http))["credits_remaining"]
    assert (await http.get(f"{PAGE}/transactions.csv?kind=gift")).status_code == 400
    assert (await http.get("/admin/teams/nope/transactions.csv")).status_code == 404
    # the usage page, grouped each way, and its CSV
    for group_by in ("team", "organization", "job_type", "model", "day"):
        page = await dash.get(f"/admin/usage?group_by={group_by}")
        report = (await http.get("/api/usage", params={"group_by": group_by})).json()["rows"]
        shown = cells(page, "usage")
        assert [row[0] for row in shown] == [r["group"] for r in report]
        assert [row[1] for row in shown] == [str(r["calls"]) for r in report] == ["3"]
        link = f'href="/admin/usage.csv?group_by={group_by}"'
        assert link in page
        r = await http.get(f"/admin/usage.csv?group_by={group_by}")
        exported = list(csv.DictReader(io.StringIO(r.text)))
        assert [(e["group"], int(e["calls"])) for e in exported] == [
            (r["group"], r["calls"]) for r in report
        ]
    assert "not per model" in await dash.get("/admin/usage?group_by=model")
    assert cells(await dash.get("/admin/usage?since=2001-01-01&until=2001-01-02"), "usage") == [
        ["No usage in these days."]
    ]
    for bad in ("since=yesterday", "group_by=key", "until=99999-01-01"):
        assert (await http.get(f"/admin/usage?{bad}")).status_code == 400
