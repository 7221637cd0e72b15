"""Helpers shared by the test modules (on sys.path through pytest's ``pythonpath``)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import httpx
import uvicorn
from starlette.applications import Starlette

from saas_litellm_server import Settings
from saas_litellm_server._cli import uvicorn_options

T = TypeVar("T")

ORG = "org_acme"
GROUP = "gpt-models"
TEAM = "acme-corp"


async def eventually(check: Callable[[], Awaitable[Any]], timeout: float = 10.0) -> Any:
    """Poll ``check`` until it returns a truthy value, which it returns (bounded: fails after
    ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion on a private loop in another thread."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


@contextlib.contextmanager
def live_server(app: Starlette, settings: Any = None, *, loop: str = "auto") -> Iterator[str]:
    """Serve ``app`` with uvicorn as ``serve`` does (its protocol and timeouts, from
    ``settings`` or the defaults) on a free loopback port, in a thread; yields the base URL.
    ``loop``: uvicorn's event loop (``auto``: uvloop, as ``serve`` runs)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    options = uvicorn_options(settings or Settings(_env_file=None))  # type: ignore[call-arg]
    del options["host"], options["port"]
    options["timeout_graceful_shutdown"] = 5  # a test's end waits no longer for what it left
    config = uvicorn.Config(app, log_level="warning", lifespan="on", loop=loop, **options)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        for _ in range(2000):
            if server.started or not thread.is_alive():
                break
            threading.Event().wait(0.005)
        if not server.started:
            raise RuntimeError("the live server did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def create_team(
    http: httpx.AsyncClient,
    *,
    team_id: str = TEAM,
    organization_id: str = ORG,
    credits: int = 1000,
    groups: tuple[str, ...] = (GROUP,),
    admin: dict[str, str] | None = None,
    **extra: Any,
) -> str:
    """Create the organization and groups if needed, then the team; returns its virtual key."""
    headers = admin or {}
    r = await http.post(
        "/api/organizations/create",
        json={"organization_id": organization_id, "name": organization_id},
        headers=headers,
    )
    assert r.status_code in (201, 409), r.text
    for group in groups:
        r = await http.post(
            "/api/model-access-groups/create", json={"group_name": group}, headers=headers
        )
        assert r.status_code in (201, 409), r.text
    r = await http.post(
        "/api/teams/create",
        json={
            "organization_id": organization_id,
            "team_id": team_id,
            "access_groups": list(groups),
            "credits_allocated": credits,
            **extra,
        },
        headers=headers,
    )
    assert r.status_code == 201, r.text
    key: str = r.json()["virtual_key"]
    return key


async def create_alias(
    http: httpx.AsyncClient,
    name: str,
    group: str = GROUP,
    *,
    admin: dict[str, str] | None = None,
    **prices: float,
) -> None:
    """Create ``group`` if needed, then the alias ``name`` in it with one mock deployment
    (model ``name.lower()``, priced by ``prices`` when given)."""
    headers = admin or {}
    r = await http.post(
        "/api/model-access-groups/create", json={"group_name": group}, headers=headers
    )
    assert r.status_code in (201, 409), r.text
    r = await http.post(
        "/api/model-aliases/create",
        json={
            "model_alias": name,
            "access_groups": [group],
            "deployments": [{"provider": "mock", "model": name.lower(), **prices}],
        },
        headers=headers,
    )
    assert r.status_code == 201, r.text


async def ledger(http: httpx.AsyncClient, key: str, team_id: str = TEAM) -> dict[str, Any]:
    """Everything a request could have changed for a team: balance and usage per job type."""
    balance = await http.get("/api/credits/balance", headers=bearer(key))
    usage = await http.get(f"/api/teams/{team_id}/usage", headers=bearer(key))
    assert balance.status_code == 200 and usage.status_code == 200
    return {"balance": balance.json(), "usage": usage.json()}


def run_mypy(modules: dict[str, str], directory: Path) -> dict[str, list[str]]:
    """``mypy --strict`` over ``modules`` (name -> source), all in one run (mypy is slow to
    start); returns each module's error lines (``name.py:LINE: error: …``)."""
    import importlib.util

    assert importlib.util.find_spec("mypy") is not None, "mypy must be installed to run this test"
    for name, source in modules.items():
        (directory / f"{name}.py").write_text(source)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-error-summary",
            "--hide-error-context",
            "--cache-dir",
            str(directory / ".mypy_cache"),
            *(f"{name}.py" for name in modules),
        ],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    # 0: clean, 1: errors found; anything else (or errors on stderr) means mypy did not check
    assert result.returncode in (0, 1) and not result.stderr.strip(), result.stdout + result.stderr
    errors: dict[str, list[str]] = {name: [] for name in modules}
    for line in result.stdout.splitlines():
        name = line.split(".py:", 1)[0]
        if ": error:" in line and name in errors:
            errors[name].append(line)
    return errors


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(
    database_url: str,
    *,
    port: int | None = None,
    env: dict[str, str] | None = None,
    args: tuple[str, ...] = (),
) -> tuple[str, subprocess.Popen[bytes]]:
    """Start a real ``saas-litellm-server serve`` process on a loopback port (not waiting for
    it: see :func:`wait_until_up`), with the extra command-line ``args``; its URL and the
    process."""
    port = port or free_port()
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "saas_litellm_server", "serve", "--port", str(port)),
            *("--database-url", database_url, "--log-level", "warning"),
            *args,
        ],
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return f"http://127.0.0.1:{port}", proc


@contextlib.contextmanager
def server_process(
    database_url: str,
    *,
    port: int | None = None,
    env: dict[str, str] | None = None,
    args: tuple[str, ...] = (),
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A real server process, ready; yields its URL and the process (stopped at the end unless
    the test killed it)."""
    url, proc = start_server(database_url, port=port, env=env, args=args)
    try:
        wait_until_up(f"{url}/health", proc, "the server")
        yield url, proc
    finally:
        stop(proc)


def wait_until_up(
    health_url: str, proc: subprocess.Popen[Any], what: str, *, seconds: float = 60
) -> None:
    """Poll ``health_url`` until it answers 200; fail if ``proc`` exits or time runs out."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if httpx.get(health_url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start within {seconds:g} s")
        time.sleep(0.05)


def stop(proc: subprocess.Popen[Any], *, seconds: float = 15) -> None:
    """Terminate ``proc`` (unless it already ended), then kill it if it lingers."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def database_behind_proxy(database_url: str) -> Iterator[tuple[Any, str]]:
    """A TCP proxy in front of the database (``tcp_proxy.TcpProxy``: cut it to take the database
    away); yields the proxy and the database URL through it."""
    from urllib.parse import urlparse

    from tcp_proxy import TcpProxy

    url = urlparse(database_url)
    port = url.port or 5432
    with TcpProxy(url.hostname or "127.0.0.1", port) as proxy:
        yield proxy, database_url.replace(f":{port}/", f":{proxy.port}/")


@contextlib.asynccontextmanager
async def app_client(settings: Settings) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient]]:
    """The app built from ``settings`` with its lifespan entered, and an in-process client."""
    from saas_litellm_server import create_app

    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://localhost"
        ) as http,
    ):
        yield app, http


async def open_job(
    http: httpx.AsyncClient, key: str, *, team_id: str = TEAM, job_type: str = "x"
) -> str:
    """Open a job for the team of ``key``; its id."""
    r = await http.post(
        "/api/jobs/create", json={"team_id": team_id, "job_type": job_type}, headers=bearer(key)
    )
    assert r.status_code == 201, r.text
    job_id: str = r.json()["job_id"]
    return job_id


def headless_chromium(*flags: str) -> Iterator[Any]:
    """Debian's headless Chromium under chromedriver, with a throw-away profile (``flags`` add
    to the defaults). Skips when it is not installed, unless ``SAAS_LITELLM_REQUIRE_BROWSER``
    is set (as in CI), which makes that a failure. Use as a generator fixture's body."""
    import os
    import shutil
    import tempfile

    import pytest
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    chromedriver = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    if not (Path(chromium).exists() and Path(chromedriver).exists()):
        reason = "headless Chromium is not installed (apt-get install chromium chromium-driver)"
        if os.environ.get("SAAS_LITELLM_REQUIRE_BROWSER"):
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    profile = tempfile.mkdtemp(prefix="chromium-")
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
        f"--user-data-dir={profile}",
        *flags,
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(chromedriver), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


async def stub_team(url: str, aliases: dict[str, list[str]]) -> Any:
    """On the live server at ``url``: the organization ``org_acme``, the group ``gpt-models``,
    one alias per entry routed to those upstream-stub models in fallback order (priced 1 and 3
    USD per million), and the team ``acme-corp`` with 100 credits; its ``TeamCreated``."""
    from saas_litellm_client import SaasLiteLLMAdminClient

    async with SaasLiteLLMAdminClient(base_url=url) as admin:
        await admin.create_organization("org_acme", "ACME")
        await admin.create_model_access_group("gpt-models")
        for alias, models in aliases.items():
            await admin.create_model_alias(
                alias,
                access_groups=["gpt-models"],
                deployments=[
                    {
                        "provider": "openai",
                        "model": m,
                        "input_cost_per_million": 1.0,
                        "output_cost_per_million": 3.0,
                    }
                    for m in models
                ],
            )
        return await admin.create_team(
            "org_acme", "acme-corp", access_groups=["gpt-models"], credits_allocated=100
        )


def unavailable(reason: str) -> NoReturn:
    """Skip a test that needs a real part this machine lacks, with ``reason``; under
    ``SAAS_LITELLM_REQUIRE_POSTGRES=1`` (CI, whose ``.ci/run`` installs every such part) fail."""
    import pytest

    if os.environ.get("SAAS_LITELLM_REQUIRE_POSTGRES", "") not in ("", "0", "false"):
        pytest.fail(f"{reason}; SAAS_LITELLM_REQUIRE_POSTGRES is set", pytrace=False)
    pytest.skip(reason)
