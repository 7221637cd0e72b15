"""``_core``: what the request layer sends for a row of the endpoint table, and what it refuses
when a method does not match its row. (The table itself: ``tests/models/test_endpoints.py``.)"""

from __future__ import annotations

import pytest
import respx
from pydantic import ValidationError

from saas_litellm_client import NOT_GIVEN, SaasLiteLLMClient
from saas_litellm_client._core import CallOptions, request_body, split_options, url_path
from saas_litellm_models import CreditsAddRequest, JobCompleteRequest
from saas_litellm_models.endpoints import (
    ADD_CREDITS,
    GET_BALANCE,
    LIST_TEAM_JOBS,
    LLM_CALL,
    UPDATE_TEAM,
)


def test_path_parameters_are_filled_in_as_one_quoted_segment_each() -> None:
    assert LLM_CALL.path_params == ("job_id",)
    assert url_path(LLM_CALL, {"job_id": "a/b?c"}) == "/api/jobs/a%2Fb%3Fc/llm-call"


@pytest.mark.parametrize("bad", ["", ".", ".."])
def test_an_empty_or_dot_id_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="job_id"):
        url_path(LLM_CALL, {"job_id": bad})


def test_query_leaves_out_none_values() -> None:
    path = url_path(LIST_TEAM_JOBS, {"team_id": "t"}, {"status": None, "limit": 5, "cursor": None})

    assert path == "/api/teams/t/jobs?limit=5"


def test_parameters_the_endpoint_does_not_declare_are_refused() -> None:
    with pytest.raises(TypeError, match="path parameters"):
        url_path(GET_BALANCE, {"team_id": "t"})
    with pytest.raises(TypeError, match="path parameters"):
        url_path(LLM_CALL, {})
    with pytest.raises(TypeError, match="no query parameter"):
        url_path(LIST_TEAM_JOBS, {"team_id": "t"}, {"page": 2})


def test_a_body_is_validated_by_its_model_before_anything_is_sent() -> None:
    assert request_body(ADD_CREDITS, {"credits": 5, "reason": None}) == CreditsAddRequest(credits=5)
    with pytest.raises(ValidationError):
        request_body(ADD_CREDITS, {"credits": "five"})


def test_a_partial_body_holds_only_the_fields_given() -> None:
    body = request_body(UPDATE_TEAM, {"team_alias": None, "default_model": NOT_GIVEN})

    assert body is not None
    assert body.model_dump(exclude_unset=True) == {"team_alias": None}


def test_options_are_split_from_a_calls_fields_and_checked() -> None:
    fields, options = split_options({"messages": [], "timeout": 3.0, "idempotency_key": "k-1"})

    assert fields == {"messages": []}
    assert options == CallOptions(timeout=3.0, idempotency_key="k-1")
    with pytest.raises(ValueError, match="max_retries"):
        CallOptions.of({"max_retries": -1})
    with pytest.raises(TypeError, match="unexpected keyword"):
        CallOptions.of({"retries": 3})


@pytest.mark.respx(assert_all_called=False)
async def test_a_call_out_of_step_with_its_declaration_is_refused_before_sending(
    team_client: SaasLiteLLMClient, respx_mock: respx.MockRouter
) -> None:
    with pytest.raises(TypeError, match="body"):  # a body the endpoint does not take
        await team_client._request(GET_BALANCE, body=CreditsAddRequest(credits=1))
    with pytest.raises(TypeError, match="body"):  # the wrong body
        await team_client._request(
            ADD_CREDITS, path={"team_id": "t"}, body=JobCompleteRequest(status="failed")
        )
    with pytest.raises(TypeError, match="Idempotency-Key"):  # a key the server would ignore
        await team_client._request(GET_BALANCE, options={"idempotency_key": "k"})
    with pytest.raises(TypeError, match="not a stream"):
        await team_client._request_stream(GET_BALANCE)
    assert not respx_mock.calls
