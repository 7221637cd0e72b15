"""The hot path: the calls that go upstream, answered without the framework's per-request layers.

Every request of the app passes through this ASGI callable first. The endpoints the endpoint
table marks ``hot`` (``Endpoint.hot``: llm-call and its stream, embeddings, create-and-call,
``/v1/chat/completions``, ``/v1/responses``, ``/v1/embeddings``, ``/v1/messages``) go straight
to their route's endpoint — the same function Starlette would call, built by
``routes._operation.api_route`` from the same row — with what the middleware stack does for
them done here in one pass: the request id, the body-size limit and local-dev mode's loopback
check (``_middleware``), ``Server-Timing`` and the request metrics (``_timing``), the access-log
line (``_access_log``), and the app's exception handlers. Each of those layers otherwise wraps
``send`` and ``receive`` in a closure of its own and the router tries the routes' regexes in
turn: about a sixth of a call's CPU. Everything else (and every request while tracing is on, or
a cross-origin request when CORS is configured, or under a ``root_path``) takes the Starlette
stack, unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from time import perf_counter
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import _metrics, _timing
from ._access_log import log_access
from ._logging import current_request_id
from ._loopback import host_name, is_loopback
from ._middleware import limited, misdirected, request_id_for, scan_headers, too_large
from .store import track_writes

if TYPE_CHECKING:
    from ._metrics import Metrics
    from .routes._operation import APIRoute

__all__ = ["HotPath"]

ExceptionHandlers = Mapping[Any, Callable[[Request, Exception], Any]]


class HotPath:
    """ASGI: the hot routes of ``routes`` answered directly, everything else by ``app``."""

    def __init__(
        self,
        app: ASGIApp,
        routes: list[Any],
        *,
        handlers: ExceptionHandlers,
        max_body_bytes: int,
        loopback_only: bool,
        metrics: Metrics | None,
        cors: bool,
    ) -> None:
        self.app = app
        self.routes: list[APIRoute] = [
            route for route in routes if getattr(getattr(route, "declaration", None), "hot", False)
        ]
        self.handlers = handlers
        self.max_body_bytes = max_body_bytes
        self.loopback_only = loopback_only
        self.metrics = metrics
        self.cors = cors

    def _match(self, scope: Scope) -> tuple[APIRoute, dict[str, str]] | None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope.get("root_path"):
            return None
        path = scope["path"]
        for route in self.routes:
            found = route.path_regex.match(path)
            if found is not None:
                convert = route.param_convertors
                return route, {k: convert[k].convert(v) for k, v in found.groupdict().items()}
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        matched = self._match(scope)
        if matched is None:
            await self.app(scope, receive, send)
            return
        route, params = matched
        supplied, length, host, origin = scan_headers(scope["headers"])
        if origin and self.cors:
            await self.app(scope, receive, send)  # CORS headers: the middleware's job
            return
        await self._serve(scope, receive, send, route, params, supplied, length, host)

    async def _serve(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        route: APIRoute,
        params: dict[str, str],
        supplied: str,
        length: int | None,
        host: str,
    ) -> None:
        start = perf_counter()
        rid = request_id_for(supplied)
        scope.setdefault("state", {})["request_id"] = rid
        scope["route"] = route
        scope["endpoint"] = route.endpoint
        scope["path_params"] = params
        rid_token = current_request_id.set(rid)
        timing = _timing.RequestTiming()
        timing_token = _timing.use(timing)
        metrics_token = _metrics.use(self.metrics)
        rid_header = (b"x-request-id", rid.encode())
        status = 500
        streamed = False
        started = False

        async def send_hot(message: Message) -> None:
            nonlocal status, streamed, started
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                headers = []
                for header in message.get("headers", ()):
                    name = header[0].lower()
                    if name == b"content-type":
                        streamed = header[1].startswith(b"text/event-stream")
                    elif name == b"x-request-id":
                        continue
                    headers.append(header)
                headers.append(rid_header)
                headers.append((b"server-timing", timing.header(perf_counter() - start)))
                message["headers"] = headers
            await send(message)

        limit = self.max_body_bytes
        receive_limited = limited(receive, limit)

        error: Exception | None = None  # an unexpected one: re-raised once its 500 is sent
        try:
            with track_writes():
                response: Any
                if self.loopback_only and not is_loopback(host_name(host)):
                    response = misdirected(rid, scope["path"])
                elif length is not None and length > limit:
                    response = await too_large(receive, rid, length, limit, scope["path"])
                else:
                    request = Request(scope, receive_limited, send_hot)
                    try:
                        response = await route.endpoint(request)
                        await response(scope, receive_limited, send_hot)
                        return
                    except Exception as exc:
                        if started:
                            raise
                        response, unexpected = await self._handled(request, exc)
                        error = exc if unexpected else None
                await response(scope, receive_limited, send_hot)
                if error is not None:
                    raise error
        finally:
            _timing.reset(timing_token)
            _metrics.reset(metrics_token)
            current_request_id.reset(rid_token)
            elapsed = perf_counter() - start
            _timing.count_request(self.metrics, scope, status, elapsed, timing, streamed)
            log_access(scope, status, rid, elapsed)

    async def _handled(self, request: Request, exc: Exception) -> tuple[Response, bool]:
        """The response the app's exception handlers give ``exc`` (the most specific class
        first, as Starlette looks them up), and whether it was unexpected: that one is
        re-raised once its 500 is sent, as Starlette's ``ServerErrorMiddleware`` does."""
        for cls in type(exc).__mro__:
            handler = self.handlers.get(cls)
            if handler is not None:
                response: Response = await handler(request, exc)
                return response, cls is Exception
        raise exc
