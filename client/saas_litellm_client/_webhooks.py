"""``verify_webhook``: the receiving side of the webhooks the server sends.

A delivery is signed as Standard Webhooks (https://www.standardwebhooks.com) says: headers
``webhook-id``, ``webhook-timestamp`` (Unix seconds) and ``webhook-signature`` (space-separated
``v1,<base64>`` entries, each an HMAC-SHA256 of ``"{id}.{timestamp}.{body}"`` keyed with the
base64-decoded part of the ``whsec_…`` secret). :func:`verify_webhook` checks them over the raw
body, refuses a timestamp outside the tolerance (a replayed delivery), and only then parses the
body into its typed event. Pure computation, no I/O: the async and sync clients share it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import time
from collections.abc import Mapping
from datetime import datetime, timedelta

from pydantic import ValidationError

from saas_litellm_models import WebhookEvent, parse_webhook_event

from ._exceptions import WebhookVerificationError

__all__ = ["DEFAULT_WEBHOOK_TOLERANCE", "verify_webhook"]

DEFAULT_WEBHOOK_TOLERANCE = timedelta(minutes=5)
"""How far ``webhook-timestamp`` may be from the receiver's clock (the spec's libraries' 5 min)."""

_SECRET_PREFIX = "whsec_"  # noqa: S105 (the format's prefix, not a secret)
_MAX_TIMESTAMP_DIGITS = 12  # Unix seconds until the year 33658: longer is not a timestamp


def verify_webhook(
    payload: bytes,
    headers: Mapping[str, str],
    secret: str,
    *,
    tolerance: timedelta | float = DEFAULT_WEBHOOK_TOLERANCE,
    now: datetime | None = None,
) -> WebhookEvent:
    """Check a delivery's signature and timestamp, then return its typed event
    (``JobCompletedEvent``, ``CreditsLowEvent``… — narrow it on ``event.type``).

    ``payload`` is the raw request body, exactly as received (``await request.body()``): a body
    parsed and serialized again does not verify. ``headers`` is any mapping of the request's
    headers (a ``dict``, Starlette's or httpx's ``Headers``); names match case-insensitively.
    ``secret`` is the ``whsec_…`` secret ``create_webhook`` returned (its base64 part alone
    works too). ``tolerance`` (a ``timedelta`` or seconds) bounds how far the timestamp may be
    from ``now`` (default: this machine's clock) in either direction.

    Raises :class:`WebhookVerificationError` naming the check that failed (its ``error_type``:
    ``missing_header``, ``invalid_timestamp``, ``timestamp_too_old``, ``timestamp_too_new``,
    ``invalid_signature``, or ``unknown_event`` for a correctly signed body that is not an
    event this SDK knows, e.g. from a newer server). A ``secret`` that is not base64 raises
    ``ValueError``: that is a mistake in the receiver's setup, not in the delivery. The secret
    never appears in a message.
    """
    if not isinstance(payload, (bytes, bytearray, memoryview)):
        raise TypeError(
            f"payload must be the raw request body as bytes, not {type(payload).__name__}: "
            "a body decoded or serialized again may differ from what was signed"
        )
    key = _key(secret)
    msg_id, timestamp, signatures = _required(headers)
    _check_timestamp(timestamp, _seconds(tolerance), now)
    body = bytes(payload)
    signed = f"{msg_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest())
    # Every entry is compared, in constant time, whatever matched before: how long this takes
    # tells nothing about which (or whether one) matched. Other versions (v1a: asymmetric) are
    # not ours to check.
    matched = False
    versions: set[str] = set()
    for entry in signatures.split():
        version, _, signature = entry.partition(",")
        versions.add(version)
        if version == "v1":
            matched |= hmac.compare_digest(expected, signature.encode())
    if not matched:
        if "v1" not in versions:
            raise WebhookVerificationError(
                "webhook-signature has no v1 signature", error_type="invalid_signature"
            )
        raise WebhookVerificationError(
            "no v1 signature in webhook-signature matches the payload: the secret is not this "
            "endpoint's, or the body was changed (verify the raw body, as received)",
            error_type="invalid_signature",
        )
    try:
        return parse_webhook_event(body)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise WebhookVerificationError(
            f"the payload is signed correctly but is not an event this SDK knows "
            f"({exc.error_count()} error(s); {where}: {first['msg']}); a newer server may "
            "send events this SDK predates",
            error_type="unknown_event",
        ) from None


def _key(secret: str) -> bytes:
    """The HMAC key: the base64 after ``whsec_`` (or the whole string, as the spec's libraries
    accept), decoded."""
    encoded = secret.strip()
    encoded = encoded.removeprefix(_SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(
            "secret is not a webhook secret: expected 'whsec_' followed by base64, as "
            "create_webhook returned it"
        ) from None
    if not key:
        raise ValueError("secret is empty: pass the whsec_… secret create_webhook returned")
    return key


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:  # a plain dict keeps the sender's spelling (Webhook-Id…)
        value = next((v for k, v in headers.items() if k.lower() == name), None)
    return value


def _required(headers: Mapping[str, str]) -> tuple[str, str, str]:
    names = ("webhook-id", "webhook-timestamp", "webhook-signature")
    values = [_header(headers, name) for name in names]
    missing = [name for name, value in zip(names, values, strict=True) if not value]
    if missing:
        raise WebhookVerificationError(
            f"missing header(s) {', '.join(missing)}: not a Standard Webhooks delivery",
            error_type="missing_header",
        )
    msg_id, timestamp, signatures = (value or "" for value in values)
    return msg_id, timestamp.strip(), signatures


def _seconds(tolerance: timedelta | float) -> float:
    seconds = tolerance.total_seconds() if isinstance(tolerance, timedelta) else float(tolerance)
    if not seconds >= 0 or math.isinf(seconds):
        raise ValueError(f"tolerance must be a finite, non-negative duration, not {tolerance!r}")
    return seconds


def _check_timestamp(timestamp: str, tolerance: float, now: datetime | None) -> None:
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > _MAX_TIMESTAMP_DIGITS:
        raise WebhookVerificationError(
            f"webhook-timestamp {timestamp[:32]!r} is not a Unix time in whole seconds",
            error_type="invalid_timestamp",
        )
    if now is not None and now.tzinfo is None:
        raise ValueError("now must be timezone-aware (datetime.now(timezone.utc))")
    clock = now.timestamp() if now is not None else time.time()
    age = clock - int(timestamp)
    if age > tolerance:
        raise WebhookVerificationError(
            f"webhook-timestamp is {age:.0f} s old, more than the {tolerance:g} s tolerance: "
            "a replayed delivery (or this machine's clock is wrong)",
            error_type="timestamp_too_old",
        )
    if -age > tolerance:
        raise WebhookVerificationError(
            f"webhook-timestamp is {-age:.0f} s in the future, more than the {tolerance:g} s "
            "tolerance: this machine's clock (or the sender's) is wrong",
            error_type="timestamp_too_new",
        )
