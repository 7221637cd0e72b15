"""OpenTelemetry for the SDK, when ``opentelemetry-api`` is installed (``saas-litellm[otel]``).

Each HTTP attempt becomes a CLIENT span named by the endpoint's template
(``POST /api/jobs/{job_id}/llm-call``), and carries its W3C ``traceparent``, so that the
server's spans (``SAAS_LITELLM_OTEL=true``) and the upstream's join the caller's trace. On when
the application has set a tracer provider (``trace.set_tracer_provider``) or
``SAAS_LITELLM_OTEL=true`` (read once, at the first request). The SDK never imports
``opentelemetry`` itself unless that variable says so: an application that traces has imported
it already; off, a request pays for a dictionary look-up.
"""

from __future__ import annotations

import os
import sys
from types import TracebackType
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from opentelemetry.trace import Span

__all__ = ["span"]

_ON = ("1", "true", "yes", "on")


class _Off:
    """What :func:`span` returns when tracing is off: does nothing."""

    __slots__ = ()

    def __enter__(self) -> _Off:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def answered(self, response: httpx.Response) -> None:
        return None


_OFF = _Off()


_env: list[bool] = []
"""Whether ``SAAS_LITELLM_OTEL`` says on: read at the first request."""


def _env_on() -> bool:
    if not _env:
        _env.append(os.environ.get("SAAS_LITELLM_OTEL", "").lower() in _ON)
    return _env[0]


def _enabled() -> bool:
    if "opentelemetry.trace" not in sys.modules:
        if not _env_on():
            return False
        try:
            import opentelemetry.trace  # noqa: F401
        except ImportError:
            return False
        return True
    from opentelemetry import trace

    return _env_on() or not isinstance(
        trace.get_tracer_provider(), trace.ProxyTracerProvider | trace.NoOpTracerProvider
    )


class _Span:
    """One attempt's span; its ``traceparent`` goes into the request's headers."""

    __slots__ = ("_span",)

    def __init__(self, request: httpx.Request, route: str, attempt: int) -> None:
        from opentelemetry import propagate, trace
        from opentelemetry.trace import SpanKind

        from ._version import __version__

        tracer = trace.get_tracer("saas_litellm_client", __version__)
        url = request.url
        attributes: dict[str, Any] = {
            "http.request.method": request.method,
            "url.full": str(url.copy_with(query=None)),
            "server.address": url.host,
        }
        if url.port is not None:
            attributes["server.port"] = url.port
        if route:
            attributes["url.template"] = route
        if attempt > 1:
            attributes["http.request.resend_count"] = attempt - 1
        self._span: Span = tracer.start_span(
            f"{request.method} {route}" if route else request.method,
            kind=SpanKind.CLIENT,
            attributes=attributes,
        )
        carrier: dict[str, str] = {}
        propagate.inject(carrier, context=trace.set_span_in_context(self._span))
        request.headers.update(carrier)

    def __enter__(self) -> _Span:
        return self

    def answered(self, response: httpx.Response) -> None:
        from opentelemetry.trace import Status, StatusCode

        self._span.set_attribute("http.response.status_code", response.status_code)
        if response.status_code >= 400:
            self._span.set_attribute("error.type", str(response.status_code))
            self._span.set_status(Status(StatusCode.ERROR))

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is not None:
            from opentelemetry.trace import Status, StatusCode

            self._span.set_attribute("error.type", type(exc).__name__)
            self._span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
        self._span.end()


def span(request: httpx.Request, route: str, attempt: int) -> _Span | _Off:
    """The span of one attempt (``with``), or a no-op when tracing is off."""
    return _Span(request, route, attempt) if _enabled() else _OFF
