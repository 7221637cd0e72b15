"""Rendering a response: a shared model as JSON, or the contract's error body.

Used by the routes, the middleware and the app's exception handlers alike (the one place that
writes an ``ErrorResponse``). Under ``/v1`` (the OpenAI-compatible surface) errors take OpenAI's
shape instead, ``{"error": {"message", "type", "param", "code"}}`` with the native error type as
``code`` and the native status, so that the openai SDK raises its own typed errors; under
``/v1/messages`` (Anthropic's Messages API) they take Anthropic's, ``{"type": "error", "error":
{"type", "message"}}``, with the statuses the anthropic SDK maps to its errors
(:data:`ANTHROPIC_ERROR_TYPES`).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from saas_litellm_models import (
    AnthropicError,
    AnthropicErrorResponse,
    ErrorDetail,
    ErrorResponse,
    OpenAIErrorBody,
    OpenAIErrorResponse,
)

from .errors import APIError

__all__ = [
    "ANTHROPIC_ERROR_TYPES",
    "OPENAI_ERROR_TYPES",
    "SHOULD_RETRY",
    "Surface",
    "anthropic_error",
    "api_error_response",
    "error_response",
    "error_surface",
    "json_response",
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

ANTHROPIC_ERROR_TYPES = {
    "invalid_request": "invalid_request_error",
    "model_mode_mismatch": "invalid_request_error",
    "validation_error": "invalid_request_error",
    "request_too_large": "request_too_large",
    "unsupported_media_type": "invalid_request_error",
    "conflict": "invalid_request_error",
    "request_timeout": "invalid_request_error",
    "not_found": "not_found_error",
    "authentication_error": "authentication_error",
    "permission_denied": "permission_error",
    "insufficient_credits": "billing_error",
    "job_budget_exceeded": "billing_error",
    "rate_limited": "rate_limit_error",
    "upstream_timeout": "timeout_error",
    "service_unavailable": "overloaded_error",
}
"""Anthropic's ``type`` for each native error type; any other (upstream, internal) is
``api_error``. The status stays ours, which the anthropic SDK maps to its own errors (400
``BadRequestError``, 401 ``AuthenticationError``, 402 ``PaymentRequiredError``, 403, 404,
429 ``RateLimitError``, 5xx ``InternalServerError``), but for a 422 (a body that does not
validate), which Anthropic answers with 400 ``invalid_request_error``: 400 here too. No
credit left is 402 ``billing_error``, as Anthropic's own billing errors are: not retried."""

Surface = Literal["native", "openai", "anthropic"]
"""Whose error shape a path answers in."""


SHOULD_RETRY = "x-should-retry"
"""The header that tells a client whether to retry an error (the openai and anthropic SDKs
read it before their own rules): a 409 on a closed job, say, is not worth three retries."""


def should_retry(status_code: int) -> str:
    """``"true"`` for what a retry can fix — a slow request (408), a rate limit (429), the
    server's or the upstream's trouble (5xx) — else ``"false"``: 400, 401, 402, 403, 404, 409
    (a request still running under the same Idempotency-Key included: its own client waits it
    out, another one must not take it for its own), 413, 415, 421 and 422 are answers."""
    return "true" if status_code in (408, 429) or status_code >= 500 else "false"


def error_surface(path: str) -> Surface:
    """Whose shape the errors of ``path`` take: Anthropic's under ``/v1/messages``, OpenAI's
    elsewhere under ``/v1``, ours everywhere else."""
    if path == "/v1/messages" or path.startswith("/v1/messages/"):
        return "anthropic"
    return "openai" if path == "/v1" or path.startswith("/v1/") else "native"


def anthropic_error(error_type: str, message: str, request_id: str | None = None) -> bytes:
    """The JSON of an error in Anthropic's shape (a response body, or an ``error`` event)."""
    shaped = AnthropicErrorResponse(
        error=AnthropicError(
            type=ANTHROPIC_ERROR_TYPES.get(error_type, "api_error"),
            message=message,
            code=error_type,
        ),
        request_id=request_id,
    )
    return shaped.model_dump_json(exclude_none=True).encode()


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
    surface: Surface = "native",
) -> Response:
    """The error body (``surface``: in OpenAI's or Anthropic's shape, its extra details left
    out), with ``x-should-retry`` (:func:`should_retry`)."""
    headers = {"X-Request-ID": request_id, **(headers or {})}
    headers.setdefault(SHOULD_RETRY, should_retry(status_code))
    if surface == "anthropic":
        headers["request-id"] = request_id  # where the anthropic SDK looks for it
        return Response(
            anthropic_error(error_type, message, request_id),
            status_code=400 if status_code == 422 else status_code,
            media_type="application/json",
            headers=headers,
        )
    if surface == "openai":
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
        surface=error_surface(request.url.path),
    )
