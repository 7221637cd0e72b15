"""Every error the SDK raises, so that ``except SaasLiteLLMError`` is the only catch-all a caller
needs. No raw ``httpx`` exception leaves a public method.

::

    SaasLiteLLMError                    anything the SDK raises (also a missing team_id or key)
    ├── APIConnectionError              no HTTP response at all: DNS, refused, reset, bad TLS …
    │   └── APITimeoutError             … because a timeout or the call's deadline expired
    ├── APIResponseValidationError      a 2xx whose body does not match the contract's model
    ├── StreamError                     an ``error`` event in the middle of an SSE stream
    ├── WebhookVerificationError        ``verify_webhook``: a delivery's signature, timestamp or
    │                                   event does not check out (``error_type`` says which)
    ├── StructuredOutputError           ``structured_call``: no valid object after every attempt
    │   ├── StructuredOutputTruncatedError  … because the answer was cut off (``length``)
    │   └── StructuredOutputRefusedError    … because the model refused (no content)
    └── APIStatusError                  the server answered with a non-2xx status
        ├── BadRequestError             400 invalid_request
        ├── AuthenticationError         401 authentication_error
        ├── InsufficientCreditsError    402 insufficient_credits
        │   └── JobBudgetExceededError  402 job_budget_exceeded (a job's own limits)
        ├── PermissionDeniedError       403 permission_denied
        ├── NotFoundError               404 not_found
        ├── ConflictError               409 conflict
        ├── RequestTooLargeError        413 request_too_large
        ├── UnprocessableEntityError    422 validation_error
        ├── RateLimitError              429 rate_limited (``retry_after`` in seconds)
        ├── UpstreamError               502 upstream_error
        │   └── UpstreamTimeoutError    504 upstream_timeout
        └── InternalServerError         any other 5xx

The class follows the HTTP status, not the body's ``error.type``, so that errors from a proxy in
front of the server (which does not speak our error format) still land in the right class; a
402 whose type is ``job_budget_exceeded`` is the narrower :class:`JobBudgetExceededError`. An
unlisted 4xx is a plain :class:`APIStatusError`.

Every error carries ``message``, ``status_code``, ``error_type``, ``request_id`` and ``param``
(``None`` where they do not apply); quote ``request_id`` when reporting a problem.

Invalid arguments are caught before anything is sent and raise pydantic's ``ValidationError``
(a ``ValueError``), not one of these: they are bugs in the calling code, not failures of the API.
So is ``StrictSchemaError`` (also a ``ValueError``), for a ``response_model`` that strict
structured outputs cannot express.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

import httpx
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from saas_litellm_models import ErrorDetail, ErrorResponse, Usage

__all__ = [
    "APIConnectionError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "InsufficientCreditsError",
    "InternalServerError",
    "JobBudgetExceededError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RequestTooLargeError",
    "SaasLiteLLMError",
    "StreamError",
    "StructuredOutputError",
    "StructuredOutputRefusedError",
    "StructuredOutputTruncatedError",
    "UnprocessableEntityError",
    "UpstreamError",
    "UpstreamTimeoutError",
    "WebhookVerificationError",
]

_MAX_TEXT_MESSAGE = 500
"""How much of a non-JSON error body (an HTML page from a proxy, say) ends up in ``message``."""


class SaasLiteLLMError(Exception):
    """Base class of every error raised by the SDK."""

    message: str
    status_code: int | None
    error_type: str | None
    request_id: str | None
    param: str | None

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        error_type: str | None = None,
        request_id: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.error_type = error_type
        self.request_id = request_id
        self.param = param

    def __str__(self) -> str:
        return self.message


class APIConnectionError(SaasLiteLLMError):
    """The request got no HTTP response: the server is down, the network failed, TLS failed,
    or the response could not be read. Whether the server acted on the request is unknown."""

    request: httpx.Request | None

    def __init__(
        self, message: str = "Connection error.", *, request: httpx.Request | None = None
    ) -> None:
        super().__init__(message)
        self.request = request


class APITimeoutError(APIConnectionError):
    """A connect, read, write or pool timeout expired (see the client's ``timeout``), or the
    call's ``deadline`` ran out — across its retries — before it succeeded; then ``request``
    is ``None`` and the last attempt's error, if any, is the ``__cause__``."""

    def __init__(
        self, message: str = "Request timed out.", *, request: httpx.Request | None = None
    ) -> None:
        super().__init__(message, request=request)


class APIResponseValidationError(SaasLiteLLMError):
    """A 2xx response whose body does not fit the expected model: a server (or proxy) that does
    not follow the contract. The pydantic error is the ``__cause__``."""

    response: httpx.Response

    def __init__(self, message: str, *, response: httpx.Response) -> None:
        super().__init__(
            message,
            status_code=response.status_code,
            request_id=response.headers.get("x-request-id"),
        )
        self.response = response


class StreamError(SaasLiteLLMError):
    """The server sent an ``error`` event instead of ``done`` after a stream had started (the
    HTTP status was already 200, so this cannot be an :class:`APIStatusError`)."""

    def __init__(
        self, message: str, *, error_type: str | None = None, request_id: str | None = None
    ) -> None:
        super().__init__(message, error_type=error_type, request_id=request_id)


class WebhookVerificationError(SaasLiteLLMError):
    """``verify_webhook`` refused a delivery: answer it with a 4xx and do not act on it.
    ``error_type`` names the check that failed — ``missing_header``, ``invalid_timestamp``,
    ``timestamp_too_old``, ``timestamp_too_new``, ``invalid_signature`` — or
    ``unknown_event``: correctly signed, but not an event this SDK knows (a newer server's).
    The message never contains the secret."""

    def __init__(self, message: str, *, error_type: str) -> None:
        super().__init__(message, error_type=error_type)


class StructuredOutputError(SaasLiteLLMError):
    """``structured_call`` (or ``stream_structured``) got no answer that validates as the
    ``response_model``: the last answer still failed after every re-ask.

    ``attempts`` is the number of LLM calls made (each one recorded on the job, with its id in
    ``call_ids``), ``usage`` their tokens summed, ``last_output`` the last answer's text and
    ``validation_errors`` its errors, as pydantic's ``ValidationError.errors()`` (an answer that
    is not JSON at all has one ``json_invalid`` error). ``finish_reason`` is the last call's.
    """

    attempts: int
    last_output: str
    validation_errors: list[ErrorDetails]
    usage: Usage
    call_ids: list[str]
    finish_reason: str | None

    def __init__(
        self,
        message: str,
        *,
        attempts: int,
        last_output: str,
        validation_errors: list[ErrorDetails],
        usage: Usage,
        call_ids: list[str],
        finish_reason: str | None = None,
    ) -> None:
        super().__init__(message)
        self.attempts = attempts
        self.last_output = last_output
        self.validation_errors = validation_errors
        self.usage = usage
        self.call_ids = call_ids
        self.finish_reason = finish_reason


class StructuredOutputTruncatedError(StructuredOutputError):
    """The answer was cut off (``finish_reason == "length"``) before the object was complete.
    Not re-asked: the same limit would cut the next answer too; raise ``max_tokens``."""


class StructuredOutputRefusedError(StructuredOutputError):
    """The model declined to answer: ``finish_reason == "content_filter"`` or no content at all.
    Not re-asked."""


class APIStatusError(SaasLiteLLMError):
    """The server answered with a non-2xx status.

    ``response`` is the raw ``httpx.Response``; ``body`` is its decoded JSON (or its text when
    it is not JSON); ``error`` is the parsed contract error body, ``None`` when the body was not
    in our format (e.g. a load balancer's HTML page).
    """

    status_code: int
    response: httpx.Response
    body: object
    error: ErrorDetail | None

    def __init__(
        self,
        message: str,
        *,
        response: httpx.Response,
        body: object = None,
        error: ErrorDetail | None = None,
        error_type: str | None = None,
        request_id: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(
            message,
            status_code=response.status_code,
            error_type=error_type,
            request_id=request_id,
            param=param,
        )
        self.response = response
        self.body = body
        self.error = error
        self._read_details(response, error)

    def _read_details(self, response: httpx.Response, error: ErrorDetail | None) -> None:
        """Where a subclass reads what its error type adds (a balance, a ``Retry-After``)."""

    def __str__(self) -> str:
        kind = f" {self.error_type}" if self.error_type else ""
        rid = f" (request_id: {self.request_id})" if self.request_id else ""
        return f"Error code {self.status_code}{kind}: {self.message}{rid}"


class BadRequestError(APIStatusError):
    """400: the request is malformed (the server's ``invalid_request``)."""


class AuthenticationError(APIStatusError):
    """401: the key is missing, wrong, rotated away, or of the wrong kind (team vs admin)."""


class InsufficientCreditsError(APIStatusError):
    """402: the team cannot open another job; credits minus open reservations is below one.

    ``credits_remaining``, ``credits_reserved`` (held by open jobs) and ``credits_available``
    (their difference) are the balance the server refused on; ``None`` if the body lacks them.
    Completing or failing open jobs frees reserved credits; ``add_credits`` adds new ones.
    """

    credits_remaining: int | None
    credits_reserved: int | None
    credits_available: int | None

    def _read_details(self, response: httpx.Response, error: ErrorDetail | None) -> None:
        self.credits_remaining = error.credits_remaining if error else None
        self.credits_reserved = error.credits_reserved if error else None
        self.credits_available = error.credits_available if error else None


class JobBudgetExceededError(InsufficientCreditsError):
    """402 ``job_budget_exceeded``: the call's worst case would take its job past one of the
    limits it was opened with (``max_tokens``, ``max_cost_usd``, ``max_credits``; ``param``
    names it). Nothing went upstream; ask for less (a lower ``max_tokens``) or open a new job."""


class PermissionDeniedError(APIStatusError):
    """403: wrong team, a model outside the team's access groups, or a suspended team."""


class NotFoundError(APIStatusError):
    """404: no such resource — or one that belongs to another team."""


class ConflictError(APIStatusError):
    """409: the resource exists already, or the job is already completed/failed."""


class RequestTooLargeError(APIStatusError):
    """413: the request body is over the server's size limit."""


class UnprocessableEntityError(APIStatusError):
    """422: the body is well-formed JSON but fails validation; ``param`` names the field."""


class RateLimitError(APIStatusError):
    """429: slow down. ``retry_after`` is the server's ``Retry-After`` in seconds, if sent."""

    retry_after: float | None

    def _read_details(self, response: httpx.Response, error: ErrorDetail | None) -> None:
        self.retry_after = _parse_retry_after(response.headers.get("retry-after"))


class UpstreamError(APIStatusError):
    """502: every deployment behind the model alias failed (the server's ``upstream_error``)."""


class UpstreamTimeoutError(UpstreamError):
    """504: the upstream model did not answer in time (the server's ``upstream_timeout``)."""


class InternalServerError(APIStatusError):
    """Any other 5xx: the server (or something in front of it) failed; usually worth a retry."""


_STATUS_CLASSES: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: InsufficientCreditsError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: RequestTooLargeError,
    422: UnprocessableEntityError,
    429: RateLimitError,
    502: UpstreamError,
    504: UpstreamTimeoutError,
}


def _parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` is either delta-seconds or an HTTP date; anything else is ignored."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:  # "-0000" means UTC per RFC 5322
            when = when.replace(tzinfo=timezone.utc)
        return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return seconds


def _make_status_error(response: httpx.Response) -> APIStatusError:
    """Build the exception for a non-2xx response, whose body must have been read already."""
    status = response.status_code
    cls = _STATUS_CLASSES.get(status)
    if cls is None:
        cls = InternalServerError if status >= 500 else APIStatusError
    header_request_id = response.headers.get("x-request-id")

    try:
        detail: ErrorDetail | None = ErrorResponse.model_validate_json(response.content).error
    except ValidationError:
        detail = None
    try:
        body: object = json.loads(response.content)
    except ValueError:  # also UnicodeDecodeError
        body = response.text

    if detail is not None:
        if status == 402 and detail.type == "job_budget_exceeded":
            cls = JobBudgetExceededError
        return cls(
            detail.message,
            response=response,
            body=body,
            error=detail,
            error_type=detail.type,
            request_id=detail.request_id or header_request_id,
            param=detail.param,
        )

    text = response.text.strip()
    if len(text) > _MAX_TEXT_MESSAGE:
        text = text[:_MAX_TEXT_MESSAGE] + "…"
    message = text or f"HTTP {status} {response.reason_phrase}".rstrip()
    return cls(message, response=response, body=body, request_id=header_request_id)
