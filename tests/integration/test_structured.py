"""Structured outputs through the SDK against the real server: the guide's ``Person`` on the
zero-config mock, and re-asks against a real upstream process."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import BaseModel
from support import live_server

from saas_litellm_client import (
    SaasLiteLLMAdminClient,
    SaasLiteLLMClient,
    StructuredOutputError,
)
from saas_litellm_server import Settings, create_app


class Person(BaseModel):
    name: str
    age: int
    email: str


async def make_client(url: str, aliases: dict[str, str]) -> tuple[SaasLiteLLMClient, str]:
    async with SaasLiteLLMAdminClient(base_url=url) as admin:
        await admin.create_organization("org_acme", "ACME")
        await admin.create_model_access_group("gpt-models")
        for alias, model in aliases.items():
            await admin.create_model_alias(
                alias,
                access_groups=["gpt-models"],
                deployments=[{"provider": "openai", "model": model}],
            )
        team = await admin.create_team(
            "org_acme", "acme-corp", access_groups=["gpt-models"], credits_allocated=10
        )
    return SaasLiteLLMClient(base_url=url, team_id="acme-corp", virtual_key=team.virtual_key), url


@pytest.fixture
async def client(upstream_settings: Settings) -> AsyncIterator[SaasLiteLLMClient]:
    with live_server(create_app(upstream_settings)) as url:
        c, _ = await make_client(url, {"Reask": "reask", "NeverValid": "never-valid"})
        async with c:
            yield c


async def test_guide_person_example_on_a_zero_config_server(live_url: str) -> None:
    c, _ = await make_client(live_url, {})
    async with c as client:
        job = await client.create_job("extraction")
        person = await client.structured_call(
            job_id=job.job_id,
            messages=[
                {"role": "user", "content": "Extract person info: Grace Hopper, 85, grace@navy.mil"}
            ],
            response_model=Person,
        )
        assert person == Person(name="Grace Hopper", age=85, email="grace@navy.mil")
        print(f"Name: {person.name}, Age: {person.age}")
        detail = await client.get_job(job.job_id)
        assert len(detail.calls) == 1 and detail.calls[0].status == "success"


async def test_invalid_output_is_reasked_once_then_valid(
    client: SaasLiteLLMClient, upstream: str
) -> None:
    job = await client.create_job("extraction")
    person = await client.structured_call(
        job_id=job.job_id,
        messages=[{"role": "user", "content": "Who wrote the first program?"}],
        response_model=Person,
        model="Reask",
    )
    assert person.name == "Ada Lovelace" and person.age == 36
    requests = httpx.get(f"{upstream}/_stub/requests").json()
    assert len(requests) == 2
    second = requests[1]["body"]
    assert second["response_format"]["json_schema"]["strict"] is True
    reask = second["messages"][-1]
    assert reask["role"] == "user" and "age" in reask["content"]  # carries the validation error
    assert second["messages"][-2]["role"] == "assistant"
    detail = await client.get_job(job.job_id)
    assert [c.status for c in detail.calls] == ["success", "success"]


async def test_giving_up_after_one_plus_max_retries_with_summed_usage(
    client: SaasLiteLLMClient, upstream: str
) -> None:
    job = await client.create_job("extraction")
    with pytest.raises(StructuredOutputError) as info:
        await client.structured_call(
            job_id=job.job_id,
            messages=[{"role": "user", "content": "Who?"}],
            response_model=Person,
            model="NeverValid",
            max_retries=2,
        )
    error = info.value
    assert error.attempts == 3
    assert len(httpx.get(f"{upstream}/_stub/requests").json()) == 3
    detail = await client.get_job(job.job_id)
    assert len(detail.calls) == 3
    assert error.usage.total_tokens == sum(c.total_tokens for c in detail.calls)
    assert "thirty-six" in error.last_output
    assert error.validation_errors


async def test_stream_structured_yields_partials_then_the_model(live_url: str) -> None:
    c, _ = await make_client(live_url, {})
    async with c as client:
        job = await client.create_job("extraction")
        items = []
        async with client.stream_structured(
            job_id=job.job_id,
            messages=[{"role": "user", "content": "Alan Turing, 41, alan@bletchley.uk"}],
            response_model=Person,
        ) as stream:
            async for item in stream:
                items.append(item)
        final = items[-1]
        assert isinstance(final, Person)
        assert final == Person(name="Alan Turing", age=41, email="alan@bletchley.uk")
        partials = [i for i in items[:-1] if not isinstance(i, Person)]
        assert partials and any(getattr(p, "email", None) is None for p in partials)
        detail = await client.get_job(job.job_id)
        assert detail.calls[0].streamed
