"""Run a POST handler under its ``Idempotency-Key`` (see ``services.idempotency``).

Handlers whose whole effect is in the database run in one transaction that keeps the response
(``idempotency.in_transaction``). LLM calls, which wait on an upstream in between, keep theirs
where they record the call (``services.calls``).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import anyio
from starlette.requests import Request
from starlette.responses import Response

from saas_litellm_models import IDEMPOTENCY_KEY_PATTERN

from .._responses import api_error_response
from ..errors import APIError, ValidationFailed
from ..services import idempotency
from ._http import read_body, runtime
from ._sse import EventStreamResponse, StreamKeeping

if TYPE_CHECKING:
    from ..store import Database

__all__ = ["idempotent"]

_KEY = re.compile(IDEMPOTENCY_KEY_PATTERN)


def _key(request: Request) -> str | None:
    key = request.headers.get("idempotency-key")
    if key is not None and not _KEY.match(key):
        raise ValidationFailed(
            "Idempotency-Key must be 1 to 255 printable ASCII characters", param="Idempotency-Key"
        )
    return key


def _path(request: Request) -> str:
    """``request.url.path`` without building the whole URL (host, scheme, query) for it: the
    path as the URL escapes it."""
    path: str = request.scope["path"]
    return path.replace("?", "%3F").replace("#", "%23").replace("\\", "%5C")


async def _begin(
    request: Request,
    scope: str,
    key: str,
    keep: Callable[[bytes], str],
    replay: Callable[[str], Awaitable[str]] | None,
    vary: tuple[str, ...] = (),
) -> idempotency.Claim | Response:
    """Claim the key, or the response to replay."""
    rt = runtime(request)
    what = _path(request) + "".join(
        f"\n{name}: {request.headers[name]}" for name in vary if name in request.headers
    )
    print_ = idempotency.fingerprint(request.method, what, await read_body(request))
    found = await idempotency.begin(
        rt.db,
        scope,
        key,
        print_,
        ttl=rt.settings.idempotency_ttl_seconds,
        lease=rt.settings.idempotency_lease_seconds,
        keep=keep,
    )
    if isinstance(found, idempotency.Claim):
        return found
    headers, body = idempotency.split_headers(found.body)
    body = body if replay is None else await replay(body)
    return Response(
        body,
        status_code=found.status_code,
        media_type=(
            "text/event-stream" if body.startswith(("event: ", "data: ")) else "application/json"
        ),
        headers={**headers, "Idempotent-Replayed": "true"},
    )


_KEPT_HEADERS = ("X-Job-Id",)
"""Response headers a replay sends again (they name what the response is about)."""


def _kept(response: Response) -> bytes:
    headers = {name: response.headers[name] for name in _KEPT_HEADERS if name in response.headers}
    return idempotency.with_headers(headers, bytes(response.body))


async def idempotent(
    request: Request,
    scope: str,
    handler: Callable[[idempotency.Claim | None], Awaitable[Response | EventStreamResponse]],
    *,
    store: Callable[[bytes], str] = bytes.decode,
    replay: Callable[[str], Awaitable[str]] | None = None,
    transaction: bool = True,
    vary: tuple[str, ...] = (),
) -> Response | EventStreamResponse:
    """Run ``handler`` with the request's claim on its key (``None`` without a key), which it
    passes to what keeps the response itself. ``store`` turns the response body into what is
    kept (to leave secrets out of it); ``replay`` turns what was kept back into the body to
    send. ``transaction=False`` for handlers that keep their response themselves
    (``idempotency.keep_step``): LLM calls, and event streams, whose every event is kept where
    the call is recorded — a stream the client left early keeps nothing, so that a retry runs
    the call. ``vary``: headers that are part of what makes two requests the same."""
    key = _key(request)
    if key is None:
        return await handler(None)
    begun = await _begin(request, scope, key, store, replay, vary)
    if isinstance(begun, Response):
        return begun
    claim, db = begun, runtime(request).db
    response: Response | EventStreamResponse

    async def plain() -> Response:
        produced = await handler(claim)
        assert isinstance(produced, Response), "a stream keeps its own response"
        return produced

    try:
        async with idempotency.leased(db, claim):
            if transaction:
                response = await idempotency.in_transaction(db, claim, plain)
            else:
                response = await handler(claim)
    except APIError as exc:
        response = api_error_response(request, exc)
    except BaseException:
        with anyio.CancelScope(shield=True):
            await idempotency.abort(db, claim)
        raise
    if isinstance(response, EventStreamResponse):
        return _kept_as_streamed(response, db, claim)
    if claim.kept:  # kept with the request's effect (a call's record): nothing left to do
        return response
    with anyio.CancelScope(shield=True):
        await idempotency.finish(db, claim, response.status_code, _kept(response))
    return response


def _kept_as_streamed(
    stream: EventStreamResponse, db: Database, claim: idempotency.Claim
) -> EventStreamResponse:
    async def complete(sent: bytes) -> None:
        await idempotency.finish(db, claim, 200, sent)

    async def abort() -> None:
        await idempotency.abort(db, claim)

    return stream.kept(
        StreamKeeping(
            lease=lambda: idempotency.leased(db, claim),  # renewed while it streams
            complete=complete,
            abort=abort,
        )
    )
