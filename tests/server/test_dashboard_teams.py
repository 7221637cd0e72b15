"""The dashboard's team pages (dashboard/teams.py) over httpx, on SQLite and PostgreSQL, in
local-dev mode (the sign-in is tested in test_dashboard_security.py): the list and its filters,
a team's page, its jobs and its changes agree with the admin API."""

from __future__ import annotations

import datetime as dt
import html
import re

import httpx
from dashboard_client import KEY, Dash, call, cells, complete
from support import bearer, create_team, open_job


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
