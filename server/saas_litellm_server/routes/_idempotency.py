"""Run a POST handler under its ``Idempotency-Key`` (see ``services.idempotency``)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import anyio
from starlette.requests import Request
from starlette.responses import Response

from ..errors import APIError, ValidationFailed
from ..services import idempotency
from ._http import api_error_response, read_body, runtime
from ._sse import EventStreamResponse

__all__ = ["idempotent", "idempotent_stream"]

_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


def _key(request: Request) -> str | None:
    key = request.headers.get("idempotency-key")
    if key is not None and not _KEY.match(key):
        raise ValidationFailed(
            "Idempotency-Key must be 1 to 255 printable ASCII characters", param="Idempotency-Key"
        )
    return key


async def _claim(
    request: Request, scope: str, key: str, replay: Callable[[str], Awaitable[str]] | None
) -> Response | None:
    """Claim the key (``None``: run the request), or the response to replay."""
    rt = runtime(request)
    print_ = idempotency.fingerprint(request.method, request.url.path, await read_body(request))
    found = await idempotency.begin(
        rt.db, scope, key, print_, ttl=rt.settings.idempotency_ttl_seconds
    )
    if found is None:
        return None
    body = found.body if replay is None else await replay(found.body)
    return Response(
        body,
        status_code=found.status_code,
        media_type="text/event-stream" if body.startswith("event: ") else "application/json",
        headers={"Idempotent-Replayed": "true"},
    )


async def idempotent(
    request: Request,
    scope: str,
    handler: Callable[[], Awaitable[Response]],
    *,
    store: Callable[[bytes], str] = bytes.decode,
    replay: Callable[[str], Awaitable[str]] | None = None,
) -> Response:
    """``store`` turns the response body into what is kept (to leave secrets out of it);
    ``replay`` turns what was kept back into the body to send."""
    key = _key(request)
    if key is None:
        return await handler()
    replayed = await _claim(request, scope, key, replay)
    if replayed is not None:
        return replayed
    db = runtime(request).db
    try:
        response = await handler()
    except APIError as exc:
        response = api_error_response(request, exc)
    except BaseException:
        with anyio.CancelScope(shield=True):
            await idempotency.abort(db, scope, key)
        raise
    with anyio.CancelScope(shield=True):
        await idempotency.finish(db, scope, key, response.status_code, store(bytes(response.body)))
    return response


async def idempotent_stream(
    request: Request, scope: str, handler: Callable[[], Awaitable[EventStreamResponse]]
) -> Response | EventStreamResponse:
    """The same for an event stream: kept (for replays) once it was sent to its end; a stream
    the client left early is not kept, so that a retry runs the call again."""
    key = _key(request)
    if key is None:
        return await handler()
    replayed = await _claim(request, scope, key, None)
    if replayed is not None:
        return replayed
    db = runtime(request).db
    try:
        stream = await handler()
    except APIError as exc:
        response = api_error_response(request, exc)
        with anyio.CancelScope(shield=True):
            await idempotency.finish(
                db, scope, key, response.status_code, bytes(response.body).decode()
            )
        return response
    except BaseException:
        with anyio.CancelScope(shield=True):
            await idempotency.abort(db, scope, key)
        raise

    async def complete(sent: bytes) -> None:
        await idempotency.finish(db, scope, key, 200, sent.decode())

    async def abort() -> None:
        await idempotency.abort(db, scope, key)

    stream.on_complete, stream.on_abort = complete, abort
    return stream
