"""Idempotency keys: a request repeated with the same ``Idempotency-Key`` runs once.

The first request with a key claims it (per team, or per admin) with a *lease* of
``SAAS_LITELLM_IDEMPOTENCY_LEASE_SECONDS``, renewed while it runs, and leaves its response behind
for ``SAAS_LITELLM_IDEMPOTENCY_TTL`` seconds. A repeat with the same request replays that response
without touching the upstream or the ledger; the same key with a different request is refused
(422); a repeat while the first still runs gets 409 with ``Retry-After``.

The response is kept *in the same transaction* as the effect it reports (a job opened, a credit
spent, a call recorded): so if the effect committed, a retry replays it, and if it did not, there
is nothing to replay and the retry runs the request again. A request that died (crash, database
outage) stops renewing its lease; once it lapses a retry takes the key over, and the dead
request, should it come back, can no longer commit (its token matches nothing). Never both,
never twice. Responses that say "try again" (5xx, 429) are not kept, so that a retry retries.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from ..errors import Conflict, ValidationFailed
from ..store import Database, Statement, idempotency_sql

__all__ = [
    "Claim",
    "Replay",
    "Superseded",
    "abort",
    "awaits_response",
    "begin",
    "fingerprint",
    "finish",
    "in_transaction",
    "keep_alive",
    "keep_step",
    "keeping",
    "leased",
    "split_headers",
    "superseded",
    "with_headers",
]

logger = logging.getLogger("saas_litellm_server")


@dataclass(frozen=True)
class Replay:
    status_code: int
    body: str


@dataclass
class Claim:
    """A request's hold on its key."""

    scope: str
    key: str
    token: str
    lease: float
    keep: Callable[[bytes], str] = bytes.decode
    """What of a response body is kept (virtual keys are left out)."""
    kept: bool = False
    """The response was kept together with the effect: nothing is left to do."""


def fingerprint(method: str, path: str, body: bytes) -> str:
    """What makes two requests "the same": method, path and the JSON body, key order aside."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, RecursionError):  # not JSON (the handler will say so): the bytes as sent
        canonical = body
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + canonical).hexdigest()


_HEADERS = b"#headers "
"""A kept response that carries headers starts with this, their JSON and a newline (a body
never does: kept bodies are JSON objects or event streams)."""


def with_headers(headers: dict[str, str], body: bytes) -> bytes:
    """``body`` to keep together with ``headers`` a replay must send too (``X-Job-Id``)."""
    if not headers:
        return body
    return _HEADERS + json.dumps(headers).encode() + b"\n" + body


def split_headers(kept: str) -> tuple[dict[str, str], str]:
    """The headers and the body of a kept response (see :func:`with_headers`)."""
    if not kept.startswith(_HEADERS.decode()):
        return {}, kept
    line, _, body = kept.partition("\n")
    headers: dict[str, str] = json.loads(line.removeprefix(_HEADERS.decode()))
    return headers, body


class Superseded(Conflict):
    """The request's lease on its key lapsed and a retry took the key over (409)."""


def superseded(claim: Claim) -> Superseded:
    return Superseded(
        f"the lease on Idempotency-Key {claim.key[:64]!r} lapsed and a retry took the key over; "
        "this request changed nothing, the retry's outcome stands",
        param="Idempotency-Key",
    )


async def begin(
    db: Database,
    scope: str,
    key: str,
    print_: str,
    *,
    ttl: float,
    lease: float,
    keep: Callable[[bytes], str] = bytes.decode,
) -> Claim | Replay:
    """Claim ``key`` for this request, or return what to replay."""
    for _ in range(3):  # a key that expires between the claim and the look-up: claim again
        token = os.urandom(16).hex()  # (secrets.token_hex, without its indirections)
        if await idempotency_sql.claim(db, scope, key, print_, token=token, ttl=ttl, lease=lease):
            return Claim(scope=scope, key=key, token=token, lease=lease, keep=keep)
        row = await idempotency_sql.get(db, scope, key)
        if row is None:
            continue
        if row["fingerprint"] != print_:
            raise ValidationFailed(
                "this Idempotency-Key was already used with a different request",
                param="Idempotency-Key",
            )
        if row["state"] != "done":
            # Poll: a live request usually ends within seconds; a dead one's lease lapses.
            raise Conflict(
                "a request with this Idempotency-Key is still being processed; retry later "
                "to get its outcome",
                param="Idempotency-Key",
                headers={"Retry-After": "1"},
            )
        status_code = row["status_code"]
        assert status_code is not None  # a key is done once its response is kept
        return Replay(status_code=status_code, body=str(row["body"]))
    raise Conflict("the Idempotency-Key is contended; retry", param="Idempotency-Key")


def awaits_response(claim: Claim | None) -> bool:
    """Whether a request (its ``claim``: ``None`` without a key) has a response still to keep:
    the response need not be rendered for keeping otherwise (most calls send no key)."""
    return claim is not None and not claim.kept


def keep_step(
    claim: Claim | None, body: bytes, status_code: int = 200
) -> tuple[Statement, dict[str, Any]] | None:
    """The statement that keeps a request's response, to run in the transaction that commits
    its effect (``None``: the request has no key, or its response is kept already)."""
    if claim is None or claim.kept:
        return None
    return idempotency_sql.finish_statement(
        claim.scope, claim.key, claim.token, status_code, claim.keep(body)
    )


async def finish(db: Database, claim: Claim, status_code: int, body: bytes) -> None:
    """Keep a response that no transaction kept (refusals: they changed nothing)."""
    if claim.kept:
        return
    if status_code >= 500 or status_code == 429:
        await idempotency_sql.release(db, claim.scope, claim.key, claim.token)
    elif not await idempotency_sql.finish(
        db, claim.scope, claim.key, claim.token, status_code, claim.keep(body)
    ):
        logger.warning("idempotency key %r was taken over before its response was kept", claim.key)
    claim.kept = True


async def abort(db: Database, claim: Claim) -> None:
    """Let a retry run again at once: the request ended without a response (nothing was kept,
    so nothing it did committed together with a response)."""
    if not claim.kept:
        await idempotency_sql.release(db, claim.scope, claim.key, claim.token)


class Rendered(Protocol):
    """A response as the HTTP layer rendered it."""

    status_code: int
    body: bytes | memoryview


R = TypeVar("R", bound=Rendered)
T = TypeVar("T")


@dataclass
class _Body:
    body: bytes | memoryview
    status_code: int = 200


async def in_transaction(db: Database, claim: Claim, produce: Callable[[], Awaitable[R]]) -> R:
    """Produce the response in one transaction that opens by renewing the claim's lease (a
    write: it takes SQLite's write lock, and proves the key is still this request's) and
    closes by keeping the response, if a success: the effect and its replay commit together."""
    async with db.transaction():
        if not await idempotency_sql.renew(db, claim.scope, claim.key, claim.token, claim.lease):
            raise superseded(claim)
        response = await produce()
        if response.status_code < 300:
            kept = claim.keep(bytes(response.body))
            step = idempotency_sql.finish_statement(
                claim.scope, claim.key, claim.token, response.status_code, kept
            )
            if not await db.run(*step):
                raise superseded(claim)
            claim.kept = True
    return response


async def keeping(
    db: Database,
    claim: Claim | None,
    effect: Callable[[], Awaitable[T]],
    render: Callable[[T], bytes],
) -> T:
    """Run ``effect`` in one transaction that also keeps ``render(result)`` as the response of
    the request holding ``claim`` (without one, just run it): for a response that reports an
    effect made after the upstream answered (a single-call job's settlement)."""
    if claim is None or claim.kept:
        return await effect()
    results: list[T] = []

    async def produce() -> _Body:
        results.append(await effect())
        return _Body(render(results[0]))

    await in_transaction(db, claim, produce)
    return results[0]


class leased:  # used as a function: ``async with leased(db, claim):``
    """Keep the claim's lease alive while the block runs (and only then). Most requests end
    long before their first renewal is due: the renewing task starts only then (a timer costs
    far less than a task per request). A class, not a generator: it runs around every request
    that sends a key."""

    __slots__ = ("_claim", "_db", "_renewal", "_timer")

    def __init__(self, db: Database, claim: Claim) -> None:
        self._db = db
        self._claim = claim
        self._renewal: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None

    def _start(self) -> None:
        self._renewal = asyncio.ensure_future(keep_alive(self._db, self._claim))

    async def __aenter__(self) -> None:
        self._timer = asyncio.get_running_loop().call_later(self._claim.lease / 3, self._start)

    async def __aexit__(self, *exc_info: object) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._renewal is not None:
            self._renewal.cancel()


async def keep_alive(db: Database, claim: Claim) -> None:
    """Renew the claim's lease now and every third of it until cancelled, or until it is
    lost."""
    while True:
        try:
            if not await idempotency_sql.renew(
                db, claim.scope, claim.key, claim.token, claim.lease
            ):
                return
        except Exception:  # the database is away: the lease will lapse, as it should
            logger.warning("could not renew the lease of idempotency key %r", claim.key)
        await asyncio.sleep(claim.lease / 3)
