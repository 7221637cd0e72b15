"""The dashboard's pages (dashboard/pages.py) over httpx, on SQLite and PostgreSQL, in local-dev
mode (open; the sign-in is tested in test_dashboard_security.py): each page shows what the admin
API says, and each form changes what the admin API then reports."""

from __future__ import annotations

import datetime as dt
import html
import re
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest
from support import bearer, create_team, open_job

from saas_litellm_server import Settings, create_app
from saas_litellm_server.services import stats
from saas_litellm_server.store import Database

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
KEY = re.compile(r'id="virtual-key">([^<]+)<')


class Dash:
    """A browser-like dashboard user: GETs pages, posts forms with the session's CSRF token."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.csrf = ""

    async def get(self, path: str, status: int = 200) -> str:
        r = await self.http.get(path)
        assert r.status_code == status, (path, r.status_code, r.text[:2000])
        found = CSRF.search(r.text)
        if found:
            self.csrf = found.group(1)
        return html.unescape(r.text)

    async def post(self, path: str, form: dict[str, Any], status: int = 303) -> httpx.Response:
        if not self.csrf:
            await self.get("/admin/organizations")  # a page with a form
        # as the page's script does once its question was answered (test_confirmations: without)
        r = await self.http.post(path, data={"confirmed": "yes", **form, "csrf": self.csrf})
        assert r.status_code == status, (path, r.status_code, r.text[:3000])
        return r


def cells(page: str, table_id: str) -> list[list[str]]:
    """The text of each body row of the table with this id."""
    table = re.search(rf'<table id="{table_id}">(.*?)</table>', page, re.S)
    assert table, f"no table {table_id}"
    body = table.group(1).split("<tbody>", 1)[1]
    rows = re.findall(r"<tr>(.*?)</tr>", body, re.S)
    return [
        [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in rows
    ]


async def call(http: httpx.AsyncClient, key: str, job: str, model: str = "default") -> None:
    r = await http.post(
        f"/api/jobs/{job}/llm-call",
        json={"model": model, "messages": [{"role": "user", "content": "hello there"}]},
        headers=bearer(key),
    )
    assert r.status_code == 200, r.text


async def complete(http: httpx.AsyncClient, key: str, job: str) -> dict[str, Any]:
    r = await http.post(
        f"/api/jobs/{job}/complete", json={"status": "completed"}, headers=bearer(key)
    )
    assert r.status_code == 200, r.text
    costs: dict[str, Any] = r.json()["costs"]
    return costs


async def test_overview_shows_the_services_figures(http: httpx.AsyncClient, app: Any) -> None:
    key = await create_team(http, credits=10)
    await create_team(http, team_id="idle", credits=5)
    for _ in range(2):
        job = await open_job(http, key, job_type="summary")
        await call(http, key, job)
        await complete(http, key, job)
    await open_job(http, key)  # one reserved credit
    dash = Dash(http)
    page = await dash.get("/admin")
    figures = dict(re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", page))
    assert figures["Organizations"] == "1"
    assert figures["Teams"] == "2"
    assert figures["Credits allocated"] == "15"
    assert figures["Credits used"] == "2"
    assert figures["Credits reserved"] == "1"
    assert figures["Jobs today"] == "3"
    assert figures["Calls today"] == "2"
    rt = app.state.runtime
    o = await stats.overview(rt.db, rt.clock())
    assert figures["Spend today"] == f"${o.today.cost_usd:,.4f}"
    assert o.today.cost_usd > 0 and o.today.errors == 0
    assert cells(page, "top-teams")[0][0] == "acme-corp"
    assert "Calls per day (UTC)" in page and "<svg" in page
    assert "Spend by model (USD)" in page and ">default<" in page
    # the services agree with the API's usage
    usage = (await http.get("/api/teams/acme-corp/usage")).json()["by_job_type"]
    assert sum(u["cost_usd"] for u in usage) == pytest.approx(o.period.cost_usd)
    assert sum(u["calls"] for u in usage) == o.period.calls == 2


async def test_usage_per_day_and_model_on_both_backends(database_url: str) -> None:
    """The store's day buckets are UTC days on SQLite and PostgreSQL alike."""
    settings = Settings(database_url=database_url, _env_file=None)  # type: ignore[call-arg]
    now = [dt.datetime(2030, 5, 10, 23, 30, tzinfo=dt.timezone.utc)]
    app = create_app(settings, clock=lambda: now[0])
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://localhost"
        ) as http,
    ):
        key = await create_team(http)
        job = await open_job(http, key)
        await call(http, key, job)
        db: Database = app.state.runtime.db
        days = await stats.usage_by_day(db, dt.datetime.now(dt.timezone.utc), days=3)
        assert [d.label for d in days][-1] == dt.datetime.now(dt.timezone.utc).date().isoformat()
        assert days[-1].calls == 1 and days[0].calls == 0 and len(days) == 3
        models = await stats.usage_by_model(db, since=None, team_id="acme-corp")
        assert [(m.label, m.calls, m.errors) for m in models] == [("default", 1, 0)]
        assert await stats.usage_by_model(db, since=None, team_id="nobody") == []


async def test_organizations_list_create_and_detail(http: httpx.AsyncClient) -> None:
    dash = Dash(http)
    r = await dash.post("/admin/organizations", {"organization_id": "org_a", "name": "Acme"})
    assert r.headers["location"] == "/admin/organizations/org_a?done=organization"
    page = await dash.get("/admin/organizations")
    assert cells(page, "organizations")[0][:2] == ["org_a", "Acme"]
    org = (await http.get("/api/organizations/org_a")).json()
    assert org["name"] == "Acme"
    key = await create_team(http, team_id="t1", organization_id="org_a")
    job = await open_job(http, key, team_id="t1", job_type="summary")
    await call(http, key, job)
    await complete(http, key, job)
    page = await dash.get("/admin/organizations/org_a?done=organization")
    assert "Organization created." in page
    assert cells(page, "org-teams")[0][:4] == ["t1", "", "active", "999"]
    assert "summary" in page
    # a duplicate is refused with the API's message
    r = await dash.post("/admin/organizations", {"organization_id": "org_a"}, status=409)
    assert "already exists" in r.text
    await dash.get("/admin/organizations/nope", status=404)


async def test_teams_create_shows_the_key_once_and_it_works(http: httpx.AsyncClient) -> None:
    dash = Dash(http)
    await dash.post("/admin/organizations", {"organization_id": "org_a"})
    await dash.post("/admin/models/groups", {"group_name": "g1"})
    r = await dash.post(
        "/admin/teams",
        {
            "organization_id": "org_a",
            "team_id": "t1",
            "team_alias": "Team One",
            "access_groups": "g1",
            "credits_allocated": "25",
        },
        status=201,
    )
    assert r.headers["cache-control"] == "no-store"
    found = KEY.search(r.text)
    assert found and 'data-copy="virtual-key"' in r.text
    key = found.group(1)
    balance = (await http.get("/api/credits/balance", headers=bearer(key))).json()
    assert balance["credits_remaining"] == 25
    team = (await http.get("/api/teams/t1")).json()
    assert team["team_alias"] == "Team One" and team["access_groups"] == ["g1"]
    page = await dash.get("/admin/teams")
    assert cells(page, "teams")[0][:5] == ["t1", "Team One", "org_a", "active", "25"]
    assert key not in page and key not in await dash.get("/admin/teams/t1")
    # invalid input: the service's (or the model's) message, nothing created
    r = await dash.post(
        "/admin/teams",
        {"organization_id": "org_a", "team_id": "t2", "credits_allocated": "x"},
        status=400,
    )
    assert "not a whole number" in r.text
    r = await dash.post("/admin/teams", {"organization_id": "org_a", "team_id": "t1"}, status=409)
    assert len((await http.get("/api/teams")).json()["teams"]) == 1


async def test_teams_list_filters(http: httpx.AsyncClient) -> None:
    await create_team(http, team_id="t1", organization_id="o1", groups=("g1",))
    await create_team(http, team_id="t2", organization_id="o2", groups=("g2",))
    await http.post("/api/teams/t2/suspend")
    dash = Dash(http)

    async def shown(query: str) -> list[str]:
        return [row[0] for row in cells(await dash.get(f"/admin/teams{query}"), "teams")]

    assert await shown("") == ["t2", "t1"]
    assert await shown("?status=suspended") == ["t2"]
    assert await shown("?organization_id=o1") == ["t1"]
    assert await shown("?access_group=g2") == ["t2"]
    assert await shown("?access_group=g2&status=active") == ["No teams match."]


async def test_team_actions_credits_limits_suspend_resume(http: httpx.AsyncClient) -> None:
    key = await create_team(http, team_id="t1", credits=10)
    dash = Dash(http)
    await dash.post("/admin/teams/t1/credits", {"credits": "15", "reason": "top-up"})
    team = (await http.get("/api/teams/t1")).json()
    assert team["credits_allocated"] == 25
    page = await dash.get("/admin/teams/t1?done=credits")
    assert "Credits added." in page and 'id="credits-remaining">25<' in page
    await dash.post("/admin/teams/t1/credits", {"credits": "0"}, status=400)
    await dash.post("/admin/teams/t1/credits", {"credits": "-3"}, status=400)

    await dash.post("/admin/teams/t1/limits", {"rpm_limit": "60", "tpm_limit": ""})
    team = (await http.get("/api/teams/t1")).json()
    assert (team["rpm_limit"], team["tpm_limit"]) == (60, None)
    await dash.post("/admin/teams/t1/limits", {"rpm_limit": "", "tpm_limit": ""})
    assert (await http.get("/api/teams/t1")).json()["rpm_limit"] is None

    await dash.post("/admin/teams/t1/suspend", {})
    assert (await http.get("/api/teams/t1")).json()["status"] == "suspended"
    r = await http.post(
        "/api/jobs/create", json={"team_id": "t1", "job_type": "x"}, headers=bearer(key)
    )
    assert r.status_code == 403
    assert 'id="resume-team"' in await dash.get("/admin/teams/t1")
    await dash.post("/admin/teams/t1/resume", {})
    await open_job(http, key, team_id="t1")
    events = (await http.get("/api/audit-log")).json()["events"]
    by_dashboard = [e["action"] for e in events if e["actor"].startswith("dashboard:")]
    assert by_dashboard[:2] == ["team.resume", "team.suspend"]
    assert {e["actor"] for e in events} - {"local-dev"} == {events[0]["actor"]}  # one session
    found = (await http.get("/api/audit-log", params={"actor": "dashboard"})).json()["events"]
    assert [e["action"] for e in found] == [
        e["action"] for e in events if e["actor"].startswith("dashboard:")
    ]


async def test_team_keys_create_revoke_rotate(http: httpx.AsyncClient) -> None:
    first = await create_team(http, team_id="t1")
    dash = Dash(http)
    r = await dash.post("/admin/teams/t1/keys", {"name": "ci"}, status=201)
    second = KEY.search(r.text)
    assert second
    assert (await http.get("/api/credits/balance", headers=bearer(second.group(1)))).is_success
    listed = (await http.get("/api/teams/t1/keys")).json()["keys"]
    assert [k["name"] for k in listed] == ["ci", "default"]
    page = await dash.get("/admin/teams/t1")
    assert [row[0] for row in cells(page, "keys")] == ["ci", "default"]
    ci = listed[0]["key_id"]
    await dash.post(f"/admin/teams/t1/keys/{ci}/revoke", {})
    r = await http.get("/api/credits/balance", headers=bearer(second.group(1)))
    assert r.status_code == 401
    assert cells(await dash.get("/admin/teams/t1"), "keys")[0][5] == "revoked"

    r = await dash.post("/admin/teams/t1/rotate", {"grace_seconds": "0"}, status=201)
    third = KEY.search(r.text)
    assert third
    assert (await http.get("/api/credits/balance", headers=bearer(first))).status_code == 401
    assert (await http.get("/api/credits/balance", headers=bearer(third.group(1)))).is_success
    await dash.post("/admin/teams/t1/keys/key_nope/revoke", {}, status=404)


async def test_team_jobs_filters_and_pagination(http: httpx.AsyncClient) -> None:
    key = await create_team(http, team_id="t1")
    ids = [await open_job(http, key, team_id="t1", job_type="bulk") for _ in range(27)]
    summary = await open_job(http, key, team_id="t1", job_type="summary")
    await call(http, key, summary)
    await complete(http, key, summary)
    dash = Dash(http)
    page = await dash.get("/admin/teams/t1")
    rows = cells(page, "jobs")
    assert len(rows) == 25 and rows[0][1] == "summary"
    nxt = re.search(r'<a href="([^"]+)" rel="next">', page)
    assert nxt
    rest = cells(await dash.get(html.unescape(nxt.group(1))), "jobs")
    assert len(rest) == 3
    shown = {r[0] for r in rows + rest}
    assert {f"{j[:8]}…" for j in [*ids, summary]} == shown

    assert [r[1] for r in cells(await dash.get("/admin/teams/t1?status=completed"), "jobs")] == [
        "summary"
    ]
    assert len(cells(await dash.get("/admin/teams/t1?job_type=bulk"), "jobs")) == 25
    today = dt.datetime.now(dt.timezone.utc).date()
    in_range = f"/admin/teams/t1?job_type=summary&since={today}&until={today}"
    assert len(cells(await dash.get(in_range), "jobs")) == 1
    later = today + dt.timedelta(days=1)
    assert cells(await dash.get(f"/admin/teams/t1?since={later}"), "jobs") == [["No jobs match."]]
    await dash.get("/admin/teams/t1?since=yesterday", status=400)
    await dash.get("/admin/teams/t1?status=bogus", status=400)
    # usage by job type and by model, as charts and tables
    page = await dash.get("/admin/teams/t1")
    assert "Cost by job type (USD)" in page and "Cost by model (USD)" in page
    assert "summary" in page and ">default<" in page


async def test_job_detail_lists_every_call_in_order(http: httpx.AsyncClient) -> None:
    key = await create_team(http, team_id="t1")
    job = await open_job(http, key, team_id="t1")
    await call(http, key, job)
    await call(http, key, job)
    costs = await complete(http, key, job)
    detail = (await http.get(f"/api/jobs/{job}", headers=bearer(key))).json()
    dash = Dash(http)
    page = await dash.get(f"/admin/teams/t1/jobs/{job}")
    rows = cells(page, "calls")
    assert [r[0] for r in rows] == ["1", "2"]
    for row, c in zip(rows, detail["calls"]):
        assert row[1] == c["model"] and row[2] == (c["deployment"] or "")
        assert row[3] == str(c["prompt_tokens"]) and row[4] == str(c["completion_tokens"])
        assert row[5] == f"${c['cost_usd']:,.4f}"
        assert row[6] == f"${c['cost_usd']:,.4f}"  # the provider's (no markup): the operator's
        assert row[7] == f"{c['latency_ms']:.0f} ms" and row[8] == "success"
        assert c["provider_cost_usd"] is None  # what the team's own key sees
    assert f'id="job-cost">${costs["total_cost_usd"]:,.4f}<' in page
    assert 'id="job-credits">1 charged<' in page
    await dash.get(f"/admin/teams/other/jobs/{job}", status=404)
    await dash.get("/admin/teams/t1/jobs/00000000-0000-0000-0000-000000000000", status=404)


async def test_models_groups_and_aliases(http: httpx.AsyncClient) -> None:
    dash = Dash(http)
    await dash.post("/admin/models/groups", {"group_name": "g1", "description": "first"})
    await dash.post("/admin/models/groups/g1", {"description": "changed"})
    groups = (await http.get("/api/model-access-groups")).json()["model_access_groups"]
    assert [(g["group_name"], g["description"]) for g in groups] == [("g1", "changed")]
    await dash.post(
        "/admin/models/aliases",
        {
            "model_alias": "openai/fast",
            "access_groups": "g1",
            "provider": ["mock", "mock", ""],
            "model": ["m1", "m2", ""],
            "api_base": ["", "", ""],
            "input_cost_per_million": ["1.5", "", ""],
            "output_cost_per_million": ["2", "", ""],
        },
    )
    alias = (await http.get("/api/model-aliases/openai/fast")).json()
    assert alias["access_groups"] == ["g1"]
    assert [(d["model"], d["input_cost_per_million"]) for d in alias["deployments"]] == [
        ("m1", 1.5),
        ("m2", 0.0),
    ]
    page = await dash.get("/admin/models")
    row = next(r for r in cells(page, "aliases") if r[0] == "openai/fast")
    assert row[1] == "g1" and "mock/m1: $1.5000 / $2.0000" in row[2]
    edit = await dash.get("/admin/models/aliases/openai/fast")
    assert 'value="m1"' in edit and 'value="1.5"' in edit and " checked" in edit
    await dash.post(
        "/admin/models/aliases/openai/fast",
        {
            "provider": ["mock", ""],
            "model": ["m3", ""],
            "input_cost_per_million": ["3", ""],
            "output_cost_per_million": ["4", ""],
        },
    )
    alias = (await http.get("/api/model-aliases/openai/fast")).json()
    assert alias["access_groups"] == []
    assert [(d["model"], d["output_cost_per_million"]) for d in alias["deployments"]] == [
        ("m3", 4.0)
    ]
    r = await dash.post(
        "/admin/models/aliases", {"model_alias": "x", "provider": [""], "model": [""]}, status=400
    )
    assert "deployments" in r.text
    r = await dash.post(
        "/admin/models/aliases",
        {"model_alias": "x", "provider": "mock", "model": "m", "input_cost_per_million": "lots"},
        status=400,
    )
    assert "not a number" in r.text
    await dash.get("/admin/models/aliases/nope", status=404)


async def test_audit_log_page_and_filters(http: httpx.AsyncClient) -> None:
    await create_team(http, team_id="t1")  # by the API: actor local-dev
    dash = Dash(http)
    await dash.post("/admin/teams/t1/credits", {"credits": "5"})
    page = await dash.get("/admin/audit")
    rows = cells(page, "audit")
    assert rows[0][1].startswith("dashboard:") and rows[0][2] == "team.credits_add"
    assert any(r[1] == "local-dev" for r in rows)
    filtered = cells(await dash.get("/admin/audit?actor=local-dev"), "audit")
    assert filtered and all(r[1] == "local-dev" for r in filtered)
    assert cells(await dash.get("/admin/audit?target=team:nobody"), "audit") == [
        ["No changes match."]
    ]
    await dash.get("/admin/audit?actor=a%00b", status=400)  # a NUL never reaches the database


async def test_team_settings_and_removals(http: httpx.AsyncClient) -> None:
    key = await create_team(http, team_id="t1", organization_id="o1", groups=("g1",))
    await create_team(http, team_id="t2", organization_id="o2", groups=("g2",))
    dash = Dash(http)
    await dash.post(
        "/admin/teams/t1/settings",
        {"team_alias": "Renamed", "access_groups": ["g1", "g2"], "default_model": "default"},
    )
    team = (await http.get("/api/teams/t1")).json()
    assert (team["team_alias"], team["access_groups"], team["default_model"]) == (
        "Renamed",
        ["g1", "g2"],
        "default",
    )
    page = await dash.get("/admin/teams/t1?done=updated")
    assert "Team settings saved." in page and 'value="Renamed"' in page
    await dash.post("/admin/teams/t1/settings", {"default_model": "nope"}, status=400)
    await dash.post("/admin/teams/t1/settings", {"team_alias": ""})  # empty: no alias
    assert (await http.get("/api/teams/t1")).json()["team_alias"] is None

    # removals: refused while in use (409, the API's message), then done
    job = await open_job(http, key, team_id="t1")
    r = await dash.post("/admin/teams/t1/remove", {}, status=409)
    assert "open job" in r.text
    await complete(http, key, job)
    r = await dash.post("/admin/organizations/o1/remove", {}, status=409)
    await dash.post("/admin/teams/t1/remove", {})
    assert (await http.get("/api/teams/t1")).status_code == 404
    assert [r[0] for r in cells(await dash.get("/admin/teams"), "teams")] == ["t2"]
    await dash.post("/admin/organizations/o1/remove", {})
    assert (await http.get("/api/organizations/o1")).status_code == 404

    r = await http.post(
        "/api/model-aliases/create",
        json={
            "model_alias": "team/two",
            "access_groups": ["g2"],
            "deployments": [{"provider": "mock", "model": "m"}],
        },
    )
    assert r.status_code == 201
    await dash.post("/admin/models/groups/g2/remove", {}, status=409)
    await dash.post("/admin/models/remove/team/two", {})
    assert (await http.get("/api/model-aliases/team/two")).status_code == 404
    await dash.post("/admin/models/groups/g1/remove", {})
    groups = (await http.get("/api/model-access-groups")).json()["model_access_groups"]
    assert [g["group_name"] for g in groups] == ["g2"]
    await dash.post("/admin/models/remove/default", {}, status=409)


async def test_the_team_page_shows_its_budget_mode_auto_refill_and_ledger(
    http: httpx.AsyncClient,
) -> None:
    key = await create_team(
        http,
        team_id="t1",
        credits=10,
        budget_mode="consumption_tokens",
        tokens_per_credit=1000,
        low_balance_threshold=3,
    )
    r = await http.put(
        "/api/teams/t1/auto-refill", json={"amount": 50, "period": "weekly", "mode": "top_up"}
    )
    assert r.status_code == 200
    job = await open_job(http, key, team_id="t1")
    await call(http, key, job)
    r = await http.post(
        f"/api/jobs/{job}/complete", json={"status": "completed"}, headers=bearer(key)
    )
    assert r.json()["costs"]["credits_charged"] == 1
    page = await Dash(http).get("/admin/teams/t1")
    assert 'id="budget-mode">consumption_tokens: 1,000 tokens per credit<' in page
    assert 'id="low-balance">3<' in page
    assert 'id="auto-refill">top up 50 weekly<' in page
    rows = cells(page, "ledger")
    assert [row[1:4] for row in rows] == [["charge", "-1", "9"], ["grant", "+10", "10"]]
    assert rows[0][4].startswith(job[:8])


async def test_webhooks_list_deliveries_redeliver_and_remove(http: httpx.AsyncClient) -> None:
    dash = Dash(http)
    key = await create_team(http, credits=5)
    r = await http.post(
        "/api/webhooks",
        json={"url": "https://93.184.215.14/<b>hooks</b>", "events": ["job.failed"]},
    )
    assert r.status_code == 201, r.text
    hook = r.json()
    job = await open_job(http, key)
    r = await http.post(f"/api/jobs/{job}/complete", json={"status": "failed"}, headers=bearer(key))
    assert r.status_code == 200, r.text

    page = await dash.get("/admin/webhooks")
    assert cells(page, "webhooks")[0][:4] == [
        "https://93.184.215.14/hooks",  # shown as text: the tags are the URL's, escaped
        "job.failed",
        "all",
        "active",
    ]
    assert "&lt;b&gt;" in (await http.get("/admin/webhooks")).text
    assert hook["secret"] not in page and hook["secret"][6:] not in page
    detail = await dash.get(f"/admin/webhooks/{hook['webhook_id']}")
    ((_created, event, delivery_id, status, *_),) = cells(detail, "deliveries")
    assert (event, status) == ("job.failed", "pending") and delivery_id.startswith("msg_")
    assert hook["secret"] not in detail

    r = await dash.post(f"/admin/webhooks/{hook['webhook_id']}/deliveries/{delivery_id}/retry", {})
    assert r.headers["location"].endswith("done=redelivered")
    events = (await http.get("/api/audit-log", params={"action": "webhook.delivery_retry"})).json()
    assert events["events"][0]["actor"].startswith("dashboard:")
    filtered = await dash.get(f"/admin/webhooks/{hook['webhook_id']}?status=succeeded")
    assert cells(filtered, "deliveries") == [["No deliveries succeeded."]]
    await dash.get(f"/admin/webhooks/{hook['webhook_id']}?status=nope", status=400)
    await dash.get("/admin/webhooks/wh_nope", status=404)
    await dash.get("/admin/webhooks/" + "wh_" + "0" * 24, status=404)
    await dash.post(f"/admin/webhooks/wh_{'0' * 24}/deliveries/msg_%00/retry", {}, status=404)

    r = await dash.post(f"/admin/webhooks/{hook['webhook_id']}/remove", {})
    assert r.headers["location"].endswith("done=webhook-removed")
    assert cells(await dash.get("/admin/webhooks"), "webhooks") == [["No webhooks yet."]]


class _Forms(HTMLParser):
    """Every form of a page as a browser would submit it untouched: ``{action: [(name,
    value)]}`` (text and number inputs, hidden fields, checked boxes, each select's selected
    option, textareas)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: dict[str, list[tuple[str, str]]] = {}
        self._action: str | None = None
        self._select: tuple[str, list[tuple[str, bool]]] | None = None
        self._option: tuple[str | None, bool] | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        fields = self.forms.get(self._action or "", [])
        if tag == "form" and a.get("method") == "post":
            self._action = a["action"]
            self.forms[self._action] = []
        elif self._action is None:
            return
        elif tag == "input" and "name" in a:
            kind = a.get("type", "text")
            if kind not in ("checkbox", "radio") or "checked" in a:
                fields.append((a["name"], a.get("value", "on" if kind == "checkbox" else "")))
        elif tag == "select":
            self._select = (a["name"], [])
        elif tag == "option" and self._select is not None:
            self._option = (a.get("value"), "selected" in a)
        elif tag == "textarea":
            self._textarea = a["name"]

    def handle_data(self, data: str) -> None:
        if self._option is not None and self._select is not None:
            value, selected = self._option
            self._select[1].append((data if value is None else value, selected))
            self._option = None
        elif self._textarea is not None and self._action is not None:
            self.forms[self._action].append((self._textarea, data))
            self._textarea = None

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._action = None
        elif tag == "option" and self._option is not None and self._select is not None:
            self._select[1].append(("", self._option[1]))  # an empty option
            self._option = None
        elif tag == "select" and self._select is not None and self._action is not None:
            name, options = self._select
            chosen = [v for v, selected in options if selected] or [options[0][0]]
            self.forms[self._action].extend((name, v) for v in chosen[:1])
            self._select = None
        elif tag == "textarea" and self._textarea is not None and self._action is not None:
            self.forms[self._action].append((self._textarea, ""))
            self._textarea = None


def _forms(page: str) -> dict[str, list[tuple[str, str]]]:
    parser = _Forms()
    parser.feed(page)
    return parser.forms


async def test_every_edit_form_submitted_unchanged_changes_nothing(
    http: httpx.AsyncClient,
) -> None:
    """Issue 26, item 6: an edit form keeps every field of what it edits — the shown ones as
    they are, and none lost for not being shown (saving an alias had wiped every deployment's
    timeout)."""
    await http.post(
        "/api/model-access-groups/create", json={"group_name": "g1", "description": "d1"}
    )
    await http.post("/api/model-access-groups/create", json={"group_name": "g2"})
    deployments = [
        {
            "provider": "openai",
            "model": "gpt-4o",
            "api_base": "http://10.0.0.9:4000/v1",
            "input_cost_per_million": 2.5,
            "output_cost_per_million": 10.0,
            "timeout": 2.0,
        },
        {"provider": "mock", "model": "fallback", "timeout": 0.5},
    ]
    r = await http.post(
        "/api/model-aliases/create",
        json={
            "model_alias": "vendor/Chat",
            "access_groups": ["g1", "g2"],
            "deployments": deployments,
        },
    )
    assert r.status_code == 201, r.text
    await create_team(
        http,
        team_id="t-edit",
        groups=("g1", "g2"),
        team_alias="Edit & Co",
        default_model="vendor/Chat",
    )
    await http.post("/api/teams/t-edit/limits", json={"rpm_limit": 7, "tpm_limit": 900})

    async def everything() -> list[Any]:
        return [
            (await http.get("/api/teams/t-edit")).json(),
            (await http.get("/api/model-aliases/vendor/Chat")).json(),
            (await http.get("/api/model-access-groups")).json(),
        ]

    before = await everything()
    audit = (await http.get("/api/audit-log")).json()["events"]
    edits = {
        "/admin/teams/t-edit": ["/admin/teams/t-edit/settings", "/admin/teams/t-edit/limits"],
        "/admin/models/aliases/vendor/Chat": ["/admin/models/aliases/vendor/Chat"],
        "/admin/models": ["/admin/models/groups/g1", "/admin/models/groups/g2"],
    }
    for page, actions in edits.items():
        r = await http.get(page)
        assert r.status_code == 200, page
        forms = _forms(r.text)
        for action in actions:
            assert action in forms, (page, action, sorted(forms))
            data: dict[str, list[str]] = {}
            for name, value in forms[action]:
                data.setdefault(name, []).append(value)
            r = await http.post(action, data=data)
            assert r.status_code == 303, (action, r.text[:2000])
    assert await everything() == before
    assert (await http.get("/api/audit-log")).json()["events"] == audit  # no change recorded


async def test_confirmations_without_javascript_are_a_page_of_their_own(
    http: httpx.AsyncClient,
) -> None:
    """Issue 26, item 13: rotate, suspend and remove ask first even without the page's script:
    the first post changes nothing and answers a page that asks; its button does it; cancel
    leads back."""
    await create_team(http, team_id="t-sure")
    dash = Dash(http)
    await dash.get("/admin/teams/t-sure")
    for action, question in [
        ("/admin/teams/t-sure/suspend", "Suspend this team?"),
        ("/admin/teams/t-sure/rotate", "Rotate the keys?"),
        ("/admin/teams/t-sure/remove", "Remove this team?"),
    ]:
        r = await http.post(action, data={"csrf": dash.csrf, "grace_seconds": "60"})
        assert r.status_code == 200 and question in html.unescape(r.text), action
        forms = _forms(r.text)
        assert set(forms) - {"/admin/logout"} == {action}
        assert ("confirmed", "yes") in forms[action] and ("grace_seconds", "60") in forms[action]
        assert 'id="cancel"' in r.text
    team = (await http.get("/api/teams/t-sure")).json()
    assert team["status"] == "active"  # nothing happened yet
    assert len((await http.get("/api/teams/t-sure/keys")).json()["keys"]) == 1
    page = (await http.post("/admin/teams/t-sure/suspend", data={"csrf": dash.csrf})).text
    data: dict[str, list[str]] = {}
    for name, value in _forms(page)["/admin/teams/t-sure/suspend"]:
        data.setdefault(name, []).append(value)
    assert (await http.post("/admin/teams/t-sure/suspend", data=data)).status_code == 303
    assert (await http.get("/api/teams/t-sure")).json()["status"] == "suspended"


async def test_polish_404_heading_and_identifiers(http: httpx.AsyncClient) -> None:
    """Issue 26, item 13: an unknown dashboard page is the dashboard's own 404; a team without
    a display name shows its id once; identifiers wrap at their separators only."""
    r = await http.get("/admin/no-such-page")
    assert r.status_code == 404 and "text/html" in r.headers["content-type"]
    assert (
        "/admin/static/app.css" in r.text and "no dashboard page at /admin/no-such-page" in r.text
    )
    await create_team(http, team_id="plain-team")
    heading = re.search(
        r'<h1 id="team-heading">(.*?)</h1>', (await http.get("/admin/teams/plain-team")).text
    )
    assert heading is not None
    assert heading.group(1) == "plain-<wbr>team"  # once, no <small> repeat
    key = await create_team(http, team_id="t-ident")
    job = await open_job(http, key, team_id="t-ident", job_type="invoice_parse")
    page = (await http.get(f"/admin/teams/t-ident/jobs/{job}")).text
    assert "invoice_<wbr>parse" in page
