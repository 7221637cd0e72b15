"""Small httpx helpers shared by the request layer and the streams."""

from __future__ import annotations

import contextlib
from datetime import datetime
from urllib.parse import quote

import anyio
import httpx

from ._exceptions import APIConnectionError, APITimeoutError
from ._logs import log

__all__ = [
    "aclose_quietly",
    "close_quietly",
    "connection_error",
    "describe",
    "media_type",
    "move_on_after",
    "path_segment",
    "shielded",
    "sync_move_on_after",
    "sync_shielded",
    "with_query",
]


def describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def connection_error(exc: httpx.HTTPError, request: httpx.Request | None) -> APIConnectionError:
    """The SDK error for an httpx failure without a usable response — while sending, or while
    reading a body or a stream later on. Raise it ``from exc``."""
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(f"Request timed out: {describe(exc)}", request=request)
    return APIConnectionError(f"Connection error: {describe(exc)}", request=request)


async def aclose_quietly(response: httpx.Response) -> None:
    """Close a response while another error (or a cancellation) is on its way: a failure to
    close must not hide it, and the connection is dropped from the pool either way."""
    with shielded():
        try:
            await response.aclose()
        except httpx.HTTPError as exc:
            log.debug("Closing %s failed: %s", response.request.url, describe(exc))


def close_quietly(response: httpx.Response) -> None:
    """:func:`aclose_quietly` for the synchronous clients."""
    try:
        response.close()
    except httpx.HTTPError as exc:
        log.debug("Closing %s failed: %s", response.request.url, describe(exc))


def shielded() -> anyio.CancelScope:
    """Where the async clients finish work that must happen even when their task is
    cancelled (failing a job, closing a response)."""
    return anyio.CancelScope(shield=True)


def sync_shielded() -> contextlib.nullcontext[None]:
    """The synchronous clients' :func:`shielded`: nothing cancels blocking code."""
    return contextlib.nullcontext()


move_on_after = anyio.move_on_after
"""Where the async clients bound an attempt or a drain by time: cancelled when it runs out."""


def sync_move_on_after(seconds: float) -> contextlib.nullcontext[None]:
    """The synchronous clients' :data:`move_on_after`: blocking code cannot be cancelled, so the
    bound comes from the timeouts instead — every phase of an attempt (connect, write, each
    read, pool) is clamped to what is left of the deadline, and reads after ``done`` to the
    client's read timeout."""
    del seconds
    return contextlib.nullcontext()


def media_type(response: httpx.Response) -> str:
    content_type: str = response.headers.get("content-type", "")
    return content_type.partition(";")[0].strip().lower()


def with_query(path: str, **params: object) -> str:
    """``path`` with the given query parameters (``None`` ones left out; datetimes as ISO)."""
    pairs = {
        name: value.isoformat() if isinstance(value, datetime) else str(value)
        for name, value in params.items()
        if value is not None
    }
    return f"{path}?{httpx.QueryParams(pairs)}" if pairs else path


def path_segment(value: str, name: str) -> str:
    """Quote an id as exactly one path segment, so that ``/``, ``?`` or ``..`` in it cannot
    send the request to another route."""
    if not value or value in (".", ".."):
        raise ValueError(f"{name} must be a non-empty id, got {value!r}")
    return quote(value, safe="")
