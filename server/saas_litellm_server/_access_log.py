"""One access-log line per request, carrying its request id (uvicorn's own lines cannot).

Outermost middleware, so that it also sees the responses other middleware answers by itself
(413, CORS pre-flights); the request id is read from the ``X-Request-ID`` response header that
``RequestContextMiddleware`` sets on every response.
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["AccessLogMiddleware", "log_access"]

logger = logging.getLogger("saas_litellm_server.access")


def log_access(scope: Scope, status: int, request_id: str, seconds: float) -> None:
    """The request's line (``status`` 0: no response was sent, logged as 500)."""
    if not logger.isEnabledFor(logging.INFO):
        return
    client = scope.get("client")
    where = f"{client[0]}:{client[1]}" if client else "-"
    path = scope.get("path", "")
    duration = seconds * 1000
    logger.info(
        '%s - "%s %s HTTP/%s" %d %.1fms request_id=%s',
        where,
        scope["method"],
        path,
        scope.get("http_version", "1.1"),
        status or 500,
        duration,
        request_id,
        extra={
            "request_id": request_id,
            "method": scope["method"],
            "path": path,
            "status": status or 500,
            "client": where,
            "duration_ms": round(duration, 3),
        },
    )


class AccessLogMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not logger.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 0
        request_id = "-"

        async def send_logged(message: Message) -> None:
            nonlocal status, request_id
            if message["type"] == "http.response.start":
                status = message["status"]
                for name, value in message.get("headers", []):
                    if name.lower() == b"x-request-id":
                        request_id = value.decode("latin-1")
            await send(message)

        try:
            await self.app(scope, receive, send_logged)
        finally:
            # an unexpected error's 500 is sent further out: the id is in the scope's state
            request_id = scope.get("state", {}).get("request_id", request_id)
            log_access(scope, status, request_id, time.perf_counter() - start)
