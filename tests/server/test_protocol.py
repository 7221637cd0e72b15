"""Slow clients cannot hold sockets (issue 12 item 8): the header and body read timeouts of
``_protocol``, against the real server over real sockets."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import ExitStack
from urllib.parse import urlsplit

import httpx
import pytest
from support import TEAM, bearer, create_team, live_server, run_sync

from saas_litellm_server import Settings, create_app


@pytest.fixture
def slow_url(database_url: str) -> Iterator[str]:
    settings = Settings(  # type: ignore[call-arg]
        database_url=database_url,
        header_timeout_seconds=0.5,
        body_timeout_seconds=0.5,
        _env_file=None,
    )
    with live_server(create_app(settings), settings) as url:
        yield url


def _connect(url: str) -> socket.socket:
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port))
    sock.settimeout(15)  # far beyond the 0.5 s timeouts: only a server that never closes fails
    return sock


def _read_until_closed(sock: socket.socket) -> bytes:
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def test_item8_slow_headers_get_408_and_are_closed(slow_url: str) -> None:
    with ExitStack() as stack:
        socks = [stack.enter_context(_connect(slow_url)) for _ in range(60)]
        for i, sock in enumerate(socks):
            if i % 3 == 0:
                continue  # says nothing at all
            sock.sendall(b"POST /api/jobs/create HTTP/1.1\r\nHost: localhost\r\n")  # never finishes
        answers = [_read_until_closed(sock) for sock in socks]
    assert all(a.startswith(b"HTTP/1.1 408 ") for a in answers), answers[:2]
    assert b'"type":"request_timeout"' in answers[1]


def test_item8_a_slow_body_gets_408_and_changes_nothing(slow_url: str) -> None:
    async def setup() -> str:
        async with httpx.AsyncClient(base_url=slow_url) as http:
            return await create_team(http, credits=5)

    key = run_sync(setup())
    body = b'{"team_id": "%s", "job_type": "slow"}' % TEAM.encode()
    with ExitStack() as stack:
        socks = [stack.enter_context(_connect(slow_url)) for _ in range(20)]
        for sock in socks:
            sock.sendall(
                b"POST /api/jobs/create HTTP/1.1\r\nHost: localhost\r\n"
                b"Content-Type: application/json\r\n"
                + f"Authorization: Bearer {key}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                + body[:10]
            )
        answers = [_read_until_closed(sock) for sock in socks]
    assert all(a.startswith(b"HTTP/1.1 408 ") for a in answers), answers[:2]
    balance = httpx.get(f"{slow_url}/api/credits/balance", headers=bearer(key)).json()
    assert balance["credits_reserved"] == 0  # no job was opened by a half-sent body


def test_item8_prompt_clients_are_unaffected(slow_url: str) -> None:
    with httpx.Client(base_url=slow_url) as http:  # one keep-alive connection, many requests
        for _ in range(5):
            assert http.get("/health").status_code == 200
