"""HTTP helpers of the router: the runtime, the bearer token, the body and the query."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import ClientDisconnect, Request

from .._responses import error_surface
from .._runtime import Runtime
from ..errors import (
    APIError,
    AuthenticationFailed,
    InvalidRequest,
    UnsupportedMediaType,
    ValidationFailed,
)
from ._json_shape import check_json_shape

__all__ = ["bearer", "client_address", "parse_body", "parse_query", "read_body", "runtime"]

M = TypeVar("M", bound=BaseModel)

_MAX_TOKEN_CHARS = 512


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def client_address(request: Request) -> str:
    """The client's IP address (what failed authentications are counted by)."""
    client = request.client
    return client.host if client is not None else "unknown"


def bearer(request: Request) -> str | None:
    """The ``Authorization: Bearer`` token, ``None`` without the header. On Anthropic's
    surface (``/v1/messages``) the key may come as ``x-api-key`` instead, as the anthropic
    SDK sends it."""
    header = request.headers.get("authorization")
    if header is None:
        if error_surface(request.url.path) != "anthropic":
            return None
        key = request.headers.get("x-api-key", "").strip()
        if len(key) > _MAX_TOKEN_CHARS:
            raise AuthenticationFailed("invalid key")
        return key or None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationFailed("the Authorization header must be 'Bearer <key>'")
    token = token.strip()
    if len(token) > _MAX_TOKEN_CHARS:
        raise AuthenticationFailed("invalid key")
    return token


def _loc(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc)


def _validation_error(exc: ValidationError, what: str = "body") -> APIError:
    errors = exc.errors(include_url=False, include_input=False)
    first = errors[0]
    if first["type"] == "json_invalid":
        detail = str(first["msg"]).removeprefix("Invalid JSON: ")
        return InvalidRequest(f"the body is not valid JSON ({detail})")
    if not first["loc"] and first["type"] in {"model_type", "model_attributes_type"}:
        return InvalidRequest("the body must be a JSON object")
    parts = [f"{_loc(e['loc']) or what}: {e['msg']}" for e in errors[:3]]
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
        if body:
            _check_json_type(request.headers.get("content-type"))
        check_json_shape(body)
        state["body_checked"] = True
    return body


def _check_json_type(content_type: str | None) -> None:
    """A body must say it is JSON (``application/json``, or a ``+json`` type). What a web page
    can send to another site without a CORS preflight — ``text/plain``, a form, a blob with no
    type — is refused, so no page a browser opens can drive this API."""
    media = (content_type or "").partition(";")[0].strip().lower()
    if media != "application/json" and not (
        media.startswith("application/") and media.endswith("+json")
    ):
        shown = f"{media[:100]!r}" if media else "no Content-Type"
        raise UnsupportedMediaType(
            f"the body must be JSON, sent with Content-Type: application/json (got {shown})"
        )


async def parse_body(request: Request, model: type[M], *, optional: bool = False) -> M:
    """The body as ``model``; with ``optional``, an empty body is the model's defaults. Strict:
    a value must have the JSON type its field declares (``"stream": "yes"`` is not ``true``,
    ``true`` is not ``1``); nothing is coerced."""
    body = await read_body(request)
    if not body.strip():
        if optional:
            return model()
        raise InvalidRequest("the body is empty; expected a JSON object")
    try:
        return model.model_validate_json(body, strict=True)
    except ValidationError as exc:
        raise _validation_error(exc) from None


def parse_query(request: Request, model: type[M]) -> M:
    try:
        return model.model_validate(dict(request.query_params))
    except ValidationError as exc:
        raise _validation_error(exc, "query") from None
