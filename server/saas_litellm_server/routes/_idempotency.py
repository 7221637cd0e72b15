"""Run a POST handler under its ``Idempotency-Key`` (see ``services.idempotency``)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import anyio
from starlette.requests import Request
from starlette.responses import Response

from ..errors import APIError, ValidationFailed
from ..services import idempotency
from ._http import error_response, request_id, runtime

__all__ = ["idempotent"]

_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


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
    key = request.headers.get("idempotency-key")
    if key is None:
        return await handler()
    if not _KEY.match(key):
        raise ValidationFailed(
            "Idempotency-Key must be 1 to 255 printable ASCII characters", param="Idempotency-Key"
        )
    rt = runtime(request)
    print_ = idempotency.fingerprint(request.method, request.url.path, await request.body())
    found = await idempotency.begin(
        rt.db, scope, key, print_, ttl=rt.settings.idempotency_ttl_seconds
    )
    if found is not None:
        body = found.body if replay is None else await replay(found.body)
        return Response(
            body,
            status_code=found.status_code,
            media_type="application/json",
            headers={"Idempotent-Replayed": "true"},
        )
    try:
        response = await handler()
    except APIError as exc:
        response = error_response(
            request_id(request),
            exc.error_type,
            exc.message,
            exc.status_code,
            param=exc.param,
            headers=exc.headers,
        )
    except BaseException:
        with anyio.CancelScope(shield=True):
            await idempotency.abort(rt.db, scope, key)
        raise
    with anyio.CancelScope(shield=True):
        await idempotency.finish(
            rt.db, scope, key, response.status_code, store(bytes(response.body))
        )
    return response
