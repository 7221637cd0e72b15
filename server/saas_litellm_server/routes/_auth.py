"""Authorization by an operation's declared ``auth`` (see ``_operation``).

- ``team``: a team's virtual key; the admin key is refused (it never acts as a team).
- ``admin``: the admin key; a team key is refused; in local-dev mode (no admin key) open.
- ``team_or_admin``: the admin key, or the key of the team the path names (a path that names
  no team: any team's key, and the handler looks only at that team's rows).
- ``none``: anyone.

A key presented and refused counts against the client's address, and an address that failed
too often in a minute is refused (429) whatever it presents but a team's key
(``services.lockout``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from starlette.requests import Request

from saas_litellm_models import JOB_ID_PATTERN
from saas_litellm_models.endpoints import Auth

from .._responses import error_surface
from .._runtime import TeamContext
from ..errors import AuthenticationFailed, PermissionDenied
from ..services import auth, lockout
from ._http import bearer, client_address, runtime

__all__ = ["ADMIN_SCOPE", "Auth", "Principal", "authorize"]


ADMIN_SCOPE = "@admin"
"""Idempotency keys of admin requests live apart from every team's (no team id starts with
``@``)."""

_UUID = re.compile(JOB_ID_PATTERN)


@dataclass(frozen=True)
class Principal:
    """Who a request acts for: a team, or the operator (admin key, or local-dev mode)."""

    team: TeamContext | None = None
    actor: str = "local-dev"
    """Who the audit log names for an operator's change: ``admin-key`` or ``local-dev``."""

    @property
    def scope(self) -> str:
        """Where this caller's idempotency keys live."""
        return self.team.team_id if self.team is not None else ADMIN_SCOPE


_ADMIN_KEY = Principal(actor="admin-key")
_LOCAL_DEV = Principal(actor="local-dev")


async def _team(request: Request, token: str | None, job_id: str | None) -> TeamContext:
    if token is None:
        raise AuthenticationFailed(
            "this endpoint needs 'Authorization: Bearer <virtual key>'"
            + (
                " or 'x-api-key: <virtual key>'"
                if error_surface(request.url.path) == "anthropic"
                else ""
            )
        )
    rt = runtime(request)
    team = await auth.team_for_key(
        rt, token, job_id=job_id if job_id and _UUID.match(job_id) else None
    )
    if team is None:
        # Anything but a team's key may be a guess: from a locked-out address, refused alike
        address = client_address(request)
        await lockout.check(rt, address)
        if auth.is_admin_key(rt.settings, token):
            raise PermissionDenied("the admin key cannot act as a team; use a virtual key")
        await lockout.failed(rt, address)
        raise AuthenticationFailed("invalid virtual key")
    return team


async def _admin(request: Request, token: str | None) -> Principal:
    rt = runtime(request)
    if token is not None and auth.is_admin_key(rt.settings, token):
        await lockout.check(rt, client_address(request))
        return _ADMIN_KEY
    if token is not None and await auth.team_for_key(rt, token) is not None:
        raise PermissionDenied("a team's virtual key cannot use admin endpoints")
    if rt.settings.dev_mode:
        return _LOCAL_DEV
    if token is None:
        raise AuthenticationFailed("this endpoint needs 'Authorization: Bearer <admin key>'")
    address = client_address(request)
    await lockout.check(rt, address)
    await lockout.failed(rt, address)
    raise AuthenticationFailed("invalid admin key")


async def authorize(request: Request, kind: Auth, path: dict[str, str]) -> Principal:
    """The request's principal, or the 401/403 that refuses it."""
    if kind == "none":
        return _LOCAL_DEV
    token = bearer(request)
    if kind == "admin":
        return await _admin(request, token)
    if kind == "team_or_admin":
        rt = runtime(request)
        if token is not None and auth.is_admin_key(rt.settings, token):
            await lockout.check(rt, client_address(request))
            return _ADMIN_KEY
        if token is None and rt.settings.dev_mode:
            return _LOCAL_DEV
        team = await _team(request, token, None)
        if "team_id" in path and team.team_id != path["team_id"]:
            raise PermissionDenied("a virtual key can only read its own team")
        return Principal(team)
    return Principal(await _team(request, token, path.get("job_id")))
