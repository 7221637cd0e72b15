"""The admin client: authentication modes and the exact requests each method sends."""

from __future__ import annotations

from typing import Any

import pytest
import respx
from pydantic import ValidationError
from sdk_payloads import sent_json

from saas_litellm_client import (
    AuthenticationError,
    CreditBalance,
    Deployment,
    KeyRotation,
    ModelAccessGroup,
    ModelAlias,
    Organization,
    SaasLiteLLMAdminClient,
    Team,
    TeamCreated,
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


async def test_rotate_key_posts_an_empty_body(
    respx_mock: respx.MockRouter, admin_client: SaasLiteLLMAdminClient
) -> None:
    route = respx_mock.post("http://api.test/api/teams/acme-corp/rotate-key").respond(
        200, json={"team_id": "acme-corp", "virtual_key": "sk-rotated"}
    )

    rotation = await admin_client.rotate_key("acme-corp")

    assert isinstance(rotation, KeyRotation)
    assert rotation.virtual_key == "sk-rotated"
    assert route.calls.last.request.content == b""


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
