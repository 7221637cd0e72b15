"""The error body every non-2xx response carries, and the error types of the contract."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ._base import ResponseModel

__all__ = ["ERROR_STATUS", "ErrorDetail", "ErrorResponse", "ErrorType"]

ErrorType = Literal[
    "invalid_request",
    "unsupported_parameter",
    "model_mode_mismatch",
    "authentication_error",
    "insufficient_credits",
    "job_budget_exceeded",
    "permission_denied",
    "not_found",
    "conflict",
    "request_timeout",
    "request_too_large",
    "unsupported_media_type",
    "misdirected_request",
    "validation_error",
    "rate_limited",
    "upstream_error",
    "upstream_timeout",
    "internal_error",
    "service_unavailable",
]

ERROR_STATUS: dict[str, int] = {
    "invalid_request": 400,
    "unsupported_parameter": 400,
    "model_mode_mismatch": 400,
    "authentication_error": 401,
    "insufficient_credits": 402,
    "job_budget_exceeded": 402,
    "permission_denied": 403,
    "not_found": 404,
    "conflict": 409,
    "request_timeout": 408,
    "request_too_large": 413,
    "unsupported_media_type": 415,
    "misdirected_request": 421,
    "validation_error": 422,
    "rate_limited": 429,
    "upstream_error": 502,
    "upstream_timeout": 504,
    "internal_error": 500,
    "service_unavailable": 503,
}
"""The HTTP status that goes with each error type."""


class ErrorDetail(ResponseModel):
    # ``str`` rather than ``ErrorType``: an SDK must still parse error types added later.
    type: str
    message: str
    request_id: str | None = None
    param: str | None = None
    # The balance behind an ``insufficient_credits`` refusal, so a caller sees why without
    # another request: remaining minus reserved (by open jobs) is what a new job can reserve.
    credits_remaining: int | None = Field(
        default=None, description="insufficient_credits: the team's credits not yet used."
    )
    credits_reserved: int | None = Field(
        default=None, description="insufficient_credits: credits held by the team's open jobs."
    )
    credits_available: int | None = Field(
        default=None,
        description="insufficient_credits: credits_remaining - credits_reserved; a job needs 1.",
    )


class ErrorResponse(ResponseModel):
    """``{"error": {"type", "message", "request_id", "param"?, ...}}``; the ``credits_*`` fields
    come only with ``insufficient_credits``."""

    error: ErrorDetail
