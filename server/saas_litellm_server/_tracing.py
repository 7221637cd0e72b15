"""OpenTelemetry traces (``SAAS_LITELLM_OTEL=true``, extra ``saas-litellm[otel]``).

The one module of the server that imports ``opentelemetry``, and only ``create_app`` imports it,
when tracing is on: with it off the package is never loaded, and the hooks in the store and the
call service cost one attribute read (``_timing``).

Per request: a SERVER span named by the route's template (``POST /api/jobs/{job_id}/llm-call``,
never the raw path), continuing the caller's W3C ``traceparent``; under it a CLIENT span per
database statement (named by its operation and table, ``SELECT jobs``: no values, so no
secrets) and per upstream call, with the OpenTelemetry GenAI attributes and the job and team
ids; the upstream call carries the trace on in its own ``traceparent``. Spans go to the
standard ``OTEL_EXPORTER_OTLP_*`` endpoint over OTLP/HTTP (the SDK reads those variables).
"""

from __future__ import annotations

import dataclasses
import os
import time
from typing import Any

from opentelemetry import context, propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from saas_litellm_models import Usage

from ._version import __version__
from .providers import ProviderRequest

__all__ = ["Tracing", "TracingMiddleware"]

_SERVICE = "saas-litellm-server"


def _provider() -> TracerProvider:
    """A provider exporting over OTLP/HTTP as the ``OTEL_*`` variables say (endpoint, headers,
    service name, batch delays)."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    named = os.environ.get("OTEL_SERVICE_NAME")
    provider = TracerProvider(resource=Resource.create({} if named else {"service.name": _SERVICE}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


def _summary(query: object) -> str:
    """A statement's span name: its operation and table, never its values."""
    summary = getattr(query, "summary", None)  # a store Statement
    if isinstance(summary, str):
        return summary
    if isinstance(query, str):
        return query.split(None, 1)[0].upper() if query.strip() else "SQL"
    if isinstance(query, list | tuple):  # Database.run_atomic's steps: (statement, values, gate)
        first = _summary(query[0][0]).split(" ", 1) if query else []
        return f"BATCH {first[1]}" if len(first) > 1 else "BATCH"
    operation = str(getattr(query, "__visit_name__", "sql")).upper()
    table = getattr(getattr(query, "table", None), "name", None)
    if table is None and hasattr(query, "get_final_froms"):  # a SELECT
        table = next((f.name for f in query.get_final_froms() if hasattr(f, "name")), None)
    return f"{operation} {table}" if isinstance(table, str) else operation


class _Upstream:
    """The span of one upstream call (see ``_timing.UpstreamSpan``)."""

    __slots__ = ("_span", "request")

    def __init__(self, span: trace.Span, request: ProviderRequest) -> None:
        self._span = span
        headers = dict(request.headers or {})
        propagate.inject(headers, context=trace.set_span_in_context(span))
        self.request = dataclasses.replace(request, headers=headers)

    def answered(self, model: str | None, usage: Usage | None, finish_reason: str | None) -> None:
        span = self._span
        if model:
            span.set_attribute("gen_ai.response.model", model)
        if usage is not None:
            span.set_attribute("gen_ai.usage.input_tokens", usage.prompt_tokens)
            span.set_attribute("gen_ai.usage.output_tokens", usage.completion_tokens)
        if finish_reason:
            span.set_attribute("gen_ai.response.finish_reasons", [finish_reason])

    def end(self, error: BaseException | None = None) -> None:
        span = self._span
        if not span.is_recording():
            return
        if error is not None:
            span.set_attribute("error.type", type(error).__name__)
            span.set_status(Status(StatusCode.ERROR, str(error)[:200]))
        span.end()


class Tracing:
    """One app's tracer: the hooks of ``_timing.Tracer`` and the middleware's spans."""

    def __init__(self, provider: Any = None, *, database: str = "") -> None:
        self.owned = provider is None
        self.provider = _provider() if provider is None else provider
        self.tracer = self.provider.get_tracer("saas_litellm_server", __version__)
        self.db_system = "postgresql" if database.startswith("postgres") else "sqlite"

    def statement(self, seconds: float, query: object) -> None:
        end = time.time_ns()
        name = _summary(query)
        span = self.tracer.start_span(
            name,
            kind=SpanKind.CLIENT,
            start_time=end - int(seconds * 1e9),
            attributes={
                "db.system.name": self.db_system,
                "db.operation.name": name.split(" ", 1)[0],
            },
        )
        span.end(end_time=end)

    def upstream(self, request: ProviderRequest, job_id: str, team_id: str) -> _Upstream:
        operation = "chat" if request.input is None else "embeddings"
        span = self.tracer.start_span(
            f"{operation} {request.model}",
            kind=SpanKind.CLIENT,
            attributes={
                "gen_ai.operation.name": operation,
                "gen_ai.request.model": request.model,
                "saas_litellm.job_id": job_id,
                "saas_litellm.team_id": team_id,
            },
        )
        return _Upstream(span, request)

    def shutdown(self) -> None:
        """Send what is still buffered (a provider the server made; a given one is the
        caller's)."""
        if self.owned:
            self.provider.shutdown()


class TracingMiddleware:
    """A SERVER span around each HTTP request, continuing the caller's ``traceparent``."""

    def __init__(self, app: ASGIApp, *, tracing: Tracing) -> None:
        self.app = app
        self.tracer = tracing.tracer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        carrier = {
            name.decode("latin-1"): value.decode("latin-1")
            for name, value in scope["headers"]
            if name in (b"traceparent", b"tracestate")
        }
        method = scope.get("method", "")
        span = self.tracer.start_span(
            method,
            context=propagate.extract(carrier),
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method, "url.path": scope.get("path", "")},
        )
        token = context.attach(trace.set_span_in_context(span))
        status = 500

        async def send_traced(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_traced)
        except BaseException as exc:
            # its type only: an exception's text may quote what a trace must not carry
            span.set_attribute("error.type", type(exc).__qualname__)
            status = 500
            raise
        finally:
            route = scope.get("route")
            template = getattr(route, "path_format", None) or getattr(route, "path", None)
            if template:
                span.update_name(f"{method} {template}")
                span.set_attribute("http.route", template)
            span.set_attribute("http.response.status_code", status)
            request_id = scope.get("state", {}).get("request_id")
            if request_id:
                span.set_attribute("saas_litellm.request_id", request_id)
            if status >= 500:
                span.set_status(Status(StatusCode.ERROR))
            context.detach(token)
            span.end()
