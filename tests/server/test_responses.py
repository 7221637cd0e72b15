"""``POST /v1/responses`` (routes/openai.py, _responses_api_wire.py) in-process with the mock
provider, on both database backends: text and item input, instructions, a strict json_schema, a
function tool round trip, ``max_output_tokens`` → incomplete, the event stream, what is refused
(a 4xx in OpenAI's shape that changes nothing), who may call, X-Job-Id binding, billing in
both budget modes and Idempotency-Key replays."""

from __future__ import annotations

import json
import math
from typing import Any

import httpx
import pytest
from openai.types.responses import Response as SDKResponse
from openai.types.responses import ResponseStreamEvent as SDKStreamEvent
from prometheus_client.parser import text_string_to_metric_families
from pydantic import TypeAdapter
from support import GROUP, TEAM, app_client, bearer, create_alias, create_team, ledger, open_job

from saas_litellm_models import OpenAIErrorResponse, ResponseObject
from saas_litellm_server import Settings

ADMIN_KEY = "adm-responses-secret"
ADMIN = bearer(ADMIN_KEY)
PRICES = {"input_cost_per_million": 1.0, "output_cost_per_million": 2.0}
OTHER = "other-team"
CITY = {
    "type": "object",
    "properties": {"city": {"type": "string"}},
    "required": ["city"],
    "additionalProperties": False,
}
WEATHER = {"type": "function", "name": "get_weather", "parameters": CITY, "strict": True}
PERSON = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name", "age"],
    "additionalProperties": False,
}


@pytest.fixture
def admin_key() -> str:
    return ADMIN_KEY


async def _setup(http: httpx.AsyncClient, credits: int = 5, **budget: Any) -> dict[str, str]:
    """Two teams: ours (alias ``Chat``) and another (``Secret``, in a group we lack)."""
    key = await create_team(http, credits=credits, admin=ADMIN, **budget)
    other = await create_team(http, team_id=OTHER, credits=5, groups=("other",), admin=ADMIN)
    await create_alias(http, "Chat", GROUP, admin=ADMIN, **PRICES)
    await create_alias(http, "Secret", "other", admin=ADMIN, **PRICES)
    return {"key": key, "other": other}


@pytest.fixture
async def keys(http: httpx.AsyncClient) -> dict[str, str]:
    return await _setup(http)


async def _post(
    http: httpx.AsyncClient, key: str | None, body: Any = None, **headers: str
) -> httpx.Response:
    auth = bearer(key) if key else {}
    payload = {"model": "Chat", "input": "Hello there"} if body is None else body
    content = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return await http.post(
        "/v1/responses",
        content=content,
        headers={**auth, "Content-Type": "application/json", **headers},
    )


def _ok(r: httpx.Response) -> ResponseObject:
    assert r.status_code == 200, r.text
    body = ResponseObject.model_validate_json(r.content)
    SDKResponse.model_validate_json(r.content)  # the openai package's own model, validated
    assert body.id.startswith("resp_") and body.object == "response"
    assert "output_text" not in r.json()  # the SDK's property, not a wire field
    return body


def _error(r: httpx.Response, status: int, code: str, param: str | None = None) -> None:
    assert r.status_code == status, r.text
    body = OpenAIErrorResponse.model_validate_json(r.content)
    assert set(r.json()["error"]) == {"message", "type", "param", "code"}
    assert body.error.code == code, r.text
    if param is not None:
        assert (body.error.param or "").split(".")[0] == param, r.text


async def _job(http: httpx.AsyncClient, key: str, job_id: str) -> dict[str, Any]:
    r = await http.get(f"/api/jobs/{job_id}", headers=bearer(key))
    assert r.status_code == 200, r.text
    job: dict[str, Any] = r.json()
    return job


async def _jobs(http: httpx.AsyncClient, key: str) -> list[dict[str, Any]]:
    r = await http.get(f"/api/teams/{TEAM}/jobs", headers=bearer(key))
    assert r.status_code == 200, r.text
    jobs: list[dict[str, Any]] = r.json()["jobs"]
    return jobs


async def _check_ledger(http: httpx.AsyncClient, key: str) -> None:
    """The ledger's credits add up to the balance."""
    balance = (await ledger(http, key))["balance"]
    r = await http.get(f"/api/teams/{TEAM}/transactions?limit=500", headers=bearer(key))
    rows = r.json()["transactions"]
    assert sum(t["credits"] for t in rows) == balance["credits_remaining"]
    assert all(t["credits_remaining_after"] >= 0 for t in rows)


def _text(response: ResponseObject) -> str:
    return "".join(
        part.text for item in response.output if item.type == "message" for part in item.content
    )


# -- what it answers ------------------------------------------------------------------------


async def test_text_input_is_a_completed_response_in_a_settled_job(
    http: httpx.AsyncClient, keys: dict[str, str]
) -> None:
    body = {
        "model": "Chat",
        "input": "Hello there",
        "metadata": {"ticket": "T-1"},
        "user": "u-7",
        "store": True,  # accepted: nothing is stored either way
        "temperature": 0.2,
        "some_future_field": 1,  # unknown fields are ignored, as on /v1/chat/completions
    }
    r = await _post(http, keys["key"], body, **{"X-Job-Type": "support"})
    response = _ok(r)
    assert response.status == "completed" and response.model == "Chat"
    assert response.error is None and response.incomplete_details is None
    (message,) = response.output
    assert message.type == "message" and message.id.startswith("msg_")
    assert message.status == "completed" and message.role == "assistant"
    assert 'You said: "Hello there"' in _text(response)
    raw = r.json()
    assert raw["output"][0]["content"][0]["annotations"] == []
    assert raw["previous_response_id"] is None and raw["metadata"] == {"ticket": "T-1"}
    assert raw["temperature"] == 0.2 and raw["tools"] == [] and raw["tool_choice"] == "auto"
    usage = response.usage
    assert usage is not None and usage.total_tokens == usage.input_tokens + usage.output_tokens
    assert raw["usage"]["input_tokens_details"] == {"cached_tokens": 0, "cache_write_tokens": 0}
    assert raw["usage"]["output_tokens_details"] == {"reasoning_tokens": 0}
    job = await _job(http, keys["key"], r.headers["x-job-id"])
    assert (job["status"], job["job_type"], job["user_id"]) == ("completed", "support", "u-7")
    assert job["metadata"] == {"ticket": "T-1"} and job["costs"]["credit_applied"]
    (call,) = job["calls"]
    assert call["total_tokens"] == usage.total_tokens and call["cost_usd"] > 0
    balance = (await ledger(http, keys["key"]))["balance"]
    assert (balance["credits_remaining"], balance["credits_reserved"]) == (4, 0)
    await _check_ledger(http, keys["key"])


async def test_item_input_and_instructions_become_the_chat_messages(
    http: httpx.AsyncClient, keys: dict[str, str]
) -> None:
    body = {
        "model": "Chat",
        "instructions": "Answer briefly.",
        "input": [
            {"role": "user", "content": "First question"},
            {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "First answer"}],
            },
            {"role": "user", "content": [{"type": "input_text", "text": "Second question"}]},
        ],
    }
    response = _ok(await _post(http, keys["key"], body))
    assert 'You said: "Second question"' in _text(response)
    assert response.instructions == "Answer briefly."
    usage = response.usage
    # the mock counts 3 + (3 + tokens) per message: four messages, the system one included
    assert usage is not None and usage.input_tokens == 3 + 4 * 3 + 4 + 4 + 3 + 4


async def test_a_strict_json_schema_answers_json_that_fits_it(
    http: httpx.AsyncClient, keys: dict[str, str]
) -> None:
    fmt = {"type": "json_schema", "name": "person", "schema": PERSON, "strict": True}
    body = {"model": "Chat", "input": "Ada, 36", "text": {"format": fmt}}
    r = await _post(http, keys["key"], body)
    response = _ok(r)
    person = json.loads(_text(response))
    assert set(person) == {"name", "age"} and isinstance(person["age"], int)
    assert r.json()["text"] == {"format": fmt}  # echoed as sent
    r = await _post(
        http,
        keys["key"],
        {"model": "Chat", "input": "hi", "text": {"format": {"type": "json_object"}}},
    )
    assert json.loads(_text(_ok(r))) == {"answer": "hi"}


async def test_a_function_tool_round_trip(http: httpx.AsyncClient, keys: dict[str, str]) -> None:
    first = {
        "model": "Chat",
        "input": "Weather in Paris?",
        "tools": [WEATHER],
        "tool_choice": {"type": "function", "name": "get_weather"},
    }
    response = _ok(await _post(http, keys["key"], first))
    assert response.status == "completed"
    (call,) = response.output
    assert call.type == "function_call" and call.name == "get_weather"
    assert call.id.startswith("fc_") and call.status == "completed"
    assert set(json.loads(call.arguments)) == {"city"}
    second = {
        "model": "Chat",
        "input": [
            {"role": "user", "content": "Weather in Paris?"},
            {
                "type": "function_call",
                "call_id": call.call_id,
                "name": call.name,
                "arguments": call.arguments,
            },
            {"type": "function_call_output", "call_id": call.call_id, "output": '{"temp": 21}'},
        ],
        "tools": [WEATHER],
    }
    answer = _ok(await _post(http, keys["key"], second))
    (message,) = answer.output  # after the tool's output the mock answers in text
    assert message.type == "message" and "Weather in Paris?" in _text(answer)
    none = {**first, "tool_choice": "none"}
    assert _ok(await _post(http, keys["key"], none)).output[0].type == "message"


async def test_max_output_tokens_cuts_the_answer_incomplete(
    http: httpx.AsyncClient, keys: dict[str, str]
) -> None:
    body = {"model": "Chat", "input": "Tell me a long story please", "max_output_tokens": 3}
    response = _ok(await _post(http, keys["key"], body))
    assert response.status == "incomplete" and response.max_output_tokens == 3
    assert response.incomplete_details is not None
    assert response.incomplete_details.reason == "max_output_tokens"
    assert response.output[0].status == "incomplete" and len(_text(response)) <= 12
    assert response.usage is not None and response.usage.output_tokens == 3


# -- streaming ------------------------------------------------------------------------------


_SDK_EVENT: TypeAdapter[Any] = TypeAdapter(SDKStreamEvent)


def _events(text: str) -> list[dict[str, Any]]:
    """The stream's events, each checked: its ``event:`` line is its data's ``type``."""
    out: list[dict[str, Any]] = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        event = json.loads(lines["data"])
        assert lines["event"] == event["type"]
        _SDK_EVENT.validate_python(event)  # the openai package's own model of it
        out.append(event)
    assert [e["sequence_number"] for e in out] == list(range(len(out)))
    return out


async def test_a_stream_is_the_responses_events_in_order_with_usage(
    http: httpx.AsyncClient, keys: dict[str, str]
) -> None:
    r = await _post(http, keys["key"], {"model": "Chat", "input": "Hello there", "stream": True})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    events = _events(r.text)
    kinds = [e["type"] for e in events]
    deltas = kinds.count("response.output_text.delta")
    assert deltas > 1
    assert kinds == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        *["response.output_text.delta"] * deltas,
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert (
        events[0]["response"]["status"] == "in_progress" and events[0]["response"]["output"] == []
    )
    text = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
    assert 'You said: "Hello there"' in text
    assert events[-4]["text"] == text
    final = ResponseObject.model_validate(events[-1]["response"])
    assert final.status == "completed" and _text(final) == text
    assert len({e["response"]["id"] for e in events if "response" in e}) == 1
    job = await _job(http, keys["key"], r.headers["x-job-id"])
    assert job["status"] == "completed" and job["calls"][0]["streamed"]
    assert final.usage is not None and job["calls"][0]["total_tokens"] == final.usage.total_tokens
    assert (await ledger(http, keys["key"]))["balance"]["credits_remaining"] == 4


async def test_a_streamed_function_call_and_an_incomplete_stream(
    http: httpx.AsyncClient, keys: dict[str, str]
) -> None:
    body = {"model": "Chat", "input": "Weather in Paris?", "tools": [WEATHER], "stream": True}
    job_id = await open_job(http, keys["key"])
    r = await _post(http, keys["key"], body, **{"X-Job-Id": job_id})
    events = _events(r.text)
    assert [e["type"] for e in events] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]
    added, delta, done = events[2], events[3], events[4]
    assert added["item"]["type"] == "function_call" and added["item"]["status"] == "in_progress"
    assert delta["item_id"] == added["item"]["id"] == done["item_id"]
    assert delta["delta"] == done["arguments"] and done["name"] == "get_weather"
    (call,) = events[-1]["response"]["output"]
    assert call["arguments"] == done["arguments"] and call["status"] == "completed"
    assert r.headers["x-job-id"] == job_id
    body = {
        "model": "Chat",
        "input": "Tell me a long story",
        "max_output_tokens": 2,
        "stream": True,
    }
    events = _events((await _post(http, keys["key"], body, **{"X-Job-Id": job_id})).text)
    assert events[-1]["type"] == "response.incomplete"
    assert events[-1]["response"]["incomplete_details"] == {"reason": "max_output_tokens"}
    assert len((await _job(http, keys["key"], job_id))["calls"]) == 2


# -- what is refused ------------------------------------------------------------------------

HUGE = "x" * 2_000_000
REFUSED: list[tuple[Any, int, str, str | None]] = [
    (b"{not json", 400, "invalid_request", None),
    (b"[1, 2]", 400, "invalid_request", None),
    ({"model": "Chat"}, 422, "validation_error", "input"),
    ({"model": "Chat", "input": ""}, 422, "validation_error", "input"),
    ({"model": "Chat", "input": []}, 422, "validation_error", "input"),
    ({"model": "Chat", "input": 42}, 422, "validation_error", "input"),
    ({"model": "Chat", "input": HUGE}, 422, "validation_error", "input"),
    (
        {"model": "Chat", "input": [{"type": "item_reference", "id": "x"}]},
        422,
        "validation_error",
        None,
    ),
    (
        {"model": "Chat", "input": [{"role": "user", "content": [{"type": "input_image"}]}]},
        422,
        "validation_error",
        None,
    ),
    (
        {"model": "Chat", "input": [{"role": "robot", "content": "hi"}]},
        422,
        "validation_error",
        None,
    ),
    ({"model": "Chat", "input": "hi", "temperature": "hot"}, 422, "validation_error", None),
    ({"model": "Chat", "input": "hi", "max_output_tokens": 0}, 422, "validation_error", None),
    ({"model": "Chat", "input": "hi", "stream": "yes"}, 422, "validation_error", None),
    (
        {"model": "Chat", "input": "hi", "tools": [{"type": "function", "name": "bad name!"}]},
        422,
        "validation_error",
        None,
    ),
    (
        {"model": "Chat", "input": "hi", "tools": [{"type": "function", "parameters": CITY}]},
        422,
        "validation_error",
        None,
    ),
    (
        {"model": "Chat", "input": "hi", "tools": [{**WEATHER, "parameters": "not a schema"}]},
        422,
        "validation_error",
        None,
    ),
    (
        {"model": "Chat", "input": "hi", "text": {"format": {"type": "json_schema"}}},
        422,
        "validation_error",
        None,
    ),
    (
        {"model": "Chat", "input": "hi", "previous_response_id": "resp_123"},
        400,
        "unsupported_parameter",
        "previous_response_id",
    ),
    (
        {"model": "Chat", "input": "hi", "tools": [{"type": "web_search"}]},
        400,
        "invalid_request",
        "tools",
    ),
    ({"model": "Chat", "input": "hi", "background": True}, 400, "invalid_request", "background"),
    (
        {"model": "Chat", "input": "hi", "conversation": "conv_1"},
        400,
        "invalid_request",
        "conversation",
    ),
    ({"model": "Nope", "input": "hi"}, 400, "invalid_request", "model"),
    ({"model": "Secret", "input": "hi"}, 403, "permission_denied", "model"),
]


@pytest.mark.parametrize(("body", "status", "code", "param"), REFUSED)
async def test_hostile_input_is_a_clear_4xx_and_changes_nothing(
    http: httpx.AsyncClient,
    keys: dict[str, str],
    body: Any,
    status: int,
    code: str,
    param: str | None,
) -> None:
    job = await open_job(http, keys["key"])
    before = (await ledger(http, keys["key"]), await _jobs(http, keys["key"]))
    for headers in ({}, {"X-Job-Id": job}):
        _error(await _post(http, keys["key"], body, **headers), status, code, param)
    assert (await ledger(http, keys["key"]), await _jobs(http, keys["key"])) == before
    assert (await _job(http, keys["key"], job))["calls"] == []


async def test_previous_response_id_says_to_send_the_whole_input(
    http: httpx.AsyncClient, keys: dict[str, str]
) -> None:
    r = await _post(
        http, keys["key"], {"model": "Chat", "input": "hi", "previous_response_id": "x"}
    )
    _error(r, 400, "unsupported_parameter", "previous_response_id")
    assert r.json()["error"]["type"] == "invalid_request_error"
    assert "send the whole conversation as 'input'" in r.json()["error"]["message"]


# -- who may call ---------------------------------------------------------------------------


async def test_auth_matrix(http: httpx.AsyncClient, keys: dict[str, str]) -> None:
    before = await ledger(http, keys["key"])
    _error(await _post(http, None), 401, "authentication_error")
    _error(await _post(http, "sk-not-a-key"), 401, "authentication_error")
    admin = await http.post("/v1/responses", json={"model": "Chat", "input": "hi"}, headers=ADMIN)
    _error(admin, 403, "permission_denied")  # the admin key never acts as a team
    assert ADMIN_KEY not in admin.text
    theirs = await open_job(http, keys["other"], team_id=OTHER)
    _error(await _post(http, keys["key"], **{"X-Job-Id": theirs}), 404, "not_found")
    assert (await _job(http, keys["other"], theirs))["calls"] == []
    _error(await _post(http, keys["key"], **{"X-Job-Id": "not-a-uuid"}), 404, "not_found")
    assert await ledger(http, keys["key"]) == before


async def test_x_job_id_records_the_call_in_that_job_and_a_closed_one_is_409(
    http: httpx.AsyncClient, keys: dict[str, str]
) -> None:
    job_id = await open_job(http, keys["key"])
    for _ in range(2):
        r = await _post(http, keys["key"], **{"X-Job-Id": job_id})
        _ok(r)
        assert r.headers["x-job-id"] == job_id
    job = await _job(http, keys["key"], job_id)
    assert job["status"] == "in_progress" and len(job["calls"]) == 2
    r = await http.post(
        f"/api/jobs/{job_id}/complete", json={"status": "completed"}, headers=bearer(keys["key"])
    )
    assert r.json()["costs"]["credits_remaining"] == 4  # one credit for the job's two calls
    r = await _post(http, keys["key"], **{"X-Job-Id": job_id})
    _error(r, 409, "conflict")
    assert r.headers["x-job-id"] == job_id
    await _check_ledger(http, keys["key"])


# -- billing --------------------------------------------------------------------------------


async def test_no_credit_is_402_insufficient_quota(
    http: httpx.AsyncClient, keys: dict[str, str]
) -> None:
    for _ in range(5):
        _ok(await _post(http, keys["key"]))
    r = await _post(http, keys["key"])
    _error(r, 402, "insufficient_credits")
    assert r.json()["error"]["type"] == "insufficient_quota"
    await _check_ledger(http, keys["key"])


async def test_consumption_tokens_charges_the_tokens(http: httpx.AsyncClient) -> None:
    keys = await _setup(http, credits=100, budget_mode="consumption_tokens", tokens_per_credit=10)
    # the worst case (input bound + max_output_tokens) must fit the credits: say how many
    body = {"model": "Chat", "input": "Hello there", "stream": True, "max_output_tokens": 100}
    r = await _post(http, keys["key"], body)
    final = ResponseObject.model_validate(_events(r.text)[-1]["response"])
    r = await _post(http, keys["key"], {**body, "input": "Hello again", "stream": False})
    response = _ok(r)
    charged = 0
    for usage in (final.usage, response.usage):
        assert usage is not None
        charged += math.ceil(usage.total_tokens / 10)
    job = await _job(http, keys["key"], r.headers["x-job-id"])
    assert job["costs"]["total_tokens"] == response.usage.total_tokens  # type: ignore[union-attr]
    balance = (await ledger(http, keys["key"]))["balance"]
    assert (balance["credits_remaining"], balance["credits_reserved"]) == (100 - charged, 0)
    await _check_ledger(http, keys["key"])


async def test_a_worst_case_that_does_not_fit_is_402_before_anything(
    http: httpx.AsyncClient,
) -> None:
    keys = await _setup(http, credits=2, budget_mode="consumption_tokens", tokens_per_credit=10)
    before = await ledger(http, keys["key"])
    r = await _post(http, keys["key"], {"model": "Chat", "input": "hi", "max_output_tokens": 500})
    _error(r, 402, "insufficient_credits")
    assert await ledger(http, keys["key"]) == before and await _jobs(http, keys["key"]) == []


async def test_a_rate_limit_is_429_with_retry_after_and_calls_have_server_timing(
    http: httpx.AsyncClient, keys: dict[str, str]
) -> None:
    r = await http.post(f"/api/teams/{TEAM}/limits", json={"rpm_limit": 1}, headers=ADMIN)
    assert r.status_code == 200, r.text
    r = await _post(http, keys["key"])
    _ok(r)
    assert "upstream" in r.headers["server-timing"]
    before = await ledger(http, keys["key"])
    r = await _post(http, keys["key"], {"model": "Chat", "input": "again", "stream": True})
    _error(r, 429, "rate_limited")
    assert r.json()["error"]["type"] == "rate_limit_error" and int(r.headers["retry-after"]) >= 1
    assert await ledger(http, keys["key"]) == before


# -- idempotency ----------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
async def test_an_idempotency_key_replays_and_runs_once(
    http: httpx.AsyncClient, keys: dict[str, str], stream: bool
) -> None:
    key = "stainless-python-retry-5d0f7a3e-9a51-4d0b-8f7e-3c2b1a0f9e88"
    body = {"model": "Chat", "input": "Hello there", "stream": stream, "tools": [WEATHER]}
    first = await _post(http, keys["key"], body, **{"Idempotency-Key": key})
    again = await _post(http, keys["key"], body, **{"Idempotency-Key": key})
    assert first.status_code == again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true" and again.content == first.content
    assert again.headers["x-job-id"] == first.headers["x-job-id"]
    assert len(await _jobs(http, keys["key"])) == 1
    assert (await ledger(http, keys["key"]))["balance"]["credits_remaining"] == 4


async def test_metrics_count_responses_requests_and_their_calls(database_url: str) -> None:
    settings = Settings(database_url=database_url, metrics=True, _env_file=None)  # type: ignore[call-arg]
    async with app_client(settings) as (_, http):
        key = await create_team(http, credits=10)
        before = (await http.get("/metrics")).text
        for stream in (False, True):
            body = {"model": "default", "input": "count me", "stream": stream}
            assert (await _post(http, key, body)).status_code == 200
        after = (await http.get("/metrics")).text

    def count(text: str, name: str, **labels: str) -> float:
        return sum(
            sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name == name and labels.items() <= sample.labels.items()
        )

    def moved(name: str, **labels: str) -> float:
        return count(after, name, **labels) - count(before, name, **labels)

    route = {"route": "/v1/responses", "method": "POST", "status": "200"}
    assert moved("saas_litellm_requests_total", **route) == 2
    assert moved("saas_litellm_llm_calls_total", alias="default", status="success") == 2
