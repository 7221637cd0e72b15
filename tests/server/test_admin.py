"""Admin catalog and team management (services/catalog.py, services/teams.py)."""

from __future__ import annotations

import httpx
import pytest
from support import GROUP, ORG, TEAM, bearer, create_team

from saas_litellm_models import ModelAlias, Organization, Team, TeamCreated

MSG = {"messages": [{"role": "user", "content": "hello"}]}


async def test_guide_setup_creates_org_group_and_team(http: httpx.AsyncClient) -> None:
    r = await http.post(
        "/api/organizations/create", json={"organization_id": ORG, "name": "ACME Corporation"}
    )
    assert r.status_code == 201
    assert Organization.model_validate_json(r.content).name == "ACME Corporation"
    r = await http.post(
        "/api/model-access-groups/create", json={"group_name": GROUP, "description": "GPT models"}
    )
    assert r.status_code == 201
    r = await http.post(
        "/api/teams/create",
        json={
            "organization_id": ORG,
            "team_id": TEAM,
            "team_alias": "ACME Corp Team",
            "access_groups": [GROUP],
            "credits_allocated": 1000,
        },
    )
    assert r.status_code == 201
    created = TeamCreated.model_validate_json(r.content)
    assert (created.credits_allocated, created.credits_remaining) == (1000, 1000)
    assert created.access_groups == [GROUP] and created.virtual_key.startswith("sk-")

    team = Team.model_validate_json((await http.get(f"/api/teams/{TEAM}")).content)
    assert team.status == "active" and team.team_alias == "ACME Corp Team"
    assert "virtual_key" not in (await http.get(f"/api/teams/{TEAM}")).json()


async def test_duplicates_are_conflicts(http: httpx.AsyncClient) -> None:
    await create_team(http)
    for path, body in [
        ("/api/organizations/create", {"organization_id": ORG, "name": "again"}),
        ("/api/model-access-groups/create", {"group_name": GROUP}),
        ("/api/teams/create", {"organization_id": ORG, "team_id": TEAM}),
        (
            "/api/model-aliases/create",
            {"model_alias": "default", "deployments": [{"provider": "mock", "model": "m"}]},
        ),
    ]:
        r = await http.post(path, json=body)
        assert r.status_code == 409, (path, r.text)
        assert r.json()["error"]["type"] == "conflict"
    # the duplicate team create did not replace the team's key or credits
    assert (await http.get(f"/api/teams/{TEAM}")).json()["credits_allocated"] == 1000


ADMIN = {"Authorization": "Bearer adm-strict"}


@pytest.mark.parametrize("admin_key", ["adm-strict"])
async def test_unknown_references_are_refused(http: httpx.AsyncClient) -> None:
    await create_team(http, admin=ADMIN)
    for body, param in [
        ({"organization_id": "nope", "team_id": "t2"}, "organization_id"),
        ({"organization_id": ORG, "team_id": "t2", "access_groups": ["nope"]}, "access_groups"),
        ({"organization_id": ORG, "team_id": "t2", "default_model": "nope"}, "default_model"),
    ]:
        r = await http.post("/api/teams/create", json=body, headers=ADMIN)
        assert r.status_code == 400 and r.json()["error"]["param"] == param
    r = await http.post(
        "/api/model-aliases/create",
        headers=ADMIN,
        json={
            "model_alias": "X",
            "access_groups": ["nope"],
            "deployments": [{"provider": "mock", "model": "m"}],
        },
    )
    assert r.status_code == 400
    assert (await http.get("/api/teams/t2", headers=ADMIN)).status_code == 404
    assert (await http.get("/api/model-aliases/X", headers=ADMIN)).status_code == 404


async def test_an_openai_deployment_without_any_upstream_is_refused_where_declared(
    http: httpx.AsyncClient,
) -> None:
    """Without an api_base or SAAS_LITELLM_UPSTREAM_BASE_URL, every call would be a 502."""
    body = {
        "model_alias": "Chat",
        "deployments": [
            {"provider": "mock", "model": "m"},
            {"provider": "openai", "model": "gpt-4o-mini"},
        ],
    }
    r = await http.post("/api/model-aliases/create", json=body)
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["type"] == "invalid_request" and error["param"] == "deployments"
    assert "deployments[1]" in error["message"] and "api_base" in error["message"]
    assert "SAAS_LITELLM_UPSTREAM_BASE_URL" in error["message"]
    assert (await http.get("/api/model-aliases/Chat")).status_code == 404
    body["deployments"][1]["api_base"] = "http://127.0.0.1:4000"
    assert (await http.post("/api/model-aliases/create", json=body)).status_code == 201


async def test_local_dev_mode_creates_what_a_team_names(http: httpx.AsyncClient) -> None:
    """The guide's team-creation example works on a fresh server, on its own."""
    r = await http.post(
        "/api/teams/create",
        json={
            "organization_id": "org_acme",
            "team_id": "acme-corp",
            "team_alias": "ACME Corp",
            "access_groups": ["gpt-models"],
            "credits_allocated": 1000,
        },
    )
    assert r.status_code == 201
    assert r.json()["virtual_key"].startswith("sk-")
    assert (await http.get("/api/teams/acme-corp")).json()["access_groups"] == ["gpt-models"]
    r = await http.post("/api/model-access-groups/create", json={"group_name": "gpt-models"})
    assert r.status_code == 409  # it exists now


async def test_credits_add_grows_the_balance(http: httpx.AsyncClient) -> None:
    key = await create_team(http, credits=1)
    r = await http.post(f"/api/teams/{TEAM}/credits/add", json={"credits": 4, "reason": "top-up"})
    assert r.status_code == 200 and r.json()["credits_allocated"] == 5
    balance = (await http.get("/api/credits/balance", headers=bearer(key))).json()
    assert balance["credits_remaining"] == 5
    r = await http.post("/api/teams/ghost/credits/add", json={"credits": 4})
    assert r.status_code == 404


async def test_model_alias_access_through_groups(http: httpx.AsyncClient) -> None:
    key = await create_team(http)
    await http.post("/api/model-access-groups/create", json={"group_name": "claude-models"})
    r = await http.post(
        "/api/model-aliases/create",
        json={
            "model_alias": "ChatAgent",
            "access_groups": [GROUP],
            "deployments": [
                {
                    "provider": "mock",
                    "model": "gpt-4o-mini",
                    "input_cost_per_million": 1.0,
                    "output_cost_per_million": 2.0,
                },
                {"provider": "mock", "model": "gpt-4o"},
            ],
        },
    )
    assert r.status_code == 201
    alias = ModelAlias.model_validate_json(r.content)
    assert [d.model for d in alias.deployments] == ["gpt-4o-mini", "gpt-4o"]
    await http.post(
        "/api/model-aliases/create",
        json={
            "model_alias": "Claude",
            "access_groups": ["claude-models"],
            "deployments": [{"provider": "mock", "model": "claude"}],
        },
    )

    job = (
        await http.post(
            "/api/jobs/create", json={"team_id": TEAM, "job_type": "t"}, headers=bearer(key)
        )
    ).json()
    r = await http.post(
        f"/api/jobs/{job['job_id']}/llm-call",
        json={**MSG, "model": "ChatAgent"},
        headers=bearer(key),
    )
    assert r.status_code == 200 and r.json()["model"] == "ChatAgent"
    usage = r.json()["usage"]
    r = await http.post(
        f"/api/jobs/{job['job_id']}/llm-call", json={**MSG, "model": "Claude"}, headers=bearer(key)
    )
    assert r.status_code == 403 and r.json()["error"]["param"] == "model"

    detail = (await http.get(f"/api/jobs/{job['job_id']}", headers=bearer(key))).json()
    assert [c["deployment"] for c in detail["calls"]] == ["gpt-4o-mini"]
    expected = (usage["prompt_tokens"] * 1.0 + usage["completion_tokens"] * 2.0) / 1e6
    assert abs(detail["costs"]["total_cost_usd"] - expected) < 1e-12


async def test_team_default_model_is_used_when_the_call_names_none(
    http: httpx.AsyncClient,
) -> None:
    await create_team(http, team_id="setup")  # creates org and group
    await http.post(
        "/api/model-aliases/create",
        json={
            "model_alias": "ChatAgent",
            "access_groups": [GROUP],
            "deployments": [{"provider": "mock", "model": "gpt-4o-mini"}],
        },
    )
    key = await create_team(http, default_model="ChatAgent")
    job = (
        await http.post(
            "/api/jobs/create", json={"team_id": TEAM, "job_type": "t"}, headers=bearer(key)
        )
    ).json()
    r = await http.post(f"/api/jobs/{job['job_id']}/llm-call", json=MSG, headers=bearer(key))
    assert r.json()["model"] == "ChatAgent"


async def test_usage_groups_by_job_type(http: httpx.AsyncClient) -> None:
    key = await create_team(http, credits=10)
    for job_type, status, calls in [
        ("extract", "completed", 2),
        ("extract", "failed", 1),
        ("summarize", "completed", 3),
    ]:
        job = (
            await http.post(
                "/api/jobs/create",
                json={"team_id": TEAM, "job_type": job_type},
                headers=bearer(key),
            )
        ).json()
        for _ in range(calls):
            await http.post(f"/api/jobs/{job['job_id']}/llm-call", json=MSG, headers=bearer(key))
        await http.post(
            f"/api/jobs/{job['job_id']}/complete", json={"status": status}, headers=bearer(key)
        )
    rows = {
        r["job_type"]: r
        for r in (await http.get(f"/api/teams/{TEAM}/usage", headers=bearer(key))).json()[
            "by_job_type"
        ]
    }
    assert (
        rows["extract"]["jobs"],
        rows["extract"]["completed"],
        rows["extract"]["failed"],
        rows["extract"]["calls"],
        rows["extract"]["credits"],
    ) == (2, 1, 1, 3, 1)
    assert (
        rows["summarize"]["jobs"],
        rows["summarize"]["calls"],
        rows["summarize"]["credits"],
    ) == (1, 3, 1)
    assert rows["summarize"]["tokens"] > 0 and rows["summarize"]["cost_usd"] > 0
    later = (
        await http.get(f"/api/teams/{TEAM}/usage?since=2999-01-01", headers=bearer(key))
    ).json()
    assert later["by_job_type"] == []


async def test_set_limits_changes_only_the_limits_it_names(http: httpx.AsyncClient) -> None:
    await create_team(http, rpm_limit=10, tpm_limit=500)

    async def limits(body: dict[str, int | None]) -> tuple[int | None, int | None]:
        r = await http.post(f"/api/teams/{TEAM}/limits", json=body)
        assert r.status_code == 200, r.text
        team = Team.model_validate_json(r.content)
        stored = Team.model_validate_json((await http.get(f"/api/teams/{TEAM}")).content)
        assert (stored.rpm_limit, stored.tpm_limit) == (team.rpm_limit, team.tpm_limit)
        return team.rpm_limit, team.tpm_limit

    assert await limits({"rpm_limit": 7}) == (7, 500)  # tpm_limit omitted: kept
    assert await limits({"tpm_limit": 300}) == (7, 300)
    assert await limits({}) == (7, 300)  # an empty body changes nothing
    assert await limits({"rpm_limit": None}) == (None, 300)  # explicit null removes
    assert await limits({"rpm_limit": 2, "tpm_limit": None}) == (2, None)
    r = await http.post("/api/teams/nobody/limits", json={})
    assert r.status_code == 404
