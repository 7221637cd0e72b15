"""``Server-Timing``: where a request's time went, on every response.

``total`` is the request's wall time in the server up to its response headers, ``db`` the time
spent in database statements (waiting for a pooled connection included), ``upstream`` the time
spent waiting for model providers; milliseconds. A streamed (SSE) response sends its headers
before the body, so it reports what was known then: the checks and the reservation (``db``),
not yet the stream (``upstream`` 0). ``db`` and ``upstream`` never exceed ``total``.

Each request gets its own accumulator in a context variable (tasks the request starts share
it); the store and the call service add to it. Nothing else is disclosed: three durations that
the caller could mostly measure itself.
"""

from __future__ import annotations

from contextvars import ContextVar
from time import perf_counter

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import _metrics
from ._metrics import Metrics

__all__ = ["RequestTiming", "ServerTimingMiddleware", "add_db", "add_upstream"]


class RequestTiming:
    """Seconds one request spent in the database and upstream so far."""

    __slots__ = ("db", "upstream")

    def __init__(self) -> None:
        self.db = 0.0
        self.upstream = 0.0

    def header(self, total: float) -> bytes:
        db, upstream = min(self.db, total), min(self.upstream, total)
        return (
            f"total;dur={total * 1000:.3f}, db;dur={db * 1000:.3f}, "
            f"upstream;dur={upstream * 1000:.3f}"
        ).encode()


_current: ContextVar[RequestTiming | None] = ContextVar("saas_litellm_timing", default=None)


def add_db(seconds: float) -> None:
    timing = _current.get()
    if timing is not None:
        timing.db += seconds


def add_upstream(seconds: float) -> None:
    timing = _current.get()
    if timing is not None:
        timing.upstream += seconds


class ServerTimingMiddleware:
    """Adds ``Server-Timing`` to every response and, with metrics on, counts the request (by
    route template and status) and the time the server added to it."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics | None = None) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        timing = RequestTiming()
        token = _current.set(timing)
        metrics = self.metrics
        metrics_token = _metrics.use(metrics)
        start = perf_counter()
        status = 500
        streamed = False

        async def send_timed(message: Message) -> None:
            nonlocal status, streamed
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", ()))
                for name, value in headers:
                    if name.lower() == b"content-type":
                        streamed = value.startswith(b"text/event-stream")
                headers.append((b"server-timing", timing.header(perf_counter() - start)))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_timed)
        finally:
            _current.reset(token)
            _metrics.reset(metrics_token)
            if metrics is not None:
                elapsed = perf_counter() - start
                overhead = None if streamed else elapsed - timing.upstream
                metrics.request_done(scope, status, overhead)
                state = getattr(scope.get("app"), "state", None)
                runtime = getattr(state, "runtime", None)
                if runtime is not None:
                    metrics.sample_pool(runtime.db)
