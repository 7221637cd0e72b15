"""Changing and removing what the operator created (routes/changes.py): PATCH and DELETE of
teams, organizations, model access groups and model aliases; what a change does to calls, what a
removal keeps, and what is refused (and then changes nothing)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from support import app_client, bearer, create_team, open_job

from saas_litellm_models import (
    Deleted,
    JobDetail,
    ModelAccessGroup,
    ModelAlias,
    Organization,
    OrganizationUsage,
    Team,
)
from saas_litellm_server import Settings

ADMIN_KEY = "adm-changes-secret"
ADMIN = bearer(ADMIN_KEY)
MSG = {"messages": [{"role": "user", "content": "what does this cost?"}]}


def mock(model: str = "m", *, input_cost: float = 0.0, output_cost: float = 0.0) -> dict[str, Any]:
    return {
        "provider": "mock",
        "model": model,
        "input_cost_per_million": input_cost,
        "output_cost_per_million": output_cost,
    }


async def create_alias(
    http: httpx.AsyncClient,
    name: str,
    groups: list[str],
    deployments: list[dict[str, Any]] | None = None,
    admin: dict[str, str] | None = None,
) -> None:
    r = await http.post(
        "/api/model-aliases/create",
        json={"model_alias": name, "access_groups": groups, "deployments": deployments or [mock()]},
        headers=admin or {},
    )
    assert r.status_code == 201, r.text


async def call(http: httpx.AsyncClient, key: str, job: str, model: str) -> httpx.Response:
    return await http.post(
        f"/api/jobs/{job}/llm-call", json={**MSG, "model": model}, headers=bearer(key)
    )


async def seed(http: httpx.AsyncClient, admin: dict[str, str] | None = None) -> dict[str, str]:
    """Organizations o1 (teams t1, t2) and o2 (team t3); groups g1 (t1, t3) and g2 (t2, t3);
    aliases A1 (g1), A2 (g2), A3 (g1 and g2); t1's default model is A1. The teams' keys."""
    headers = admin or {}
    for group in ("g1", "g2"):
        r = await http.post(
            "/api/model-access-groups/create", json={"group_name": group}, headers=headers
        )
        assert r.status_code == 201, r.text
    await create_alias(http, "A1", ["g1"], admin=admin)
    await create_alias(http, "A2", ["g2"], admin=admin)
    await create_alias(http, "A3", ["g1", "g2"], admin=admin)
    return {
        "t1": await create_team(
            http,
            team_id="t1",
            organization_id="o1",
            groups=("g1",),
            admin=admin,
            team_alias="Team One",
            default_model="A1",
            metadata={"tier": "gold"},
        ),
        "t2": await create_team(
            http, team_id="t2", organization_id="o1", groups=("g2",), admin=admin
        ),
        "t3": await create_team(
            http, team_id="t3", organization_id="o2", groups=("g1", "g2"), admin=admin
        ),
    }


async def state(http: httpx.AsyncClient, admin: dict[str, str] | None = None) -> dict[str, Any]:
    """Everything the admin views show (and the audit log): to see that nothing changed."""
    headers = admin or {}
    out: dict[str, Any] = {}
    for path in (
        "/api/organizations",
        "/api/model-access-groups",
        "/api/model-aliases",
        "/api/teams",
        "/api/jobs",
        "/api/audit-log",
    ):
        r = await http.get(path, params={"limit": 500}, headers=headers)
        assert r.status_code == 200, r.text
        out[path] = r.json()
    return out


def error_message(r: httpx.Response) -> str:
    message: str = r.json()["error"]["message"]
    return message


# --- PATCH -----------------------------------------------------------------------------------


async def test_a_team_update_changes_only_what_it_names(http: httpx.AsyncClient) -> None:
    await seed(http)
    before = (await http.get("/api/teams/t1")).json()

    r = await http.patch("/api/teams/t1", json={"team_alias": "Renamed"})
    assert r.status_code == 200, r.text
    after = Team.model_validate_json(r.content)
    assert after.team_alias == "Renamed"
    assert {**before, "team_alias": "Renamed"} == r.json()
    assert (await http.get("/api/teams/t1")).json() == r.json()

    r = await http.patch("/api/teams/t1", json={})
    assert r.status_code == 200 and r.json() == after.model_dump(mode="json")

    r = await http.patch("/api/teams/t1", json={"metadata": {"tier": "silver", "n": [1, 2]}})
    assert r.status_code == 200
    assert r.json()["metadata"] == {"tier": "silver", "n": [1, 2]}  # the whole object replaced
    assert r.json()["default_model"] == "A1" and r.json()["team_alias"] == "Renamed"

    r = await http.patch("/api/teams/t1", json={"access_groups": ["g2", "g1", "g2"]})
    assert r.status_code == 200 and r.json()["access_groups"] == ["g1", "g2"]


async def test_null_clears_a_teams_alias_and_default_model(http: httpx.AsyncClient) -> None:
    await seed(http)
    r = await http.patch("/api/teams/t1", json={"team_alias": None, "default_model": None})
    assert r.status_code == 200, r.text
    team = (await http.get("/api/teams/t1")).json()
    assert team["team_alias"] is None and team["default_model"] is None
    assert team["metadata"] == {"tier": "gold"} and team["access_groups"] == ["g1"]


async def test_organization_and_group_updates(http: httpx.AsyncClient) -> None:
    await seed(http)
    r = await http.patch("/api/organizations/o1", json={"name": "Org One"})
    assert r.status_code == 200, r.text
    org = Organization.model_validate_json(r.content)
    assert org.name == "Org One" and org.metadata == {}
    r = await http.patch("/api/organizations/o1", json={"metadata": {"region": "eu"}})
    assert r.json()["name"] == "Org One" and r.json()["metadata"] == {"region": "eu"}
    assert (await http.get("/api/organizations/o1")).json() == r.json()

    r = await http.patch("/api/model-access-groups/g1", json={"description": "GPT models"})
    assert r.status_code == 200, r.text
    assert ModelAccessGroup.model_validate_json(r.content).description == "GPT models"
    r = await http.patch("/api/model-access-groups/g1", json={})
    assert r.json()["description"] == "GPT models"
    r = await http.patch("/api/model-access-groups/g1", json={"description": None})
    assert r.status_code == 200 and r.json()["description"] is None
    groups = (await http.get("/api/model-access-groups")).json()["model_access_groups"]
    assert {g["group_name"]: g["description"] for g in groups} == {"g1": None, "g2": None}


async def test_an_alias_update_replaces_its_groups_or_its_deployments(
    http: httpx.AsyncClient,
) -> None:
    await seed(http)
    before = (await http.get("/api/model-aliases/A3")).json()
    r = await http.patch("/api/model-aliases/A3", json={"access_groups": ["g2"]})
    assert r.status_code == 200, r.text
    assert r.json() == {**before, "access_groups": ["g2"]}
    new = [mock("x", input_cost=1.5), mock("y")]
    r = await http.patch("/api/model-aliases/A3", json={"deployments": new})
    assert r.status_code == 200
    alias = ModelAlias.model_validate_json(r.content)
    assert [d.model for d in alias.deployments] == ["x", "y"]
    assert alias.deployments[0].input_cost_per_million == 1.5
    assert alias.access_groups == ["g2"]
    assert (await http.get("/api/model-aliases/A3")).json() == r.json()


NOT_NULL = [
    ("/api/teams/t1", "access_groups"),
    ("/api/teams/t1", "metadata"),
    ("/api/organizations/o1", "name"),
    ("/api/organizations/o1", "metadata"),
    ("/api/model-aliases/A1", "access_groups"),
    ("/api/model-aliases/A1", "deployments"),
]


@pytest.mark.parametrize(("path", "field"), NOT_NULL)
async def test_null_is_refused_for_a_field_that_cannot_be_empty(
    http: httpx.AsyncClient, path: str, field: str
) -> None:
    await seed(http)
    before = await state(http)
    r = await http.patch(path, json={field: None})
    assert r.status_code == 422, r.text
    assert field in error_message(r)
    assert await state(http) == before


@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        ("/api/teams/t1", {"team_alias": "x", "access_groups": ["g1", "nope"]}, "access_groups"),
        ("/api/teams/t1", {"team_alias": "x", "default_model": "nope"}, "default_model"),
        ("/api/model-aliases/A1", {"access_groups": ["nope"], "deployments": [mock("z")]}, None),
    ],
)
async def test_unknown_references_are_400_and_change_nothing(
    http: httpx.AsyncClient, path: str, body: dict[str, Any], param: str | None
) -> None:
    await seed(http)
    before = await state(http)
    r = await http.patch(path, json=body)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["param"] == (param or "access_groups")
    assert "nope" in error_message(r)
    assert await state(http) == before


async def test_access_groups_decide_what_a_team_may_call_at_once(
    http: httpx.AsyncClient,
) -> None:
    keys = await seed(http)
    job = await open_job(http, keys["t1"], team_id="t1")
    assert (await call(http, keys["t1"], job, "A1")).status_code == 200
    refused = await call(http, keys["t1"], job, "A2")
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["param"] == "model"

    r = await http.patch("/api/teams/t1", json={"access_groups": ["g2"]})
    assert r.status_code == 200, r.text
    refused = await call(http, keys["t1"], job, "A1")
    assert refused.status_code == 403 and "A1" in error_message(refused)
    assert (await call(http, keys["t1"], job, "A2")).status_code == 200
    assert (await call(http, keys["t1"], job, "A3")).status_code == 200

    # and an alias leaving the team's group is refused at once too
    r = await http.patch("/api/model-aliases/A3", json={"access_groups": ["g1"]})
    assert r.status_code == 200
    assert (await call(http, keys["t1"], job, "A3")).status_code == 403
    r = await http.patch("/api/teams/t1", json={"access_groups": []})
    assert r.status_code == 200 and r.json()["access_groups"] == []
    assert (await call(http, keys["t1"], job, "A2")).status_code == 403
    assert (await call(http, keys["t1"], job, "default")).status_code == 200  # open to all


async def test_new_deployments_change_the_fallback_order(
    upstream_settings: Settings, upstream: str
) -> None:
    def openai(model: str) -> dict[str, Any]:
        return {"provider": "openai", "model": model}

    def stub_models() -> list[str]:
        log = httpx.get(f"{upstream}/_stub/requests").json()
        httpx.post(f"{upstream}/_stub/reset")
        return [entry["body"]["model"] for entry in log]

    async with app_client(upstream_settings) as (_app, http):
        key = await create_team(http, team_id="t1", groups=("g1",))
        await create_alias(http, "Chat", ["g1"], [openai("error-500"), openai("echo")])
        job = await open_job(http, key, team_id="t1")
        assert (await call(http, key, job, "Chat")).status_code == 200
        assert stub_models() == ["error-500", "echo"]  # the first failed, the second answered

        r = await http.patch(
            "/api/model-aliases/Chat", json={"deployments": [openai("echo"), openai("error-500")]}
        )
        assert r.status_code == 200, r.text
        assert (await call(http, key, job, "Chat")).status_code == 200
        assert stub_models() == ["echo"]

        r = await http.patch(
            "/api/model-aliases/Chat",
            json={"deployments": [openai("error-502"), openai("error-500")]},
        )
        assert (await call(http, key, job, "Chat")).status_code == 502
        assert stub_models() == ["error-502", "error-500"]
        detail = (await http.get(f"/api/jobs/{job}", headers=bearer(key))).json()
        assert [(c["deployment"], c["status"]) for c in detail["calls"]][:2] == [
            ("echo", "success"),
            ("echo", "success"),
        ]


async def test_new_prices_apply_to_later_calls_and_recorded_costs_stay(
    http: httpx.AsyncClient,
) -> None:
    key = await create_team(http, team_id="t1", groups=("g1",))
    await create_alias(http, "Priced", ["g1"], [mock(input_cost=1.0, output_cost=2.0)])
    job = await open_job(http, key, team_id="t1")
    assert (await call(http, key, job, "Priced")).status_code == 200

    async def detail() -> JobDetail:
        r = await http.get(f"/api/jobs/{job}", headers=bearer(key))
        assert r.status_code == 200, r.text
        return JobDetail.model_validate_json(r.content)

    first = (await detail()).calls[0]
    assert first.cost_usd == pytest.approx(
        (first.prompt_tokens * 1.0 + first.completion_tokens * 2.0) / 1e6
    )
    assert first.cost_usd > 0

    r = await http.patch(
        "/api/model-aliases/Priced",
        json={"deployments": [mock(input_cost=100.0, output_cost=300.0)]},
    )
    assert r.status_code == 200, r.text
    assert (await call(http, key, job, "Priced")).status_code == 200

    after = await detail()
    assert after.calls[0] == first  # recorded: the price it was made at
    second = after.calls[1]
    assert (second.prompt_tokens, second.completion_tokens) == (
        first.prompt_tokens,
        first.completion_tokens,
    )
    assert second.cost_usd == pytest.approx(
        (second.prompt_tokens * 100.0 + second.completion_tokens * 300.0) / 1e6
    )
    assert after.costs.total_cost_usd == pytest.approx(first.cost_usd + second.cost_usd)
    usage = (await http.get("/api/organizations/org_acme/usage")).json()["by_job_type"]
    assert usage[0]["cost_usd"] == pytest.approx(first.cost_usd + second.cost_usd)


# --- DELETE: what is refused ---------------------------------------------------------------


async def test_a_group_a_team_holds_cannot_be_removed(http: httpx.AsyncClient) -> None:
    keys = await seed(http)
    before = await state(http)
    r = await http.delete("/api/model-access-groups/g1")
    assert r.status_code == 409, r.text
    assert r.json()["error"]["type"] == "conflict"
    assert "t1" in error_message(r) and "t3" in error_message(r)
    assert "t2" not in error_message(r)
    assert await state(http) == before
    job = await open_job(http, keys["t1"], team_id="t1")
    assert (await call(http, keys["t1"], job, "A1")).status_code == 200


async def test_an_alias_that_is_a_teams_default_cannot_be_removed(
    http: httpx.AsyncClient,
) -> None:
    keys = await seed(http)
    before = await state(http)
    r = await http.delete("/api/model-aliases/A1")
    assert r.status_code == 409, r.text
    assert "t1" in error_message(r) and "default_model" in error_message(r)
    assert await state(http) == before
    job = await open_job(http, keys["t1"], team_id="t1")
    r = await http.post(f"/api/jobs/{job}/llm-call", json=MSG, headers=bearer(keys["t1"]))
    assert r.status_code == 200 and r.json()["model"] == "A1"  # still the default


async def test_the_built_in_alias_cannot_be_removed(http: httpx.AsyncClient) -> None:
    key = await create_team(http, team_id="t1")
    r = await http.delete("/api/model-aliases/default")
    assert r.status_code == 409, r.text
    assert "built in" in error_message(r)
    assert (await http.get("/api/model-aliases/default")).status_code == 200
    job = await open_job(http, key, team_id="t1")
    assert (await call(http, key, job, "default")).status_code == 200


async def test_a_team_with_open_jobs_cannot_be_removed_and_stays_usable(
    http: httpx.AsyncClient,
) -> None:
    keys = await seed(http)
    job = await open_job(http, keys["t1"], team_id="t1")
    before = await state(http)
    r = await http.delete("/api/teams/t1")
    assert r.status_code == 409, r.text
    assert "open job" in error_message(r)
    assert await state(http) == before

    # nothing was lost: its key, its job, its calls and its credits all work
    key = keys["t1"]
    assert (await call(http, key, job, "A1")).status_code == 200
    r = await http.post(
        f"/api/jobs/{job}/complete", json={"status": "completed"}, headers=bearer(key)
    )
    assert r.status_code == 200 and r.json()["costs"]["credit_applied"] is True
    balance = (await http.get("/api/credits/balance", headers=bearer(key))).json()
    assert (balance["credits_used"], balance["credits_reserved"]) == (1, 0)
    assert (await http.delete("/api/teams/t1")).status_code == 200


async def test_an_organization_with_teams_cannot_be_removed(http: httpx.AsyncClient) -> None:
    keys = await seed(http)
    before = await state(http)
    r = await http.delete("/api/organizations/o1")
    assert r.status_code == 409, r.text
    assert "t1" in error_message(r) and "t2" in error_message(r)
    assert "t3" not in error_message(r)
    assert await state(http) == before
    assert (await http.get("/api/credits/balance", headers=bearer(keys["t2"]))).status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/api/teams/nope",
        "/api/organizations/nope",
        "/api/model-access-groups/nope",
        "/api/model-aliases/nope",
    ],
)
async def test_unknown_things_are_404(http: httpx.AsyncClient, path: str) -> None:
    await seed(http)
    before = await state(http)
    for method in ("PATCH", "DELETE"):
        r = await http.request(method, path, json={} if method == "PATCH" else None)
        assert r.status_code == 404, (method, r.text)
        assert r.json()["error"]["type"] == "not_found"
    assert await state(http) == before


# --- DELETE: what a removal does and keeps -------------------------------------------------


async def test_a_removed_team_is_gone_but_its_history_stays(http: httpx.AsyncClient) -> None:
    keys = await seed(http)
    key = keys["t1"]
    await create_alias(http, "Priced", ["g1"], [mock(input_cost=1.0, output_cost=2.0)])
    done = await open_job(http, key, team_id="t1", job_type="report")
    assert (await call(http, key, done, "Priced")).status_code == 200
    r = await http.post(
        f"/api/jobs/{done}/complete", json={"status": "completed"}, headers=bearer(key)
    )
    assert r.status_code == 200
    failed = await open_job(http, key, team_id="t1", job_type="report")
    r = await http.post(
        f"/api/jobs/{failed}/complete", json={"status": "failed"}, headers=bearer(key)
    )
    assert r.status_code == 200
    r = await http.get("/api/organizations/o1/usage")
    usage_before = r.json()
    assert OrganizationUsage.model_validate_json(r.content).organization_id == "o1"
    jobs_before = (await http.get("/api/jobs", params={"team_id": "t1"})).json()
    assert len(jobs_before["jobs"]) == 2
    team_usage_before = (await http.get("/api/teams/t1/usage")).json()

    r = await http.delete("/api/teams/t1")
    assert r.status_code == 200, r.text
    assert Deleted.model_validate_json(r.content) == Deleted(object="team", id="t1")

    # gone
    assert (await http.get("/api/teams/t1")).status_code == 404
    listed = (await http.get("/api/teams")).json()["teams"]
    assert [t["team_id"] for t in listed] == ["t3", "t2"]
    listed = (await http.get("/api/teams", params={"organization_id": "o1"})).json()["teams"]
    assert [t["team_id"] for t in listed] == ["t2"]
    for method, path in [
        ("DELETE", "/api/teams/t1"),
        ("PATCH", "/api/teams/t1"),
        ("GET", "/api/teams/t1/keys"),
        ("POST", "/api/teams/t1/keys"),
        ("POST", "/api/teams/t1/credits/add"),
    ]:
        body: dict[str, Any] = {"credits": 1} if path.endswith("add") else {}
        r = await http.request(method, path, json=None if method == "DELETE" else body)
        assert r.status_code == 404, (method, path, r.text)

    # its key no longer works, for anything
    for r in [
        await http.get("/api/credits/balance", headers=bearer(key)),
        await http.post(
            "/api/jobs/create", json={"team_id": "t1", "job_type": "x"}, headers=bearer(key)
        ),
        await http.get(f"/api/jobs/{done}", headers=bearer(key)),
    ]:
        assert r.status_code == 401, r.text

    # its history stays readable and counting
    assert (await http.get("/api/jobs", params={"team_id": "t1"})).json() == jobs_before
    assert (await http.get("/api/organizations/o1/usage")).json() == usage_before
    assert (await http.get("/api/teams/t1/usage")).json() == team_usage_before
    report = next(u for u in usage_before["by_job_type"] if u["job_type"] == "report")
    assert (report["jobs"], report["completed"], report["failed"], report["calls"]) == (2, 1, 1, 1)
    assert report["cost_usd"] > 0

    # its id is not handed out again
    r = await http.post("/api/teams/create", json={"organization_id": "o1", "team_id": "t1"})
    assert r.status_code == 409, r.text
    assert "was removed" in error_message(r)
    assert (await http.get("/api/teams/t1")).status_code == 404

    # the others carry on
    assert (await http.get("/api/credits/balance", headers=bearer(keys["t2"]))).status_code == 200


async def test_a_removed_organization_is_gone(http: httpx.AsyncClient) -> None:
    await seed(http)
    for team in ("t1", "t2"):
        assert (await http.delete(f"/api/teams/{team}")).status_code == 200
    r = await http.delete("/api/organizations/o1")
    assert r.status_code == 200, r.text
    assert r.json() == {"object": "organization", "id": "o1", "deleted": True}
    assert (await http.get("/api/organizations/o1")).status_code == 404
    assert (await http.get("/api/organizations/o1/usage")).status_code == 404
    assert (await http.patch("/api/organizations/o1", json={"name": "x"})).status_code == 404
    r = await http.post("/api/organizations/create", json={"organization_id": "o1", "name": "x"})
    assert r.status_code == 409 and "was removed" in error_message(r)
    assert (await http.delete("/api/organizations/o1")).status_code == 404
    orgs = (await http.get("/api/organizations")).json()["organizations"]
    assert [o["organization_id"] for o in orgs] == ["o2"]
    # no new team can join it, not even in local-dev mode (which creates missing organizations)
    r = await http.post("/api/teams/create", json={"organization_id": "o1", "team_id": "t9"})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["param"] == "organization_id" and "removed" in error_message(r)
    assert (await http.get("/api/teams/t9")).status_code == 404
    assert (await http.get("/api/organizations/o1")).status_code == 404


@pytest.mark.parametrize("admin_key", [ADMIN_KEY])
async def test_no_team_joins_a_removed_organization_with_the_admin_key(
    http: httpx.AsyncClient,
) -> None:
    await seed(http, admin=ADMIN)
    for path in ("/api/teams/t1", "/api/teams/t2", "/api/organizations/o1"):
        assert (await http.delete(path, headers=ADMIN)).status_code == 200
    r = await http.post(
        "/api/teams/create", json={"organization_id": "o1", "team_id": "t9"}, headers=ADMIN
    )
    assert r.status_code == 400 and r.json()["error"]["param"] == "organization_id"


async def test_a_removed_group_leaves_its_aliases(http: httpx.AsyncClient) -> None:
    keys = await seed(http)
    for team, groups in [("t1", ["g2"]), ("t3", ["g2"])]:
        r = await http.patch(f"/api/teams/{team}", json={"access_groups": groups})
        assert r.status_code == 200, r.text
    r = await http.delete("/api/model-access-groups/g1")
    assert r.status_code == 200, r.text
    assert r.json() == {"object": "model_access_group", "id": "g1", "deleted": True}

    groups = (await http.get("/api/model-access-groups")).json()["model_access_groups"]
    assert [g["group_name"] for g in groups] == ["g2"]
    assert (await http.get("/api/model-aliases/A1")).json()["access_groups"] == []
    assert (await http.get("/api/model-aliases/A3")).json()["access_groups"] == ["g2"]
    r = await http.get("/api/model-aliases", params={"access_group": "g1"})
    assert r.json()["model_aliases"] == []
    assert (await http.patch("/api/model-access-groups/g1", json={})).status_code == 404
    assert (await http.delete("/api/model-access-groups/g1")).status_code == 404
    r = await http.patch("/api/teams/t1", json={"access_groups": ["g1"]})
    assert r.status_code == 400 and r.json()["error"]["param"] == "access_groups"

    job = await open_job(http, keys["t3"], team_id="t3")
    assert (await call(http, keys["t3"], job, "A1")).status_code == 403  # in no group now
    assert (await call(http, keys["t3"], job, "A3")).status_code == 200


async def test_a_removed_alias_is_gone_and_its_calls_keep_their_cost(
    http: httpx.AsyncClient,
) -> None:
    keys = await seed(http)
    await create_alias(http, "Priced", ["g1"], [mock(input_cost=1.0, output_cost=2.0)])
    key = keys["t1"]
    job = await open_job(http, key, team_id="t1")
    assert (await call(http, key, job, "Priced")).status_code == 200
    before = (await http.get(f"/api/jobs/{job}", headers=bearer(key))).json()

    r = await http.delete("/api/model-aliases/Priced")
    assert r.status_code == 200, r.text
    assert r.json() == {"object": "model_alias", "id": "Priced", "deleted": True}
    assert (await http.get("/api/model-aliases/Priced")).status_code == 404
    aliases = (await http.get("/api/model-aliases")).json()["model_aliases"]
    assert "Priced" not in {a["model_alias"] for a in aliases}
    r = await call(http, key, job, "Priced")
    assert r.status_code == 400 and r.json()["error"]["param"] == "model"

    after = (await http.get(f"/api/jobs/{job}", headers=bearer(key))).json()
    assert after["calls"] == before["calls"]
    assert after["calls"][0]["model"] == "Priced" and after["calls"][0]["cost_usd"] > 0

    # …and once no team defaults to A1, it can go too
    r = await http.patch("/api/teams/t1", json={"default_model": None})
    assert r.status_code == 200
    assert (await http.delete("/api/model-aliases/A1")).status_code == 200


# --- who may, and hostile input -------------------------------------------------------------

ENDPOINTS = [
    ("PATCH", "/api/teams/t9", {"team_alias": "x"}),
    ("DELETE", "/api/teams/t9", None),
    ("PATCH", "/api/organizations/o9", {"name": "x"}),
    ("DELETE", "/api/organizations/o9", None),
    ("PATCH", "/api/model-access-groups/g9", {"description": "x"}),
    ("DELETE", "/api/model-access-groups/g9", None),
    ("PATCH", "/api/model-aliases/A9", {"deployments": [mock("x")]}),
    ("DELETE", "/api/model-aliases/A9", None),
]


async def seed_removable(http: httpx.AsyncClient, admin: dict[str, str] | None = None) -> str:
    """``seed`` plus things nothing uses: team t9 (in o1, g1), organization o9, group g9 and
    alias A9 (in g9). t1's key."""
    headers = admin or {}
    keys = await seed(http, admin)
    await create_team(http, team_id="t9", organization_id="o1", groups=("g1",), admin=admin)
    r = await http.post(
        "/api/organizations/create", json={"organization_id": "o9", "name": "O9"}, headers=headers
    )
    assert r.status_code == 201, r.text
    r = await http.post(
        "/api/model-access-groups/create", json={"group_name": "g9"}, headers=headers
    )
    assert r.status_code == 201, r.text
    await create_alias(http, "A9", ["g9"], admin=admin)
    return keys["t1"]


@pytest.mark.parametrize("admin_key", [ADMIN_KEY])
@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
async def test_every_change_needs_the_admin_key(
    http: httpx.AsyncClient, method: str, path: str, body: dict[str, Any] | None
) -> None:
    team_key = await seed_removable(http, ADMIN)
    before = await state(http, ADMIN)

    r = await http.request(method, path, json=body)
    assert r.status_code == 401, r.text
    assert r.json()["error"]["type"] == "authentication_error"
    r = await http.request(method, path, json=body, headers=bearer("adm-wrong"))
    assert r.status_code == 401, r.text
    r = await http.request(method, path, json=body, headers=bearer(team_key))
    assert r.status_code == 403, r.text
    assert r.json()["error"]["type"] == "permission_denied"
    assert await state(http, ADMIN) == before

    r = await http.request(method, path, json=body, headers=ADMIN)
    assert r.status_code == 200, r.text
    after = await state(http, ADMIN)
    assert after != before
    event = after["/api/audit-log"]["events"][0]
    assert event["actor"] == "admin-key"
    assert event["action"].endswith(".update" if method == "PATCH" else ".delete")


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
async def test_local_dev_mode_is_open_but_not_to_team_keys(
    http: httpx.AsyncClient, method: str, path: str, body: dict[str, Any] | None
) -> None:
    team_key = await seed_removable(http)
    r = await http.request(method, path, json=body, headers=bearer(team_key))
    assert r.status_code == 403, r.text
    r = await http.request(method, path, json=body)
    assert r.status_code == 200, r.text
    assert (await http.get("/api/audit-log")).json()["events"][0]["actor"] == "local-dev"


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"k": value}
    return value


HOSTILE_BODIES: list[tuple[str, bytes | dict[str, Any] | list[Any]]] = [
    ("/api/teams/t1", b"{"),
    ("/api/teams/t1", b"not json"),
    ("/api/teams/t1", [1, 2]),
    ("/api/teams/t1", b'"text"'),
    ("/api/teams/t1", {"team_alias": 5}),
    ("/api/teams/t1", {"team_alias": ""}),
    ("/api/teams/t1", {"team_alias": "a\x00b"}),
    ("/api/teams/t1", {"access_groups": "g1"}),
    ("/api/teams/t1", {"access_groups": ["g\x00"]}),
    ("/api/teams/t1", {"access_groups": [f"g{i}" for i in range(65)]}),
    ("/api/teams/t1", {"metadata": [1]}),
    ("/api/teams/t1", {"metadata": {"big": "x" * 20_000}}),
    ("/api/teams/t1", {"metadata": nested(20)}),
    ("/api/teams/t1", {"default_model": "a\x00"}),
    ("/api/teams/t1", {"default_model": 1}),
    ("/api/teams/t1", {"status": "suspended"}),
    ("/api/teams/t1", {"credits_allocated": 10**9}),
    ("/api/teams/t1", {"team_id": "t2"}),
    ("/api/organizations/o1", {"name": ""}),
    ("/api/organizations/o1", {"name": "x" * 201}),
    ("/api/organizations/o1", {"name": "a\x00"}),
    ("/api/organizations/o1", {"name": ["x"]}),
    ("/api/organizations/o1", {"metadata": "x"}),
    ("/api/organizations/o1", {"metadata": {"x": "\x00" * 17_000}}),
    ("/api/organizations/o1", {"organization_id": "o2"}),
    ("/api/model-access-groups/g1", {"description": "\x00"}),
    ("/api/model-access-groups/g1", {"description": "x" * 1001}),
    ("/api/model-access-groups/g1", {"description": 7}),
    ("/api/model-access-groups/g1", {"group_name": "g3"}),
    ("/api/model-aliases/A1", {"deployments": []}),
    ("/api/model-aliases/A1", {"deployments": [{"provider": "mock"}]}),
    ("/api/model-aliases/A1", {"deployments": [{"provider": "nope", "model": "m"}]}),
    ("/api/model-aliases/A1", {"deployments": [mock("m\x00")]}),
    ("/api/model-aliases/A1", {"deployments": [mock(input_cost=-1)]}),
    ("/api/model-aliases/A1", {"deployments": [{**mock(), "input_cost_per_million": "NaN"}]}),
    ("/api/model-aliases/A1", {"deployments": [mock()] * 17}),
    ("/api/model-aliases/A1", {"deployments": [{"provider": "openai", "model": "gpt"}]}),
    ("/api/model-aliases/A1", {"access_groups": [None]}),
    ("/api/model-aliases/A1", {"model_alias": "B"}),
]


@pytest.mark.parametrize(("path", "body"), HOSTILE_BODIES)
async def test_hostile_bodies_are_refused_and_change_nothing(
    http: httpx.AsyncClient, path: str, body: bytes | dict[str, Any] | list[Any]
) -> None:
    await seed(http)
    before = await state(http)
    if isinstance(body, bytes):
        r = await http.patch(path, content=body, headers={"Content-Type": "application/json"})
    else:
        r = await http.patch(path, json=body)
    assert r.status_code in (400, 422), r.text
    assert r.json()["error"]["type"] in ("invalid_request", "validation_error")
    assert await state(http) == before


async def test_an_oversized_body_is_refused(http: httpx.AsyncClient, settings: Settings) -> None:
    await seed(http)
    before = await state(http)
    body = {"metadata": {"x": "y" * (settings.max_body_bytes + 1)}}
    r = await http.patch("/api/teams/t1", json=body)
    assert r.status_code == 413, r.text
    assert await state(http) == before


BAD_IDS = [
    "/api/teams/-t1",
    "/api/teams/t%001",
    "/api/teams/t%201",
    "/api/teams/" + "t" * 300,
    "/api/organizations/.o1",
    "/api/organizations/o%001",
    "/api/organizations/o1%0A",
    "/api/model-access-groups/g%001",
    "/api/model-access-groups/" + "g" * 129,
    "/api/model-aliases/A%001",
    "/api/model-aliases/A1%0A",
    "/api/model-aliases/" + "A" * 201,
]


@pytest.mark.parametrize("path", BAD_IDS)
@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
async def test_ids_that_cannot_name_anything_are_404(
    http: httpx.AsyncClient, method: str, path: str
) -> None:
    await seed(http)
    before = await state(http)
    r = await http.request(method, path, json={} if method == "PATCH" else None)
    assert r.status_code == 404, r.text
    assert r.json()["error"]["type"] == "not_found"
    assert await state(http) == before


# --- a removal racing a change that starts to use what it removes ------------------------------


async def consistent(http: httpx.AsyncClient) -> None:
    """Everything a team or an alias names exists."""
    now = await state(http)
    groups = {g["group_name"] for g in now["/api/model-access-groups"]["model_access_groups"]}
    aliases = now["/api/model-aliases"]["model_aliases"]
    orgs = {o["organization_id"] for o in now["/api/organizations"]["organizations"]}
    for team in now["/api/teams"]["teams"]:
        assert set(team["access_groups"]) <= groups, team
        assert team["default_model"] in {None, *(a["model_alias"] for a in aliases)}, team
        assert team["organization_id"] in orgs, team
    for alias in aliases:
        assert set(alias["access_groups"]) <= groups, alias


RaceResult = tuple[tuple[int, int], set[tuple[int, int]]]


async def make_group(http: httpx.AsyncClient, name: str) -> None:
    r = await http.post("/api/model-access-groups/create", json={"group_name": name})
    assert r.status_code == 201, r.text


async def race(
    removal: Awaitable[httpx.Response], change: Awaitable[httpx.Response]
) -> tuple[int, int]:
    removed, changed = await asyncio.gather(removal, change)
    return removed.status_code, changed.status_code


async def race_group_and_team_update(http: httpx.AsyncClient, i: int) -> RaceResult:
    await make_group(http, f"gx{i}")
    return await race(
        http.delete(f"/api/model-access-groups/gx{i}"),
        http.patch("/api/teams/t2", json={"access_groups": ["g2", f"gx{i}"]}),
    ), {(200, 400), (409, 200)}


async def race_group_and_team_create(http: httpx.AsyncClient, i: int) -> RaceResult:
    await make_group(http, f"gx{i}")
    body = {"organization_id": "o1", "team_id": f"tx{i}", "access_groups": [f"gx{i}"]}
    return await race(
        http.delete(f"/api/model-access-groups/gx{i}"), http.post("/api/teams/create", json=body)
    ), {(200, 400), (409, 201)}


async def race_group_and_alias_create(http: httpx.AsyncClient, i: int) -> RaceResult:
    await make_group(http, f"gx{i}")
    body = {"model_alias": f"Ax{i}", "access_groups": [f"gx{i}"], "deployments": [mock()]}
    return await race(
        http.delete(f"/api/model-access-groups/gx{i}"),
        http.post("/api/model-aliases/create", json=body),
    ), {(200, 400), (200, 201)}


async def race_group_and_alias_update(http: httpx.AsyncClient, i: int) -> RaceResult:
    await make_group(http, f"gx{i}")
    return await race(
        http.delete(f"/api/model-access-groups/gx{i}"),
        http.patch("/api/model-aliases/A2", json={"access_groups": ["g2", f"gx{i}"]}),
    ), {(200, 400), (200, 200)}


async def race_organization_and_team_create(http: httpx.AsyncClient, i: int) -> RaceResult:
    r = await http.post(
        "/api/organizations/create", json={"organization_id": f"ox{i}", "name": "x"}
    )
    assert r.status_code == 201
    body = {"organization_id": f"ox{i}", "team_id": f"tx{i}"}
    return await race(
        http.delete(f"/api/organizations/ox{i}"), http.post("/api/teams/create", json=body)
    ), {(200, 400), (409, 201)}


async def race_alias_and_default_model(http: httpx.AsyncClient, i: int) -> RaceResult:
    await create_alias(http, f"Ax{i}", ["g2"])
    return await race(
        http.delete(f"/api/model-aliases/Ax{i}"),
        http.patch("/api/teams/t2", json={"default_model": f"Ax{i}"}),
    ), {(200, 400), (409, 200)}


async def race_alias_and_team_create(http: httpx.AsyncClient, i: int) -> RaceResult:
    await create_alias(http, f"Ax{i}", ["g2"])
    body = {"organization_id": "o1", "team_id": f"tx{i}", "default_model": f"Ax{i}"}
    return await race(
        http.delete(f"/api/model-aliases/Ax{i}"), http.post("/api/teams/create", json=body)
    ), {(200, 400), (409, 201)}


@pytest.mark.parametrize("admin_key", [ADMIN_KEY])
@pytest.mark.parametrize(
    "run",
    [
        race_group_and_team_update,
        race_group_and_team_create,
        race_group_and_alias_create,
        race_group_and_alias_update,
        race_organization_and_team_create,
        race_alias_and_default_model,
        race_alias_and_team_create,
    ],
)
async def test_a_removal_and_a_change_that_uses_it_never_both_win(
    http: httpx.AsyncClient, run: Callable[[httpx.AsyncClient, int], Awaitable[RaceResult]]
) -> None:
    """One goes first: the removal (and the change is a 400) or the change (and the removal is
    a 409, or for an alias's group, the alias leaves it). Never a 500, never a team or an alias
    naming something removed. (With an admin key: local-dev mode would create the group a new
    team names.)"""
    http.headers.update(ADMIN)
    await seed(http)
    for i in range(8):
        statuses, allowed = await run(http, i)
        assert statuses in allowed, statuses
        await consistent(http)
