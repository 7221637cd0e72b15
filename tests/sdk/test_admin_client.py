"""The admin client: authentication modes and the exact requests each method sends."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
import respx
from pydantic import ValidationError
from sdk_payloads import sent_json

from saas_litellm_client import (
    AuthenticationError,
    CreditBalance,
    Deployment,
    JobList,
    KeyRotation,
    ModelAccessGroup,
    ModelAlias,
    NotFoundError,
    Organization,
    OrganizationList,
    OrganizationUsage,
    SaasLiteLLMAdminClient,
    Team,
    TeamCreated,
    TeamList,
    TeamUsage,
)

CREATED_AT = "2025-01-01T00:00:00Z"
TEAM = {
    "team_id": "acme-corp",
    "organization_id": "acme",
    "team_alias": "ACME",
    "access_groups": ["gpt-models"],
    "default_model": "ChatAgent",
    "status": "active",
    "credits_allocated": 100,
    "credits_used": 0,
    "credits_reserved": 0,
    "credits_remaining": 100,
    "created_at": CREATED_AT,
}
BALANCE = {
    "team_id": "acme-corp",
    "credits_allocated": 150,
    "credits_used": 0,
    "credits_reserved": 0,
    "credits_remaining": 150,
    "credits_available": 150,
}


# -- authentication ----------------------------------------------------------------------------


async def test_without_admin_key_no_authorization_header_is_sent(
    respx_mock: respx.MockRouter,
) -> None:
    route = respx_mock.get("http://api.test/api/teams/acme-corp").respond(200, json=TEAM)

    async with SaasLiteLLMAdminClient("http://api.test") as admin:
        await admin.get_team("acme-corp")

    assert "Authorization" not in route.calls.last.request.headers
    assert route.calls.last.request.headers["User-Agent"] == "saas-litellm-python/0.1.0"


async def test_admin_key_and_base_url_come_from_the_environment(
    respx_mock: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAAS_LITELLM_ADMIN_KEY", "sk-admin-env")
    monkeypatch.setenv("SAAS_LITELLM_BASE_URL", "http://admin.test:9000/api")
    route = respx_mock.get("http://admin.test:9000/api/teams/acme-corp").respond(200, json=TEAM)

    async with SaasLiteLLMAdminClient() as admin:
        await admin.get_team("acme-corp")

    assert route.calls.last.request.headers["Authorization"] == "Bearer sk-admin-env"


async def test_wrong_admin_key_raises_authentication_error(
    respx_mock: respx.MockRouter, admin_client: SaasLiteLLMAdminClient
) -> None:
    respx_mock.get("http://api.test/api/teams/acme-corp").respond(
        401, json={"error": {"type": "authentication_error", "message": "invalid admin key"}}
    )

    with pytest.raises(AuthenticationError, match="invalid admin key"):
        await admin_client.get_team("acme-corp")


# -- the seed flow -----------------------------------------------------------------------------


async def test_create_organization(
    respx_mock: respx.MockRouter, admin_client: SaasLiteLLMAdminClient
) -> None:
    route = respx_mock.post("http://api.test/api/organizations/create").respond(
        201,
        json={"organization_id": "acme", "name": "ACME", "metadata": {}, "created_at": CREATED_AT},
    )

    org = await admin_client.create_organization("acme", "ACME", metadata={"tier": "gold"})

    assert isinstance(org, Organization)
    assert route.calls.last.request.headers["Authorization"] == "Bearer sk-test-admin-key"
    assert sent_json(route) == {
        "organization_id": "acme",
        "name": "ACME",
        "metadata": {"tier": "gold"},
    }


async def test_create_model_access_group(
    respx_mock: respx.MockRouter, admin_client: SaasLiteLLMAdminClient
) -> None:
    route = respx_mock.post("http://api.test/api/model-access-groups/create").respond(
        201, json={"group_name": "gpt-models", "created_at": CREATED_AT}
    )

    group = await admin_client.create_model_access_group("gpt-models")

    assert isinstance(group, ModelAccessGroup)
    assert sent_json(route) == {"group_name": "gpt-models"}


async def test_create_model_alias_accepts_dicts_and_models(
    respx_mock: respx.MockRouter, admin_client: SaasLiteLLMAdminClient
) -> None:
    primary = {"provider": "openai", "model": "gpt-4o-mini", "input_cost_per_million": 0.15}
    fallback = Deployment(provider="mock", model="mock-1")
    route = respx_mock.post("http://api.test/api/model-aliases/create").respond(
        201,
        json={
            "model_alias": "ChatAgent",
            "access_groups": ["gpt-models"],
            "deployments": [primary, {"provider": "mock", "model": "mock-1"}],
            "created_at": CREATED_AT,
        },
    )

    alias = await admin_client.create_model_alias(
        "ChatAgent", deployments=[primary, fallback], access_groups=["gpt-models"]
    )

    assert isinstance(alias, ModelAlias)
    assert [d.model for d in alias.deployments] == ["gpt-4o-mini", "mock-1"]
    assert sent_json(route) == {
        "model_alias": "ChatAgent",
        "access_groups": ["gpt-models"],
        "deployments": [
            {
                "provider": "openai",
                "model": "gpt-4o-mini",
                "input_cost_per_million": 0.15,
                "output_cost_per_million": 0.0,
            },
            {
                "provider": "mock",
                "model": "mock-1",
                "input_cost_per_million": 0.0,
                "output_cost_per_million": 0.0,
            },
        ],
    }


async def test_create_team_returns_the_virtual_key_once(
    respx_mock: respx.MockRouter, admin_client: SaasLiteLLMAdminClient
) -> None:
    route = respx_mock.post("http://api.test/api/teams/create").respond(
        201,
        json={
            "team_id": "acme-corp",
            "organization_id": "acme",
            "team_alias": None,
            "access_groups": ["gpt-models"],
            "virtual_key": "sk-new-team-key",
            "credits_allocated": 100,
            "credits_remaining": 100,
        },
    )

    team = await admin_client.create_team(
        "acme", "acme-corp", access_groups=("gpt-models",), credits_allocated=100
    )

    assert isinstance(team, TeamCreated)
    assert team.virtual_key == "sk-new-team-key"
    assert sent_json(route) == {
        "organization_id": "acme",
        "team_id": "acme-corp",
        "access_groups": ["gpt-models"],
        "credits_allocated": 100,
    }


async def test_create_team_takes_rate_limits(
    respx_mock: respx.MockRouter, admin_client: SaasLiteLLMAdminClient
) -> None:
    created = {**TEAM, "virtual_key": "sk-new-team-key"}
    route = respx_mock.post("http://api.test/api/teams/create").respond(201, json=created)

    await admin_client.create_team("acme", "acme-corp", rpm_limit=60, tpm_limit=10_000)

    assert sent_json(route) == {
        "organization_id": "acme",
        "team_id": "acme-corp",
        "access_groups": [],
        "credits_allocated": 0,
        "rpm_limit": 60,
        "tpm_limit": 10_000,
    }


@pytest.mark.parametrize(
    ("kwargs", "sent"),
    [
        ({"rpm_limit": 1}, {"rpm_limit": 1}),  # tpm_limit not given: left as it is
        ({"tpm_limit": 500}, {"tpm_limit": 500}),
        ({"rpm_limit": None}, {"rpm_limit": None}),  # explicit None: removed
        ({"rpm_limit": 5, "tpm_limit": None}, {"rpm_limit": 5, "tpm_limit": None}),
        ({}, {}),
    ],
)
async def test_set_limits_sends_only_the_limits_given(
    respx_mock: respx.MockRouter,
    admin_client: SaasLiteLLMAdminClient,
    kwargs: dict[str, Any],
    sent: dict[str, Any],
) -> None:
    route = respx_mock.post("http://api.test/api/teams/acme-corp/limits").respond(200, json=TEAM)

    team = await admin_client.set_limits("acme-corp", **kwargs)

    assert isinstance(team, Team)
    assert sent_json(route) == sent


async def test_add_credits(
    respx_mock: respx.MockRouter, admin_client: SaasLiteLLMAdminClient
) -> None:
    route = respx_mock.post("http://api.test/api/teams/acme-corp/credits/add").respond(
        200, json=BALANCE
    )

    balance = await admin_client.add_credits("acme-corp", 50, reason="top-up")

    assert isinstance(balance, CreditBalance)
    assert balance.credits_remaining == 150
    assert sent_json(route) == {"credits": 50, "reason": "top-up"}


@pytest.mark.respx(assert_all_called=False)
@pytest.mark.parametrize("credits", [0, -5])
async def test_add_credits_refuses_non_positive_amounts_before_sending(
    respx_mock: respx.MockRouter, admin_client: SaasLiteLLMAdminClient, credits: int
) -> None:
    route = respx_mock.route()

    with pytest.raises(ValidationError, match="credits"):
        await admin_client.add_credits("acme-corp", credits)

    assert not route.called


async def test_rotate_key_without_a_grace_period_posts_an_empty_object(
    respx_mock: respx.MockRouter, admin_client: SaasLiteLLMAdminClient
) -> None:
    # the reply of a server from before key ids: the new fields are optional
    route = respx_mock.post("http://api.test/api/teams/acme-corp/rotate-key").respond(
        200, json={"team_id": "acme-corp", "virtual_key": "sk-rotated"}
    )

    rotation = await admin_client.rotate_key("acme-corp")

    assert isinstance(rotation, KeyRotation)
    assert rotation.virtual_key == "sk-rotated"
    assert rotation.key_id is None and rotation.previous_keys_expire_at is None
    assert sent_json(route) == {}


@pytest.mark.parametrize(
    ("method", "status"), [("suspend_team", "suspended"), ("resume_team", "active")]
)
async def test_suspend_and_resume(
    respx_mock: respx.MockRouter,
    admin_client: SaasLiteLLMAdminClient,
    method: str,
    status: str,
) -> None:
    action = method.removesuffix("_team")
    route = respx_mock.post(f"http://api.test/api/teams/acme-corp/{action}").respond(
        200, json={**TEAM, "status": status}
    )

    team = await getattr(admin_client, method)("acme-corp")

    assert isinstance(team, Team)
    assert team.status == status
    assert route.call_count == 1


async def test_get_team_usage_quotes_the_team_id(
    respx_mock: respx.MockRouter, admin_client: SaasLiteLLMAdminClient
) -> None:
    route = respx_mock.get(host="api.test").respond(200, json={"team_id": "a/b", "by_job_type": []})

    usage = await admin_client.get_team_usage("a/b")

    assert isinstance(usage, TeamUsage)
    assert route.calls.last.request.url.raw_path == b"/api/teams/a%2Fb/usage"


# -- views of the control plane ------------------------------------------------------------------

ORG = {"organization_id": "acme", "name": "ACME", "metadata": {}, "created_at": CREATED_AT}
JOB = {
    "job_id": "00000000-0000-4000-8000-000000000001",
    "team_id": "acme-corp",
    "job_type": "chat",
    "status": "completed",
    "created_at": CREATED_AT,
}


def _pages(key: str, items: list[dict[str, Any]], size: int) -> list[httpx.Response]:
    """The pages a server would send for ``items``, ``size`` at a time, cursors ``c1``, ``c2``…"""
    chunks = [items[i : i + size] for i in range(0, len(items), size)] or [[]]
    return [
        httpx.Response(
            200,
            json={key: chunk, "next_cursor": f"c{n + 1}" if n + 1 < len(chunks) else None},
        )
        for n, chunk in enumerate(chunks)
    ]


ITERATORS = [
    # (method, its filters, path, items key, an item)
    ("iter_organizations", {}, "/api/organizations", "organizations", ORG),
    (
        "iter_model_access_groups",
        {},
        "/api/model-access-groups",
        "model_access_groups",
        {"group_name": "g", "created_at": CREATED_AT},
    ),
    (
        "iter_model_aliases",
        {"access_group": "g"},
        "/api/model-aliases",
        "model_aliases",
        {"model_alias": "M", "access_groups": ["g"], "deployments": [], "created_at": CREATED_AT},
    ),
    (
        "iter_teams",
        {"organization_id": "acme", "status": "suspended", "access_group": "g"},
        "/api/teams",
        "teams",
        TEAM,
    ),
    (
        "iter_jobs",
        {"team_id": "acme-corp", "organization_id": "acme", "status": "failed", "job_type": "x"},
        "/api/jobs",
        "jobs",
        JOB,
    ),
]


@pytest.mark.parametrize(
    ("method", "filters", "path", "key", "item"), ITERATORS, ids=[i[0] for i in ITERATORS]
)
async def test_iterators_walk_every_page_with_the_same_filters(
    respx_mock: respx.MockRouter,
    admin_client: SaasLiteLLMAdminClient,
    method: str,
    filters: dict[str, str],
    path: str,
    key: str,
    item: dict[str, Any],
) -> None:
    id_key = next(iter(item))
    items = [{**item, id_key: f"{item[id_key]}{n}"} for n in range(5)]
    route = respx_mock.get(f"http://api.test{path}").mock(side_effect=_pages(key, items, 2))
    seen = [x async for x in getattr(admin_client, method)(page_size=2, **filters)]
    assert [getattr(x, id_key) for x in seen] == [i[id_key] for i in items]
    assert route.call_count == 3
    sent = [dict(call.request.url.params) for call in route.calls]
    assert sent == [
        {**filters, "limit": "2"},
        {**filters, "limit": "2", "cursor": "c1"},
        {**filters, "limit": "2", "cursor": "c2"},
    ]


async def test_an_empty_list_iterates_nothing_in_one_request(
    respx_mock: respx.MockRouter, admin_client: SaasLiteLLMAdminClient
) -> None:
    route = respx_mock.get("http://api.test/api/teams").respond(
        200, json={"teams": [], "next_cursor": None}
    )
    assert [t async for t in admin_client.iter_teams()] == []
    assert route.call_count == 1


async def test_list_jobs_sends_the_time_window_as_iso_8601(
    respx_mock: respx.MockRouter, admin_client: SaasLiteLLMAdminClient
) -> None:
    route = respx_mock.get("http://api.test/api/jobs").respond(
        200, json={"jobs": [JOB], "next_cursor": "next"}
    )
    since = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    page = await admin_client.list_jobs(since=since, until=since + dt.timedelta(days=1), limit=1)
    assert isinstance(page, JobList) and page.next_cursor == "next"
    params = route.calls.last.request.url.params
    assert dt.datetime.fromisoformat(params["since"]) == since
    assert dt.datetime.fromisoformat(params["until"]) == since + dt.timedelta(days=1)
    assert "team_id" not in params and params["limit"] == "1"


async def test_list_pages_parse_into_their_models(
    respx_mock: respx.MockRouter, admin_client: SaasLiteLLMAdminClient
) -> None:
    respx_mock.get("http://api.test/api/organizations").respond(
        200, json={"organizations": [ORG], "next_cursor": None}
    )
    respx_mock.get("http://api.test/api/teams").respond(
        200, json={"teams": [TEAM], "next_cursor": "n"}
    )
    orgs = await admin_client.list_organizations()
    assert isinstance(orgs, OrganizationList) and orgs.organizations[0].name == "ACME"
    teams = await admin_client.list_teams(status="active")
    assert isinstance(teams, TeamList) and teams.teams[0].team_id == "acme-corp"


async def test_get_organization_and_its_usage(
    respx_mock: respx.MockRouter, admin_client: SaasLiteLLMAdminClient
) -> None:
    respx_mock.get("http://api.test/api/organizations/acme").respond(200, json=ORG)
    usage = {
        "organization_id": "acme",
        "since": "2026-01-01T00:00:00Z",
        "until": None,
        "by_job_type": [
            {
                "job_type": "chat",
                "jobs": 2,
                "completed": 1,
                "failed": 1,
                "calls": 3,
                "tokens": 30,
                "cost_usd": 0.5,
                "credits": 1,
            }
        ],
    }
    route = respx_mock.get("http://api.test/api/organizations/acme/usage").respond(200, json=usage)
    organization = await admin_client.get_organization("acme")
    assert isinstance(organization, Organization) and organization.organization_id == "acme"
    since = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    result = await admin_client.get_organization_usage("acme", since=since)
    assert isinstance(result, OrganizationUsage) and result.by_job_type[0].credits == 1
    assert set(route.calls.last.request.url.params) == {"since"}


async def test_unknown_organization_raises_not_found(
    respx_mock: respx.MockRouter, admin_client: SaasLiteLLMAdminClient
) -> None:
    respx_mock.get("http://api.test/api/organizations/nope").respond(
        404,
        json={"error": {"message": "organization 'nope' not found", "type": "not_found"}},
    )
    with pytest.raises(NotFoundError):
        await admin_client.get_organization("nope")
