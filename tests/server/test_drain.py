"""``serve`` drains on SIGTERM (_drain.py): real processes, real HTTP, one PostgreSQL.

What a rolling restart needs of one server: the moment it is told to stop, ``/ready`` says so
(a load balancer stops sending it work) while what is in flight — a slow stream — finishes
whole and is billed once; then it exits 0. A stream longer than the grace is cut, and the
process still leaves on time.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from support import server_process, start_server, stop, wait_until_up

from saas_litellm_client import APIConnectionError, SaasLiteLLMAdminClient, SaasLiteLLMClient

ADMIN = "adm-drain-test-key-0123456789abcdef"
TEAM = "drain-team"
# ~40 words: the mock model streams one word per chunk, chunk_delay apart
PROMPT = " ".join(f"word{i}" for i in range(30))

pytestmark = [pytest.mark.parametrize("backend", ["postgresql"]), pytest.mark.timeout(120)]


@contextmanager
def draining_server(
    database_url: str, *, chunk_delay: float, grace: float, workers: int = 1
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    url, proc = start_server(
        database_url,
        args=("--workers", str(workers)),
        env={
            "SAAS_LITELLM_ADMIN_KEY": ADMIN,
            "SAAS_LITELLM_MOCK_CHUNK_DELAY": str(chunk_delay),
            "SAAS_LITELLM_SHUTDOWN_GRACE_SECONDS": str(grace),
        },
    )
    try:
        wait_until_up(f"{url}/health", proc, "the server")
        yield url, proc
    finally:
        stop(proc)


async def create_team(url: str) -> str:
    """A team with 10 credits; its virtual key."""
    async with SaasLiteLLMAdminClient(base_url=url, admin_key=ADMIN) as admin:
        await admin.create_organization(organization_id="org", name="Org")
        team = await admin.create_team(organization_id="org", team_id=TEAM, credits_allocated=10)
    return team.virtual_key


def team_client(url: str, key: str) -> SaasLiteLLMClient:
    return SaasLiteLLMClient(base_url=url, team_id=TEAM, virtual_key=key)


async def books(client: SaasLiteLLMClient) -> tuple[int, int, int]:
    """(credits_used, credits_remaining, the sum of the ledger)."""
    balance = await client.get_balance()
    ledger = [t.credits async for t in client.list_transactions()]
    return balance.credits_used, balance.credits_remaining, sum(ledger)


def exit_status(proc: subprocess.Popen[bytes], seconds: float) -> int:
    return proc.wait(timeout=seconds)


@pytest.mark.parametrize("workers", [1, 2])  # 2: uvicorn's supervisor passes SIGTERM on
async def test_sigterm_finishes_a_stream_in_flight_answers_not_ready_and_exits_0(
    database_url: str, workers: int
) -> None:
    with draining_server(database_url, chunk_delay=0.1, grace=30, workers=workers) as (
        url,
        proc,
    ):
        key = await create_team(url)
        client = team_client(url, key)
        job = await client.create_job("drain")
        started = asyncio.Event()

        async def read_stream() -> tuple[str, str | None]:
            async with client.stream(
                job_id=job.job_id, messages=[{"role": "user", "content": PROMPT}]
            ) as stream:
                async for _ in stream:
                    started.set()
                return stream.text, stream.call_id

        reading = asyncio.create_task(read_stream())
        await asyncio.wait_for(started.wait(), 10)
        proc.send_signal(signal.SIGTERM)

        async with httpx.AsyncClient(base_url=url, timeout=5) as http:
            # new connections are still served while the stream runs: the balancer's probes
            deadline = time.monotonic() + 5
            while (ready := await http.get("/ready")).status_code == 200:
                assert time.monotonic() < deadline, "/ready never said 503"
                await asyncio.sleep(0.02)
            assert ready.status_code == 503
            assert ready.json()["error"]["type"] == "service_unavailable"
            assert ready.headers["Retry-After"] == "1"
            assert (await http.get("/health")).status_code == 200
            assert not reading.done()  # all of this happened during the drain

        text, call_id = await asyncio.wait_for(reading, 30)
        assert text.startswith('You said: "word0 word1') and text.endswith("answering offline.")
        assert call_id is not None
        assert exit_status(proc, 15) == 0

    # Another server on the same database: the call was recorded whole, and billed once.
    await client.close()
    with server_process(database_url, env={"SAAS_LITELLM_ADMIN_KEY": ADMIN}) as (url, _):
        async with team_client(url, key) as client:
            detail = await client.get_job(job.job_id)
            assert [c.call_id for c in detail.calls] == [call_id]
            assert detail.calls[0].status == "success"
            done = await client.complete_job(job.job_id, "completed")
            assert done.credits_remaining == 9
            assert await books(client) == (1, 9, 9)


async def test_a_stream_longer_than_the_grace_is_cut_and_the_process_leaves_on_time(
    database_url: str,
) -> None:
    grace = 1.0
    with draining_server(database_url, chunk_delay=0.5, grace=grace) as (url, proc):
        key = await create_team(url)
        client = team_client(url, key)
        job = await client.create_job("drain")
        started = asyncio.Event()
        received: list[str] = []

        async def read_stream() -> None:
            async with client.stream(
                job_id=job.job_id, messages=[{"role": "user", "content": PROMPT}]
            ) as stream:
                async for chunk in stream:
                    received.append(chunk.content or "")
                    started.set()

        reading = asyncio.create_task(read_stream())
        await asyncio.wait_for(started.wait(), 10)
        signalled = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        status = await asyncio.to_thread(exit_status, proc, grace + 10)
        took = time.monotonic() - signalled
        assert status == 0
        assert took < grace + 5, took
        with pytest.raises(APIConnectionError):  # a stream cut mid-way, as the SDK says it
            await asyncio.wait_for(reading, 10)
        assert 0 < len(received) < 40  # some content arrived, not all of it

    await client.close()
    with server_process(database_url, env={"SAAS_LITELLM_ADMIN_KEY": ADMIN}) as (url, _):
        async with team_client(url, key) as client:
            await client.complete_job(job.job_id, "completed")
            # recorded as cut, with what it streamed: billed, once
            assert [c.status for c in (await client.get_job(job.job_id)).calls] == ["cancelled"]
            assert await books(client) == (1, 9, 9)


async def test_ctrl_c_drains_and_a_second_ctrl_c_stops_at_once(database_url: str) -> None:
    with draining_server(database_url, chunk_delay=0.5, grace=30) as (url, proc):
        key = await create_team(url)
        async with team_client(url, key) as client:
            job = await client.create_job("drain")
            started = asyncio.Event()

            async def read_stream() -> None:
                async with client.stream(
                    job_id=job.job_id, messages=[{"role": "user", "content": PROMPT}]
                ) as stream:
                    async for _ in stream:
                        started.set()

            reading = asyncio.create_task(read_stream())
            await asyncio.wait_for(started.wait(), 10)
            proc.send_signal(signal.SIGINT)
            async with httpx.AsyncClient(base_url=url, timeout=5) as http:
                deadline = time.monotonic() + 5
                while (await http.get("/ready")).status_code == 200:  # draining, as on SIGTERM
                    assert time.monotonic() < deadline, "/ready never said 503"
                    await asyncio.sleep(0.02)
            signalled = time.monotonic()
            proc.send_signal(signal.SIGINT)  # the stream has ~15 s to go: not waited for
            assert await asyncio.to_thread(exit_status, proc, 10) == 0
            assert time.monotonic() - signalled < 5
            with pytest.raises(APIConnectionError):
                await asyncio.wait_for(reading, 10)
