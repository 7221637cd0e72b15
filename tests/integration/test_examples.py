"""The examples run green against a zero-config server over real HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_basic_usage(live_url: str) -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "basic_usage.py")],
        env={**os.environ, "SAAS_LITELLM_BASE_URL": live_url},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "Credits remaining: 9" in done.stdout
    assert "as expected once credits run out" in done.stdout


def test_streaming(live_url: str) -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "streaming.py")],
        env={**os.environ, "SAAS_LITELLM_BASE_URL": live_url},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith('SDK:      You said: "Tell me a story"')
    assert lines[2].startswith('raw SSE:  You said: "Tell me a story"')
    assert "credits remaining 4" in done.stdout


def test_structured_outputs(live_url: str) -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "structured_outputs.py")],
        env={**os.environ, "SAAS_LITELLM_BASE_URL": live_url},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "Name: Margaret Hamilton, Age: 33, Email: margaret@mit.edu" in out
    assert "Review: positive" in out
    assert "partial " in out and "final   Person(name='Grace Hopper', age=85" in out
    assert "StructuredOutputTruncatedError: 1 attempt(s)" in out
    assert "credits remaining 4" in out


def test_error_handling(live_url: str) -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "error_handling.py")],
        env={**os.environ, "SAAS_LITELLM_BASE_URL": live_url},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for expected in (
        "402 insufficient_credits",
        "400 invalid_request on 'model'",
        "404 not_found",
        "409 conflict",
        "refused locally: ValidationError",
        "401 authentication_error",
        "no server: APIConnectionError",
        "all are SaasLiteLLMError: True",
    ):
        assert expected in out, (expected, out)
