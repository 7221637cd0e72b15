"""The Starlette application factory.

Layers: ``routes`` (parse, authorize, respond) → ``services`` (jobs, credits, routing) →
``store`` (SQL) → ``providers`` (upstream). ``create_app`` wires them together with a lifespan that
connects the database, migrates the schema and seeds the built-in model alias.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import ASGIApp
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from saas_litellm_models import Health, endpoints

from ._access_log import AccessLogMiddleware
from ._config import load_config
from ._drain import RUNTIME_STATE
from ._hotpath import HotPath
from ._logging import install_log_scrubbing
from ._metrics import Metrics, use
from ._middleware import RequestContextMiddleware
from ._responses import api_error_response, error_response, error_surface, request_id
from ._runtime import Runtime
from ._settings import Settings
from ._timing import ServerTimingMiddleware
from ._version import __version__
from .dashboard import dashboard_routes
from .errors import APIError, ServiceUnavailable
from .routes import (
    admin,
    anthropic,
    audit,
    changes,
    control,
    credits,
    docs,
    jobs,
    keys,
    openai,
    operators,
    webhooks,
)
from .routes._operation import APIRequest, api_route
from .routes.metrics import metrics_routes
from .services.catalog import apply_config, ensure_builtin_alias, forget_config
from .services.cooldown import sync_forever
from .services.health import check_ready
from .services.maintenance import run_maintenance
from .services.webhook_delivery import DeliveryWorker
from .store import DatabaseUnavailable, migrate, writes_attempted

if TYPE_CHECKING:
    from ._tracing import Tracing

__all__ = ["create_app", "create_app_from_env"]

logger = logging.getLogger("saas_litellm_server")


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, APIError)
    return api_error_response(request, exc)


async def _database_unavailable(request: Request, exc: Exception) -> Response:
    if writes_attempted():  # it may have committed before the connection went: say so
        message = (
            "the database became unavailable during this request, after it began to make "
            "changes: its outcome is unknown. Retry with the same Idempotency-Key to get the "
            "real outcome (it is replayed if it happened, run if it did not)"
        )
    else:
        message = "the database is unavailable; nothing was changed, retry shortly"
    return error_response(
        request_id(request),
        "service_unavailable",
        message,
        503,
        headers={"Retry-After": "1"},
        surface=error_surface(request.url.path),
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    surface = error_surface(request.url.path)
    if exc.status_code == 404:
        return error_response(
            request_id(request), "not_found", _no_endpoint(request), 404, surface=surface
        )
    if exc.status_code == 405:
        return error_response(
            request_id(request),
            "invalid_request",
            f"method {request.method} is not allowed here",
            405,
            headers=dict(exc.headers or {}),
            surface=surface,
        )
    return error_response(
        request_id(request), "invalid_request", str(exc.detail), exc.status_code, surface=surface
    )


def _no_endpoint(request: Request) -> str:
    """The 404 message: the path, and what was probably meant — the native API under an SDK
    ``base_url`` that ends in ``/v1`` (the openai SDK's), or the same path without (or with)
    a trailing slash. (No redirect: a 307 to another path has an empty body, and a client
    that does not follow it is left with nothing.)"""
    path = request.url.path
    shown = path[:200]
    if path.startswith("/v1/api/"):
        return (
            f"no endpoint at {shown}: the native API is at {path[3:203]}; give the saas-litellm "
            "SDK the server's root URL as base_url, without /v1 (/v1 is the OpenAI-compatible "
            "surface, for the openai SDK)"
        )
    other = path.rstrip("/") if path.endswith("/") and path != "/" else None
    if other and len(path) <= 1000:
        scope = {**request.scope, "path": other}
        if any(route.matches(scope)[0] != Match.NONE for route in request.app.router.routes):
            return f"no endpoint at {shown}; did you mean {other[:200]} (no trailing slash)?"
    return f"no endpoint at {shown}"


async def _unexpected(request: Request, exc: Exception) -> Response:
    rid = request_id(request)
    logger.exception("unhandled error in request %s", rid)
    return error_response(
        rid,
        "internal_error",
        f"internal error; quote request id {rid} when reporting it",
        500,
        surface=error_surface(request.url.path),
    )


async def _health(req: APIRequest[None, None]) -> Health:
    return Health(version=__version__)


async def _ready(req: APIRequest[None, None]) -> Health:
    """Ready when the database answers and the process is not draining: what a load balancer
    should route on (``/health`` only says the process is up)."""
    if req.runtime.draining:
        raise ServiceUnavailable(
            "this server is shutting down; requests in flight finish, send new ones elsewhere",
            headers={"Retry-After": "1"},
        )
    await check_ready(req.db)
    return Health(version=__version__)


def _middleware(
    settings: Settings, metrics: Metrics | None, tracing: Tracing | None
) -> list[Middleware]:
    proxies = []
    if tracing is not None:
        from ._tracing import TracingMiddleware

        proxies.append(Middleware(TracingMiddleware, tracing=tracing))
    stack = [
        *proxies,
        Middleware(AccessLogMiddleware),
        Middleware(ServerTimingMiddleware, metrics=metrics, tracer=tracing),
        Middleware(
            RequestContextMiddleware,
            max_body_bytes=settings.max_body_bytes,
            loopback_only=settings.dev_mode,
        ),
    ]
    if settings.cors_origins:  # off unless configured: browsers should call your backend
        stack.append(
            Middleware(
                CORSMiddleware,
                allow_origins=settings.cors_origins,
                allow_methods=["GET", "POST"],
                allow_headers=[
                    "Authorization",
                    "Content-Type",
                    "Idempotency-Key",
                    "X-Request-ID",
                    "X-Job-Id",
                    "X-Job-Type",
                ],
                expose_headers=[
                    "X-Request-ID",
                    "Retry-After",
                    "Idempotent-Replayed",
                    "X-Job-Id",
                    "x-should-retry",
                ],
                max_age=600,
            )
        )
    return stack


class _App(Starlette):
    """The Starlette app with the hot path (``_hotpath``) in front of its middleware stack, and
    the trusted proxies' headers (uvicorn's middleware, CIDRs included) applied before either:
    the client's address and scheme as the proxies say, for everything after — logs,
    brute-force counts, the dashboard's Secure cookie."""

    def __init__(
        self, settings: Settings, metrics: Metrics | None, *, hot: bool, **options: Any
    ) -> None:
        super().__init__(**options)
        self.settings, self.metrics, self.hot = settings, metrics, hot

    def build_middleware_stack(self) -> ASGIApp:
        app = super().build_middleware_stack()
        settings = self.settings
        if self.hot:
            app = HotPath(
                app,
                self.router.routes,
                handlers=self.exception_handlers,
                max_body_bytes=settings.max_body_bytes,
                loopback_only=settings.dev_mode,
                metrics=self.metrics,
                cors=bool(settings.cors_origins),
            )
        if settings.trusted_proxies:
            proxies = Middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
            cls, args, kwargs = proxies
            app = cls(app, *args, **kwargs)
        return app


def create_app(
    settings: Settings | None = None,
    *,
    clock: Callable[[], dt.datetime] | None = None,
    tracer_provider: Any = None,
) -> Starlette:
    """Build the app; ``settings`` default to the environment (``SAAS_LITELLM_*``); ``clock``
    (aware UTC) decides key expiry and stamps admin changes, the system clock by default.
    ``tracer_provider``: with ``otel`` on, an OpenTelemetry ``TracerProvider`` to trace to
    instead of the OTLP exporter's (the tests give one with an in-memory exporter)."""
    settings = settings or Settings()
    install_log_scrubbing()
    metrics = Metrics() if settings.metrics else None
    tracing = None
    if settings.otel:  # only then is opentelemetry imported
        from ._tracing import Tracing

        tracing = Tracing(tracer_provider, database=settings.database_url)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Runtime]]:
        rt = Runtime.create(settings, clock)
        await rt.db.connect()
        try:
            if rt.read_db is not rt.db:
                await rt.read_db.connect()  # a replica: never migrated (it follows the primary)
            await migrate(rt.db)
            await ensure_builtin_alias(rt.db)
            if settings.config is not None:
                config = load_config(settings.config)
                source = str(settings.config)
                await apply_config(rt.db, config, settings, source=source, now=rt.clock())
            else:
                await forget_config(rt.db)
            if settings.dev_mode:
                logger.warning(
                    "no SAAS_LITELLM_ADMIN_KEY set: local-dev mode, admin endpoints are open"
                )
            app.state.runtime = rt
            use(metrics)  # the maintenance task settles jobs too
            housekeeping = asyncio.create_task(run_maintenance(rt))
            cooldowns = asyncio.create_task(sync_forever(rt.cooldowns))
            webhooks_worker = DeliveryWorker(rt) if settings.webhooks_deliver else None
            if webhooks_worker is not None:
                webhooks_worker.start()
            try:
                yield {RUNTIME_STATE: rt}  # for serve's drain (_drain.DrainingServer)
            finally:
                housekeeping.cancel()
                cooldowns.cancel()
                if webhooks_worker is not None:
                    await webhooks_worker.aclose()
                with contextlib.suppress(asyncio.CancelledError):
                    await housekeeping
                with contextlib.suppress(asyncio.CancelledError):
                    await cooldowns
                await rt.cooldowns.drain()
        finally:
            await rt.aclose()
            if rt.read_db is not rt.db:
                await rt.read_db.disconnect()
            await rt.db.disconnect()
            if tracing is not None:
                tracing.shutdown()
            if metrics is not None and os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
                # a worker leaving: its live gauges leave the sum (its counts stay)
                from prometheus_client import multiprocess

                multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]

    app = _App(
        settings,
        metrics,
        hot=tracing is None,  # a traced request takes the stack, with its span
        routes=[
            api_route(endpoints.HEALTH, _health),
            api_route(endpoints.READY, _ready),
            # The router tries routes in order: the hot path's first (a match is a regex each).
            *jobs.routes,
            *openai.routes,
            *anthropic.routes,
            *admin.routes,
            *keys.routes,
            *changes.routes,
            *control.routes,
            *audit.routes,
            *webhooks.routes,
            *operators.routes,
            *credits.routes,
            *docs.routes,
            *(dashboard_routes(settings) if settings.dashboard else []),
            *(metrics_routes(metrics) if metrics is not None else []),
        ],
        middleware=_middleware(settings, metrics, tracing),
        exception_handlers={
            APIError: _api_error,
            DatabaseUnavailable: _database_unavailable,
            HTTPException: _http_error,
            Exception: _unexpected,
        },
        lifespan=lifespan,
    )
    app.router.redirect_slashes = False  # a 404 that names the right path instead
    return app


WORKER_LOG_LEVEL = "SAAS_LITELLM_WORKER_LOG_LEVEL"
"""Set by ``serve --workers N`` for its worker processes: the ``--log-level`` they log at."""


def create_app_from_env() -> Starlette:
    """The app of one worker process of ``serve --workers N`` (uvicorn's factory): settings
    from the environment ``serve`` prepared, logging set up as ``serve`` sets it up."""
    from ._logging import configure_logging

    settings = Settings()
    level = os.environ.get(WORKER_LOG_LEVEL)
    if level:
        configure_logging(level=level.upper(), json_lines=settings.log_format == "json")
        access = logging.getLogger("uvicorn.access")  # the app logs each request itself
        access.handlers.clear()
        access.propagate = False
    app = create_app(settings)
    from ._cli import settle_heap

    settle_heap()  # a worker process of serve's: as serve settles its own
    return app
