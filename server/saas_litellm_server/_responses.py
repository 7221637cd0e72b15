"""Rendering a response: a shared model as JSON, or the contract's error body.

Used by the routes, the middleware and the app's exception handlers alike (the one place that
writes an ``ErrorResponse``).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from saas_litellm_models import ErrorDetail, ErrorResponse

from .errors import APIError

__all__ = ["api_error_response", "error_response", "json_response", "request_id"]


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
