"""The examples run green against a zero-config server over real HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run_example(name: str, base_url: str) -> str:
    """Run ``examples/<name>`` against the server at ``base_url``; its output, if it succeeded."""
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        env={**os.environ, "SAAS_LITELLM_BASE_URL": base_url},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_basic_usage(live_url: str) -> None:
    out = run_example("basic_usage.py", live_url)
    assert "Credits remaining: 9" in out
    assert "as expected once credits run out" in out


def test_streaming(live_url: str) -> None:
    out = run_example("streaming.py", live_url)
    lines = out.splitlines()
    assert lines[0].startswith('SDK:      You said: "Tell me a story"')
    assert lines[2].startswith('raw SSE:  You said: "Tell me a story"')
    assert "credits remaining 4" in out


def test_structured_outputs(live_url: str) -> None:
    out = run_example("structured_outputs.py", live_url)
    assert "Name: Margaret Hamilton, Age: 33, Email: margaret@mit.edu" in out
    assert "Review: positive" in out
    assert "partial " in out and "final   Person(name='Grace Hopper', age=85" in out
    assert "StructuredOutputTruncatedError: 1 attempt(s)" in out
    assert "credits remaining 4" in out


def test_error_handling(live_url: str) -> None:
    out = run_example("error_handling.py", live_url)
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


def test_openai_sdk(live_url: str) -> None:
    out = run_example("openai_sdk.py", live_url)
    assert "models: ['Embed', 'default']" in out
    assert "single-call job " in out and 'You said: "Say hello"' in out
    assert "credits remaining 9" in out
    assert "job " in out and ": 3 calls, $" in out
    assert "three calls, one job: credits remaining 8" in out
    assert "parsed: Person(name=" in out
    assert "BadRequestError 400 invalid_request:" in out and "unknown model 'no-such-model'" in out
    assert "embeddings: 3 vectors of 16, same: True" in out
    # the parse and the embeddings were single-call jobs; the refused call cost nothing
    assert out.rstrip().endswith("credits remaining 6")


def test_sync_client(live_url: str) -> None:
    out = run_example("sync_client.py", live_url)
    assert out.startswith('call:   You said: "Summarize it"')
    assert "credits remaining 4" in out
    assert 'create_and_call: You said: "Is 17 prime?"' in out
    assert "credit applied: True, credits remaining 3" in out
