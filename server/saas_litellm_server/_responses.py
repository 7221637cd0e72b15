"""Rendering a response: a shared model as JSON, or the contract's error body.

Used by the routes, the middleware and the app's exception handlers alike (the one place that
writes an ``ErrorResponse``). Under ``/v1`` (the OpenAI-compatible surface) errors take OpenAI's
shape instead, ``{"error": {"message", "type", "param", "code"}}`` with the native error type as
``code`` and the native status, so that the openai SDK raises its own typed errors.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from saas_litellm_models import ErrorDetail, ErrorResponse, OpenAIErrorBody, OpenAIErrorResponse

from .errors import APIError

__all__ = [
    "OPENAI_ERROR_TYPES",
    "SHOULD_RETRY",
    "api_error_response",
    "error_response",
    "json_response",
    "openai_path",
    "request_id",
    "should_retry",
]

OPENAI_ERROR_TYPES = {
    "invalid_request": "invalid_request_error",
    "unsupported_parameter": "invalid_request_error",
    "model_mode_mismatch": "invalid_request_error",
    "validation_error": "invalid_request_error",
    "request_too_large": "invalid_request_error",
    "not_found": "invalid_request_error",
    "conflict": "invalid_request_error",
    "request_timeout": "invalid_request_error",
    "authentication_error": "authentication_error",
    "permission_denied": "permission_error",
    "insufficient_credits": "insufficient_quota",
    "job_budget_exceeded": "insufficient_quota",
    "rate_limited": "rate_limit_error",
}
"""OpenAI's ``type`` for each native error type; any other (upstream, internal, unavailable)
is ``api_error``."""


SHOULD_RETRY = "x-should-retry"
"""The header that tells a client whether to retry an error (the openai and anthropic SDKs
read it before their own rules): a 409 on a closed job, say, is not worth three retries."""


def should_retry(status_code: int) -> str:
    """``"true"`` for what a retry can fix — a slow request (408), a rate limit (429), the
    server's or the upstream's trouble (5xx) — else ``"false"``: 400, 401, 402, 403, 404, 409
    (a request still running under the same Idempotency-Key included: its own client waits it
    out, another one must not take it for its own), 413, 415, 421 and 422 are answers."""
    return "true" if status_code in (408, 429) or status_code >= 500 else "false"


def openai_path(path: str) -> bool:
    """Whether ``path`` is on the OpenAI-compatible surface (errors in OpenAI's shape)."""
    return path == "/v1" or path.startswith("/v1/")


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
    openai: bool = False,
) -> Response:
    """The error body (``openai``: in OpenAI's shape, its extra details left out), with
    ``x-should-retry`` (:func:`should_retry`)."""
    headers = {"X-Request-ID": request_id, **(headers or {})}
    headers.setdefault(SHOULD_RETRY, should_retry(status_code))
    if openai:
        shaped = OpenAIErrorResponse(
            error=OpenAIErrorBody(
                message=message,
                type=OPENAI_ERROR_TYPES.get(error_type, "api_error"),
                param=param,
                code=error_type,
            )
        )
        return Response(
            shaped.model_dump_json(),
            status_code=status_code,
            media_type="application/json",
            headers=headers,
        )
    body = ErrorResponse(
        error=ErrorDetail(
            type=error_type, message=message, request_id=request_id, param=param, **(details or {})
        )
    )
    return Response(
        body.model_dump_json(exclude_none=True),
        status_code=status_code,
        media_type="application/json",
        headers=headers,
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
        openai=openai_path(request.url.path),
    )
