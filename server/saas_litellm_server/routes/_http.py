"""HTTP helpers shared by the routes: parse a body, authenticate, render a response or an error."""

from __future__ import annotations

import datetime as dt
import hmac
import re
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from saas_litellm_models import ErrorDetail, ErrorResponse

from .._runtime import Runtime, TeamContext
from ..errors import (
    APIError,
    AuthenticationFailed,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from ..services.keys import hash_key
from ..store import teams
from ._json_shape import check_json_shape

__all__ = [
    "api_error_response",
    "error_response",
    "job_id_param",
    "json_response",
    "parse_body",
    "read_body",
    "require_admin",
    "require_team",
    "require_team_for_job",
    "runtime",
    "team_id_param",
    "time_query",
]

M = TypeVar("M", bound=BaseModel)

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_IDENTIFIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$")
_MAX_TOKEN_CHARS = 512


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def request_id(request: Request) -> str:
    return str(request.scope.get("state", {}).get("request_id", ""))


def json_response(model: BaseModel, status_code: int = 200) -> Response:
    return Response(model.model_dump_json(), status_code=status_code, media_type="application/json")


def error_response(
    request_id: str,
    error_type: str,
    message: str,
    status_code: int,
    *,
    param: str | None = None,
    headers: dict[str, str] | None = None,
    details: dict[str, Any] | None = None,
) -> Response:
    body = ErrorResponse(
        error=ErrorDetail(
            type=error_type, message=message, request_id=request_id, param=param, **(details or {})
        )
    )
    return Response(
        body.model_dump_json(exclude_none=True),
        status_code=status_code,
        media_type="application/json",
        headers={"X-Request-ID": request_id, **(headers or {})},
    )


def api_error_response(request: Request, exc: APIError) -> Response:
    """The JSON error response of an :class:`APIError`."""
    return error_response(
        request_id(request),
        exc.error_type,
        exc.message,
        exc.status_code,
        param=exc.param,
        headers=exc.headers,
        details=exc.details,
    )


def _loc(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc)


def validation_error(exc: ValidationError) -> APIError:
    errors = exc.errors(include_url=False, include_input=False)
    first = errors[0]
    if first["type"] == "json_invalid":
        detail = str(first["msg"]).removeprefix("Invalid JSON: ")
        return InvalidRequest(f"the body is not valid JSON ({detail})")
    if not first["loc"] and first["type"] in {"model_type", "model_attributes_type"}:
        return InvalidRequest("the body must be a JSON object")
    parts = [f"{_loc(e['loc']) or 'body'}: {e['msg']}" for e in errors[:3]]
    more = f" (and {len(errors) - 3} more errors)" if len(errors) > 3 else ""
    return ValidationFailed("; ".join(parts) + more, param=_loc(first["loc"]) or None)


async def read_body(request: Request) -> bytes:
    """The raw body, once its JSON shape was checked (see ``_json_shape``): every reader of a
    body (parsing, idempotency fingerprints) goes through here."""
    try:
        body = await request.body()
    except ClientDisconnect:
        # Nobody is left to read an answer; end the request quietly, without a 500.
        raise InvalidRequest("the client disconnected before sending the whole body") from None
    state = request.scope.setdefault("state", {})
    if not state.get("body_checked"):
        check_json_shape(body)
        state["body_checked"] = True
    return body


async def parse_body(request: Request, model: type[M]) -> M:
    body = await read_body(request)
    if not body.strip():
        raise InvalidRequest("the body is empty; expected a JSON object")
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        raise validation_error(exc) from None


def job_id_param(request: Request) -> str:
    """The path's job id; anything that is not a job id cannot name a job: 404."""
    job_id = str(request.path_params["job_id"])
    if not _UUID.match(job_id):
        raise NotFound(f"job {job_id[:64]!r} not found")
    return job_id


def team_id_param(request: Request) -> str:
    team_id = str(request.path_params["team_id"])
    if not _IDENTIFIER.match(team_id):
        raise NotFound(f"team {team_id[:64]!r} not found")
    return team_id


_EARLIEST = dt.datetime.min.replace(tzinfo=dt.timezone.utc)
_LATEST = dt.datetime.max.replace(tzinfo=dt.timezone.utc)


def time_query(request: Request, name: str) -> dt.datetime | None:
    """An ISO 8601 query parameter as an aware UTC time. Naive means UTC; a time whose UTC
    equivalent falls outside years 1 to 9999 (``9999-12-31T23:59:59-23:59``) is clamped to that
    range, which selects the same rows and stays storable by every backend."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationFailed(
            f"{name} must be an ISO 8601 date or date-time", param=name
        ) from None
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)
    try:
        return value.astimezone(dt.timezone.utc)
    except OverflowError:
        return _LATEST if value.year == dt.MAXYEAR else _EARLIEST


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationFailed("the Authorization header must be 'Bearer <key>'")
    token = token.strip()
    if len(token) > _MAX_TOKEN_CHARS:
        raise AuthenticationFailed("invalid key")
    return token


def _is_admin_key(rt: Runtime, token: str) -> bool:
    admin = rt.settings.admin_key
    if admin is None or not admin.get_secret_value():
        return False
    return hmac.compare_digest(token.encode(), admin.get_secret_value().encode())


async def _team_for(rt: Runtime, token: str) -> dict[str, Any] | None:
    return await teams.get_team_by_key_hash(rt.db, hash_key(token))


async def require_admin(request: Request) -> None:
    """Admin key required; in local-dev mode (no admin key) anything but a team key passes."""
    rt = runtime(request)
    token = _bearer(request)
    if token is not None and _is_admin_key(rt, token):
        return
    if token is not None and await _team_for(rt, token) is not None:
        raise PermissionDenied("a team's virtual key cannot use admin endpoints")
    if rt.settings.dev_mode:
        return
    if token is None:
        raise AuthenticationFailed("this endpoint needs 'Authorization: Bearer <admin key>'")
    raise AuthenticationFailed("invalid admin key")


async def require_team(request: Request, *, job_id: str | None = None) -> TeamContext:
    """The team of the request's virtual key; with ``job_id``, its job is read in the same
    statement (see ``TeamContext.job``)."""
    rt = runtime(request)
    token = _bearer(request)
    if token is None:
        raise AuthenticationFailed("this endpoint needs 'Authorization: Bearer <virtual key>'")
    job = None
    if job_id is None:
        row = await _team_for(rt, token)
    else:
        row, job = await teams.get_team_and_job(rt.db, hash_key(token), job_id)
    if row is None:
        if _is_admin_key(rt, token):
            raise PermissionDenied("the admin key cannot act as a team; use a virtual key")
        raise AuthenticationFailed("invalid virtual key")
    return TeamContext(
        team_id=row["team_id"],
        status=row["status"],
        default_model=row["default_model"],
        rpm_limit=row["rpm_limit"],
        tpm_limit=row["tpm_limit"],
        looked_up_job=job_id,
        job=job,
    )


async def require_team_for_job(request: Request) -> TeamContext:
    """:func:`require_team` for a ``/api/jobs/{job_id}/…`` route, reading the job with the key."""
    job_id = str(request.path_params["job_id"])
    return await require_team(request, job_id=job_id if _UUID.match(job_id) else None)


async def require_team_or_admin(request: Request, team_id: str) -> None:
    """Team endpoints that an admin may read too (usage analytics)."""
    rt = runtime(request)
    token = _bearer(request)
    if token is not None and _is_admin_key(rt, token):
        return
    if token is None and rt.settings.dev_mode:
        return
    team = await require_team(request)
    if team.team_id != team_id:
        raise PermissionDenied("a virtual key can only read its own team")
