"""Errors the services raise and the HTTP layer renders as ``{"error": {...}}`` bodies.

Every failure a client can cause is one of these; each carries the contract's error type, and
the status follows from the type (``saas_litellm_models.ERROR_STATUS``). The message is written
for the API's user: it never contains an upstream URL, a key or a stack trace.
"""

from __future__ import annotations

from typing import Any

from saas_litellm_models import ERROR_STATUS, ErrorType

__all__ = [
    "APIError",
    "AuthenticationFailed",
    "Conflict",
    "InsufficientCredits",
    "InvalidRequest",
    "JobBudgetExceeded",
    "MisdirectedRequest",
    "ModelModeMismatch",
    "NotFound",
    "PermissionDenied",
    "RateLimited",
    "RequestTooLarge",
    "ServiceUnavailable",
    "UnsupportedMediaType",
    "UnsupportedParameter",
    "UpstreamFailed",
    "UpstreamTimedOut",
    "ValidationFailed",
]


class APIError(Exception):
    """Base class: ``error_type`` decides the HTTP status."""

    error_type: ErrorType = "internal_error"
    details: dict[str, Any]
    """Further fields of the error body (``ErrorDetail``), beyond type, message and param."""

    def __init__(
        self, message: str, *, param: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.headers = headers or {}
        self.details = {}

    @property
    def status_code(self) -> int:
        return ERROR_STATUS[self.error_type]


class InvalidRequest(APIError):
    error_type = "invalid_request"


class UnsupportedParameter(APIError):
    """A parameter this server cannot honour (a stored response to continue from, say)."""

    error_type = "unsupported_parameter"


class ModelModeMismatch(APIError):
    """A chat call to an alias that serves embeddings, or an embeddings call to a chat alias
    (the alias's ``mode``)."""

    error_type = "model_mode_mismatch"


class AuthenticationFailed(APIError):
    error_type = "authentication_error"


class InsufficientCredits(APIError):
    """No credit to reserve; the body carries the balance that says why."""

    error_type = "insufficient_credits"

    def __init__(
        self,
        team_id: str,
        *,
        credits_remaining: int,
        credits_reserved: int,
        needed: int | None = None,
    ) -> None:
        available = credits_remaining - credits_reserved
        if needed is None:
            what = "no credit available to open a job"
            why = "each open job reserves one credit until it is completed or failed"
        else:
            what = f"not the {needed} more credit(s) this call's worst case needs"
            why = "a call reserves its worst case (max_tokens at the model's highest price)"
        super().__init__(
            f"team {team_id!r} has {what}: {credits_remaining} remaining, {credits_reserved} "
            f"reserved by open jobs, {available} available ({why})"
        )
        self.details = {
            "credits_remaining": credits_remaining,
            "credits_reserved": credits_reserved,
            "credits_available": available,
        }


class JobBudgetExceeded(APIError):
    """A call whose worst case would take its job past one of the job's limits."""

    error_type = "job_budget_exceeded"


class PermissionDenied(APIError):
    error_type = "permission_denied"


class NotFound(APIError):
    error_type = "not_found"


class Conflict(APIError):
    error_type = "conflict"


class RequestTooLarge(APIError):
    error_type = "request_too_large"


class ValidationFailed(APIError):
    error_type = "validation_error"


class UnsupportedMediaType(APIError):
    """A body that is not ``application/json``: what a web page can send without a CORS
    preflight (``text/plain``, forms, a typeless blob), refused before it is read as JSON."""

    error_type = "unsupported_media_type"


class MisdirectedRequest(APIError):
    """A request to a local-dev server under a ``Host`` that is not a loopback name: a web page
    that rebound its own name to 127.0.0.1 (DNS rebinding)."""

    error_type = "misdirected_request"


class RateLimited(APIError):
    error_type = "rate_limited"


class UpstreamFailed(APIError):
    error_type = "upstream_error"


class UpstreamTimedOut(APIError):
    error_type = "upstream_timeout"


class ServiceUnavailable(APIError):
    error_type = "service_unavailable"
