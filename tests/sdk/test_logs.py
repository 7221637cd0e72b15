"""Logging (``_logs``): what the ``saas_litellm_client`` logger says, without secrets, and
``SAAS_LITELLM_LOG``."""

from __future__ import annotations

import logging
import re
from typing import Any

import httpx
import pytest
import respx
from sdk_payloads import CALL_URL, MESSAGES, call_body, with_id

from saas_litellm_client import (
    SaasLiteLLMClient,
)
from saas_litellm_client import _logs as logs

KEY = "sk-test-team-key"  # the team_client fixture's

CALL = call_body('{"name": "Ada"}')


# -- logging -----------------------------------------------------------------------------------


async def test_requests_and_retries_are_logged_without_the_key(
    respx_mock: respx.MockRouter,
    team_client: SaasLiteLLMClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    respx_mock.post(CALL_URL).mock(
        side_effect=[
            with_id(503, "req_busy"),
            httpx.ConnectError("refused"),
            with_id(200, "req_ok", json=CALL),
        ]
    )
    team_client._random = lambda: 0.0
    caplog.set_level(logging.DEBUG, logger="saas_litellm_client")

    await team_client.llm_call(job_id="job_123", messages=MESSAGES, idempotency_key="k-9")

    records = [r for r in caplog.records if r.name == "saas_litellm_client"]
    assert all(KEY not in r.getMessage() and KEY not in repr(r.args) for r in records)
    info = [r.getMessage() for r in records if r.levelno == logging.INFO]
    expected = [
        rf"POST {CALL_URL} -> 503 in \d+\.\d{{3}}s \(attempt 1 of 3, request_id=req_busy\)",
        rf"Retrying POST {CALL_URL} in 0\.50s \(retry 1 of 2\) after: 503 Service Unavailable",
        rf"POST {CALL_URL} -> failed in \d+\.\d{{3}}s \(attempt 2 of 3\): "
        r"Connection error: refused",
        rf"Retrying POST {CALL_URL} in 1\.00s \(retry 2 of 2\) after: "
        r"Connection error: refused",
        rf"POST {CALL_URL} -> 200 in \d+\.\d{{3}}s \(attempt 3 of 3, request_id=req_ok\)",
    ]
    assert len(info) == len(expected)
    for line, pattern in zip(info, expected):
        assert re.fullmatch(pattern, line), line
    debug = [r.getMessage() for r in records if r.levelno == logging.DEBUG]
    assert len(debug) == 3  # the request's headers, once per attempt
    for number, line in enumerate(debug, start=1):
        assert line.startswith(f"POST {CALL_URL} (attempt {number} of 3) headers=")
        assert "'authorization': '<redacted>'" in line
        assert "'idempotency-key': 'k-9'" in line


async def test_a_replayed_response_is_logged_as_such(
    respx_mock: respx.MockRouter,
    team_client: SaasLiteLLMClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    respx_mock.post(CALL_URL).mock(
        return_value=httpx.Response(
            200, json=CALL, headers={"X-Request-ID": "req_r", "Idempotent-Replayed": "true"}
        )
    )
    caplog.set_level(logging.INFO, logger="saas_litellm_client")

    await team_client.llm_call(job_id="job_123", messages=MESSAGES)

    assert caplog.records[-1].getMessage().endswith("request_id=req_r, replayed)")


@pytest.fixture
def clean_logger() -> Any:
    handlers, level = list(logs.log.handlers), logs.log.level
    yield logs.log
    logs.log.handlers[:] = handlers
    logs.log.setLevel(level)


@pytest.mark.parametrize(("value", "level"), [("debug", logging.DEBUG), (" INFO ", logging.INFO)])
def test_the_environment_variable_turns_logging_on(
    monkeypatch: pytest.MonkeyPatch, clean_logger: logging.Logger, value: str, level: int
) -> None:
    monkeypatch.setenv("SAAS_LITELLM_LOG", value)

    logs.setup_logging()
    logs.setup_logging()  # twice: still one handler

    added = [h for h in clean_logger.handlers if isinstance(h, logs._EnvHandler)]
    assert len(added) == 1
    assert clean_logger.level == level


@pytest.mark.parametrize("value", [None, "", "verbose", "warning"])
def test_without_the_environment_variable_nothing_is_configured(
    monkeypatch: pytest.MonkeyPatch, clean_logger: logging.Logger, value: str | None
) -> None:
    if value is None:
        monkeypatch.delenv("SAAS_LITELLM_LOG", raising=False)
    else:
        monkeypatch.setenv("SAAS_LITELLM_LOG", value)
    handlers, level = list(clean_logger.handlers), clean_logger.level

    logs.setup_logging()

    assert clean_logger.handlers == handlers
    assert clean_logger.level == level


def test_redact_headers() -> None:
    headers = httpx.Headers(
        {"Authorization": "Bearer sk-secret", "X-Api-Key": "k", "Accept": "application/json"}
    )

    redacted = logs.redact_headers(headers)

    assert redacted == {
        "authorization": "<redacted>",
        "x-api-key": "<redacted>",
        "accept": "application/json",
    }
