"""A server killed with SIGKILL mid-stream, then restarted (issue 12 item 9).

What a crash can lose is bounded and visible: the streamed call keeps the tokens of its last
checkpoint and is closed as ``interrupted`` by the restarted server's sweep; jobs left open are
settled (their reserved credit released, or spent if a call succeeded) once idle for
``SAAS_LITELLM_JOB_TTL_SECONDS``; the stream's Idempotency-Key is free again once its lease
lapses, and a retry runs the call.
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
from support import TEAM, bearer, free_port, server_process

T = TypeVar("T")

BODY = {"messages": [{"role": "user", "content": "tell me everything"}]}  # ~15 chunks
CRASH_ENV = {
    "SAAS_LITELLM_MOCK_CHUNK_DELAY": "0.2",
    "SAAS_LITELLM_STREAM_CHECKPOINT_SECONDS": "0.1",
    "SAAS_LITELLM_UPSTREAM_TIMEOUT": "1",
    "SAAS_LITELLM_JOB_TTL_SECONDS": "10",
    "SAAS_LITELLM_MAINTENANCE_INTERVAL_SECONDS": "0.2",
    "SAAS_LITELLM_IDEMPOTENCY_LEASE_SECONDS": "1",
}


def _wait_for(probe: Callable[[], T | None], what: str, seconds: float = 40) -> T:
    deadline = time.monotonic() + seconds
    while True:
        value = probe()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what} did not happen within {seconds} s"
        time.sleep(0.1)


def test_sigkill_mid_stream_then_restart(database_url: str) -> None:
    port = free_port()
    with server_process(database_url, port=port, env=CRASH_ENV) as (url, proc):
        r = httpx.post(
            f"{url}/api/teams/create",
            json={"organization_id": "org", "team_id": TEAM, "credits_allocated": 10},
        )
        key = bearer(r.json()["virtual_key"])

        def open_job() -> str:
            r = httpx.post(
                f"{url}/api/jobs/create", json={"team_id": TEAM, "job_type": "x"}, headers=key
            )
            job_id: str = r.json()["job_id"]
            return job_id

        orphan, streamed = open_job(), open_job()  # the first is never used again
        headers = {**key, "Idempotency-Key": "crash-stream-1"}
        chunks = 0
        with httpx.stream(
            "POST", f"{url}/api/jobs/{streamed}/llm-call-stream", json=BODY, headers=headers
        ) as r:
            assert r.status_code == 200
            for line in r.iter_lines():
                chunks += line.startswith("event: chunk")
                if chunks == 6:  # past a few checkpoints (every 0.1 s; a chunk every 0.2 s)
                    proc.send_signal(signal.SIGKILL)
                    proc.wait()
                    break
    assert chunks == 6

    with server_process(database_url, port=port, env=CRASH_ENV) as (url, _):

        def job(job_id: str) -> dict[str, Any]:
            detail: dict[str, Any] = httpx.get(f"{url}/api/jobs/{job_id}", headers=key).json()
            return detail

        # The restarted server's sweep closes the stream that died with the first server...
        def interrupted() -> dict[str, Any] | None:
            calls = job(streamed)["calls"]
            return calls[0] if calls and calls[0]["status"] == "failed" else None

        call = _wait_for(interrupted, "closing the interrupted stream")
        assert call["error_type"] == "interrupted" and call["streamed"] is True
        assert call["completion_tokens"] > 0 and call["prompt_tokens"] > 0

        # ...the stream's key runs again once its lease lapsed (the first run kept nothing to
        # replay)...
        def retry() -> httpx.Response | None:
            r = httpx.post(
                f"{url}/api/jobs/{streamed}/llm-call-stream", json=BODY, headers=headers, timeout=60
            )
            if r.status_code == 409 and r.json()["error"]["param"] == "Idempotency-Key":
                return None  # still leased: wait, as the SDK does
            return r

        retried = _wait_for(retry, "the key's lease lapsing")
        assert retried.status_code == 200, retried.text
        assert "Idempotent-Replayed" not in retried.headers
        done = json.loads(retried.text.rstrip().rsplit("data: ", 1)[1])
        assert done["type"] == "done"
        # What the crash lost is bounded: the interrupted call counted what was streamed by its
        # last checkpoint (by the text's UTF-8 length, an upper bound of its tokens), less than
        # the whole answer.
        answer = "".join(
            json.loads(line[6:])["content"]
            for line in retried.text.splitlines()
            if line.startswith("data: ") and '"type":"chunk"' in line
        )
        assert 0 < call["completion_tokens"] < len(answer.encode())

        # ...and the jobs the crash left open are settled once idle: the orphan failed (its
        # credit released), the streamed one completed (its retried call succeeded).
        _wait_for(lambda: job(orphan)["status"] == "failed", "settling the idle orphan job")
        _wait_for(lambda: job(streamed)["status"] == "completed", "settling the streamed job")
        assert job(orphan)["error_message"].startswith("abandoned: no activity")
        balance = httpx.get(f"{url}/api/credits/balance", headers=key).json()
        assert (balance["credits_used"], balance["credits_reserved"]) == (1, 0)
        assert [c["status"] for c in job(streamed)["calls"]] == ["failed", "success"]
