"""A lean HTTP/1.1 client for the hot path's one request: a non-streamed JSON POST to a
plain-HTTP upstream, on pooled keep-alive connections.

aiohttp spends ~0.10 ms of CPU on each request (a request and a response object, a stream
reader, trace and cookie hooks, a timeout context); this spends ~0.02 ms (``bench/
upstream_hop.py``): the request's bytes written at once, the answer parsed by httptools — the
parser uvicorn reads requests with. It serves non-streamed calls to ``http://`` upstreams
without a proxy (a LiteLLM proxy next to the server); TLS, proxies and streams stay on aiohttp
(``OpenAIProvider``). Its timeout is aiohttp's ``sock_read`` and ``connect`` as the provider
used them: connecting, and any silence while waiting for the answer, each bounded.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Mapping
from typing import NamedTuple, cast

import httptools

__all__ = ["Answer", "Http1Pool", "MalformedAnswer", "encode_request"]


class Answer(NamedTuple):
    status: int
    body: bytes


class MalformedAnswer(Exception):
    """What came back is not an HTTP/1.1 answer this client reads."""


def encode_request(netloc: str, path: str, headers: Mapping[str, str], body: bytes) -> bytes | None:
    """The request's bytes, or ``None`` when a header cannot be written as is (a line break in
    a value: the caller sends it another way, which refuses it)."""
    lines = [f"POST {path} HTTP/1.1", f"Host: {netloc}", f"Content-Length: {len(body)}"]
    for name, value in headers.items():
        if "\r" in value or "\n" in value or "\r" in name or "\n" in name or ":" in name:
            return None
        lines.append(f"{name}: {value}")
    try:
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
    except UnicodeEncodeError:
        return None


class _Connection(asyncio.Protocol):
    """One keep-alive connection: one request at a time, its answer parsed as it arrives."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future[Answer] | None = None
        self.chunks: list[bytes] = []
        self.encoding = b""
        self.closed = False
        self.reusable = False
        self.last_read = 0.0
        self.idle_since = 0.0
        self._timer: asyncio.TimerHandle | None = None

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        self.last_read = self.loop.time()
        if self.waiter is None:  # bytes nobody asked for: this connection is not to be reused
            self.close()
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(MalformedAnswer(str(exc)))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(exc or ConnectionResetError("the upstream closed the connection"))

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() == b"content-encoding":
            self.encoding = value.strip().lower()

    def on_body(self, body: bytes) -> None:
        self.chunks.append(body)

    def on_message_complete(self) -> None:
        waiter, self.waiter = self.waiter, None
        body = b"".join(self.chunks)
        self.chunks = []
        status = self.parser.get_status_code()
        self.reusable = self.parser.should_keep_alive() and not self.closed
        if waiter is None or waiter.done():
            return
        try:
            body = _decoded(body, self.encoding)
        except (zlib.error, MalformedAnswer) as exc:
            waiter.set_exception(MalformedAnswer(str(exc)))
            return
        waiter.set_result(Answer(status, body))

    def _fail(self, exc: BaseException) -> None:
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)
        self.close()

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    async def exchange(self, request: bytes, timeout: float) -> Answer:
        """Send ``request`` and wait for its whole answer; silence longer than ``timeout``
        between two reads (or before the first) is a :class:`asyncio.TimeoutError`."""
        assert self.transport is not None
        self.reusable = False
        self.encoding = b""
        waiter: asyncio.Future[Answer] = self.loop.create_future()
        self.waiter = waiter
        self.last_read = self.loop.time()

        def check() -> None:
            if waiter.done():
                return
            if self.loop.time() - self.last_read >= timeout:
                self._fail(asyncio.TimeoutError())
            else:  # it read since: wait for the rest of the silence
                self._timer = self.loop.call_at(self.last_read + timeout, check)

        self._timer = self.loop.call_at(self.last_read + timeout, check)
        try:
            self.transport.write(request)
            return await waiter
        finally:
            self._timer.cancel()


def _decoded(body: bytes, encoding: bytes) -> bytes:
    if encoding in (b"", b"identity"):
        return body
    if encoding in (b"gzip", b"x-gzip"):
        return zlib.decompress(body, 16 + zlib.MAX_WBITS)
    if encoding == b"deflate":
        return zlib.decompress(body)
    raise MalformedAnswer(f"an answer encoded as {encoding.decode(errors='replace')!r}")


async def _connect(
    loop: asyncio.AbstractEventLoop, host: str, port: int, timeout: float
) -> _Connection:
    _, connection = await asyncio.wait_for(
        loop.create_connection(lambda: _Connection(loop), host, port), timeout
    )
    return connection


class Http1Pool:
    """Keep-alive connections per upstream (host, port), the most recently used first; no cap
    on how many (as the aiohttp session has none). An idle connection is dropped after
    ``keepalive`` seconds, before the upstream's own idle timeout closes it under a request."""

    def __init__(self, keepalive: float) -> None:
        self.keepalive = keepalive
        self._idle: dict[tuple[str, int], list[_Connection]] = {}

    async def post(self, host: str, port: int, request: bytes, timeout: float) -> Answer:
        """The answer to ``request`` (from :func:`encode_request`). Raises
        :class:`asyncio.TimeoutError`, :class:`OSError` (refused, reset, closed before the
        answer was whole) or :class:`MalformedAnswer`."""
        loop = asyncio.get_running_loop()
        connection = self._take(host, port, loop.time()) or await _connect(
            loop, host, port, timeout
        )
        try:
            answer = await connection.exchange(request, timeout)
        except BaseException:
            connection.close()  # cancelled or failed midway: its state is unknown
            raise
        if connection.reusable:
            connection.idle_since = now = loop.time()
            idle = self._idle.setdefault((host, port), [])
            while idle and (idle[0].closed or now - idle[0].idle_since >= self.keepalive):
                idle.pop(0).close()  # the least recently used first: closed or gone stale
            idle.append(connection)
        else:
            connection.close()
        return answer

    def _take(self, host: str, port: int, now: float) -> _Connection | None:
        idle = self._idle.get((host, port))
        while idle:
            connection = idle.pop()
            if connection.closed or now - connection.idle_since >= self.keepalive:
                connection.close()
                continue
            return connection
        return None

    def close(self) -> None:
        for idle in self._idle.values():
            for connection in idle:
                connection.close()
        self._idle.clear()
