"""The retry policy, in one place: what is retried, how long to wait, and idempotency keys.

A failed attempt is retried — up to ``max_retries`` times (default 2) — when it is

- a connection error or a timeout (:class:`APIConnectionError`, :class:`APITimeoutError`);
- a ``408``, ``429``, ``500``, ``502``, ``503`` or ``504`` response;
- for a stream, an ``error`` event of type ``upstream_error``, ``upstream_timeout``,
  ``rate_limited`` or ``internal_error`` that arrives before the first chunk.

Nothing else is: every other 4xx — ``402``, ``409`` and ``422`` above all — is an answer, not a
glitch. (A ``409`` saying that an earlier attempt of the same call is still running on the
server is waited out instead — up to the deadline — since its outcome is the answer; see
``_BaseClient._attempts``.) A response's ``x-should-retry`` header, when the server sends one,
decides instead of the status (``true``: retry, ``false``: do not), as in the openai and
anthropic SDKs.

The wait before retry ``n`` (1, 2, …) is ``min(0.5 * 2**(n-1), 8)`` seconds minus up to
25 % jitter, unless the response said how long to wait (``retry-after-ms``, else
``Retry-After`` in seconds or as an HTTP date): that is honoured up to 60 seconds; a server
asking for longer is not retried at all (the error carries the wait, e.g.
``RateLimitError.retry_after``).

Every request the server de-duplicates (``idempotent`` in ``_endpoints``) carries an
``Idempotency-Key`` — a fresh one per logical call, the same one on all of its retries — so that a
retry of a request whose response was lost is replayed by the server instead of running twice.
"""

from __future__ import annotations

import math
import os
import re
import time

import anyio
import httpx

from saas_litellm_models import IDEMPOTENCY_KEY_PATTERN

from ._exceptions import _parse_retry_after

__all__ = [
    "INITIAL_DELAY",
    "MAX_DELAY",
    "MAX_IN_FLIGHT_WAIT",
    "MAX_RETRY_AFTER",
    "RETRYABLE_STATUSES",
    "RETRYABLE_STREAM_ERRORS",
    "backoff_delay",
    "check_deadline",
    "check_idempotency_key",
    "check_max_retries",
    "new_idempotency_key",
    "server_delay",
    "server_says_retry",
    "sleep",
    "sync_sleep",
]

RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
RETRYABLE_STREAM_ERRORS = frozenset(
    {"upstream_error", "upstream_timeout", "rate_limited", "internal_error"}
)
"""``error`` event types worth a retry while no chunk has reached the caller: the 5xx/429 of a
stream whose HTTP status was already 200."""

INITIAL_DELAY = 0.5
MAX_DELAY = 8.0
JITTER = 0.25
MAX_RETRY_AFTER = 60.0
MAX_IN_FLIGHT_WAIT = 60.0
"""Without a deadline, how long a call waits, in all, for the outcome of its own earlier attempt
that the server is still running (``409`` on its ``Idempotency-Key``)."""

_IDEMPOTENCY_KEY = re.compile(IDEMPOTENCY_KEY_PATTERN)
"""What the server accepts: 1 to 255 printable ASCII characters, no spaces."""


def backoff_delay(retry: int, rand: float) -> float:
    """Seconds to wait before retry number ``retry`` (1 for the first), for ``rand`` in [0, 1):
    ``min(0.5 * 2**(retry-1), 8)`` scaled by a jitter factor in (0.75, 1]."""
    base: float = min(INITIAL_DELAY * 2.0 ** (retry - 1), MAX_DELAY)
    return base * (1 - JITTER * rand)


def server_says_retry(headers: httpx.Headers) -> bool | None:
    """The response's ``x-should-retry``: ``True``/``False``, or ``None`` when absent or
    neither."""
    value = headers.get("x-should-retry", "").strip().lower()
    return True if value == "true" else False if value == "false" else None


def server_delay(headers: httpx.Headers) -> float | None:
    """How long the response asked the client to wait: ``retry-after-ms`` (milliseconds), else
    ``Retry-After`` (seconds or an HTTP date); ``None`` when neither is usable."""
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            value = float(millis)
        except ValueError:
            value = math.nan
        if math.isfinite(value) and value >= 0:
            return value / 1000
    return _parse_retry_after(headers.get("retry-after"))


async def sleep(seconds: float) -> None:
    """The default sleep between attempts (a client's ``_sleep``; tests replace it)."""
    await anyio.sleep(seconds)


def sync_sleep(seconds: float) -> None:
    """The synchronous clients' :func:`sleep`."""
    time.sleep(seconds)


def new_idempotency_key() -> str:
    """A fresh key: 128 random bits (as a UUID4's hex, without building a UUID)."""
    return f"saas-litellm-{os.urandom(16).hex()}"


def check_idempotency_key(key: str) -> str:
    if not isinstance(key, str) or not _IDEMPOTENCY_KEY.match(key):
        raise ValueError(
            f"idempotency_key must be 1 to 255 printable ASCII characters without spaces, "
            f"got {key!r}"
        )
    return key


def check_max_retries(max_retries: int) -> int:
    if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
        raise ValueError(f"max_retries must be an integer >= 0, got {max_retries!r}")
    return max_retries


def check_deadline(deadline: float | None) -> float | None:
    if deadline is None:
        return None
    if (
        isinstance(deadline, bool)
        or not isinstance(deadline, (int, float))
        or not math.isfinite(deadline)
        or deadline <= 0
    ):
        raise ValueError(f"deadline must be a number of seconds > 0 or None, got {deadline!r}")
    return float(deadline)
