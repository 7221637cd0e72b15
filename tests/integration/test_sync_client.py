"""The synchronous clients against the real server over real HTTP (uvicorn on a loopback port),
on SQLite and PostgreSQL: the guide's whole flow, without an event loop in the caller."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import httpx
import pytest
from pydantic import BaseModel
from support import live_server

from saas_litellm_client import (
    InsufficientCreditsError,
    NotFoundError,
    SaasLiteLLMSyncAdminClient,
    SaasLiteLLMSyncClient,
    StreamChunk,
)
from saas_litellm_server import Settings, create_app

MESSAGES = [{"role": "user", "content": "Analyze this document"}]


class Person(BaseModel):
    name: str
    age: int


@pytest.fixture
def base_url(settings: Settings) -> Iterator[str]:
    with live_server(create_app(settings)) as url:
        yield url


def _team(base_url: str, team_id: str = "acme-corp", credits: int = 10) -> SaasLiteLLMSyncClient:
    with SaasLiteLLMSyncAdminClient(base_url=base_url) as admin:
        if not admin.list_organizations().items:
            admin.create_organization("org_acme", "ACME Corporation")
            admin.create_model_access_group("gpt-models", description="GPT models")
        team = admin.create_team(
            "org_acme", team_id, access_groups=["gpt-models"], credits_allocated=credits
        )
    return SaasLiteLLMSyncClient(base_url=base_url, team_id=team_id, virtual_key=team.virtual_key)


def test_the_guide_flow_with_the_sync_client(base_url: str) -> None:
    with _team(base_url) as client:
        before = client.get_balance()

        job = client.create_job("document_analysis", metadata={"doc": "q3.pdf"})
        response = client.llm_call(job_id=job.job_id, messages=MESSAGES)
        with client.stream(job_id=job.job_id, messages=MESSAGES) as stream:
            chunks = list(stream)
        person = client.structured_call(
            job_id=job.job_id,
            messages=[{"role": "user", "content": "Ada, 36"}],
            response_model=Person,
        )
        result = client.complete_job(job.job_id, "completed")

        detail = client.get_job(job.job_id)
        after = client.get_balance()

    assert response.content.startswith('You said: "Analyze this document"')
    assert chunks and all(isinstance(chunk, StreamChunk) for chunk in chunks)
    assert stream.text == "".join(chunk.content for chunk in chunks)
    assert stream.usage is not None and stream.usage.total_tokens > 0
    assert isinstance(person, Person)
    assert result.costs.credit_applied and result.costs.total_calls == 3
    assert [call.streamed for call in detail.calls] == [False, True, False]
    assert all(call.total_tokens > 0 for call in detail.calls)
    assert before.credits_remaining - after.credits_remaining == 1  # one completed job


def test_a_job_block_fails_the_job_and_frees_its_credit_on_an_error(base_url: str) -> None:
    with _team(base_url, credits=1) as client:
        with pytest.raises(RuntimeError, match="parsing failed"), client.job("import") as job:
            job.llm_call(messages=MESSAGES)
            raise RuntimeError("parsing failed")

        detail = client.get_job(job.job_id)
        balance = client.get_balance()

        # the one credit is free again: another job can be opened
        with client.job("import") as again:
            again.llm_call(messages=MESSAGES)

    assert detail.status == "failed" and detail.error_message == "RuntimeError: parsing failed"
    assert balance.credits_available == 1
    assert again.result is not None and again.result.costs.credits_remaining == 0


def test_typed_errors_and_request_ids_come_back_over_http(base_url: str) -> None:
    with _team(base_url, credits=1) as client:
        client.create_job("holds-the-credit")
        with pytest.raises(InsufficientCreditsError) as info:
            client.create_job("one-too-many")
        with pytest.raises(NotFoundError):
            client.get_job("00000000-0000-4000-8000-000000000000")
        raw = client.with_raw_response.get_balance()

    assert info.value.status_code == 402 and info.value.request_id
    assert raw.status_code == 200 and raw.request_id
    assert raw.parse().credits_reserved == 1


def test_threads_sharing_one_sync_client_never_overspend(base_url: str) -> None:
    """Sixteen threads race for five credits through one client (one connection pool)."""
    outcomes: list[str] = []
    lock = threading.Lock()
    with _team(base_url, credits=5) as client:

        def work() -> None:
            try:
                with client.job("race") as job:
                    job.llm_call(messages=MESSAGES)
                outcome = "completed"
            except InsufficientCreditsError:
                outcome = "refused"
            with lock:
                outcomes.append(outcome)

        threads = [threading.Thread(target=work) for _ in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        balance = client.get_balance()

    assert outcomes.count("completed") == 5 and outcomes.count("refused") == 11
    assert (balance.credits_remaining, balance.credits_reserved) == (0, 0)


def test_an_injected_http_client_reaches_the_server(base_url: str) -> None:
    with httpx.Client(timeout=10) as http:
        client = _team(base_url)
        key = client._api_key
        client.close()
        with SaasLiteLLMSyncClient(
            base_url=base_url, team_id="acme-corp", virtual_key=key, http_client=http
        ) as mine:
            balance = mine.get_balance()
        assert not http.is_closed

    assert balance.credits_allocated == 10
