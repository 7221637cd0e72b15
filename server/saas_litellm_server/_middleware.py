"""Pure ASGI middleware: request ids and the request-size limit.

Pure ASGI (not ``BaseHTTPMiddleware``) so that streamed responses pass through unbuffered and the
hot path pays for two dict look-ups, not a task.
"""

from __future__ import annotations

import re
import secrets

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._logging import current_request_id
from ._loopback import host_name, is_loopback
from ._responses import error_response, error_surface
from .errors import RequestTooLarge
from .store import track_writes

__all__ = [
    "RequestContextMiddleware",
    "drain_body",
    "limited",
    "misdirected",
    "request_id_for",
    "scan_headers",
    "too_large",
]

_CLIENT_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_DRAIN_LIMIT = 64 * 1024 * 1024
"""An oversized body is read and discarded up to this size before the 413 goes out, so that a
client still sending it sees the 413 instead of a connection reset."""


def scan_headers(headers: list[tuple[bytes, bytes]]) -> tuple[str, int | None, str, bool]:
    """What the request's context needs of its headers, in one pass: the client's
    ``X-Request-ID``, the ``Content-Length`` (``None``: none or not a number), the ``Host``,
    and whether it names an ``Origin``."""
    supplied = ""
    length: int | None = None
    host = ""
    origin = False
    for name, value in headers:
        if name == b"x-request-id":
            supplied = value.decode("latin-1")
        elif name == b"content-length":
            try:
                length = int(value)
            except ValueError:
                length = None
        elif name == b"host":
            host = value.decode("latin-1")
        elif name == b"origin":
            origin = True
    return supplied, length, host, origin


def request_id_for(supplied: str) -> str:
    """The request's id: the client's ``X-Request-ID`` if it is sane, else a new one."""
    return supplied if _CLIENT_ID.match(supplied) else f"req_{secrets.token_hex(16)}"


async def drain_body(receive: Receive, already: int) -> None:
    """Read and discard the rest of an oversized body (up to a bound) before answering 413."""
    received = already
    while received <= _DRAIN_LIMIT:
        message = await receive()
        if message["type"] != "http.request":
            return
        received += len(message.get("body", b""))
        if not message.get("more_body", False):
            return


def limited(receive: Receive, limit: int) -> Receive:
    """``receive``, refusing (413) a body that grows past ``limit`` bytes as it arrives (one
    sent without a ``Content-Length``, or longer than it said)."""
    received = 0

    async def receive_limited() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                if message.get("more_body", False):
                    await drain_body(receive, received)
                raise RequestTooLarge(f"the body exceeds the limit of {limit} bytes")
        return message

    return receive_limited


def misdirected(rid: str, path: str) -> Response:
    """Local-dev mode's answer to a request under a name that is not a loopback one."""
    return error_response(
        rid,
        "misdirected_request",
        "this server is in local-dev mode (no admin key) and answers only under a "
        "loopback name (localhost, 127.0.0.1, [::1]); set SAAS_LITELLM_ADMIN_KEY to "
        "serve other names",
        421,
        surface=error_surface(path),
    )


async def too_large(receive: Receive, rid: str, length: int, limit: int, path: str) -> Response:
    """The 413 of a body whose ``Content-Length`` is over the limit, once what the client
    still sends of it was read (up to a bound), so that it sees the 413 and not a reset."""
    if length <= _DRAIN_LIMIT:
        await drain_body(receive, 0)
    return error_response(
        rid,
        "request_too_large",
        f"the body is {length} bytes; the limit is {limit}",
        413,
        headers={"Connection": "close"},
        surface=error_surface(path),
    )


class RequestContextMiddleware:
    """Gives every request an id (the client's ``X-Request-ID`` if sane, else a new one), echoes
    it on every response, and refuses bodies over ``max_body_bytes`` with 413. With
    ``loopback_only`` (local-dev mode: everything is open to whoever reaches it) a request whose
    ``Host`` is not a loopback name is refused with 421: a web page that rebound its own name to
    127.0.0.1 reaches the server, but under its own name."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, loopback_only: bool = False) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.loopback_only = loopback_only

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        supplied, length, host, _ = scan_headers(scope["headers"])
        rid = request_id_for(supplied)
        scope.setdefault("state", {})["request_id"] = rid
        current_request_id.set(rid)
        header = (b"x-request-id", rid.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", []) if h[0].lower() != b"x-request-id"]
                message["headers"] = [*headers, header]
            await send(message)

        if self.loopback_only and not is_loopback(host_name(host)):
            await misdirected(rid, scope["path"])(scope, receive, send_with_id)
            return
        limit = self.max_body_bytes
        if length is not None and length > limit:
            response = await too_large(receive, rid, length, limit, scope["path"])
            await response(scope, receive, send)
            return

        with track_writes():
            await self.app(scope, limited(receive, limit), send_with_id)
