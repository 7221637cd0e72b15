"""How a non-2xx response becomes a typed exception (``_make_status_error``)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from saas_litellm_client import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InsufficientCreditsError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RequestTooLargeError,
    SaasLiteLLMError,
    StreamError,
    UnprocessableEntityError,
    UpstreamError,
    UpstreamTimeoutError,
)
from saas_litellm_client._exceptions import _make_status_error

_REQUEST = httpx.Request("POST", "http://api.test/api/jobs/create")


def _response(
    status: int,
    *,
    json: Any = None,
    content: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    return httpx.Response(status, json=json, content=content, headers=headers, request=_REQUEST)


def _error_body(error_type: str, message: str = "boom", **extra: str) -> dict[str, Any]:
    return {"error": {"type": error_type, "message": message, "request_id": "req_1", **extra}}


@pytest.mark.parametrize(
    ("status", "error_type", "cls"),
    [
        (400, "invalid_request", BadRequestError),
        (401, "authentication_error", AuthenticationError),
        (402, "insufficient_credits", InsufficientCreditsError),
        (403, "permission_denied", PermissionDeniedError),
        (404, "not_found", NotFoundError),
        (409, "conflict", ConflictError),
        (413, "request_too_large", RequestTooLargeError),
        (422, "validation_error", UnprocessableEntityError),
        (429, "rate_limited", RateLimitError),
        (502, "upstream_error", UpstreamError),
        (504, "upstream_timeout", UpstreamTimeoutError),
        (500, "internal_error", InternalServerError),
        (503, "service_unavailable", InternalServerError),
        (418, "teapot", APIStatusError),
        (451, "unavailable_for_legal_reasons", APIStatusError),
    ],
)
def test_status_picks_the_exception_class(
    status: int, error_type: str, cls: type[APIStatusError]
) -> None:
    err = _make_status_error(_response(status, json=_error_body(error_type)))

    assert type(err) is cls
    assert isinstance(err, SaasLiteLLMError)
    assert err.status_code == status
    assert err.error_type == error_type


@pytest.mark.parametrize(
    ("status", "cls"),
    [(402, InsufficientCreditsError), (504, UpstreamTimeoutError), (503, InternalServerError)],
)
def test_class_follows_status_even_without_our_error_body(
    status: int, cls: type[APIStatusError]
) -> None:
    # A load balancer in front of the server answers with HTML, not our JSON.
    err = _make_status_error(_response(status, content=b"<html><h1>Bad gateway</h1></html>"))

    assert type(err) is cls
    assert err.error_type is None
    assert err.message == "<html><h1>Bad gateway</h1></html>"


def test_upstream_timeout_is_caught_as_upstream_error() -> None:
    err = _make_status_error(_response(504, json=_error_body("upstream_timeout")))

    assert isinstance(err, UpstreamError)


def test_error_body_fields_are_carried() -> None:
    body = _error_body("validation_error", "temperature too high", param="temperature")
    response = _response(422, json=body, headers={"X-Request-ID": "req_header"})

    err = _make_status_error(response)

    assert err.message == "temperature too high"
    assert err.error_type == "validation_error"
    assert err.param == "temperature"
    assert err.request_id == "req_1"  # the body's id wins over the header's
    assert err.response is response
    assert err.body == body
    assert err.error is not None
    assert err.error.message == "temperature too high"
    assert str(err) == ("Error code 422 validation_error: temperature too high (request_id: req_1)")


def test_insufficient_credits_carries_the_balance() -> None:
    body = {
        "error": {
            "type": "insufficient_credits",
            "message": "no credit available",
            "credits_remaining": 5,
            "credits_reserved": 5,
            "credits_available": 0,
        }
    }
    err = _make_status_error(_response(402, json=body))

    assert isinstance(err, InsufficientCreditsError)
    assert (err.credits_remaining, err.credits_reserved, err.credits_available) == (5, 5, 0)


def test_insufficient_credits_without_the_balance_has_none() -> None:
    err = _make_status_error(_response(402, content=b"Payment Required"))

    assert isinstance(err, InsufficientCreditsError)
    assert (err.credits_remaining, err.credits_reserved, err.credits_available) == (
        None,
        None,
        None,
    )


def test_request_id_falls_back_to_the_header() -> None:
    body = {"error": {"type": "not_found", "message": "no such job"}}

    err = _make_status_error(_response(404, json=body, headers={"X-Request-ID": "req_hdr"}))

    assert err.request_id == "req_hdr"
    assert err.param is None


def test_non_json_error_body_is_truncated_text_with_header_request_id() -> None:
    page = "<html>" + "x" * 5000 + "</html>"
    response = _response(502, content=page.encode(), headers={"X-Request-ID": "req_lb"})

    err = _make_status_error(response)

    assert type(err) is UpstreamError
    assert err.message.startswith("<html>xxx")
    assert err.message.endswith("…")
    assert len(err.message) <= 501
    assert err.body == page
    assert err.error is None
    assert err.request_id == "req_lb"


def test_json_error_body_in_a_foreign_shape_keeps_the_decoded_body() -> None:
    err = _make_status_error(_response(400, json={"detail": "nope"}))

    assert type(err) is BadRequestError
    assert err.error_type is None
    assert err.body == {"detail": "nope"}
    assert "nope" in err.message


def test_empty_error_body_still_gives_a_message() -> None:
    err = _make_status_error(_response(503))

    assert err.message == "HTTP 503 Service Unavailable"
    assert err.body == ""


@pytest.mark.parametrize(
    ("header", "expected"),
    [("12", 12.0), ("1.5", 1.5), ("0", 0.0), ("soon", None), ("-3", None), ("nan", None)],
)
def test_rate_limit_retry_after_seconds(header: str, expected: float | None) -> None:
    response = _response(429, json=_error_body("rate_limited"), headers={"Retry-After": header})

    err = _make_status_error(response)

    assert isinstance(err, RateLimitError)
    assert err.retry_after == expected


def test_rate_limit_retry_after_http_date() -> None:
    when = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=120), usegmt=True)
    response = _response(429, json=_error_body("rate_limited"), headers={"Retry-After": when})

    err = _make_status_error(response)

    assert isinstance(err, RateLimitError)
    assert err.retry_after is not None
    assert 100 < err.retry_after <= 120


def test_rate_limit_retry_after_date_in_the_past_means_now() -> None:
    response = _response(
        429,
        json=_error_body("rate_limited"),
        headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"},
    )

    err = _make_status_error(response)

    assert isinstance(err, RateLimitError)
    assert err.retry_after == 0.0


def test_rate_limit_without_retry_after() -> None:
    err = _make_status_error(_response(429, json=_error_body("rate_limited")))

    assert isinstance(err, RateLimitError)
    assert err.retry_after is None


@pytest.mark.parametrize(
    ("cls", "parent"),
    [
        (APITimeoutError, APIConnectionError),
        (APIConnectionError, SaasLiteLLMError),
        (StreamError, SaasLiteLLMError),
        (UpstreamTimeoutError, UpstreamError),
        (InsufficientCreditsError, APIStatusError),
    ],
)
def test_broad_except_clauses_catch_the_specific_errors(
    cls: type[SaasLiteLLMError], parent: type[SaasLiteLLMError]
) -> None:
    assert issubclass(cls, parent)


def test_stream_error_carries_type_and_message() -> None:
    err = StreamError("upstream hung up", error_type="upstream_error", request_id="req_9")

    assert err.message == "upstream hung up"
    assert err.error_type == "upstream_error"
    assert err.request_id == "req_9"
    assert err.status_code is None
    assert str(err) == "upstream hung up"
