"""The team client: configuration, and the exact requests each method sends."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx
from pydantic import ValidationError
from sdk_payloads import COMPLETION, COSTS, JOB, LLM_RESPONSE, sent_json

from saas_litellm_client import (
    ChatMessage,
    ConflictError,
    CreditBalance,
    InsufficientCreditsError,
    Job,
    JobCompletion,
    JobDetail,
    LLMCallResponse,
    SaasLiteLLMClient,
    SaasLiteLLMError,
    TeamUsage,
)

BALANCE = {
    "team_id": "acme-corp",
    "credits_allocated": 100,
    "credits_used": 59,
    "credits_reserved": 2,
    "credits_remaining": 41,
    "credits_available": 39,
}


# -- the integration guide ---------------------------------------------------------------------


async def test_guide_snippet_works_as_written(respx_mock: respx.MockRouter) -> None:
    create = respx_mock.post("http://localhost:8003/api/jobs/create").respond(201, json=JOB)
    call = respx_mock.post("http://localhost:8003/api/jobs/job_123/llm-call").respond(
        200, json=LLM_RESPONSE
    )
    complete = respx_mock.post("http://localhost:8003/api/jobs/job_123/complete").respond(
        200, json=COMPLETION
    )

    # Verbatim from the integration guide.
    async with SaasLiteLLMClient(
        base_url="http://localhost:8003", team_id="acme-corp", virtual_key="sk-your-key"
    ) as client:
        job = await client.create_job("document_analysis")
        response = await client.llm_call(
            job_id=job.job_id, messages=[{"role": "user", "content": "Analyze..."}]
        )
        result = await client.complete_job(job.job_id, "completed")

    assert result.credits_remaining == 41
    assert isinstance(result, JobCompletion)
    assert response.content == "Hello!"
    assert sent_json(create) == {"team_id": "acme-corp", "job_type": "document_analysis"}
    assert sent_json(call) == {"messages": [{"role": "user", "content": "Analyze..."}]}
    assert sent_json(complete) == {"status": "completed"}
    assert create.calls.last.request.headers["Authorization"] == "Bearer sk-your-key"


# -- configuration -----------------------------------------------------------------------------


async def test_settings_come_from_the_environment(
    respx_mock: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAAS_LITELLM_BASE_URL", "https://llm.example.com/api/")
    monkeypatch.setenv("SAAS_LITELLM_TEAM_ID", "env-team")
    monkeypatch.setenv("SAAS_LITELLM_VIRTUAL_KEY", "sk-from-env")
    route = respx_mock.post("https://llm.example.com/api/jobs/create").respond(201, json=JOB)

    async with SaasLiteLLMClient() as client:
        await client.create_job("document_analysis")

    assert client.team_id == "env-team"
    assert sent_json(route)["team_id"] == "env-team"
    assert route.calls.last.request.headers["Authorization"] == "Bearer sk-from-env"


async def test_arguments_win_over_the_environment(
    respx_mock: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAAS_LITELLM_BASE_URL", "https://env.example.com")
    monkeypatch.setenv("SAAS_LITELLM_TEAM_ID", "env-team")
    monkeypatch.setenv("SAAS_LITELLM_VIRTUAL_KEY", "sk-from-env")
    route = respx_mock.get("http://api.test/api/credits/balance").respond(200, json=BALANCE)

    async with SaasLiteLLMClient("http://api.test", "arg-team", "sk-from-arg") as client:
        await client.get_balance()

    assert client.team_id == "arg-team"
    assert route.calls.last.request.headers["Authorization"] == "Bearer sk-from-arg"


async def test_base_url_defaults_to_localhost_8003(respx_mock: respx.MockRouter) -> None:
    route = respx_mock.get("http://localhost:8003/api/credits/balance").respond(200, json=BALANCE)

    async with SaasLiteLLMClient(team_id="acme-corp", virtual_key="sk-k") as client:
        await client.get_balance()

    assert route.call_count == 1


@pytest.mark.parametrize(
    ("kwargs", "argument", "env_var"),
    [
        ({"virtual_key": "sk-k"}, "team_id", "SAAS_LITELLM_TEAM_ID"),
        ({"team_id": "acme-corp"}, "virtual_key", "SAAS_LITELLM_VIRTUAL_KEY"),
        ({"team_id": "", "virtual_key": "sk-k"}, "team_id", "SAAS_LITELLM_TEAM_ID"),
    ],
)
def test_missing_team_id_or_key_names_the_argument_and_env_var(
    kwargs: dict[str, Any], argument: str, env_var: str
) -> None:
    with pytest.raises(SaasLiteLLMError) as info:
        SaasLiteLLMClient(**kwargs)

    assert argument in info.value.message
    assert env_var in info.value.message


def test_repr_shows_the_team_but_not_the_key() -> None:
    text = repr(SaasLiteLLMClient("http://api.test", "acme-corp", "sk-very-secret"))

    assert "acme-corp" in text
    assert "sk-very-secret" not in text


# -- jobs --------------------------------------------------------------------------------------


async def test_create_job_sends_metadata_and_user_id(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    route = respx_mock.post("http://api.test/api/jobs/create").respond(
        201, json={**JOB, "metadata": {"doc": 7, "note": None}, "user_id": "u-1"}
    )

    job = await team_client.create_job(
        "document_analysis", metadata={"doc": 7, "note": None}, user_id="u-1"
    )

    assert isinstance(job, Job)
    assert job.user_id == "u-1"
    assert sent_json(route) == {
        "team_id": "acme-corp",
        "job_type": "document_analysis",
        "metadata": {"doc": 7, "note": None},
        "user_id": "u-1",
    }


async def test_create_job_without_credits_raises_insufficient_credits(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    respx_mock.post("http://api.test/api/jobs/create").respond(
        402,
        json={
            "error": {
                "type": "insufficient_credits",
                "message": "Team acme-corp has 0 credits available",
                "request_id": "req_7",
            }
        },
    )

    with pytest.raises(InsufficientCreditsError) as info:
        await team_client.create_job("document_analysis")

    assert info.value.request_id == "req_7"
    assert info.value.status_code == 402


async def test_get_job_quotes_the_job_id(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    route = respx_mock.get(host="api.test").respond(
        200, json={**JOB, "status": "in_progress", "costs": {**COSTS, "credit_applied": False}}
    )

    detail = await team_client.get_job("job/1?x=..")

    assert isinstance(detail, JobDetail)
    assert detail.costs.credit_applied is False
    assert route.calls.last.request.url.raw_path == b"/api/jobs/job%2F1%3Fx%3D.."


@pytest.mark.respx(assert_all_called=False)
@pytest.mark.parametrize("job_id", ["", ".."])
async def test_unusable_job_id_fails_before_sending(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient, job_id: str
) -> None:
    route = respx_mock.route()

    with pytest.raises(ValueError, match="job_id"):
        await team_client.get_job(job_id)

    assert not route.called


async def test_complete_job_as_failed_sends_the_error_message(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    route = respx_mock.post("http://api.test/api/jobs/job_123/complete").respond(
        200,
        json={
            **COMPLETION,
            "status": "failed",
            "costs": {**COSTS, "credit_applied": False, "credits_remaining": 42},
        },
    )

    result = await team_client.complete_job(
        "job_123", "failed", error_message="parser crashed", metadata={"step": 2}
    )

    assert sent_json(route) == {
        "status": "failed",
        "error_message": "parser crashed",
        "metadata": {"step": 2},
    }
    assert result.credit_applied is False
    assert result.credits_remaining == 42


async def test_completing_with_the_other_status_is_a_conflict(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    respx_mock.post("http://api.test/api/jobs/job_123/complete").respond(
        409, json={"error": {"type": "conflict", "message": "job is already completed"}}
    )

    with pytest.raises(ConflictError, match="already completed"):
        await team_client.complete_job("job_123", "failed")


# -- LLM calls ---------------------------------------------------------------------------------


async def test_llm_call_sends_every_given_parameter(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    route = respx_mock.post("http://api.test/api/jobs/job_123/llm-call").respond(
        200, json=LLM_RESPONSE
    )
    tool = {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}

    response = await team_client.llm_call(
        job_id="job_123",
        messages=[
            ChatMessage(role="system", content="Be brief."),
            {"role": "user", "content": "Hi"},
        ],
        model="ChatAgent",
        temperature=0.0,
        max_tokens=50,
        top_p=1,
        stop=["\n\n"],
        response_format={"type": "json_object"},
        tools=[tool],
        tool_choice="auto",
        purpose="greeting",
        metadata={"attempt": 1},
    )

    assert isinstance(response, LLMCallResponse)
    assert response.content == "Hello!"
    assert response.usage.total_tokens == 30
    assert sent_json(route) == {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi"},
        ],
        "model": "ChatAgent",
        "temperature": 0.0,  # falsy, but given: it must be sent
        "max_tokens": 50,
        "top_p": 1,
        "stop": ["\n\n"],
        "response_format": {"type": "json_object"},
        "tools": [tool],
        "tool_choice": "auto",
        "purpose": "greeting",
        "metadata": {"attempt": 1},
    }


@pytest.mark.respx(assert_all_called=False)
@pytest.mark.parametrize(
    "kwargs",
    [
        {"messages": []},
        {"messages": [{"role": "robot", "content": "beep"}]},
        {"messages": [{"role": "user", "content": "hi", "colour": "red"}]},
        {"messages": [{"role": "tool", "content": "42"}]},  # no tool_call_id
        {"messages": "hello"},
        {"temperature": 5},
        {"max_tokens": 0},
        {"stop": []},
        {"model": "not a model name"},
        {"response_format": {"type": "json_schema"}},  # schema missing
    ],
)
async def test_llm_call_with_invalid_arguments_fails_before_sending(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient, kwargs: dict[str, Any]
) -> None:
    route = respx_mock.route()
    arguments: dict[str, Any] = {"messages": [{"role": "user", "content": "hi"}], **kwargs}

    with pytest.raises(ValidationError) as info:
        await team_client.llm_call(job_id="job_123", **arguments)

    assert isinstance(info.value, ValueError)  # what the docstring promises
    assert not route.called


@pytest.mark.respx(assert_all_called=False)
async def test_create_job_with_invalid_job_type_fails_before_sending(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    route = respx_mock.route()

    with pytest.raises(ValidationError, match="job_type"):
        await team_client.create_job("document analysis!")

    assert not route.called


# -- credits and usage -------------------------------------------------------------------------


async def test_get_balance(respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient) -> None:
    respx_mock.get("http://api.test/api/credits/balance").respond(200, json=BALANCE)

    balance = await team_client.get_balance()

    assert isinstance(balance, CreditBalance)
    assert (balance.credits_remaining, balance.credits_available) == (41, 39)


async def test_get_usage_asks_for_the_clients_team(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    row = {
        "job_type": "document_analysis",
        "jobs": 3,
        "completed": 2,
        "failed": 1,
        "calls": 5,
        "tokens": 150,
        "cost_usd": 0.01,
        "credits": 2,
    }
    respx_mock.get("http://api.test/api/teams/acme-corp/usage").respond(
        200, json={"team_id": "acme-corp", "by_job_type": [row]}
    )

    usage = await team_client.get_usage()

    assert isinstance(usage, TeamUsage)
    assert usage.by_job_type[0].credits == 2


async def test_no_httpx_error_escapes_a_public_method(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    respx_mock.post("http://api.test/api/jobs/create").mock(side_effect=httpx.ConnectError("x"))

    with pytest.raises(SaasLiteLLMError) as info:
        await team_client.create_job("document_analysis")

    assert not isinstance(info.value, httpx.HTTPError)


# -- billing -----------------------------------------------------------------------------------


async def test_create_job_sends_its_limits(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    route = respx_mock.post("http://api.test/api/jobs/create").respond(
        201, json={**JOB, "limits": {"max_tokens": 500, "max_cost_usd": None, "max_credits": 3}}
    )

    job = await team_client.create_job("doc", limits={"max_tokens": 500, "max_credits": 3})

    assert job.limits is not None and job.limits.max_credits == 3
    assert sent_json(route)["limits"] == {"max_tokens": 500, "max_credits": 3}


async def test_a_call_past_the_jobs_limits_raises_job_budget_exceeded(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    from saas_litellm_client import JobBudgetExceededError

    route = respx_mock.post("http://api.test/api/jobs/job_123/llm-call").respond(
        402,
        json={
            "error": {
                "type": "job_budget_exceeded",
                "message": "job 'job_123' has max_tokens=50",
                "request_id": "req_8",
                "param": "limits.max_tokens",
            }
        },
    )

    with pytest.raises(JobBudgetExceededError) as info:
        await team_client.llm_call(job_id="job_123", messages=[{"role": "user", "content": "x"}])

    assert isinstance(info.value, InsufficientCreditsError)  # still a 402
    assert (info.value.param, info.value.error_type) == ("limits.max_tokens", "job_budget_exceeded")
    assert route.call_count == 1  # a 402 is never retried


@pytest.mark.respx(assert_all_called=False)
async def test_bad_limits_fail_before_sending(
    respx_mock: respx.MockRouter, team_client: SaasLiteLLMClient
) -> None:
    route = respx_mock.route()
    with pytest.raises(ValidationError):
        await team_client.create_job("doc", limits={"max_tokens": 0})
    assert not route.called
