"""A rolling restart under load: three ``serve`` processes behind HAProxy, one PostgreSQL.

HAProxy (Debian's) routes on ``/ready``. SDK clients run jobs — a plain call, a streamed call,
then completion — through it while each server in turn gets SIGTERM, drains, exits 0 and starts
again. No SDK operation may fail, every job ends completed, and the books are exact.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import free_port, start_server, stop, unavailable, wait_until_up

from saas_litellm_client import SaasLiteLLMAdminClient, SaasLiteLLMClient

ADMIN = "adm-rolling-restart-0123456789abcdef"
TEAM = "rolling"
CREDITS = 10_000
ENV = {
    "SAAS_LITELLM_ADMIN_KEY": ADMIN,
    "SAAS_LITELLM_DB_POOL_SIZE": "5",
    "SAAS_LITELLM_MOCK_CHUNK_DELAY": "0.02",  # a stream lasts ~0.3 s: some are always in flight
}

HAPROXY_CFG = """
global
    maxconn 500
defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    retries 3
    option redispatch 1
frontend api
    bind 127.0.0.1:{port}
    default_backend servers
backend servers
    balance roundrobin
    option httpchk GET /ready
    http-check expect status 200
    default-server check inter 200ms fall 1 rise 2
{servers}
"""


@pytest.fixture
def haproxy_bin() -> str:
    found = shutil.which("haproxy") or (
        "/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None
    )
    if found is None:
        unavailable("HAProxy is not installed (apt-get install -y haproxy; .ci/run does)")
    return found


class Cluster:
    """Three servers on fixed ports (a restart reuses its port) and HAProxy in front."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.ports = [free_port() for _ in range(3)]
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, index: int) -> subprocess.Popen[bytes]:
        url, proc = start_server(self.database_url, port=self.ports[index], env=ENV)
        wait_until_up(f"{url}/ready", proc, f"server {index}")
        return proc


@contextlib.contextmanager
def cluster(database_url: str, haproxy: str, tmp_path: Path) -> Iterator[tuple[Cluster, str]]:
    servers = Cluster(database_url)
    servers.procs = [servers.start(0)]  # the first migrates the database alone
    servers.procs += [servers.start(i) for i in (1, 2)]
    port = free_port()
    config = tmp_path / "haproxy.cfg"
    config.write_text(
        HAPROXY_CFG.format(
            port=port,
            servers="\n".join(
                f"    server s{i} 127.0.0.1:{p}" for i, p in enumerate(servers.ports)
            ),
        )
    )
    with (tmp_path / "haproxy.log").open("wb") as log:  # its notes on servers going down/up
        balancer = subprocess.Popen(
            [haproxy, "-f", str(config), "-db"], stdout=log, stderr=subprocess.STDOUT
        )
    try:
        wait_until_up(f"http://127.0.0.1:{port}/ready", balancer, "HAProxy")
        yield servers, f"http://127.0.0.1:{port}"
    finally:
        stop(balancer)
        for proc in servers.procs:
            stop(proc)


@pytest.mark.timeout(300)  # ~20 s here: three drains and three starts
@pytest.mark.parametrize("backend", ["postgresql"])
async def test_a_rolling_restart_under_load_fails_no_operation_and_keeps_the_books(
    database_url: str, haproxy_bin: str, tmp_path: Path
) -> None:
    with cluster(database_url, haproxy_bin, tmp_path) as (servers, url):
        async with SaasLiteLLMAdminClient(base_url=url, admin_key=ADMIN) as admin:
            await admin.create_organization(organization_id="org", name="Org")
            team = await admin.create_team(
                organization_id="org", team_id=TEAM, credits_allocated=CREDITS
            )
        restarting = True
        completed: list[str] = []
        streamed: list[str] = []

        async def jobs(client: SaasLiteLLMClient) -> None:
            while restarting:
                job = await client.create_job("rolling")
                await client.llm_call(
                    job_id=job.job_id, messages=[{"role": "user", "content": "plain"}]
                )
                async with client.stream(
                    job_id=job.job_id,
                    messages=[{"role": "user", "content": "a streamed answer, word by word"}],
                ) as stream:
                    streamed.append(await stream.get_final_text())
                done = await client.complete_job(job.job_id, "completed")
                assert done.status == "completed"
                completed.append(job.job_id)

        async def restart_each() -> None:
            for index in range(3):
                await asyncio.sleep(1)  # load on all three first
                proc = servers.procs[index]
                proc.send_signal(signal.SIGTERM)
                assert await asyncio.to_thread(proc.wait, 40) == 0
                servers.procs[index] = await asyncio.to_thread(servers.start, index)

        async with SaasLiteLLMClient(
            base_url=url, team_id=TEAM, virtual_key=team.virtual_key, max_retries=5
        ) as client:
            load = [asyncio.create_task(jobs(client)) for _ in range(8)]
            try:
                await restart_each()
                await asyncio.sleep(1)  # and some load on the restarted three
            finally:
                restarting = False
            await asyncio.gather(*load)  # any failed operation fails the test here

            assert len(completed) >= 24
            assert all(text.endswith("answering offline.") for text in streamed)
            balance = await client.get_balance()
            ledger = [t.credits async for t in client.list_transactions()]
            listed = [j async for j in client.list_jobs()]
        # one credit per job, each charged once; the ledger adds up to the balance
        assert {j.job_id: j.status for j in listed} == dict.fromkeys(completed, "completed")
        assert balance.credits_used == len(completed)
        assert balance.credits_remaining == CREDITS - len(completed) == sum(ledger)
    # HAProxy took each server out (its /ready said 503, or its socket closed) and back in
    log = (tmp_path / "haproxy.log").read_text()
    for server in ("s0", "s1", "s2"):
        assert f"servers/{server} is DOWN" in log and f"servers/{server} is UP" in log, log


@pytest.mark.timeout(300)
@pytest.mark.parametrize("backend", ["postgresql"])
async def test_a_host_killed_mid_traffic_charges_nothing_twice(
    database_url: str, haproxy_bin: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a request that died with its host frees its Idempotency-Key this soon: retries of it wait
    # for the key (409 in flight, waited out by the SDK), then run or replay
    monkeypatch.setitem(ENV, "SAAS_LITELLM_IDEMPOTENCY_LEASE_SECONDS", "2")
    # a call that died with its host holds its job's credit until its deadline (every
    # deployment's timeout, twice, plus 10 s) has passed and the sweep settles the job: short
    # here (the mock answers in milliseconds), so that the test sees it settled
    monkeypatch.setitem(ENV, "SAAS_LITELLM_UPSTREAM_TIMEOUT", "1")
    monkeypatch.setitem(ENV, "SAAS_LITELLM_MAINTENANCE_INTERVAL_SECONDS", "0.5")
    with cluster(database_url, haproxy_bin, tmp_path) as (servers, url):
        async with SaasLiteLLMAdminClient(base_url=url, admin_key=ADMIN) as admin:
            await admin.create_organization(organization_id="org", name="Org")
            team = await admin.create_team(
                organization_id="org", team_id=TEAM, credits_allocated=CREDITS
            )
        running = True
        completed: list[str] = []

        async def jobs(client: SaasLiteLLMClient) -> None:
            while running:
                job = await client.create_job("killed")
                await client.llm_call(
                    job_id=job.job_id, messages=[{"role": "user", "content": "plain"}]
                )
                await client.complete_job(job.job_id, "completed")
                completed.append(job.job_id)

        async with SaasLiteLLMClient(
            base_url=url, team_id=TEAM, virtual_key=team.virtual_key, max_retries=8
        ) as client:
            load = [asyncio.create_task(jobs(client)) for _ in range(8)]
            try:
                await asyncio.sleep(1.5)
                servers.procs[1].kill()  # SIGKILL: no drain, requests die half-done
                before = len(completed)
                await asyncio.sleep(3)
                assert len(completed) > before  # the two others carry the traffic on
            finally:
                running = False
            await asyncio.gather(*load)  # every operation succeeded, retries included

            details = [await client.get_job(job_id) for job_id in completed]
            # a job whose call was in flight on the killed host is completed but holds its
            # credit until the sweep finds that call dead, then is charged once
            deadline = time.monotonic() + 60
            while (balance := await client.get_balance()).credits_reserved:
                assert time.monotonic() < deadline, balance
                await asyncio.sleep(0.2)
            ledger = [t.credits async for t in client.list_transactions()]
            listed = [j async for j in client.list_jobs()]
        # a retried call is replayed or run once: one call per job, one credit per job
        assert all(len(d.calls) == 1 and d.status == "completed" for d in details)
        assert {j.job_id: j.status for j in listed} == dict.fromkeys(completed, "completed")
        assert balance.credits_used == len(completed)
        assert balance.credits_remaining == CREDITS - len(completed) == sum(ledger)
