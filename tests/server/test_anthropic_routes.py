"""Anthropic's Messages API (routes/anthropic.py, written by _anthropic_wire.py) in-process, on
both database backends, with the mock provider: what a request becomes and what comes back
(text, system, turns, the tool round trip, stop reasons, the event stream), what is refused
(always a 4xx in Anthropic's error shape, and nothing changed), who may call, and that a
Messages call is billed, rate-limited and replayed like any call."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from support import GROUP, TEAM, app_client, bearer, create_alias, create_team, ledger, open_job

from saas_litellm_models import MAX_MESSAGES, AnthropicErrorResponse, AnthropicMessage
from saas_litellm_server import Settings

ADMIN_KEY = "adm-anthropic-routes-secret"
ADMIN = bearer(ADMIN_KEY)
OTHER = "other-team"
MSG = [{"role": "user", "content": "Hello there"}]
WEATHER = {
    "name": "get_weather",
    "description": "The weather in a city",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}


@pytest.fixture
def admin_key() -> str:
    return ADMIN_KEY


async def _keys(http: httpx.AsyncClient, credits: int = 5, **team: Any) -> dict[str, str]:
    key = await create_team(http, credits=credits, admin=ADMIN, **team)
    other = await create_team(http, team_id=OTHER, credits=5, groups=("other",), admin=ADMIN)
    await create_alias(http, "Chat", GROUP, admin=ADMIN)
    await create_alias(http, "Secret", "other", admin=ADMIN)
    return {"key": key, "other": other}


@pytest.fixture
async def keys(http: httpx.AsyncClient) -> dict[str, str]:
    """Two teams: ours (alias ``Chat``) and another (``Secret``)."""
    return await _keys(http)


def _api_key(key: str) -> dict[str, str]:
    return {"x-api-key": key, "anthropic-version": "2023-06-01"}


def _error(r: httpx.Response, status: int, kind: str, code: str | None = None) -> None:
    """An error in Anthropic's shape: ``{"type": "error", "error": {type, message}}``."""
    assert r.status_code == status, r.text
    body = AnthropicErrorResponse.model_validate_json(r.content)
    assert body.type == "error" and body.error.type == kind, r.text
    assert body.error.message
    if code is not None:
        assert body.error.code == code
    assert r.headers["request-id"] == r.headers["x-request-id"] == body.request_id


async def _messages(
    http: httpx.AsyncClient, key: str | None, body: Any = None, **headers: str
) -> httpx.Response:
    payload = {"model": "Chat", "max_tokens": 200, "messages": MSG} if body is None else body
    content = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    auth = _api_key(key) if key else {}
    return await http.post(
        "/v1/messages",
        content=content,
        headers={**auth, "Content-Type": "application/json", **headers},
    )


def _body(**fields: Any) -> dict[str, Any]:
    return {"model": "Chat", "max_tokens": 200, "messages": MSG, **fields}


async def _jobs(http: httpx.AsyncClient, key: str) -> list[dict[str, Any]]:
    r = await http.get(f"/api/teams/{TEAM}/jobs", headers=bearer(key))
    assert r.status_code == 200, r.text
    jobs: list[dict[str, Any]] = r.json()["jobs"]
    return jobs


async def _job(http: httpx.AsyncClient, key: str, job_id: str) -> dict[str, Any]:
    r = await http.get(f"/api/jobs/{job_id}", headers=bearer(key))
    assert r.status_code == 200, r.text
    detail: dict[str, Any] = r.json()
    return detail


# -- what a request becomes ---------------------------------------------------------------


async def test_a_text_message_is_anthropics_message_object(
    http: httpx.AsyncClient, keys: dict[str, str]
) -> None:
    r = await _messages(http, keys["key"])
    assert r.status_code == 200, r.text
    message = AnthropicMessage.model_validate_json(r.content)
    assert message.id.startswith("msg_") and (message.type, message.role) == (
        "message",
        "assistant",
    )
    assert message.model == "Chat"
    (block,) = message.content
    assert block.type == "text" and "Hello there" in block.text
    assert (message.stop_reason, message.stop_sequence) == ("end_turn", None)
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0
    assert set(r.json()) == {
        *("id", "type", "role", "model", "content", "stop_reason", "stop_sequence", "usage")
    }
    detail = await _job(http, keys["key"], r.headers["x-job-id"])
    (call,) = detail["calls"]
    assert (detail["status"], detail["job_type"]) == ("completed", "chat")
    assert call["prompt_tokens"] == message.usage.input_tokens
    assert call["completion_tokens"] == message.usage.output_tokens


async def test_bearer_works_as_well_as_x_api_key(
    http: httpx.AsyncClient, keys: dict[str, str]
) -> None:
    r = await http.post("/v1/messages", json=_body(), headers=bearer(keys["key"]))
    assert r.status_code == 200, r.text
    r = await http.post("/v1/messages", json=_body(), headers={"x-api-key": keys["key"]})
    assert r.status_code == 200, r.text  # anthropic-version is not required


async def test_system_and_turns_become_chat_messages(
    http: httpx.AsyncClient, keys: dict[str, str]
) -> None:
    body = _body(
        system=[{"type": "text", "text": "Be brief."}, {"type": "text", "text": " Be kind."}],
        messages=[
            {"role": "user", "content": "first question"},
            {"role": "assistant", "content": [{"type": "text", "text": "first answer"}]},
            {"role": "user", "content": [{"type": "text", "text": "second question"}]},
        ],
        metadata={"user_id": "u-42"},
        temperature=0.5,
        top_p=0.9,
        top_k=40,
    )
    r = await _messages(http, keys["key"], body)
    assert r.status_code == 200, r.text
    assert "second question" in r.json()["content"][0]["text"]  # the last user turn
    detail = await _job(http, keys["key"], r.headers["x-job-id"])
    assert detail["user_id"] == "u-42"
    # four chat messages (system + three turns): the mock counts 3 + 4·3 + their text
    assert detail["calls"][0]["prompt_tokens"] == r.json()["usage"]["input_tokens"]


async def test_max_tokens_stops_with_stop_reason_max_tokens(
    http: httpx.AsyncClient, keys: dict[str, str]
) -> None:
    r = await _messages(http, keys["key"], _body(max_tokens=3))
    assert r.status_code == 200, r.text
    message = r.json()
    assert message["stop_reason"] == "max_tokens" and message["usage"]["output_tokens"] <= 3


async def test_stop_sequences_are_accepted_and_end_the_turn(
    http: httpx.AsyncClient, keys: dict[str, str]
) -> None:
    r = await _messages(http, keys["key"], _body(stop_sequences=["\n\n", "END"]))
    assert r.status_code == 200, r.text
    # an OpenAI-compatible upstream does not say which sequence stopped it: end_turn
    assert (r.json()["stop_reason"], r.json()["stop_sequence"]) == ("end_turn", None)


async def test_a_tool_use_round_trip(http: httpx.AsyncClient, keys: dict[str, str]) -> None:
    ask = [{"role": "user", "content": "Weather in Paris?"}]
    r = await _messages(
        http, keys["key"], _body(messages=ask, tools=[WEATHER], tool_choice={"type": "any"})
    )
    assert r.status_code == 200, r.text
    message = r.json()
    assert message["stop_reason"] == "tool_use"
    (use,) = message["content"]
    assert use["type"] == "tool_use" and use["name"] == "get_weather"
    assert use["id"].startswith("toolu_") and isinstance(use["input"]["city"], str)
    turns = [
        *ask,
        {"role": "assistant", "content": message["content"]},
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": use["id"],
                    "content": [{"type": "text", "text": "sunny, 21 °C"}],
                },
            ],
        },
    ]
    r = await _messages(http, keys["key"], _body(messages=turns, tools=[WEATHER]))
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["stop_reason"] == "end_turn" and answer["content"][0]["type"] == "text"
    assert "Weather in Paris?" in answer["content"][0]["text"]
    detail = await _job(http, keys["key"], r.headers["x-job-id"])
    # the tool's result went upstream as a tool message: the mock counts it in the prompt
    assert detail["calls"][0]["prompt_tokens"] > message["usage"]["input_tokens"]


async def test_tool_choice_tool_forces_that_tool_and_none_forbids_tools(
    http: httpx.AsyncClient, keys: dict[str, str]
) -> None:
    other = {"name": "get_time", "input_schema": {"type": "object", "properties": {}}}
    r = await _messages(
        http,
        keys["key"],
        _body(tools=[WEATHER, other], tool_choice={"type": "tool", "name": "get_time"}),
    )
    assert r.status_code == 200, r.text
    assert [b["name"] for b in r.json()["content"]] == ["get_time"]
    r = await _messages(http, keys["key"], _body(tools=[WEATHER], tool_choice={"type": "none"}))
    assert r.status_code == 200, r.text
    assert r.json()["stop_reason"] == "end_turn" and r.json()["content"][0]["type"] == "text"


# -- streaming ----------------------------------------------------------------------------


def _events(text: str) -> list[tuple[str, dict[str, Any]]]:
    """The stream's ``(event, data)`` pairs."""
    out = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        data = json.loads(lines["data"])
        assert data["type"] == lines["event"]
        out.append((lines["event"], data))
    return out


async def test_a_stream_is_anthropics_events_in_order(
    http: httpx.AsyncClient, keys: dict[str, str]
) -> None:
    r = await _messages(http, keys["key"], _body(stream=True))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/event-stream")
    events = _events(r.text)
    names = [name for name, _ in events]
    assert names[:2] == ["message_start", "content_block_start"]
    assert names[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert set(names[2:-3]) == {"content_block_delta"}
    start = events[0][1]["message"]
    assert start["id"].startswith("msg_") and start["content"] == [] and start["model"] == "Chat"
    text = "".join(d["delta"]["text"] for n, d in events if n == "content_block_delta")
    assert "Hello there" in text
    delta = events[-2][1]
    assert delta["delta"] == {"stop_reason": "end_turn", "stop_sequence": None}
    detail = await _job(http, keys["key"], r.headers["x-job-id"])
    (call,) = detail["calls"]
    assert detail["status"] == "completed" and call["streamed"]
    assert delta["usage"] == {
        "input_tokens": call["prompt_tokens"],
        "output_tokens": call["completion_tokens"],
    }


async def test_a_streamed_tool_call_is_a_tool_use_block_with_its_json(
    http: httpx.AsyncClient, keys: dict[str, str]
) -> None:
    body = _body(tools=[WEATHER], tool_choice={"type": "any"}, stream=True)
    r = await _messages(http, keys["key"], body)
    assert r.status_code == 200, r.text
    events = _events(r.text)
    assert [n for n, _ in events] == [
        *("message_start", "content_block_start", "content_block_delta"),
        *("content_block_stop", "message_delta", "message_stop"),
    ]
    block = events[1][1]
    assert block["index"] == 0 and block["content_block"]["type"] == "tool_use"
    assert block["content_block"]["input"] == {} and block["content_block"]["id"].startswith(
        "toolu_"
    )
    delta = events[2][1]["delta"]
    assert delta["type"] == "input_json_delta" and "city" in json.loads(delta["partial_json"])
    assert events[4][1]["delta"]["stop_reason"] == "tool_use"


async def test_a_streamed_call_in_a_job(http: httpx.AsyncClient, keys: dict[str, str]) -> None:
    job = await open_job(http, keys["key"])
    r = await _messages(http, keys["key"], _body(stream=True), **{"X-Job-Id": job})
    assert r.status_code == 200 and r.headers["x-job-id"] == job
    assert _events(r.text)[-1][0] == "message_stop"
    detail = await _job(http, keys["key"], job)
    assert detail["status"] == "in_progress" and len(detail["calls"]) == 1


# -- what is refused ----------------------------------------------------------------------

REFUSED: list[tuple[Any, int, str]] = [
    (b"{not json", 400, "invalid_request_error"),
    (b"[1, 2]", 400, "invalid_request_error"),
    ({"model": "Chat", "messages": MSG}, 400, "invalid_request_error"),  # no max_tokens
    (_body(max_tokens=0), 400, "invalid_request_error"),
    (_body(max_tokens="100"), 400, "invalid_request_error"),
    (_body(messages=[]), 400, "invalid_request_error"),
    (_body(messages="hello"), 400, "invalid_request_error"),
    (_body(messages=[{"role": "system", "content": "x"}]), 400, "invalid_request_error"),
    (_body(messages=[{"role": "user", "content": 7}]), 400, "invalid_request_error"),
    (
        _body(messages=[{"role": "user", "content": [{"type": "video", "url": "x"}]}]),
        400,
        "invalid_request_error",
    ),
    (
        _body(
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "image", "source": {"type": "base64", "data": "AAAA"}},
                    ],
                }
            ]
        ),
        400,
        "invalid_request_error",
    ),
    (
        _body(
            messages=[
                {
                    "role": "user",
                    "content": [{"type": "tool_use", "id": "t", "name": "f", "input": {}}],
                }
            ]
        ),
        400,
        "invalid_request_error",
    ),
    (_body(system=5), 400, "invalid_request_error"),
    (_body(stream="yes"), 400, "invalid_request_error"),
    (_body(temperature=1.5), 400, "invalid_request_error"),
    (_body(stop_sequences=["a", "b", "c", "d", "e"]), 400, "invalid_request_error"),
    (_body(tools=[{"name": "bad name!", "input_schema": {}}]), 400, "invalid_request_error"),
    (
        _body(tools=[{"type": "web_search_20250305", "name": "web_search", "input_schema": {}}]),
        400,
        "invalid_request_error",
    ),
    (_body(tools=[WEATHER], tool_choice={"type": "tool"}), 400, "invalid_request_error"),
    (_body(tool_choice={"type": "sometimes"}), 400, "invalid_request_error"),
    (_body(thinking={"type": "enabled", "budget_tokens": 1024}), 400, "invalid_request_error"),
    (_body(model="Nope"), 400, "invalid_request_error"),
    # as many turns as allowed, plus a system prompt: one chat message too many
    (_body(system="s", messages=MSG * MAX_MESSAGES), 400, "invalid_request_error"),
    (_body(model="Secret"), 403, "permission_error"),
]


@pytest.mark.parametrize(("body", "status", "kind"), REFUSED)
async def test_hostile_input_is_a_clear_4xx_and_changes_nothing(
    http: httpx.AsyncClient, keys: dict[str, str], body: Any, status: int, kind: str
) -> None:
    before = await ledger(http, keys["key"])
    r = await _messages(http, keys["key"], body)
    _error(r, status, kind)
    assert await ledger(http, keys["key"]) == before
    assert await _jobs(http, keys["key"]) == []


async def test_a_huge_body_is_413_in_anthropics_shape(
    http: httpx.AsyncClient, keys: dict[str, str]
) -> None:
    huge = _body(messages=[{"role": "user", "content": "x" * 20_000_000}])
    _error(await _messages(http, keys["key"], huge), 413, "request_too_large")
    assert await _jobs(http, keys["key"]) == []


async def test_unknown_fields_and_anthropic_headers_are_accepted(
    http: httpx.AsyncClient, keys: dict[str, str]
) -> None:
    body = _body(
        messages=[
            {
                "role": "user",
                "content": [{"type": "text", "text": "hi", "cache_control": {"type": "ephemeral"}}],
            }
        ],
        service_tier="auto",
        thinking={"type": "disabled"},
    )
    r = await _messages(http, keys["key"], body, **{"anthropic-beta": "tools-2024-04-04"})
    assert r.status_code == 200, r.text


async def test_an_unknown_path_under_messages_answers_in_anthropics_shape(
    http: httpx.AsyncClient, keys: dict[str, str]
) -> None:
    r = await http.post("/v1/messages/count_tokens", json=_body(), headers=_api_key(keys["key"]))
    _error(r, 404, "not_found_error")
    r = await http.get("/v1/messages", headers=_api_key(keys["key"]))
    _error(r, 405, "invalid_request_error")


# -- who may call -------------------------------------------------------------------------


async def test_auth_matrix(http: httpx.AsyncClient, keys: dict[str, str]) -> None:
    before = await ledger(http, keys["key"])

    async def call(headers: dict[str, str]) -> httpx.Response:
        return await http.post("/v1/messages", json=_body(), headers=headers)

    for refused in ({}, {"x-api-key": "sk-not-a-key"}, bearer("sk-not-a-key")):
        _error(await call(refused), 401, "authentication_error")
    _error(await call({"Authorization": "Basic abc"}), 401, "authentication_error")
    for admin in ({"x-api-key": ADMIN_KEY}, ADMIN):  # the admin key never acts as a team
        r = await call(admin)
        _error(r, 403, "permission_error")
        assert ADMIN_KEY not in r.text
    assert await ledger(http, keys["key"]) == before


async def test_x_api_key_works_only_on_the_messages_api(
    http: httpx.AsyncClient, keys: dict[str, str]
) -> None:
    r = await http.get("/v1/models", headers={"x-api-key": keys["key"]})
    assert r.status_code == 401


async def test_another_teams_job_is_404_and_untouched(
    http: httpx.AsyncClient, keys: dict[str, str]
) -> None:
    theirs = await open_job(http, keys["other"], team_id=OTHER)
    r = await _messages(http, keys["key"], **{"X-Job-Id": theirs})
    _error(r, 404, "not_found_error", "not_found")
    assert r.headers["x-job-id"] == theirs
    detail = await _job(http, keys["other"], theirs)
    assert detail["calls"] == [] and detail["status"] == "pending"
    _error(await _messages(http, keys["key"], **{"X-Job-Id": "nope"}), 404, "not_found_error")


async def test_a_closed_job_is_409(http: httpx.AsyncClient, keys: dict[str, str]) -> None:
    job = await open_job(http, keys["key"])
    r = await http.post(
        f"/api/jobs/{job}/complete", json={"status": "failed"}, headers=bearer(keys["key"])
    )
    assert r.status_code == 200, r.text
    _error(await _messages(http, keys["key"], **{"X-Job-Id": job}), 409, "invalid_request_error")


# -- billing, limits, replays -------------------------------------------------------------


async def _transactions_sum(http: httpx.AsyncClient, key: str) -> int:
    r = await http.get(f"/api/teams/{TEAM}/transactions?limit=100", headers=bearer(key))
    assert r.status_code == 200, r.text
    return sum(t["credits"] for t in r.json()["transactions"])


async def test_job_based_a_single_call_job_costs_one_credit(
    http: httpx.AsyncClient, keys: dict[str, str]
) -> None:
    for stream in (False, True):
        assert (await _messages(http, keys["key"], _body(stream=stream))).status_code == 200
    balance = (await http.get("/api/credits/balance", headers=bearer(keys["key"]))).json()
    assert (balance["credits_remaining"], balance["credits_reserved"]) == (3, 0)
    assert await _transactions_sum(http, keys["key"]) == balance["credits_remaining"]
    jobs = await _jobs(http, keys["key"])
    assert [j["status"] for j in jobs] == ["completed", "completed"]


async def test_consumption_tokens_charges_the_calls_tokens(http: httpx.AsyncClient) -> None:
    keys = await _keys(http, credits=1000, budget_mode="consumption_tokens", tokens_per_credit=10)
    r = await _messages(http, keys["key"])
    assert r.status_code == 200, r.text
    usage = r.json()["usage"]
    detail = await _job(http, keys["key"], r.headers["x-job-id"])
    charged = -(-(usage["input_tokens"] + usage["output_tokens"]) // 10)
    assert detail["costs"]["credits_charged"] == charged
    balance = (await http.get("/api/credits/balance", headers=bearer(keys["key"]))).json()
    assert (balance["credits_remaining"], balance["credits_reserved"]) == (1000 - charged, 0)
    assert await _transactions_sum(http, keys["key"]) == balance["credits_remaining"]


async def test_max_tokens_is_the_worst_case_the_credits_must_cover(
    http: httpx.AsyncClient,
) -> None:
    keys = await _keys(http, credits=5, budget_mode="consumption_tokens", tokens_per_credit=10)
    before = await ledger(http, keys["key"])
    r = await _messages(http, keys["key"], _body(max_tokens=10_000))
    _error(r, 402, "billing_error", "insufficient_credits")
    assert r.headers["x-should-retry"] == "false"
    assert await ledger(http, keys["key"]) == before and await _jobs(http, keys["key"]) == []
    assert (await _messages(http, keys["key"], _body(max_tokens=5))).status_code == 200


async def test_no_credit_is_402_billing_error(
    http: httpx.AsyncClient, keys: dict[str, str]
) -> None:
    for _ in range(5):
        assert (await _messages(http, keys["key"])).status_code == 200
    _error(await _messages(http, keys["key"]), 402, "billing_error", "insufficient_credits")


async def test_a_rate_limit_is_429_rate_limit_error(
    http: httpx.AsyncClient, keys: dict[str, str]
) -> None:
    r = await http.post(f"/api/teams/{TEAM}/limits", json={"rpm_limit": 1}, headers=ADMIN)
    assert r.status_code == 200, r.text
    assert (await _messages(http, keys["key"])).status_code == 200
    before = await ledger(http, keys["key"])
    r = await _messages(http, keys["key"])
    _error(r, 429, "rate_limit_error", "rate_limited")
    assert int(r.headers["retry-after"]) >= 1
    assert await ledger(http, keys["key"]) == before


@pytest.mark.parametrize("stream", [False, True])
async def test_an_idempotency_key_replays_and_runs_once(
    http: httpx.AsyncClient, keys: dict[str, str], stream: bool
) -> None:
    body = _body(stream=stream)
    first = await _messages(http, keys["key"], body, **{"Idempotency-Key": "m-1"})
    again = await _messages(http, keys["key"], body, **{"Idempotency-Key": "m-1"})
    assert first.status_code == again.status_code == 200, again.text
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content
    assert again.headers["x-job-id"] == first.headers["x-job-id"]
    assert len(await _jobs(http, keys["key"])) == 1


async def test_server_timing_is_sent(http: httpx.AsyncClient, keys: dict[str, str]) -> None:
    r = await _messages(http, keys["key"])
    assert "upstream" in r.headers["server-timing"]


async def test_metrics_count_messages_requests_and_their_calls(database_url: str) -> None:
    settings = Settings(database_url=database_url, metrics=True, _env_file=None)  # type: ignore[call-arg]
    async with app_client(settings) as (_, http):
        key = await create_team(http, credits=10)
        before = (await http.get("/metrics")).text
        for stream in (False, True):
            body = {"model": "default", "max_tokens": 50, "messages": MSG, "stream": stream}
            assert (await _messages(http, key, body)).status_code == 200
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

    route = {"route": "/v1/messages", "method": "POST", "status": "200"}
    assert moved("saas_litellm_requests_total", **route) == 2
    assert moved("saas_litellm_llm_calls_total", alias="default", status="success") == 2
