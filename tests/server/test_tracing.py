"""OpenTelemetry traces (``SAAS_LITELLM_OTEL=true``, ``_tracing``): one trace from the SDK
through the server to the upstream, the GenAI attributes, export over real OTLP/HTTP, and
nothing of opentelemetry loaded when it is off."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from support import eventually, live_server, server_process, stub_team

from saas_litellm_client import SaasLiteLLMClient
from saas_litellm_server import Settings, create_app

MSG = [{"role": "user", "content": "trace me"}]
CALL = "POST /api/jobs/{job_id}/llm-call"
STREAM = "POST /api/jobs/{job_id}/llm-call-stream"

EXPORTER = InMemorySpanExporter()
PROVIDER = TracerProvider()
PROVIDER.add_span_processor(SimpleSpanProcessor(EXPORTER))


@pytest.fixture
def spans(monkeypatch: pytest.MonkeyPatch) -> Iterator[InMemorySpanExporter]:
    """The application's tracer provider (which the SDK traces to) and the server's: every
    finished span lands in one in-memory exporter, emptied for each test. Set for this test
    only (``set_tracer_provider`` is once per process): other tests' SDK calls stay untraced."""
    monkeypatch.setattr(trace, "_TRACER_PROVIDER", PROVIDER)
    assert trace.get_tracer_provider() is PROVIDER
    EXPORTER.clear()
    yield EXPORTER
    EXPORTER.clear()


def test_the_sdk_traces_only_when_the_application_does(
    spans: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a tracer provider set, each attempt of the (sync) SDK is a CLIENT span whose
    ``traceparent`` the request carries, marked failed on an error status; without one, the
    request goes as it did before."""
    import respx

    from saas_litellm_client import NotFoundError, SaasLiteLLMSyncClient

    with (
        respx.mock(base_url="http://sdk.test") as mock,
        SaasLiteLLMSyncClient(base_url="http://sdk.test", team_id="t", virtual_key="sk-x") as sdk,
    ):
        route = mock.get("/api/jobs/j1").respond(
            404, json={"error": {"type": "not_found", "message": "no job j1"}}
        )
        with pytest.raises(NotFoundError):
            sdk.get_job("j1")
        (span,) = spans.get_finished_spans()
        assert span.name == "GET /api/jobs/{job_id}" and span.kind == SpanKind.CLIENT
        assert dict(span.attributes or {})["http.response.status_code"] == 404
        assert not span.status.is_ok
        sent = route.calls.last.request.headers["traceparent"]
        assert sent.split("-")[1:3] == [
            f"{span.context.trace_id:032x}",
            f"{span.context.span_id:016x}",
        ]

        monkeypatch.setattr(trace, "_TRACER_PROVIDER", None)  # the application traces not
        with pytest.raises(NotFoundError):
            sdk.get_job("j1")
        assert "traceparent" not in route.calls.last.request.headers
        assert len(spans.get_finished_spans()) == 1


@pytest.fixture
async def client(
    upstream_settings: Settings, spans: InMemorySpanExporter
) -> AsyncIterator[SaasLiteLLMClient]:
    settings = upstream_settings.model_copy(update={"otel": True})
    with live_server(create_app(settings, tracer_provider=PROVIDER)) as url:
        team = await stub_team(url, {"Echo": ["echo"], "Fallback": ["error-500", "echo"]})
        async with SaasLiteLLMClient(
            base_url=url, team_id="acme-corp", virtual_key=team.virtual_key
        ) as c:
            yield c


def one(spans: list[ReadableSpan], name: str, kind: SpanKind) -> ReadableSpan:
    found = [s for s in spans if s.name == name and s.kind == kind]
    assert len(found) == 1, [(s.name, s.kind) for s in spans]
    return found[0]


def children(spans: list[ReadableSpan], parent: ReadableSpan) -> list[ReadableSpan]:
    return [s for s in spans if s.parent is not None and s.parent.span_id == parent.context.span_id]


async def test_one_trace_from_the_sdk_through_the_server_to_the_upstream(
    client: SaasLiteLLMClient, spans: InMemorySpanExporter, upstream: str
) -> None:
    job = await client.create_job("chat")
    spans.clear()
    response = await client.llm_call(job_id=job.job_id, messages=MSG, model="Echo")

    async def finished() -> list[ReadableSpan] | None:
        got = list(spans.get_finished_spans())  # the server span ends after its response
        return got if any(s.kind == SpanKind.SERVER for s in got) else None

    got = await eventually(finished)
    sdk = one(got, CALL, SpanKind.CLIENT)
    server = one(got, CALL, SpanKind.SERVER)
    assert sdk.attributes is not None and sdk.attributes["http.response.status_code"] == 200
    # the server continued the SDK's trace, under the SDK's span
    assert server.context.trace_id == sdk.context.trace_id
    assert server.parent is not None and server.parent.span_id == sdk.context.span_id
    assert server.attributes is not None
    assert server.attributes["http.route"] == "/api/jobs/{job_id}/llm-call"
    assert server.attributes["http.response.status_code"] == 200
    assert job.job_id not in server.name  # the template, never the raw path

    below = children(got, server)
    statements = [s for s in below if s.attributes and "db.system.name" in s.attributes]
    assert statements, [s.name for s in below]
    for statement in statements:
        assert statement.kind == SpanKind.CLIENT
        assert statement.name.split(" ", 1)[0] in {"SELECT", "INSERT", "UPDATE", "WITH", "BATCH"}
        assert statement.start_time is not None and server.start_time is not None
        assert server.start_time <= statement.start_time
    upstream_span = one(below, "chat echo", SpanKind.CLIENT)
    expected = {
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "echo",
        "gen_ai.response.model": "echo",
        "gen_ai.usage.input_tokens": response.usage.prompt_tokens,
        "gen_ai.usage.output_tokens": response.usage.completion_tokens,
        "saas_litellm.job_id": job.job_id,
        "saas_litellm.team_id": "acme-corp",
    }
    attributes = dict(upstream_span.attributes or {})
    assert {name: attributes.get(name) for name in expected} == expected

    # the upstream received the trace: same trace id, the upstream span as its parent
    sent = httpx.get(f"{upstream}/_stub/requests").json()[-1]
    version, trace_id, parent_id, flags = sent["traceparent"].split("-")
    assert (version, trace_id, parent_id) == (
        "00",
        f"{sdk.context.trace_id:032x}",
        f"{upstream_span.context.span_id:016x}",
    )
    assert int(flags, 16) & 1  # sampled


async def test_a_streamed_call_is_traced_with_its_usage(
    client: SaasLiteLLMClient, spans: InMemorySpanExporter, upstream: str
) -> None:
    job = await client.create_job("chat")
    spans.clear()
    async with client.stream(job_id=job.job_id, messages=MSG, model="Echo") as stream:
        async for _ in stream:
            pass
    assert stream.done is not None

    async def finished() -> list[ReadableSpan] | None:
        got = list(spans.get_finished_spans())
        return got if any(s.kind == SpanKind.SERVER for s in got) else None

    got = await eventually(finished)
    server = one(got, STREAM, SpanKind.SERVER)
    upstream_span = one(children(got, server), "chat echo", SpanKind.CLIENT)
    attributes = dict(upstream_span.attributes or {})
    assert attributes["gen_ai.response.model"] == "stub"  # as the upstream's chunks name it
    assert attributes["gen_ai.usage.input_tokens"] == stream.done.usage.prompt_tokens
    assert attributes["gen_ai.usage.output_tokens"] == stream.done.usage.completion_tokens
    sent = httpx.get(f"{upstream}/_stub/requests").json()[-1]
    assert sent["traceparent"].split("-")[1] == f"{server.context.trace_id:032x}"


async def test_a_failed_attempt_and_its_fallback_are_two_upstream_spans(
    client: SaasLiteLLMClient, spans: InMemorySpanExporter
) -> None:
    job = await client.create_job("chat")
    spans.clear()
    await client.llm_call(job_id=job.job_id, messages=MSG, model="Fallback")

    async def finished() -> list[ReadableSpan] | None:
        got = list(spans.get_finished_spans())
        return got if any(s.kind == SpanKind.SERVER for s in got) else None

    got = await eventually(finished)
    below = children(got, one(got, CALL, SpanKind.SERVER))
    failed = one(below, "chat error-500", SpanKind.CLIENT)
    answered = one(below, "chat echo", SpanKind.CLIENT)
    assert not failed.status.is_ok and dict(failed.attributes or {})["error.type"] == (
        "ProviderError"
    )
    assert "gen_ai.usage.output_tokens" not in dict(failed.attributes or {})
    assert (
        answered.status.is_unset and dict(answered.attributes or {})["gen_ai.usage.output_tokens"]
    )
    assert failed.end_time is not None and answered.start_time is not None
    assert failed.end_time <= answered.start_time  # tried in turn


async def test_an_embeddings_call_and_its_fallback_are_embeddings_spans(
    upstream_settings: Settings, spans: InMemorySpanExporter
) -> None:
    from saas_litellm_client import SaasLiteLLMAdminClient

    settings = upstream_settings.model_copy(update={"otel": True})
    with live_server(create_app(settings, tracer_provider=PROVIDER)) as url:
        team = await stub_team(url, {})
        async with SaasLiteLLMAdminClient(base_url=url) as admin:
            await admin.create_model_alias(
                "Embed",
                access_groups=["gpt-models"],
                mode="embedding",
                deployments=[
                    {"provider": "openai", "model": "error-500"},
                    {"provider": "openai", "model": "echo"},
                ],
            )
        async with SaasLiteLLMClient(
            base_url=url, team_id="acme-corp", virtual_key=team.virtual_key
        ) as client:
            job = await client.create_job("index")
            spans.clear()
            answer = await client.embeddings(job_id=job.job_id, input=["one", "two"], model="Embed")

            async def finished() -> list[ReadableSpan] | None:
                got = list(spans.get_finished_spans())
                return got if any(s.kind == SpanKind.SERVER for s in got) else None

            got = await eventually(finished)
    server = one(got, "POST /api/jobs/{job_id}/embeddings", SpanKind.SERVER)
    below = children(got, server)
    failed = one(below, "embeddings error-500", SpanKind.CLIENT)
    answered = one(below, "embeddings echo", SpanKind.CLIENT)
    assert not failed.status.is_ok
    attributes = dict(answered.attributes or {})
    assert attributes["gen_ai.operation.name"] == "embeddings"
    assert attributes["gen_ai.usage.input_tokens"] == answer.usage.prompt_tokens
    assert attributes["gen_ai.usage.output_tokens"] == 0
    assert "gen_ai.response.finish_reasons" not in attributes


class _Receiver(BaseHTTPRequestHandler):
    """An OTLP/HTTP trace receiver: decodes each export, keeps its spans' names."""

    names: list[str]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        for resource in request.resource_spans:
            service = next(
                a.value.string_value
                for a in resource.resource.attributes
                if a.key == "service.name"
            )
            for scope in resource.scope_spans:
                self.server.names.extend(  # type: ignore[attr-defined]
                    f"{service}: {s.name}" for s in scope.spans
                )
        status = 200 if self.path == "/v1/traces" else 404
        self.send_response(status)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[str]]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    names: list[str] = []
    server.names = names  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", names
    finally:
        server.shutdown()
        server.server_close()


async def test_a_server_process_exports_over_otlp_http(
    database_url: str, receiver: tuple[str, list[str]]
) -> None:
    endpoint, names = receiver
    env = {
        "SAAS_LITELLM_OTEL": "true",
        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
        "OTEL_BSP_SCHEDULE_DELAY": "50",  # export within 50 ms, not 5 s
    }
    with server_process(database_url, env=env) as (url, _):
        assert httpx.get(f"{url}/ready").status_code == 200

        async def exported() -> bool:
            return "saas-litellm-server: GET /ready" in names

        await eventually(exported)
    assert "saas-litellm-server: GET /health" in names  # the start-up probe's
    assert any(name.startswith("saas-litellm-server: SELECT") for name in names), names


def test_off_loads_no_opentelemetry(database_url: str, tmp_path: Any) -> None:
    """Off (the default), serving a call imports nothing of opentelemetry, server or SDK."""
    script = textwrap.dedent(
        f"""
        import asyncio, sys
        import httpx
        from saas_litellm_client import SaasLiteLLMAdminClient
        from saas_litellm_server import Settings, create_app

        app = create_app(Settings(_env_file=None, database_url={database_url!r}))

        async def main():
            async with app.router.lifespan_context(app):
                transport = httpx.ASGITransport(app=app)
                http = httpx.AsyncClient(transport=transport, base_url="http://localhost")
                admin = SaasLiteLLMAdminClient(base_url="http://localhost", http_client=http)
                async with admin:
                    await admin.create_organization("org_off", "Off")

        asyncio.run(main())
        loaded = sorted(m for m in sys.modules if m.startswith("opentelemetry"))
        assert not loaded, loaded
        print("clean")
        """
    )
    env = {"PATH": "/usr/bin:/bin", "SAAS_LITELLM_OTEL": "false"}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, env=env
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "clean"


def test_on_without_the_extra_is_one_line_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    """``serve`` with SAAS_LITELLM_OTEL=true where OpenTelemetry is not installed stops with
    one line naming the extra (exit code 2), not an ImportError from inside the app."""
    import importlib.util

    from saas_litellm_server._preflight import StartupError, check_otel

    check_otel(Settings(_env_file=None, otel=True))  # installed here: no StartupError
    check_otel(Settings(_env_file=None))  # off: nothing to check
    real = importlib.util.find_spec

    def without_exporter(name: str, package: str | None = None) -> Any:
        return None if name.startswith("opentelemetry.exporter") else real(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", without_exporter)
    with pytest.raises(StartupError) as caught:
        check_otel(Settings(_env_file=None, otel=True))
    assert str(caught.value) == (
        "SAAS_LITELLM_OTEL=true needs opentelemetry.exporter.otlp.proto.http: install the extra "
        'saas-litellm[otel] (pip install ".[server,otel]" in a clone), or unset SAAS_LITELLM_OTEL'
    )
