"""Authorization by an operation's declared ``auth`` (see ``_operation``).

- ``team``: a team's virtual key; the admin key and operator keys are refused (they never act
  as a team).
- ``admin``: the admin key (an ``owner``) or an operator's key (``sk-op-…``, its role); a team
  key is refused; in local-dev mode (no admin key) open, as an ``owner``.
- ``team_or_admin``: the admin key, an operator's key, or the key of the team the path names
  (a path that names no team: any team's key, and the handler looks only at that team's rows).
- ``none``: anyone.

What an operator may do is its role's: :func:`require_role` refuses (403) an endpoint that
needs more (``Endpoint.required_role``). An operator key that is unknown, removed or rotated
away counts as a failed authentication, like a wrong admin key.

A key presented and refused counts against the client's address, and an address that failed
too often in a minute is refused (429) whatever it presents but a team's key
(``services.lockout``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from starlette.requests import Request

from saas_litellm_models import JOB_ID_PATTERN, OperatorRole, role_allows
from saas_litellm_models.endpoints import Auth

from .._responses import error_surface
from .._runtime import TeamContext
from ..errors import AuthenticationFailed, PermissionDenied
from ..services import auth, lockout, operators
from ._http import bearer, client_address, runtime

__all__ = ["ADMIN_SCOPE", "Auth", "Principal", "authorize", "operator_principal", "require_role"]


ADMIN_SCOPE = "@admin"
"""Idempotency keys of admin requests live apart from every team's (no team id starts with
``@``)."""

_UUID = re.compile(JOB_ID_PATTERN)


@dataclass(frozen=True)
class Principal:
    """Who a request acts for: a team, or an operator (the admin key, an operator's key, or
    local-dev mode) with its role."""

    team: TeamContext | None = None
    actor: str = "local-dev"
    """Who the audit log names for an operator's change: ``admin-key``, ``local-dev`` or
    ``operator:<operator_id>``."""
    role: OperatorRole = "owner"
    """What an operator may do (the admin key and local-dev mode: everything)."""

    @property
    def scope(self) -> str:
        """Where this caller's idempotency keys live."""
        return self.team.team_id if self.team is not None else ADMIN_SCOPE


_ADMIN_KEY = Principal(actor="admin-key")
_LOCAL_DEV = Principal(actor="local-dev")


def require_role(principal: Principal, need: OperatorRole) -> None:
    """Refuse (403) an operator whose role is less than ``need``."""
    if principal.team is None and not role_allows(principal.role, need):
        raise PermissionDenied(
            f"this needs the {need!r} role (or higher); this operator's role is {principal.role!r}"
        )


async def operator_principal(request: Request, token: str) -> Principal | None:
    """The principal of a live operator's key (``None``: the token is not one). An address
    that is locked out is refused even the right key, as with the admin key."""
    rt = runtime(request)
    row = await operators.operator_for_key(rt.db, token)
    if row is None:
        return None
    await lockout.check(rt, client_address(request))
    return Principal(actor=f"operator:{row['operator_id']}", role=row["role"])  # type: ignore[arg-type]  # a stored role


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
        if await operators.operator_for_key(rt.db, token) is not None:
            raise PermissionDenied("an operator key cannot act as a team; use a virtual key")
        await lockout.failed(rt, address)
        raise AuthenticationFailed("invalid virtual key")
    return team


async def _admin(request: Request, token: str | None) -> Principal:
    rt = runtime(request)
    if token is not None and auth.is_admin_key(rt.settings, token):
        await lockout.check(rt, client_address(request))
        return _ADMIN_KEY
    if token is not None and (operator := await operator_principal(request, token)) is not None:
        return operator
    if token is not None and await auth.team_for_key(rt, token) is not None:
        raise PermissionDenied("a team's virtual key cannot use admin endpoints")
    if rt.settings.dev_mode:
        return _LOCAL_DEV
    if token is None:
        raise AuthenticationFailed(
            "this endpoint needs 'Authorization: Bearer <admin key or operator key>'"
        )
    address = client_address(request)
    await lockout.check(rt, address)
    await lockout.failed(rt, address)
    raise AuthenticationFailed("invalid admin key or operator key")


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
        if token is not None and (operator := await operator_principal(request, token)):
            return operator
        team = await _team(request, token, None)
        if "team_id" in path and team.team_id != path["team_id"]:
            raise PermissionDenied("a virtual key can only read its own team")
        return Principal(team)
    return Principal(await _team(request, token, path.get("job_id")))
