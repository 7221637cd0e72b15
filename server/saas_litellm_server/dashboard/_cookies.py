"""The session cookie on the wire: set with its flags (HttpOnly, SameSite=Strict, scoped to
``/admin``, Secure over https) and deleted with the same ones, so the browser drops it.
What the cookie holds, and how it is signed, is ``session.py``'s."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from .._settings import Settings
from ._http import PREFIX
from .session import COOKIE

__all__ = ["delete_cookie", "set_cookie"]


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def set_cookie(request: Request, response: Response, value: str, settings: Settings) -> None:
    response.set_cookie(
        COOKIE,
        value,
        max_age=int(settings.dashboard_session_hours * 3600),
        path=PREFIX,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )


def delete_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(
        COOKIE, path=PREFIX, httponly=True, samesite="strict", secure=_secure(request)
    )
