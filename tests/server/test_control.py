"""Admin views of the control plane (routes/control.py): lists of organizations, model access
groups, model aliases, teams and jobs across teams; an organization and its usage."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from support import bearer, create_team, open_job

from saas_litellm_models import (
    JobList,
    ModelAccessGroupList,
    ModelAliasList,
    Organization,
    OrganizationList,
    OrganizationUsage,
    TeamList,
)

ADMIN_KEY = "adm-strict"
ADMIN = bearer(ADMIN_KEY)

LISTS = {
    # path: (the items' key, their id, the response model)
    "/api/organizations": ("organizations", "organization_id", OrganizationList),
    "/api/model-access-groups": ("model_access_groups", "group_name", ModelAccessGroupList),
    "/api/model-aliases": ("model_aliases", "model_alias", ModelAliasList),
    "/api/teams": ("teams", "team_id", TeamList),
    "/api/jobs": ("jobs", "job_id", JobList),
}


async def _seed(http: httpx.AsyncClient, admin: dict[str, str] | None = None) -> dict[str, Any]:
    """Two organizations, two groups, three teams (one suspended), three aliases, six jobs."""
    headers = admin or {}
    keys = {
        "t1": await create_team(
            http, team_id="t1", organization_id="o1", groups=("g1",), admin=admin
        ),
        "t2": await create_team(
            http, team_id="t2", organization_id="o1", groups=("g2",), admin=admin
        ),
        "t3": await create_team(
            http, team_id="t3", organization_id="o2", groups=("g1", "g2"), admin=admin
        ),
    }
    for alias, groups in [("A1", ["g1"]), ("A2", ["g2"]), ("A3", ["g1", "g2"])]:
        r = await http.post(
            "/api/model-aliases/create",
            json={
                "model_alias": alias,
                "access_groups": groups,
                "deployments": [{"provider": "mock", "model": "m"}],
            },
            headers=headers,
        )
        assert r.status_code == 201, r.text
    jobs = {}
    for team, job_type in [("t1", "a"), ("t1", "b"), ("t2", "a"), ("t3", "a"), ("t3", "b")]:
        jobs.setdefault(team, []).append(
            await open_job(http, keys[team], team_id=team, job_type=job_type)
        )
    failed = jobs["t1"][0]
    r = await http.post(
        f"/api/jobs/{failed}/complete", json={"status": "failed"}, headers=bearer(keys["t1"])
    )
    assert r.status_code == 200, r.text
    r = await http.post("/api/teams/t3/suspend", headers=headers)
    assert r.status_code == 200, r.text
    return {"keys": keys, "jobs": jobs, "failed": failed}


async def _all(
    http: httpx.AsyncClient,
    path: str,
    params: dict[str, Any] | None = None,
    *,
    limit: int = 2,
    headers: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Every item of a list, a page of ``limit`` at a time, checking each page."""
    items_key, _, model = LISTS[path]
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(100):
        query = {**(params or {}), "limit": limit, **({"cursor": cursor} if cursor else {})}
        r = await http.get(path, params=query, headers=headers or {})
        assert r.status_code == 200, r.text
        model.model_validate_json(r.content)
        page = r.json()
        assert len(page[items_key]) <= limit
        items += page[items_key]
        cursor = page["next_cursor"]
        if cursor is None:
            return items
        assert len(page[items_key]) == limit
    raise AssertionError("the cursors never ended")


def _ids(path: str, items: list[dict[str, Any]]) -> list[str]:
    return [item[LISTS[path][1]] for item in items]


def _newest_first(path: str, items: list[dict[str, Any]]) -> bool:
    id_key = LISTS[path][1]
    keys = [(dt.datetime.fromisoformat(i["created_at"]), i[id_key]) for i in items]
    return keys == sorted(keys, reverse=True)


@pytest.mark.parametrize("path", list(LISTS))
async def test_lists_are_newest_first_and_pages_show_every_item_once(
    http: httpx.AsyncClient, path: str
) -> None:
    seeded = await _seed(http)
    everything = await _all(http, path, limit=500)
    assert _newest_first(path, everything)
    expected = {
        "/api/organizations": {"o1", "o2"},
        "/api/model-access-groups": {"g1", "g2"},
        "/api/model-aliases": {"A1", "A2", "A3"},
        "/api/teams": {"t1", "t2", "t3"},
        "/api/jobs": {j for jobs in seeded["jobs"].values() for j in jobs},
    }[path]
    assert set(_ids(path, everything)) >= expected
    for limit in (1, 2):
        paged = await _all(http, path, limit=limit)
        assert _ids(path, paged) == _ids(path, everything)  # each once, in the same order


async def test_newest_first_is_creation_order_not_id_order(http: httpx.AsyncClient) -> None:
    for org in ("b", "c", "a"):
        r = await http.post("/api/organizations/create", json={"organization_id": org, "name": org})
        assert r.status_code == 201
    listed = await _all(http, "/api/organizations", limit=1)
    assert _ids("/api/organizations", listed) == ["a", "c", "b"]


async def test_team_filters(http: httpx.AsyncClient) -> None:
    await _seed(http)

    async def teams(**params: Any) -> set[str]:
        return set(_ids("/api/teams", await _all(http, "/api/teams", params, limit=1)))

    assert await teams() == {"t1", "t2", "t3"}
    assert await teams(organization_id="o1") == {"t1", "t2"}
    assert await teams(organization_id="o2") == {"t3"}
    assert await teams(status="suspended") == {"t3"}
    assert await teams(status="active") == {"t1", "t2"}
    assert await teams(access_group="g1") == {"t1", "t3"}
    assert await teams(access_group="g2", organization_id="o1") == {"t2"}
    assert await teams(access_group="g2", status="active", organization_id="o2") == set()
    assert await teams(organization_id="nope") == set()
    r = await http.get("/api/teams", params={"access_group": "g1"})
    assert {g for t in r.json()["teams"] for g in t["access_groups"]} == {"g1", "g2"}


async def test_alias_filter_and_shape(http: httpx.AsyncClient) -> None:
    await _seed(http)

    async def aliases(**params: Any) -> set[str]:
        return set(_ids("/api/model-aliases", await _all(http, "/api/model-aliases", params)))

    assert {"A1", "A2", "A3"} <= await aliases()
    assert await aliases(access_group="g1") == {"A1", "A3"}
    assert await aliases(access_group="g2") == {"A2", "A3"}
    assert await aliases(access_group="nope") == set()
    listed = {
        a["model_alias"]: a for a in (await http.get("/api/model-aliases")).json()["model_aliases"]
    }
    for alias in ("A1", "A3"):
        assert listed[alias] == (await http.get(f"/api/model-aliases/{alias}")).json()


async def test_job_filters(http: httpx.AsyncClient) -> None:
    seeded = await _seed(http)
    jobs = seeded["jobs"]
    everything = await _all(http, "/api/jobs", limit=500)

    async def listed(**params: Any) -> set[str]:
        return set(_ids("/api/jobs", await _all(http, "/api/jobs", params)))

    assert await listed(team_id="t1") == set(jobs["t1"])
    assert await listed(organization_id="o1") == set(jobs["t1"] + jobs["t2"])
    assert await listed(organization_id="o2") == set(jobs["t3"])
    assert await listed(status="failed") == {seeded["failed"]}
    assert await listed(status="pending", team_id="t1") == set(jobs["t1"]) - {seeded["failed"]}
    assert await listed(job_type="b") == {jobs["t1"][1], jobs["t3"][1]}
    assert await listed(job_type="b", organization_id="o2") == {jobs["t3"][1]}
    assert await listed(team_id="t2", organization_id="o2") == set()
    assert await listed(team_id="nope") == set()
    middle = everything[len(everything) // 2]
    stamp = dt.datetime.fromisoformat(middle["created_at"])
    after = {j["job_id"] for j in everything if dt.datetime.fromisoformat(j["created_at"]) >= stamp}
    before = {j["job_id"] for j in everything} - after
    assert await listed(since=stamp.isoformat()) == after
    assert await listed(until=stamp.isoformat()) == before
    assert await listed(since=stamp.isoformat(), until=stamp.isoformat()) == set()
    assert await listed(since="2999-01-01T00:00:00Z") == set()


async def test_get_organization_and_its_usage(http: httpx.AsyncClient) -> None:
    seeded = await _seed(http)
    r = await http.get("/api/organizations/o1")
    assert r.status_code == 200
    assert Organization.model_validate_json(r.content).organization_id == "o1"
    assert r.json() in (await http.get("/api/organizations")).json()["organizations"]

    r = await http.get("/api/organizations/o1/usage")
    assert r.status_code == 200, r.text
    usage = OrganizationUsage.model_validate_json(r.content)
    assert usage.organization_id == "o1" and usage.since is None and usage.until is None
    by_type = {u.job_type: u for u in usage.by_job_type}
    assert (by_type["a"].jobs, by_type["a"].failed, by_type["b"].jobs) == (2, 1, 1)
    # the sum of its teams' usage
    for job_type in ("a", "b"):
        team_jobs = 0
        for team in ("t1", "t2"):
            r = await http.get(f"/api/teams/{team}/usage")
            team_jobs += sum(
                u["jobs"] for u in r.json()["by_job_type"] if u["job_type"] == job_type
            )
        assert by_type[job_type].jobs == team_jobs
    o2 = (await http.get("/api/organizations/o2/usage")).json()
    assert {u["job_type"]: u["jobs"] for u in o2["by_job_type"]} == {"a": 1, "b": 1}
    assert len(seeded["jobs"]["t3"]) == 2

    r = await http.get("/api/organizations/o1/usage", params={"since": "2999-01-01T00:00:00Z"})
    assert r.status_code == 200 and r.json()["by_job_type"] == []
    assert r.json()["since"].startswith("2999-01-01T00:00:00")
    r = await http.get("/api/organizations/o1/usage", params={"until": "2000-01-01T00:00:00Z"})
    assert r.json()["by_job_type"] == []


@pytest.mark.parametrize(
    "path", ["/api/organizations/nope", "/api/organizations/nope/usage", "/api/organizations/-x"]
)
async def test_unknown_organization_is_404(http: httpx.AsyncClient, path: str) -> None:
    await _seed(http)
    r = await http.get(path)
    assert r.status_code == 404, r.text
    assert r.json()["error"]["type"] == "not_found"


HOSTILE_QUERIES = [
    ("/api/organizations", {"limit": "0"}),
    ("/api/organizations", {"limit": "501"}),
    ("/api/model-access-groups", {"limit": "many"}),
    ("/api/model-aliases", {"limit": "-1"}),
    ("/api/model-aliases", {"access_group": "a\x00b"}),
    ("/api/teams", {"status": "deleted"}),
    ("/api/teams", {"organization_id": "x" * 500}),
    ("/api/jobs", {"status": "done"}),
    ("/api/jobs", {"since": "yesterday"}),
    ("/api/jobs", {"limit": "1e3"}),
    ("/api/jobs", {"job_type": "a\x00"}),
    ("/api/organizations/o1/usage", {"until": "not a time"}),
]


@pytest.mark.parametrize(("path", "params"), HOSTILE_QUERIES)
async def test_bad_query_parameters_are_422(
    http: httpx.AsyncClient, path: str, params: dict[str, str]
) -> None:
    await _seed(http)
    r = await http.get(path, params=params)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["param"] == next(iter(params))


@pytest.mark.parametrize("path", list(LISTS))
@pytest.mark.parametrize(
    "cursor",
    [
        "not-a-cursor",
        "WyIyMDI2LTAxLTAxVDAwOjAwOjAwIiwieCJd",  # a naive date
        "WyIyMDI2LTAxLTAxVDAwOjAwOjAwKzAwOjAwIiwieCIsInkiXQ",  # three items
    ],
)
async def test_forged_cursors_are_400(http: httpx.AsyncClient, path: str, cursor: str) -> None:
    r = await http.get(path, params={"cursor": cursor})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["param"] == "cursor"


ENDPOINTS = [*LISTS, "/api/organizations/o1", "/api/organizations/o1/usage"]


@pytest.mark.parametrize("admin_key", [ADMIN_KEY])
async def test_every_view_needs_the_admin_key(http: httpx.AsyncClient) -> None:
    seeded = await _seed(http, admin=ADMIN)
    for path in ENDPOINTS:
        assert (await http.get(path)).status_code == 401, path
        assert (await http.get(path, headers=bearer("adm-wrong"))).status_code == 401, path
        team = await http.get(path, headers=bearer(seeded["keys"]["t1"]))
        assert team.status_code == 403, path
        assert (await http.get(path, headers=ADMIN)).status_code == 200, path


async def test_local_dev_mode_is_open(http: httpx.AsyncClient) -> None:
    await _seed(http)
    for path in ENDPOINTS:
        assert (await http.get(path)).status_code == 200, path
