"""The dashboard's HTTP edges: its address prefix, the security headers every ``/admin``
response carries (and the plain page a missing file or route gets), the ``Origin`` check of a
form post, and the URLs and redirects the pages build."""

from __future__ import annotations

import urllib.parse

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .._loopback import host_name, host_port, is_loopback
from .._settings import Settings

__all__ = ["PREFIX", "SECURITY_HEADERS", "SecurityHeaders", "back", "q", "same_origin", "url"]

PREFIX = "/admin"

SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    # same-origin, not no-referrer: with no-referrer Chromium sends "Origin: null" on a form
    # post, and the Origin check below would refuse every form
    "referrer-policy": "same-origin",
}


class SecurityHeaders:
    """Adds the dashboard's security headers to every response under ``/admin``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.headers = [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {k for k, _ in self.headers}
                kept = [h for h in message.get("headers", []) if h[0].lower() not in names]
                message["headers"] = [*kept, *self.headers]
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except HTTPException as exc:  # no such page or file: a plain page, not the API's JSON
            response = HTMLResponse(_PLAIN_PAGE.format(exc.status_code), exc.status_code)
            await response(scope, receive, send_with_headers)


_PLAIN_PAGE = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{0}</title></head>'
    '<body><p>{0}: no such page. <a href="/admin">Dashboard</a></p></body></html>'
)


def same_origin(request: Request, settings: Settings) -> bool:
    """A form post's ``Origin`` (browsers send it) must be one of this server's own origins;
    absent is allowed (the CSRF token and the SameSite=Strict cookie still stand). In local-dev
    mode those are the loopback origins (on the server's port) whatever the ``Host`` header
    says — a page that rebound its own name to 127.0.0.1 sends its own name in both. With an
    admin key, the origin the browser was sent to (``Host``: a rebound page has no session
    cookie to ride on). Only the host and port are compared: behind a TLS-terminating proxy the
    server may see http where the browser has https."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    parts = urllib.parse.urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False
    host = request.headers.get("host", "")
    if settings.dev_mode:
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            return False
        own = host_port(host)
        return is_loopback(host_name(parts.netloc)) and port in ((own,) if own else (80, 443))
    return parts.netloc == host


def q(value: str) -> str:
    """A path segment (an id with ``/`` or ``?`` in it stays one segment)."""
    return urllib.parse.quote(value, safe="")


def url(path: str, params: dict[str, str]) -> str:
    """``path`` with its query (a filtered list's next page keeps its filters)."""
    return f"{path}?{urllib.parse.urlencode(params)}" if params else path


def back(path: str, done: str) -> Response:
    """The redirect after a change: back to a page, which says what was done (``done=``)."""
    return RedirectResponse(f"{path}?done={done}", 303)
