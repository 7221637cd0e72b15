"""Idempotency keys: a request repeated with the same ``Idempotency-Key`` runs once.

The first request with a key claims it (per team, or per admin), runs, and leaves its response
behind for ``SAAS_LITELLM_IDEMPOTENCY_TTL`` seconds. A repeat with the same request replays that
response without touching the upstream or the ledger; the same key with a different request is
refused (422), and a repeat while the first is still running gets 409. Responses that say "try
again" (5xx, 429) are not kept, so that a retry really retries.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from ..errors import Conflict, ValidationFailed
from ..store import Database, idempotency

__all__ = ["Replay", "abort", "begin", "fingerprint", "finish"]


@dataclass(frozen=True)
class Replay:
    status_code: int
    body: str


def fingerprint(method: str, path: str, body: bytes) -> str:
    """What makes two requests "the same": method, path and the JSON body, key order aside."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, RecursionError):  # not JSON (the handler will say so): the bytes as sent
        canonical = body
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + canonical).hexdigest()


async def begin(db: Database, scope: str, key: str, print_: str, *, ttl: float) -> Replay | None:
    """Claim ``key`` for this request (``None``: go ahead), or return what to replay."""
    if await idempotency.claim(db, scope, key, print_, ttl):
        return None
    row = await idempotency.get(db, scope, key)
    if row is None:  # expired and deleted in between: claim again
        return await begin(db, scope, key, print_, ttl=ttl)
    if row["fingerprint"] != print_:
        raise ValidationFailed(
            "this Idempotency-Key was already used with a different request",
            param="Idempotency-Key",
        )
    if row["state"] != "done":
        raise Conflict(
            "a request with this Idempotency-Key is still being processed; retry later",
            param="Idempotency-Key",
            headers={"Retry-After": "1"},
        )
    return Replay(status_code=int(row["status_code"]), body=str(row["body"]))


async def finish(db: Database, scope: str, key: str, status_code: int, body: str) -> None:
    if status_code >= 500 or status_code == 429:
        await idempotency.release(db, scope, key)
    else:
        await idempotency.finish(db, scope, key, status_code, body)


async def abort(db: Database, scope: str, key: str) -> None:
    await idempotency.release(db, scope, key)
