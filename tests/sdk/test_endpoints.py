"""``_endpoints``: the declarations the request layer sends from, and what it refuses when a
method does not match its declaration. (The table against the server:
``tests/test_contract.py``.)"""

from __future__ import annotations

import pytest
import respx

from saas_litellm_client import SaasLiteLLMClient
from saas_litellm_client._core import RequestOptions
from saas_litellm_client._endpoints import (
    ADD_CREDITS,
    CREATE_AND_CALL_STREAM,
    ENDPOINTS,
    GET_BALANCE,
    LIST_TEAM_JOBS,
    LLM_CALL,
    LLM_CALL_STREAM,
)
from saas_litellm_models import CreditsAddRequest, JobCompleteRequest


def test_path_parameters_are_filled_in_as_one_quoted_segment_each() -> None:
    assert LLM_CALL.path_params == ("job_id",)
    assert LLM_CALL.url_path({"job_id": "a/b?c"}) == "/api/jobs/a%2Fb%3Fc/llm-call"


@pytest.mark.parametrize("bad", ["", ".", ".."])
def test_an_empty_or_dot_id_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="job_id"):
        LLM_CALL.url_path({"job_id": bad})


def test_query_leaves_out_none_values() -> None:
    path = LIST_TEAM_JOBS.url_path({"team_id": "t"}, {"status": None, "limit": 5, "cursor": None})

    assert path == "/api/teams/t/jobs?limit=5"


def test_parameters_the_endpoint_does_not_declare_are_refused() -> None:
    with pytest.raises(TypeError, match="path parameters"):
        GET_BALANCE.url_path({"team_id": "t"})
    with pytest.raises(TypeError, match="path parameters"):
        LLM_CALL.url_path({})
    with pytest.raises(TypeError, match="no query parameter"):
        LIST_TEAM_JOBS.url_path({"team_id": "t"}, {"page": 2})


def test_the_table_has_each_operation_once() -> None:
    operations = [(e.method, e.path) for e in ENDPOINTS]

    assert len(operations) == len(set(operations))
    # the server de-duplicates only POSTs; only POSTs, PUTs and PATCHes take a body
    assert all(e.method == "POST" for e in ENDPOINTS if e.idempotent)
    assert all(e.method in ("POST", "PUT", "PATCH") for e in ENDPOINTS if e.request is not None)
    assert all(e.request is not None for e in ENDPOINTS if e.method in ("PUT", "PATCH"))
    assert [e for e in ENDPOINTS if e.stream] == [LLM_CALL_STREAM, CREATE_AND_CALL_STREAM]


@pytest.mark.respx(assert_all_called=False)
async def test_a_call_out_of_step_with_its_declaration_is_refused_before_sending(
    team_client: SaasLiteLLMClient, respx_mock: respx.MockRouter
) -> None:
    with pytest.raises(TypeError, match="body"):  # a body the endpoint does not take
        await team_client._request(GET_BALANCE, body=CreditsAddRequest(credits=1))
    with pytest.raises(TypeError, match="body"):  # the wrong body
        await team_client._request(
            ADD_CREDITS, params={"team_id": "t"}, body=JobCompleteRequest(status="failed")
        )
    with pytest.raises(TypeError, match="Idempotency-Key"):  # a key the server would ignore
        await team_client._request(GET_BALANCE, options=RequestOptions(idempotency_key="k"))
    with pytest.raises(TypeError, match="stream"):
        await team_client._request(LLM_CALL_STREAM, params={"job_id": "j"})
    with pytest.raises(TypeError, match="not a stream"):
        await team_client._request_stream(GET_BALANCE)
