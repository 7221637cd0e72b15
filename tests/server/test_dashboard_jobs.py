"""The dashboard's jobs page (``/admin/jobs``) and a call's page (dashboard/jobs.py) over httpx,
on SQLite and PostgreSQL, in local-dev mode, against the upstream stub (for a call that fails):
each filter narrows the list as ``GET /api/jobs`` does, the figures and first error of each job,
paging, a team's keep-content setting, a call with its attempts and content, and hostile input
shown as text."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import AsyncIterator

import httpx
import pytest
from dashboard_client import Dash, cells
from support import app_client, bearer, create_alias, create_team, open_job

from saas_litellm_server import Settings
from saas_litellm_server.dashboard import jobs as jobs_page

HOSTILE = "<img src=x onerror=alert(1)>"
MESSAGES = [{"role": "user", "content": f"look: {HOSTILE}"}]


@pytest.fixture
async def http(upstream_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(upstream_settings) as (_app, client):
        yield client


async def _call(http: httpx.AsyncClient, key: str, job: str, model: str) -> httpx.Response:
    return await http.post(
        f"/api/jobs/{job}/llm-call",
        json={"model": model, "messages": MESSAGES},
        headers=bearer(key),
    )


async def _close(
    http: httpx.AsyncClient, key: str, job: str, status: str, error: str | None = None
) -> None:
    r = await http.post(
        f"/api/jobs/{job}/complete",
        json={"status": status, "error_message": error},
        headers=bearer(key),
    )
    assert r.status_code == 200, r.text


@pytest.fixture
async def jobs(http: httpx.AsyncClient) -> dict[str, str]:
    """Four jobs, oldest first: j1 (t1, alpha, a Chat call, completed), j2 (t1, beta, a failed
    call to Broken, completed), j3 (t2, alpha, a Chat call, failed with a hostile error), j4
    (t2, gamma, open, no call)."""
    k1 = await create_team(http, team_id="t1", organization_id="o1")
    k2 = await create_team(http, team_id="t2", organization_id="o2")
    await create_alias(http, "Chat", input_cost_per_million=1_000_000.0)
    broken = {
        "model_alias": "Broken",
        "access_groups": ["gpt-models"],
        "deployments": [{"provider": "openai", "model": "error-500"}],
    }
    assert (await http.post("/api/model-aliases/create", json=broken)).status_code == 201
    j1 = await open_job(http, k1, team_id="t1", job_type="alpha")
    assert (await _call(http, k1, j1, "Chat")).status_code == 200
    await _close(http, k1, j1, "completed")
    j2 = await open_job(http, k1, team_id="t1", job_type="beta")
    assert (await _call(http, k1, j2, "Broken")).status_code == 502
    await _close(http, k1, j2, "completed")
    j3 = await open_job(http, k2, team_id="t2", job_type="alpha")
    assert (await _call(http, k2, j3, "Chat")).status_code == 200
    await _close(http, k2, j3, "failed", f"<b>bad</b> {HOSTILE}")
    j4 = await open_job(http, k2, team_id="t2", job_type="gamma")
    return {"j1": j1, "j2": j2, "j3": j3, "j4": j4, "k1": k1, "k2": k2}


async def test_each_filter_narrows_the_list_as_the_api_does(
    http: httpx.AsyncClient, jobs: dict[str, str]
) -> None:
    dash = Dash(http)
    names = {jobs[n]: n for n in ("j1", "j2", "j3", "j4")}
    today = dt.datetime.now(dt.timezone.utc).date()

    async def shown(query: str) -> list[str]:
        rows = cells(await dash.get(f"/admin/jobs{query}"), "all-jobs")
        page = await http.get(f"/admin/jobs{query}")
        ids = [link.split("/jobs/")[1][:36] for link in page.text.split('href="/admin/teams/')[1:]]
        listed = [names[i] for i in ids if i in names]
        assert len(listed) == len(rows) or rows == [["No jobs match."]], (rows, listed)
        return listed

    assert await shown("") == ["j4", "j3", "j2", "j1"]  # newest first
    assert await shown("?team_id=t1") == ["j2", "j1"]
    assert await shown("?organization_id=o2") == ["j4", "j3"]
    assert await shown("?status=failed") == ["j3"]
    assert await shown("?job_type=alpha") == ["j3", "j1"]
    assert await shown("?model=Chat") == ["j3", "j1"]
    assert await shown("?model=Broken") == ["j2"]
    assert await shown("?has_errors=yes") == ["j3", "j2"]
    assert await shown("?has_errors=no") == ["j4", "j1"]
    assert await shown("?model=Chat&has_errors=no&team_id=t1") == ["j1"]
    assert await shown(f"?since={today}&until={today}") == ["j4", "j3", "j2", "j1"]
    yesterday = today - dt.timedelta(days=1)
    assert await shown(f"?until={yesterday}") == []
    assert await shown(f"?since={today + dt.timedelta(days=1)}") == []
    # the API filters alike
    api = (await http.get("/api/jobs", params={"model": "Chat", "has_errors": "true"})).json()
    assert [j["job_id"] for j in api["jobs"]] == [jobs["j3"]]
    api = (await http.get("/api/jobs", params={"has_errors": "false", "team_id": "t2"})).json()
    assert [j["job_id"] for j in api["jobs"]] == [jobs["j4"]]
    # bad filters: a 400 page that says why
    assert "YYYY-MM-DD" in await dash.get("/admin/jobs?since=yesterday", status=400)
    assert "has_errors" in await dash.get("/admin/jobs?has_errors=maybe", status=400)
    assert "status" in await dash.get("/admin/jobs?status=lost", status=400)


async def test_the_columns_show_each_jobs_figures_and_first_error(
    http: httpx.AsyncClient, jobs: dict[str, str]
) -> None:
    raw = (await http.get("/admin/jobs")).text
    rows = {r[0][:8]: [html.unescape(c) for c in r] for r in cells(raw, "all-jobs")}
    detail = (await http.get(f"/api/jobs/{jobs['j1']}", headers=bearer(jobs["k1"]))).json()
    (listed,) = detail["calls"]
    # as the operator sees it (local-dev mode: no key is the operator), with the provider's cost
    call = (await http.get(f"/api/jobs/{jobs['j1']}/calls/{listed['call_id']}")).json()
    # job, team, type, status, created, calls, tokens, cost, provider's cost, credits, error
    j1 = rows[jobs["j1"][:8]]
    assert j1[1:4] == ["t1", "alpha", "completed"]
    assert j1[5:] == [
        "1",
        f"{call['total_tokens']:,}",
        f"${call['cost_usd']:,.4f}",
        f"${call['provider_cost_usd']:,.4f}",
        "1",
        "",
    ]
    j2 = rows[jobs["j2"][:8]]
    assert j2[3] == "completed" and j2[5] == "1" and j2[9] == "0"
    assert j2[10].startswith("upstream_error: ")  # its first failed call's
    j3 = rows[jobs["j3"][:8]]
    assert j3[3] == "failed" and j3[10] == f"<b>bad</b> {HOSTILE}"  # the job's own
    j4 = rows[jobs["j4"][:8]]
    assert j4[3] == "pending" and j4[5:10] == ["0", "0", "$0.0000", "$0.0000", "0"]
    assert "<b>bad</b>" not in raw and "<img src=x" not in raw
    assert "&lt;b&gt;bad&lt;/b&gt;" in raw
    # each job links to its page; the nav and the overview link here
    assert f'href="/admin/teams/t1/jobs/{jobs["j1"]}"' in raw
    assert 'href="/admin/jobs" aria-current="page"' in raw
    assert 'href="/admin/jobs?since=' in (await http.get("/admin")).text


async def test_hostile_filters_are_refused_as_text_and_unknown_ones_match_nothing(
    http: httpx.AsyncClient, jobs: dict[str, str]
) -> None:
    for query in (
        {"model": HOSTILE},
        {"team_id": HOSTILE},
        {"job_type": HOSTILE},
        {"organization_id": HOSTILE},
        {"team_id": "x" * 500},
        {"cursor": HOSTILE},
        {"since": HOSTILE},
        {"has_errors": HOSTILE},
    ):
        r = await http.get("/admin/jobs", params=query)
        assert r.status_code == 400, (query, r.status_code)
        assert "<img src=x" not in r.text, query
    page = await http.get("/admin/jobs", params={"model": "Nope", "team_id": "t1"})
    assert page.status_code == 200
    assert cells(page.text, "all-jobs") == [["No jobs match."]]
    assert 'name="model" value="Nope"' in page.text  # the filter is kept in its field


async def test_paging_shows_every_job_once(
    http: httpx.AsyncClient, jobs: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jobs_page, "_PAGE", 3)
    dash = Dash(http)
    page = await http.get("/admin/jobs?team_id=t1&organization_id=o1&has_errors=")
    assert len(cells(page.text, "all-jobs")) == 2  # an empty filter is no filter
    seen: list[str] = []
    url = "/admin/jobs"
    pages = 0
    while url:
        page = await http.get(url)
        assert page.status_code == 200
        seen += [r[0] for r in cells(page.text, "all-jobs")]
        pages += 1
        found = page.text.split('rel="next" id="next-page"')
        url = ""
        if len(found) > 1:
            url = found[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    assert pages == 2 and len(seen) == 4 and len(set(seen)) == 4
    # the next page keeps the filters
    first = await dash.get("/admin/jobs?job_type=alpha")
    assert 'rel="next"' not in first
    monkeypatch.setattr(jobs_page, "_PAGE", 1)
    first = (await http.get("/admin/jobs?job_type=alpha")).text
    assert "job_type=alpha&amp;cursor=" in first


async def test_a_calls_page_shows_all_of_it_and_its_content_as_text(
    http: httpx.AsyncClient, jobs: dict[str, str]
) -> None:
    dash = Dash(http)
    page = await dash.get("/admin/teams/t1")
    assert 'id="s-content"' in page and "checked> Keep calls" not in page
    # turned on from the team's settings form
    await dash.post(
        "/admin/teams/t1/settings",
        {"team_alias": "One", "access_groups": "gpt-models", "store_content": "on"},
    )
    assert (await http.get("/api/teams/t1")).json()["store_content"] is True
    job = await open_job(http, jobs["k1"], team_id="t1")
    r = await _call(http, jobs["k1"], job, "Chat")
    assert r.status_code == 200, r.text
    call = r.json()["call_id"]
    job_page = (await http.get(f"/admin/teams/t1/jobs/{job}")).text
    link = f"/admin/teams/t1/jobs/{job}/calls/{call}"
    assert f'href="{link}"' in job_page
    raw = (await http.get(link)).text
    assert "<img src=x" not in raw and "&lt;img src=x onerror=alert(1)&gt;" in raw
    text = await dash.get(link)
    assert 'id="request-content"' in text and HOSTILE in text and "You said" in text
    assert cells(text, "attempts") == [["1", "mock", "chat", "answered"]]
    assert "Provider&#39;s cost" in raw or "Provider's cost" in text
    # a call kept before: no content, said so
    old = (await http.get(f"/api/jobs/{jobs['j1']}", headers=bearer(jobs["k1"]))).json()
    old_page = await dash.get(
        f"/admin/teams/t1/jobs/{jobs['j1']}/calls/{old['calls'][0]['call_id']}"
    )
    assert 'id="no-content"' in old_page
    # the failed call: its error and the deployment it tried
    failed = (await http.get(f"/api/jobs/{jobs['j2']}", headers=bearer(jobs["k1"]))).json()
    failed_page = await dash.get(
        f"/admin/teams/t1/jobs/{jobs['j2']}/calls/{failed['calls'][0]['call_id']}"
    )
    assert "upstream_error" in failed_page
    assert cells(failed_page, "attempts") == [["1", "openai", "error-500", "failed: server"]]
    # turned off again: the checkbox left out of the form
    await dash.post(
        "/admin/teams/t1/settings", {"team_alias": "One", "access_groups": "gpt-models"}
    )
    assert (await http.get("/api/teams/t1")).json()["store_content"] is False
    # another team's path, bad ids: the dashboard's 404
    await dash.get(f"/admin/teams/t2/jobs/{job}/calls/{call}", status=404)
    await dash.get(f"/admin/teams/t1/jobs/{job}/calls/not-a-call", status=404)
    await dash.get(f"/admin/teams/t1/jobs/x/calls/{call}", status=404)
    await dash.get(f"/admin/teams/t1/jobs/{jobs['j1']}/calls/{call}", status=404)
