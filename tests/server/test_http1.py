"""The lean HTTP/1.1 client of non-streamed upstream calls (providers/_http1.py), against a
scripted loopback server: keep-alive reuse, chunked and gzip answers, closes, silence,
malformed answers and cancellation."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest

from saas_litellm_server.providers._http1 import Http1Pool, MalformedAnswer, encode_request

Script = Callable[[bytes], bytes | None]
"""What the server answers to a request (``None``: nothing, the connection stays silent)."""


@dataclass
class Server:
    port: int
    script: list[Script]
    connections: int = 0
    requests: list[bytes] = field(default_factory=list)
    close_after: bool = False


def ok(body: bytes, *extra: str) -> Script:
    head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" + "".join(
        f"{h}\r\n" for h in extra
    )
    return lambda _: (head + f"Content-Length: {len(body)}\r\n\r\n").encode() + body


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    state = Server(0, [])

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        state.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length")
                )
                request = head + await reader.readexactly(length)
                state.requests.append(request)
                answer = state.script.pop(0)(request)
                if answer is None:
                    await asyncio.sleep(3600)
                writer.write(answer)
                await writer.drain()
                if state.close_after:
                    break
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    listener = await asyncio.start_server(handle, "127.0.0.1", 0)
    state.port = listener.sockets[0].getsockname()[1]
    async with listener:
        yield state
        listener.close()


def request(body: bytes = b'{"model": "m"}') -> bytes:
    raw = encode_request("127.0.0.1", "/v1/chat/completions", {"Content-Type": "x/json"}, body)
    assert raw is not None
    return raw


async def test_answers_come_back_on_one_kept_alive_connection(server: Server) -> None:
    server.script = [ok(b'{"n": 1}'), ok(b'{"n": 2}'), ok(b'{"n": 3}')]
    pool = Http1Pool(keepalive=4)
    answers = [await pool.post("127.0.0.1", server.port, request(), 5) for _ in range(3)]
    assert [a.body for a in answers] == [b'{"n": 1}', b'{"n": 2}', b'{"n": 3}']
    assert {a.status for a in answers} == {200}
    assert server.connections == 1
    first = server.requests[0]
    assert first.startswith(b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    assert b"Content-Length: 14\r\n" in first and first.endswith(b'\r\n\r\n{"model": "m"}')
    pool.close()


async def test_chunked_and_gzip_answers_are_decoded(server: Server) -> None:
    packed = gzip.compress(b'{"zipped": true}')
    server.script = [
        lambda _: (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            b'5\r\n{"a":\r\n3\r\n 1}\r\n0\r\n\r\n'
        ),
        ok(packed, "Content-Encoding: gzip"),
        lambda _: b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 4\r\n\r\nnope",
    ]
    pool = Http1Pool(keepalive=4)
    assert (await pool.post("127.0.0.1", server.port, request(), 5)).body == b'{"a": 1}'
    assert (await pool.post("127.0.0.1", server.port, request(), 5)).body == b'{"zipped": true}'
    assert tuple(await pool.post("127.0.0.1", server.port, request(), 5)) == (502, b"nope")
    assert server.connections == 1
    pool.close()


async def test_a_connection_the_upstream_closes_is_not_reused(server: Server) -> None:
    server.close_after = True
    server.script = [ok(b"{}", "Connection: close"), ok(b"{}")]
    pool = Http1Pool(keepalive=4)
    await pool.post("127.0.0.1", server.port, request(), 5)
    await pool.post("127.0.0.1", server.port, request(), 5)
    assert server.connections == 2
    pool.close()


async def test_an_idle_connection_is_dropped_after_the_keepalive(server: Server) -> None:
    server.script = [ok(b"{}"), ok(b"{}")]
    pool = Http1Pool(keepalive=0.05)
    await pool.post("127.0.0.1", server.port, request(), 5)
    await asyncio.sleep(0.1)
    await pool.post("127.0.0.1", server.port, request(), 5)
    assert server.connections == 2
    pool.close()


async def test_silence_is_a_timeout_and_the_connection_is_dropped(server: Server) -> None:
    server.script = [lambda _: None, ok(b"{}")]
    pool = Http1Pool(keepalive=4)
    with pytest.raises(asyncio.TimeoutError):
        await pool.post("127.0.0.1", server.port, request(), 0.2)
    assert (await pool.post("127.0.0.1", server.port, request(), 5)).body == b"{}"
    assert server.connections == 2


async def test_an_answer_cut_short_or_malformed_is_an_error(server: Server) -> None:
    server.close_after = True
    server.script = [
        lambda _: b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"cut',
        lambda _: b"SMTP ready\r\n\r\n",
    ]
    pool = Http1Pool(keepalive=4)
    with pytest.raises(ConnectionResetError):
        await pool.post("127.0.0.1", server.port, request(), 5)
    with pytest.raises(MalformedAnswer):
        await pool.post("127.0.0.1", server.port, request(), 5)
    pool.close()


async def test_refused_and_cancelled_requests(server: Server) -> None:
    pool = Http1Pool(keepalive=4)
    listener = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    listener.close()
    await listener.wait_closed()
    with pytest.raises(ConnectionRefusedError):
        await pool.post("127.0.0.1", port, request(), 5)
    server.script = [lambda _: None, ok(b"{}")]
    waiting = asyncio.ensure_future(pool.post("127.0.0.1", server.port, request(), 30))
    await asyncio.sleep(0.1)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    # the cancelled request's connection is closed, never handed to the next one
    assert (await pool.post("127.0.0.1", server.port, request(), 5)).body == b"{}"
    assert server.connections == 2
    pool.close()


def test_a_header_that_cannot_be_written_as_is_is_left_to_aiohttp() -> None:
    assert encode_request("h", "/", {"X-A": "1\r\nX-Injected: yes"}, b"") is None
    assert encode_request("h", "/", {"X-A": "é"}, b"") is not None  # latin-1 is fine
    assert encode_request("h", "/", {"X-A": "雪"}, b"") is None
