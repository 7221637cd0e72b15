"""``Server-Timing``: where a request's time went, on every response.

``total`` is the request's wall time in the server up to its response headers, ``db`` the time
spent in database statements (waiting for a pooled connection included), ``upstream`` the time
spent waiting for model providers; milliseconds. A streamed (SSE) response sends its headers
before the body, so it reports what was known then: the checks and the reservation (``db``),
not yet the stream (``upstream`` 0). ``db`` and ``upstream`` never exceed ``total``.

Each request gets its own accumulator in a context variable (tasks the request starts share
it); the store and the call service add to it. Nothing else is disclosed: three durations that
the caller could mostly measure itself.

The accumulator also carries the app's :class:`Tracer` (``SAAS_LITELLM_OTEL=true``, see
``_tracing``), ``None`` when tracing is off: the phases timed here are the spans traced there,
and when tracing is off a hook costs one attribute read.
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from time import perf_counter
from typing import TYPE_CHECKING, Protocol

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import _metrics
from ._metrics import Metrics

if TYPE_CHECKING:
    from saas_litellm_models import Usage

    from .providers import ProviderRequest

__all__ = [
    "RequestTiming",
    "ServerTimingMiddleware",
    "Tracer",
    "UpstreamSpan",
    "add_db",
    "add_upstream",
    "count_request",
    "reset",
    "tracer",
    "use",
]


class UpstreamSpan(Protocol):
    """One traced upstream call: the headers that carry its trace context, and its end."""

    @property
    def request(self) -> ProviderRequest:
        """The request to send: the one given, with the trace context in its headers."""
        ...

    def answered(self, model: str | None, usage: Usage | None, finish_reason: str | None) -> None:
        """The upstream answered: the model that did, its usage."""

    def end(self, error: BaseException | None = None) -> None:
        """The call is over (a second call does nothing)."""


class Tracer(Protocol):
    """What the store and the call service report to tracing (implemented by ``_tracing``)."""

    def statement(self, seconds: float, query: object) -> None:
        """A database statement (or atomic batch) that just ended, after ``seconds``."""

    def upstream(self, request: ProviderRequest, job_id: str, team_id: str) -> UpstreamSpan:
        """An upstream call about to be sent."""
        ...


class RequestTiming:
    """Seconds one request spent in the database and upstream so far, and the app's tracer."""

    __slots__ = ("db", "tracer", "upstream")

    def __init__(self, tracer: Tracer | None = None) -> None:
        self.db = 0.0
        self.upstream = 0.0
        self.tracer = tracer

    def header(self, total: float) -> bytes:
        db, upstream = min(self.db, total), min(self.upstream, total)
        return (
            f"total;dur={total * 1000:.3f}, db;dur={db * 1000:.3f}, "
            f"upstream;dur={upstream * 1000:.3f}"
        ).encode()


_current: ContextVar[RequestTiming | None] = ContextVar("saas_litellm_timing", default=None)


def use(timing: RequestTiming) -> Token[RequestTiming | None]:
    """Make ``timing`` the current request's accumulator (until :func:`reset`)."""
    return _current.set(timing)


def reset(token: Token[RequestTiming | None]) -> None:
    _current.reset(token)


def add_db(seconds: float, query: object = None) -> None:
    timing = _current.get()
    if timing is not None:
        timing.db += seconds
        if timing.tracer is not None:
            timing.tracer.statement(seconds, query)


def tracer() -> Tracer | None:
    """The tracer of the app serving this request; ``None`` when tracing is off."""
    timing = _current.get()
    return None if timing is None else timing.tracer


def add_upstream(seconds: float) -> None:
    timing = _current.get()
    if timing is not None:
        timing.upstream += seconds


class ServerTimingMiddleware:
    """Adds ``Server-Timing`` to every response and, with metrics on, counts the request (by
    route template and status) and the time the server added to it."""

    def __init__(
        self, app: ASGIApp, *, metrics: Metrics | None = None, tracer: Tracer | None = None
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.tracer = tracer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        timing = RequestTiming(self.tracer)
        token = use(timing)
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
            reset(token)
            _metrics.reset(metrics_token)
            count_request(metrics, scope, status, perf_counter() - start, timing, streamed)


def count_request(
    metrics: Metrics | None,
    scope: Scope,
    status: int,
    seconds: float,
    timing: RequestTiming,
    streamed: bool,
) -> None:
    """With metrics on: the request by route template and status, the time the server added
    to it (not for a stream, whose time is its upstream's), and the database pool's use."""
    if metrics is None:
        return
    metrics.request_done(scope, status, None if streamed else seconds - timing.upstream)
    runtime = getattr(getattr(scope.get("app"), "state", None), "runtime", None)
    if runtime is not None:
        metrics.sample_pool(runtime.db)
