"""The admin client: authentication modes and the exact requests each method sends."""

from __future__ import annotations

import datetime as dt
import inspect
import typing
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
import respx
from pydantic import ValidationError
from sdk_payloads import sent_json

import saas_litellm_client
from saas_litellm_client import (
    AuditEvent,
    AuthenticationError,
    ConflictError,
    CreditBalance,
    Deleted,
    Deployment,
    KeyCreated,
    KeyList,
    KeyRotation,
    ModelAccessGroup,
    ModelAlias,
    NotFoundError,
    Organization,
    OrganizationUsage,
    SaasLiteLLMAdminClient,
    Team,
    TeamCreated,
    TeamUsage,
    VirtualKeyInfo,
    WebhookCreated,
    WebhookDelivery,
    WebhookInfo,
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
        "mode": "chat",  # the field's default, sent as every default is
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


async def test_create_team_takes_metadata_and_returns_the_key_id(
    respx_mock: respx.MockRouter, admin_client: SaasLiteLLMAdminClient
) -> None:
    created = {**TEAM, "virtual_key": "sk-new-team-key", "key_id": "key_0123456789abcdef01234567"}
    route = respx_mock.post("http://api.test/api/teams/create").respond(201, json=created)

    team = await admin_client.create_team("acme", "acme-corp", metadata={"crm_id": 42})

    assert team.key_id == "key_0123456789abcdef01234567"
    assert sent_json(route)["metadata"] == {"crm_id": 42}


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
    ("list_organizations", {}, "/api/organizations", "organizations", ORG),
    (
        "list_model_access_groups",
        {},
        "/api/model-access-groups",
        "model_access_groups",
        {"group_name": "g", "created_at": CREATED_AT},
    ),
    (
        "list_model_aliases",
        {"access_group": "g"},
        "/api/model-aliases",
        "model_aliases",
        {"model_alias": "M", "access_groups": ["g"], "deployments": [], "created_at": CREATED_AT},
    ),
    (
        "list_teams",
        {"organization_id": "acme", "status": "suspended", "access_group": "g"},
        "/api/teams",
        "teams",
        TEAM,
    ),
    (
        "list_jobs",
        {"team_id": "acme-corp", "organization_id": "acme", "status": "failed", "job_type": "x"},
        "/api/jobs",
        "jobs",
        JOB,
    ),
    (
        "list_audit_log",
        {"actor": "admin-key", "action": "team.update", "target": "team:acme-corp"},
        "/api/audit-log",
        "events",
        {
            "event_id": "evt_",
            "at": CREATED_AT,
            "actor": "admin-key",
            "action": "team.update",
            "target": "team:acme-corp",
        },
    ),
]


@pytest.mark.parametrize(
    ("method", "filters", "path", "key", "item"), ITERATORS, ids=[i[0] for i in ITERATORS]
)
async def test_async_for_walks_every_page_with_the_same_filters(
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
    seen = [x async for x in getattr(admin_client, method)(limit=2, **filters)]
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
    assert [t async for t in admin_client.list_teams()] == []
    assert route.call_count == 1


async def test_awaiting_a_list_gives_its_first_page_and_the_next_on_demand(
    respx_mock: respx.MockRouter, admin_client: SaasLiteLLMAdminClient
) -> None:
    route = respx_mock.get("http://api.test/api/teams").mock(
        side_effect=_pages("teams", [{**TEAM, "team_id": f"t{n}"} for n in range(3)], 2)
    )
    listed = admin_client.list_teams(status="active", limit=2)
    assert route.call_count == 0  # nothing is sent before the list is awaited or iterated

    page = await listed
    assert isinstance(page, saas_litellm_client.Page)
    assert [t.team_id for t in page.items] == ["t0", "t1"]
    assert (page.next_cursor, page.has_next_page()) == ("c1", True)
    last = await page.get_next_page()
    assert ([t.team_id for t in last.items], last.has_next_page()) == (["t2"], False)
    assert route.calls.last.request.url.params["status"] == "active"
    with pytest.raises(saas_litellm_client.SaasLiteLLMError, match="last page"):
        await last.get_next_page()
    # iterating a page walks it and every later page
    assert route.call_count == 2


async def test_list_jobs_sends_the_time_window_as_iso_8601(
    respx_mock: respx.MockRouter, admin_client: SaasLiteLLMAdminClient
) -> None:
    route = respx_mock.get("http://api.test/api/jobs").respond(
        200, json={"jobs": [JOB], "next_cursor": "next"}
    )
    since = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    page = await admin_client.list_jobs(since=since, until=since + dt.timedelta(days=1), limit=1)
    assert isinstance(page, saas_litellm_client.Page) and page.next_cursor == "next"
    assert isinstance(page.items[0], saas_litellm_client.Job)
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
    assert isinstance(orgs.items[0], Organization) and orgs.items[0].name == "ACME"
    teams = await admin_client.list_teams(status="active")
    assert isinstance(teams.items[0], Team) and teams.items[0].team_id == "acme-corp"


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


# -- changes and removals (PATCH, DELETE) -------------------------------------------------------

GROUP = {"group_name": "gpt-models", "description": None, "created_at": CREATED_AT}
ALIAS = {
    "model_alias": "openai/gpt-4o",
    "access_groups": ["gpt-models"],
    "deployments": [{"provider": "mock", "model": "m"}],
    "created_at": CREATED_AT,
}
FULL_MOCK_DEPLOYMENT = {
    "provider": "mock",
    "model": "m",
    "input_cost_per_million": 0.0,
    "output_cost_per_million": 0.0,
}

UPDATES = [
    # (method, path (raw, as sent), response, kwargs, body sent); the target is the last segment
    ("update_team", "/api/teams/acme-corp", TEAM, {}, {}),
    ("update_team", "/api/teams/acme-corp", TEAM, {"team_alias": None}, {"team_alias": None}),
    (
        "update_team",
        "/api/teams/acme-corp",
        TEAM,
        {"access_groups": ("a", "b"), "default_model": None},
        {"access_groups": ["a", "b"], "default_model": None},
    ),
    (
        "update_team",
        "/api/teams/acme-corp",
        TEAM,
        # a null inside the metadata object is data, not "leave out"
        {"metadata": {"tier": "gold", "note": None}, "team_alias": "ACME"},
        {"metadata": {"tier": "gold", "note": None}, "team_alias": "ACME"},
    ),
    ("update_organization", "/api/organizations/acme", ORG, {"name": "Acme"}, {"name": "Acme"}),
    ("update_organization", "/api/organizations/acme", ORG, {"metadata": {}}, {"metadata": {}}),
    (
        "update_model_access_group",
        "/api/model-access-groups/gpt-models",
        GROUP,
        {"description": None},
        {"description": None},
    ),
    (
        "update_model_access_group",
        "/api/model-access-groups/gpt-models",
        GROUP,
        {"description": "GPT"},
        {"description": "GPT"},
    ),
    (
        "update_model_alias",
        "/api/model-aliases/openai%2Fgpt-4o",
        ALIAS,
        {"access_groups": []},
        {"access_groups": []},
    ),
    (
        "update_model_alias",
        "/api/model-aliases/openai%2Fgpt-4o",
        ALIAS,
        # a dict and a model alike, sent in full as create_model_alias sends them
        {
            "deployments": [
                {"provider": "openai", "model": "gpt-4o", "input_cost_per_million": 2.5},
                Deployment(provider="mock", model="m"),
            ]
        },
        {
            "deployments": [
                {
                    "provider": "openai",
                    "model": "gpt-4o",
                    "input_cost_per_million": 2.5,
                    "output_cost_per_million": 0.0,
                },
                FULL_MOCK_DEPLOYMENT,
            ]
        },
    ),
]


@pytest.mark.parametrize(
    ("method", "path", "response", "kwargs", "sent"),
    UPDATES,
    ids=[f"{u[0]}-{'-'.join(u[3]) or 'nothing'}" for u in UPDATES],
)
async def test_updates_patch_only_the_fields_given_without_an_idempotency_key(
    respx_mock: respx.MockRouter,
    admin_client: SaasLiteLLMAdminClient,
    method: str,
    path: str,
    response: dict[str, Any],
    kwargs: dict[str, Any],
    sent: dict[str, Any],
) -> None:
    route = respx_mock.patch(host="api.test").respond(200, json=response)

    target = unquote(path.rsplit("/", 1)[1])
    result = await getattr(admin_client, method)(target, **kwargs)

    request = route.calls.last.request
    assert request.url.raw_path.decode() == path
    assert sent_json(route) == sent
    assert "Idempotency-Key" not in request.headers
    assert request.headers["Authorization"] == "Bearer sk-test-admin-key"
    assert (
        type(result).__name__
        == {
            "update_team": "Team",
            "update_organization": "Organization",
            "update_model_access_group": "ModelAccessGroup",
            "update_model_alias": "ModelAlias",
        }[method]
    )


async def test_update_team_returns_the_team_with_its_metadata(
    respx_mock: respx.MockRouter, admin_client: SaasLiteLLMAdminClient
) -> None:
    respx_mock.patch("http://api.test/api/teams/acme-corp").respond(
        200, json={**TEAM, "team_alias": None, "metadata": {"tier": "gold"}}
    )

    team = await admin_client.update_team("acme-corp", team_alias=None, metadata={"tier": "gold"})

    assert isinstance(team, Team)
    assert team.team_alias is None
    assert team.metadata == {"tier": "gold"}


REFUSED_UPDATES: list[tuple[str, str, dict[str, Any]]] = [
    # fields the server never lets be null (or empty): refused before anything is sent
    ("update_team", "acme-corp", {"access_groups": None}),
    ("update_team", "acme-corp", {"metadata": None}),
    ("update_organization", "acme", {"name": None}),
    ("update_organization", "acme", {"name": ""}),
    ("update_model_alias", "M", {"deployments": None}),
    ("update_model_alias", "M", {"deployments": []}),
    ("update_model_alias", "M", {"deployments": [{"provider": "nope", "model": "m"}]}),
]


@pytest.mark.respx(assert_all_called=False)
@pytest.mark.parametrize(("method", "target", "kwargs"), REFUSED_UPDATES)
async def test_an_update_the_server_would_refuse_fails_before_sending(
    respx_mock: respx.MockRouter,
    admin_client: SaasLiteLLMAdminClient,
    method: str,
    target: str,
    kwargs: dict[str, Any],
) -> None:
    route = respx_mock.route()

    with pytest.raises(ValidationError):
        await getattr(admin_client, method)(target, **kwargs)

    assert not route.called


DELETES = [
    # (method, args, raw path, response)
    ("delete_team", ("acme-corp",), "/api/teams/acme-corp", {"object": "team", "id": "acme-corp"}),
    (
        "delete_organization",
        ("acme",),
        "/api/organizations/acme",
        {"object": "organization", "id": "acme"},
    ),
    (
        "delete_model_access_group",
        ("gpt-models",),
        "/api/model-access-groups/gpt-models",
        {"object": "model_access_group", "id": "gpt-models"},
    ),
    (
        "delete_model_alias",
        ("openai/gpt-4o",),
        "/api/model-aliases/openai%2Fgpt-4o",
        {"object": "model_alias", "id": "openai/gpt-4o", "deleted": True},
    ),
]


@pytest.mark.parametrize(
    ("method", "args", "path", "response"), DELETES, ids=[d[0] for d in DELETES]
)
async def test_deletes_send_no_body_and_no_idempotency_key(
    respx_mock: respx.MockRouter,
    admin_client: SaasLiteLLMAdminClient,
    method: str,
    args: tuple[str, ...],
    path: str,
    response: dict[str, Any],
) -> None:
    route = respx_mock.delete(host="api.test").respond(200, json=response)

    deleted = await getattr(admin_client, method)(*args)

    request = route.calls.last.request
    assert request.url.raw_path.decode() == path
    assert request.content == b""
    assert "Idempotency-Key" not in request.headers
    assert isinstance(deleted, Deleted)
    assert (deleted.object, deleted.id, deleted.deleted) == (
        response["object"],
        response["id"],
        True,
    )


async def test_a_removal_still_in_use_raises_conflict_error_at_once(
    respx_mock: respx.MockRouter, admin_client: SaasLiteLLMAdminClient, sleeps: list[float]
) -> None:
    message = "organization 'acme' is in use by team(s) acme-corp; change or remove them first"
    route = respx_mock.delete("http://api.test/api/organizations/acme").respond(
        409, json={"error": {"type": "conflict", "message": message}}
    )

    with pytest.raises(ConflictError, match="in use by team") as info:
        await admin_client.delete_organization("acme")

    assert info.value.status_code == 409
    assert route.call_count == 1 and sleeps == []  # an answer, not a glitch: not retried


Change = Callable[[SaasLiteLLMAdminClient], Awaitable[object]]
CHANGES: list[tuple[str, str, str, dict[str, Any], Change]] = [
    (
        "update_team",
        "PATCH",
        "/api/teams/acme-corp",
        TEAM,
        lambda a: a.update_team("acme-corp", team_alias="X"),
    ),
    (
        "delete_team",
        "DELETE",
        "/api/teams/acme-corp",
        {"object": "team", "id": "acme-corp"},
        lambda a: a.delete_team("acme-corp"),
    ),
    (
        "revoke_key",
        "DELETE",
        "/api/teams/acme-corp/keys/key_000000000000000000000001",
        {"key_id": "key_000000000000000000000001", "prefix": "sk-abc", "created_at": CREATED_AT},
        lambda a: a.revoke_key("acme-corp", "key_000000000000000000000001"),
    ),
]


@pytest.mark.parametrize("failure", ["read timeout", "503"])
@pytest.mark.parametrize(
    ("name", "method", "path", "response", "call"), CHANGES, ids=[c[0] for c in CHANGES]
)
async def test_patch_and_delete_are_retried_even_when_they_may_have_been_applied(
    respx_mock: respx.MockRouter,
    admin_client: SaasLiteLLMAdminClient,
    sleeps: list[float],
    failure: str,
    name: str,
    method: str,
    path: str,
    response: dict[str, Any],
    call: Change,
) -> None:
    # A read timeout means the request may have been applied: a retry repeats the same change,
    # which leaves what the first one did.
    first_attempt = (
        httpx.ReadTimeout("read") if failure == "read timeout" else httpx.Response(503, json={})
    )
    route = respx_mock.route(method=method, url=f"http://api.test{path}").mock(
        side_effect=[first_attempt, httpx.Response(200, json=response)]
    )

    await call(admin_client)

    assert route.call_count == 2 and len(sleeps) == 1
    first, second = (c.request for c in route.calls)
    assert first.content == second.content
    assert "Idempotency-Key" not in first.headers and "Idempotency-Key" not in second.headers


# -- a team's virtual keys ---------------------------------------------------------------------

KEY_ID = "key_0123456789abcdef01234567"
KEY_CREATED = {
    "key_id": KEY_ID,
    "team_id": "acme-corp",
    "virtual_key": "sk-the-new-key",
    "name": "ci",
    "prefix": "sk-the-new",
    "expires_at": "2026-06-01T00:00:00Z",
    "created_at": CREATED_AT,
}


async def test_create_key_without_arguments_posts_an_empty_object(
    respx_mock: respx.MockRouter, admin_client: SaasLiteLLMAdminClient
) -> None:
    route = respx_mock.post("http://api.test/api/teams/acme-corp/keys").respond(
        201, json={**KEY_CREATED, "name": None, "expires_at": None}
    )

    key = await admin_client.create_key("acme-corp")

    assert isinstance(key, KeyCreated)
    assert (key.key_id, key.virtual_key, key.name, key.expires_at) == (
        KEY_ID,
        "sk-the-new-key",
        None,
        None,
    )
    assert sent_json(route) == {}
    assert route.calls.last.request.headers["Idempotency-Key"].startswith("saas-litellm-")


async def test_create_key_sends_its_name_expiry_and_the_callers_idempotency_key(
    respx_mock: respx.MockRouter, admin_client: SaasLiteLLMAdminClient
) -> None:
    route = respx_mock.post("http://api.test/api/teams/acme-corp/keys").respond(
        201, json=KEY_CREATED
    )
    expires = dt.datetime(2026, 6, 1, tzinfo=dt.timezone.utc)

    key = await admin_client.create_key(
        "acme-corp", name="ci", expires_at=expires, idempotency_key="ci-key-1"
    )

    assert key.expires_at == expires and key.prefix == "sk-the-new"
    assert sent_json(route) == {"name": "ci", "expires_at": "2026-06-01T00:00:00Z"}
    assert route.calls.last.request.headers["Idempotency-Key"] == "ci-key-1"


async def test_list_keys_parses_every_key_never_a_secret(
    respx_mock: respx.MockRouter, admin_client: SaasLiteLLMAdminClient
) -> None:
    listed = {
        "keys": [
            {
                "key_id": KEY_ID,
                "name": "ci",
                "prefix": "sk-the-new",
                "created_at": CREATED_AT,
                "expires_at": None,
                "last_used_at": "2025-01-02T03:04:00Z",
                "revoked_at": None,
            },
            {
                "key_id": "key_000000000000000000000001",
                "name": "default",
                "prefix": "sk-old-one",
                "created_at": CREATED_AT,
                "revoked_at": "2025-01-01T01:00:00Z",
            },
        ]
    }
    route = respx_mock.get("http://api.test/api/teams/acme-corp/keys").respond(200, json=listed)

    keys = await admin_client.list_keys("acme-corp")

    assert isinstance(keys, KeyList)
    assert [(k.name, k.revoked_at is None) for k in keys.keys] == [
        ("ci", True),
        ("default", False),
    ]
    assert keys.keys[0].last_used_at == dt.datetime(2025, 1, 2, 3, 4, tzinfo=dt.timezone.utc)
    assert route.calls.last.request.content == b""


async def test_revoke_key_returns_the_key_with_its_revocation_time(
    respx_mock: respx.MockRouter, admin_client: SaasLiteLLMAdminClient
) -> None:
    route = respx_mock.delete(f"http://api.test/api/teams/acme-corp/keys/{KEY_ID}").respond(
        200,
        json={
            "key_id": KEY_ID,
            "name": "ci",
            "prefix": "sk-the-new",
            "created_at": CREATED_AT,
            "revoked_at": "2025-01-03T00:00:00Z",
        },
    )

    revoked = await admin_client.revoke_key("acme-corp", KEY_ID)

    assert isinstance(revoked, VirtualKeyInfo)
    assert revoked.revoked_at == dt.datetime(2025, 1, 3, tzinfo=dt.timezone.utc)
    assert "Idempotency-Key" not in route.calls.last.request.headers


async def test_revoking_an_unknown_key_raises_not_found(
    respx_mock: respx.MockRouter, admin_client: SaasLiteLLMAdminClient
) -> None:
    respx_mock.delete(f"http://api.test/api/teams/acme-corp/keys/{KEY_ID}").respond(
        404, json={"error": {"type": "not_found", "message": f"key {KEY_ID!r} not found"}}
    )

    with pytest.raises(NotFoundError, match=KEY_ID):
        await admin_client.revoke_key("acme-corp", KEY_ID)


async def test_rotate_key_with_a_grace_period(
    respx_mock: respx.MockRouter, admin_client: SaasLiteLLMAdminClient
) -> None:
    route = respx_mock.post("http://api.test/api/teams/acme-corp/rotate-key").respond(
        200,
        json={
            "team_id": "acme-corp",
            "virtual_key": "sk-rotated",
            "key_id": KEY_ID,
            "prefix": "sk-rotated",
            "previous_keys_expire_at": "2025-01-01T01:00:00Z",
        },
    )

    rotation = await admin_client.rotate_key(
        "acme-corp", grace_seconds=3600, idempotency_key="rotate-1"
    )

    assert sent_json(route) == {"grace_seconds": 3600}
    assert route.calls.last.request.headers["Idempotency-Key"] == "rotate-1"
    assert (rotation.key_id, rotation.prefix) == (KEY_ID, "sk-rotated")
    assert rotation.previous_keys_expire_at == dt.datetime(2025, 1, 1, 1, tzinfo=dt.timezone.utc)


@pytest.mark.respx(assert_all_called=False)
@pytest.mark.parametrize("grace_seconds", [-1, 30 * 24 * 3600 + 1])
async def test_rotate_key_refuses_a_grace_period_out_of_range_before_sending(
    respx_mock: respx.MockRouter, admin_client: SaasLiteLLMAdminClient, grace_seconds: int
) -> None:
    route = respx_mock.route()

    with pytest.raises(ValidationError, match="grace_seconds"):
        await admin_client.rotate_key("acme-corp", grace_seconds=grace_seconds)

    assert not route.called


# -- the audit log -----------------------------------------------------------------------------

EVENT = {
    "event_id": "evt_1",
    "at": "2025-01-01T00:00:00.123456Z",
    "actor": "admin-key",
    "action": "team.update",
    "target": "team:acme-corp",
    "before": {"team_alias": "ACME"},
    "after": {"team_alias": None},
}


async def test_list_audit_log_sends_its_filters_and_parses_the_changes(
    respx_mock: respx.MockRouter, admin_client: SaasLiteLLMAdminClient
) -> None:
    route = respx_mock.get("http://api.test/api/audit-log").respond(
        200, json={"events": [EVENT], "next_cursor": "c1"}
    )
    since = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)

    log = await admin_client.list_audit_log(
        action="team.update", target="team:acme-corp", since=since, limit=1
    )

    assert log.next_cursor == "c1"
    [event] = log.items
    assert isinstance(event, AuditEvent)
    assert (event.action, event.before, event.after) == (
        "team.update",
        {"team_alias": "ACME"},
        {"team_alias": None},
    )
    params = route.calls.last.request.url.params
    assert dict(params) == {
        "action": "team.update",
        "target": "team:acme-corp",
        "since": since.isoformat(),
        "limit": "1",
    }


async def test_a_made_up_audit_cursor_is_a_bad_request(
    respx_mock: respx.MockRouter, admin_client: SaasLiteLLMAdminClient
) -> None:
    respx_mock.get("http://api.test/api/audit-log").respond(
        400,
        json={
            "error": {
                "type": "invalid_request_error",
                "message": "cursor is not one this API returned",
                "param": "cursor",
            }
        },
    )

    with pytest.raises(saas_litellm_client.BadRequestError) as info:
        await admin_client.list_audit_log(cursor="forged")

    assert info.value.param == "cursor"


# -- what the admin client returns can be imported from the SDK -------------------------------


def _returned_models() -> set[type]:
    found: set[type] = set()
    for name, member in inspect.getmembers(SaasLiteLLMAdminClient):
        if name.startswith("_") or not callable(member) or name in ("close", "with_options"):
            continue
        returned = typing.get_type_hints(member)["return"]
        if typing.get_origin(returned) is saas_litellm_client.AsyncPaginator:
            (returned,) = typing.get_args(returned)
        found.add(returned)
    return found


def test_every_model_an_admin_method_returns_is_exported_by_the_sdk() -> None:
    returned = _returned_models()

    assert {Deleted, KeyCreated, KeyList, VirtualKeyInfo, AuditEvent} <= returned
    missing = {
        model.__name__
        for model in returned
        if getattr(saas_litellm_client, model.__name__, None) is not model
        or model.__name__ not in saas_litellm_client.__all__
    }
    assert missing == set()


# -- billing -----------------------------------------------------------------------------------

REFILL = {"amount": 100, "period": "monthly", "mode": "top_up", "last_refill_period": None}


async def test_create_team_sends_its_budget(
    respx_mock: respx.MockRouter, admin_client: SaasLiteLLMAdminClient
) -> None:
    created = {**TEAM, "virtual_key": "sk-new", "key_id": "key_" + "0" * 24}
    route = respx_mock.post("http://api.test/api/teams/create").respond(201, json=created)

    await admin_client.create_team(
        "acme",
        "acme-corp",
        budget_mode="consumption_usd",
        credits_per_dollar=100.0,
        markup_percent=20.0,
        low_balance_threshold=50,
    )

    sent = sent_json(route)
    assert (sent["budget_mode"], sent["credits_per_dollar"], sent["markup_percent"]) == (
        "consumption_usd",
        100.0,
        20.0,
    )
    assert sent["low_balance_threshold"] == 50


@pytest.mark.respx(assert_all_called=False)
async def test_a_consumption_mode_without_its_rate_is_refused_before_sending(
    respx_mock: respx.MockRouter, admin_client: SaasLiteLLMAdminClient
) -> None:
    route = respx_mock.route()
    with pytest.raises(ValidationError, match="tokens_per_credit"):
        await admin_client.create_team("acme", "acme-corp", budget_mode="consumption_tokens")
    assert not route.called


async def test_update_team_sends_only_the_budget_fields_given(
    respx_mock: respx.MockRouter, admin_client: SaasLiteLLMAdminClient
) -> None:
    route = respx_mock.patch("http://api.test/api/teams/acme-corp").respond(200, json=TEAM)

    await admin_client.update_team(
        "acme-corp",
        budget_mode="consumption_tokens",
        tokens_per_credit=1000,
        low_balance_threshold=None,
    )

    assert sent_json(route) == {
        "budget_mode": "consumption_tokens",
        "tokens_per_credit": 1000,
        "low_balance_threshold": None,
    }


async def test_set_and_delete_auto_refill(
    respx_mock: respx.MockRouter, admin_client: SaasLiteLLMAdminClient
) -> None:
    put = respx_mock.put("http://api.test/api/teams/acme-corp/auto-refill").respond(
        200, json={**TEAM, "auto_refill": REFILL}
    )
    delete = respx_mock.delete("http://api.test/api/teams/acme-corp/auto-refill").respond(
        200, json=TEAM
    )

    team = await admin_client.set_auto_refill("acme-corp", 100, "monthly", mode="top_up")
    assert team.auto_refill is not None and team.auto_refill.mode == "top_up"
    assert sent_json(put) == {"amount": 100, "period": "monthly", "mode": "top_up"}
    assert "Idempotency-Key" not in put.calls.last.request.headers  # a PUT is idempotent
    assert (await admin_client.delete_auto_refill("acme-corp")).auto_refill is None
    assert delete.called


@pytest.mark.respx(assert_all_called=False)
@pytest.mark.parametrize(
    ("amount", "period"), [(0, "daily"), (-1, "weekly"), (5, "hourly"), (True, "daily")]
)
async def test_a_bad_auto_refill_is_refused_before_sending(
    respx_mock: respx.MockRouter, admin_client: SaasLiteLLMAdminClient, amount: Any, period: Any
) -> None:
    route = respx_mock.route()
    with pytest.raises(ValidationError):
        await admin_client.set_auto_refill("acme-corp", amount, period)
    assert not route.called


async def test_list_transactions_walks_the_ledger(
    respx_mock: respx.MockRouter, admin_client: SaasLiteLLMAdminClient
) -> None:
    def tx(n: int, credits: int) -> dict[str, Any]:
        return {
            "transaction_id": f"ctx_{n}",
            "at": CREATED_AT,
            "kind": "charge" if credits < 0 else "grant",
            "credits": credits,
            "credits_remaining_after": 10,
        }

    route = respx_mock.get("http://api.test/api/teams/acme-corp/transactions")
    route.side_effect = [
        httpx.Response(200, json={"transactions": [tx(2, -1)], "next_cursor": "c1"}),
        httpx.Response(200, json={"transactions": [tx(1, 11)], "next_cursor": None}),
    ]

    seen = [t async for t in admin_client.list_transactions("acme-corp", limit=1)]

    assert [(t.transaction_id, t.credits) for t in seen] == [("ctx_2", -1), ("ctx_1", 11)]
    assert isinstance(seen[0], saas_litellm_client.CreditTransaction)
    assert route.calls[1].request.url.params["cursor"] == "c1"
    assert route.calls[0].request.url.params["limit"] == "1"


# -- webhooks ---------------------------------------------------------------------------------

WEBHOOK = {
    "webhook_id": "wh_0123456789abcdef01234567",
    "url": "https://hooks.example.com/saas",
    "events": ["job.completed", "team.suspended"],
    "organization_id": "acme",
    "status": "active",
    "created_at": CREATED_AT,
}
DELIVERY = {
    "delivery_id": "msg_0123456789abcdef01234567",
    "webhook_id": WEBHOOK["webhook_id"],
    "event_type": "job.completed",
    "event": {"type": "job.completed", "timestamp": CREATED_AT, "data": {"job_id": "j"}},
    "status": "failed",
    "attempts": 3,
    "created_at": CREATED_AT,
    "last_status_code": 500,
}


async def test_create_webhook_sends_the_body_with_an_idempotency_key_and_returns_the_secret(
    respx_mock: respx.MockRouter, admin_client: SaasLiteLLMAdminClient
) -> None:
    route = respx_mock.post("http://api.test/api/webhooks").respond(
        201, json={**WEBHOOK, "secret": "whsec_c2VjcmV0"}
    )

    created = await admin_client.create_webhook(
        "https://hooks.example.com/saas",
        ["job.completed", "team.suspended"],
        organization_id="acme",
        idempotency_key="hook-1",
    )

    assert isinstance(created, WebhookCreated)
    assert created.secret == "whsec_c2VjcmV0" and created.webhook_id == WEBHOOK["webhook_id"]
    request = route.calls.last.request
    assert sent_json(route) == {
        "url": "https://hooks.example.com/saas",
        "events": ["job.completed", "team.suspended"],
        "organization_id": "acme",
    }
    assert request.headers["Idempotency-Key"] == "hook-1"


@pytest.mark.parametrize(
    ("url", "events"),
    [
        ("ftp://hooks.example.com/", ["job.completed"]),
        ("https://user:pw@hooks.example.com/", ["job.completed"]),
        ("https://hooks.example.com/", []),
        ("https://hooks.example.com/", ["job.nope"]),
    ],
)
async def test_create_webhook_refuses_bad_arguments_before_sending(
    respx_mock: respx.MockRouter, admin_client: SaasLiteLLMAdminClient, url: str, events: Any
) -> None:
    route = respx_mock.route()
    with pytest.raises(ValidationError):
        await admin_client.create_webhook(url, events)
    assert route.call_count == 0


async def test_a_private_webhook_url_refused_by_the_server_is_a_validation_error(
    respx_mock: respx.MockRouter, admin_client: SaasLiteLLMAdminClient
) -> None:
    respx_mock.post("http://api.test/api/webhooks").respond(
        422,
        json={
            "error": {
                "type": "validation_error",
                "message": "127.0.0.1 is a loopback address",
                "param": "url",
                "request_id": "req_1",
            }
        },
    )
    with pytest.raises(saas_litellm_client.UnprocessableEntityError) as info:
        await admin_client.create_webhook("http://127.0.0.1/", ["job.completed"])
    assert info.value.param == "url"


async def test_list_and_iterate_webhooks(
    respx_mock: respx.MockRouter, admin_client: SaasLiteLLMAdminClient
) -> None:
    second = {**WEBHOOK, "webhook_id": "wh_" + "1" * 24}
    route = respx_mock.get("http://api.test/api/webhooks").mock(
        side_effect=[
            httpx.Response(200, json={"webhooks": [WEBHOOK], "next_cursor": "c1"}),
            httpx.Response(200, json={"webhooks": [second], "next_cursor": None}),
            httpx.Response(200, json={"webhooks": [], "next_cursor": None}),
        ]
    )

    found = [hook async for hook in admin_client.list_webhooks(limit=1)]

    assert [h.webhook_id for h in found] == [WEBHOOK["webhook_id"], second["webhook_id"]]
    assert all(isinstance(h, WebhookInfo) and not hasattr(h, "secret") for h in found)
    first, then = (call.request.url for call in route.calls)
    assert (first.params["limit"], "cursor" in first.params) == ("1", False)
    assert then.params["cursor"] == "c1"
    page = await admin_client.list_webhooks(limit=5, cursor="c1")
    assert page.items == []
    assert route.calls.last.request.url.params["cursor"] == "c1"


async def test_delete_webhook(
    respx_mock: respx.MockRouter, admin_client: SaasLiteLLMAdminClient
) -> None:
    route = respx_mock.delete(f"http://api.test/api/webhooks/{WEBHOOK['webhook_id']}").respond(
        200, json={"object": "webhook", "id": WEBHOOK["webhook_id"], "deleted": True}
    )
    deleted = await admin_client.delete_webhook(WEBHOOK["webhook_id"])
    assert isinstance(deleted, Deleted) and deleted.object == "webhook"
    assert "Idempotency-Key" not in route.calls.last.request.headers


async def test_list_iterate_and_retry_deliveries(
    respx_mock: respx.MockRouter, admin_client: SaasLiteLLMAdminClient
) -> None:
    base = f"http://api.test/api/webhooks/{WEBHOOK['webhook_id']}/deliveries"
    listed = respx_mock.get(base).respond(200, json={"deliveries": [DELIVERY], "next_cursor": None})
    retried = respx_mock.post(f"{base}/{DELIVERY['delivery_id']}/retry").respond(
        200, json={**DELIVERY, "status": "pending"}
    )

    page = await admin_client.list_webhook_deliveries(WEBHOOK["webhook_id"], status="failed")
    assert listed.calls.last.request.url.params["status"] == "failed"
    (delivery,) = page.items
    assert isinstance(delivery, WebhookDelivery) and delivery.event.data == {"job_id": "j"}
    every = [d async for d in admin_client.list_webhook_deliveries(WEBHOOK["webhook_id"])]
    assert [d.delivery_id for d in every] == [DELIVERY["delivery_id"]]

    again = await admin_client.retry_webhook_delivery(
        WEBHOOK["webhook_id"], DELIVERY["delivery_id"]
    )
    assert again.status == "pending" and again.delivery_id == DELIVERY["delivery_id"]
    assert retried.calls.last.request.headers["Idempotency-Key"]


async def test_a_retry_on_a_disabled_endpoint_is_a_conflict(
    respx_mock: respx.MockRouter, admin_client: SaasLiteLLMAdminClient
) -> None:
    respx_mock.post(host="api.test").respond(
        409,
        json={"error": {"type": "conflict", "message": "webhook is disabled", "request_id": "r"}},
    )
    with pytest.raises(ConflictError):
        await admin_client.retry_webhook_delivery(WEBHOOK["webhook_id"], DELIVERY["delivery_id"])
