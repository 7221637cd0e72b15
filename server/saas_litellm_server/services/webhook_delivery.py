"""The webhook delivery worker: every server process runs one (unless
``SAAS_LITELLM_WEBHOOKS_DELIVER=false``).

It claims due deliveries from the outbox (a lease, so that several processes never send the same
one at once, and a crashed process's claims are taken over when they expire), signs each as
Standard Webhooks says (``standardwebhooks``), POSTs it, and records the outcome. A failure is
retried with exponential backoff and jitter until ``SAAS_LITELLM_WEBHOOKS_RETRY_WINDOW_SECONDS``
after the event, then given up; an endpoint that failed every attempt for
``SAAS_LITELLM_WEBHOOKS_DISABLE_AFTER_SECONDS`` is disabled.

Delivery is at least once: a process that dies after the receiver got a request and before it
recorded the answer leaves the delivery to be sent again (with the same ``webhook-id``, which
receivers use to drop duplicates). Redirects are not followed. The host is resolved here, in
threads of the webhooks' own (``_addresses``), every address it resolves to must be public
unless private addresses are allowed, and the request goes to the address that was checked (TLS
still verifies the certificate against the name).

Deliveries go out over httpx while the upstream hop uses aiohttp (``providers.openai``): httpx is
installed anyway (the SDK's transport), a delivery is off the hot path, where aiohttp's lower cost
per call paid for a second client, and httpx's transport is the one seam through which the tests
stand in for receivers (``httpx.MockTransport``).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
import secrets
import urllib.parse
from dataclasses import dataclass
from typing import Any

import anyio
import httpx
from standardwebhooks import Webhook

from .._runtime import Runtime
from .._version import __version__
from ..store import DatabaseUnavailable, webhooks_sql
from ._addresses import RefusedAddress, resolve_url
from .webhooks import on_emit

__all__ = ["MAX_RESPONSE_CHARS", "DeliveryWorker", "Outcome", "backoff"]

logger = logging.getLogger("saas_litellm_server")

MAX_RESPONSE_CHARS = 1024
"""How much of a receiver's answer the delivery log keeps."""
BATCH = 16
"""Deliveries claimed (and sent concurrently) at a time."""


def backoff(attempts: int, *, base: float, cap: float) -> float:
    """Seconds to wait after the ``attempts``-th failed attempt: doubling from ``base``, at most
    ``cap``, with ±25 % jitter so that endpoints that failed together do not retry together."""
    delay: float = min(base * 2.0 ** min(attempts - 1, 40), cap)
    return delay * random.uniform(0.75, 1.25)


@dataclass(frozen=True)
class Outcome:
    succeeded: bool
    status_code: int | None = None
    error: str | None = None
    response: str | None = None


def _clean(text: str, limit: int) -> str:
    """Storable text (PostgreSQL refuses NUL), at most ``limit`` characters."""
    return text.replace("\x00", "\ufffd")[:limit]


def _cancelling() -> bool:
    """Whether the current task itself is being cancelled (not just something it awaited)."""
    task = asyncio.current_task()
    cancelling = getattr(task, "cancelling", None)  # Python 3.11+
    return bool(cancelling()) if cancelling is not None else False


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class DeliveryWorker:
    """Sends the outbox of one process; :meth:`run` until cancelled."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.settings = runtime.settings
        self.db = runtime.db
        self._wake = asyncio.Event()
        self._stopping = False
        self._sending: asyncio.Future[list[BaseException | None]] | None = None
        self._task: asyncio.Task[None] | None = None
        timeout = self.settings.webhooks_timeout_seconds
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            follow_redirects=False,
            trust_env=False,  # no proxy from the environment: it would connect, not us
            headers={"User-Agent": f"saas-litellm-webhooks/{__version__}"},
        )

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self.run())

    async def aclose(self, grace: float = 5.0) -> None:
        """Stop: attempts in flight are abandoned (their deliveries handed back), a database
        statement in flight is let finish (cancelling one mid-way upsets aiosqlite), then the
        worker ends; cancelled outright after ``grace`` seconds."""
        self._stopping = True
        self._wake.set()
        if self._sending is not None:
            self._sending.cancel()
        if self._task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._task), grace)
        except asyncio.TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def run(self) -> None:
        stop = on_emit(self.wake)
        try:
            while not self._stopping:
                self._wake.clear()
                claimed = 0
                try:
                    claimed = await self.tick()
                except DatabaseUnavailable:
                    logger.warning("webhook delivery paused: the database is unavailable")
                except Exception:
                    logger.exception("webhook delivery failed; retrying shortly")
                if claimed < BATCH and not self._stopping:
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(
                            self._wake.wait(), self.settings.webhooks_poll_seconds
                        )
        finally:
            stop()
            with anyio.CancelScope(shield=True):
                await self._client.aclose()

    async def tick(self) -> int:
        """Claim and send what is due; the number claimed."""
        now = _utcnow()
        if not await webhooks_sql.any_due(self.db, now):
            return 0
        token = secrets.token_hex(16)
        lease = dt.timedelta(seconds=self.settings.webhooks_lease_seconds)
        claimed = await webhooks_sql.claim_due(
            self.db, now=now, lease_until=now + lease, token=token, limit=BATCH
        )
        self._sending = asyncio.gather(
            *(self._attempt(d, e, token) for d, e in claimed), return_exceptions=True
        )
        try:
            outcomes = await self._sending
        except asyncio.CancelledError:
            # stopping: hand back what is unfinished, for the next process to send now rather
            # than after the lease (an attempt that reached its receiver is sent again)
            with anyio.CancelScope(shield=True), contextlib.suppress(Exception):
                await webhooks_sql.release(self.db, token)
            if self._stopping and not _cancelling():
                return len(claimed)
            raise
        finally:
            self._sending = None
        for outcome in outcomes:
            if isinstance(outcome, DatabaseUnavailable):
                logger.warning("webhook delivery paused: the database is unavailable")
            elif isinstance(outcome, Exception):
                logger.error("webhook delivery failed", exc_info=outcome)
        return len(claimed)

    async def _attempt(
        self, delivery: webhooks_sql.DeliveryRow, endpoint: webhooks_sql.EndpointRow, token: str
    ) -> None:
        delivery_id, webhook_id = delivery["delivery_id"], delivery["webhook_id"]
        if endpoint["deleted_at"] is not None or endpoint["status"] != "active":
            why = "removed" if endpoint["deleted_at"] is not None else endpoint["status"]
            await webhooks_sql.give_up(self.db, delivery_id, token, f"the endpoint was {why}")
            return
        outcome = await self.send(endpoint["url"], endpoint["secret"], delivery)
        now = _utcnow()
        next_at: dt.datetime | None = None
        if not outcome.succeeded:
            wait = backoff(
                delivery["attempts"] + 1,
                base=self.settings.webhooks_retry_base_seconds,
                cap=self.settings.webhooks_retry_max_interval_seconds,
            )
            next_at = now + dt.timedelta(seconds=wait)
            window = dt.timedelta(seconds=self.settings.webhooks_retry_window_seconds)
            if next_at > delivery["created_at"] + window:
                next_at = None  # given up
        recorded = await webhooks_sql.record_attempt(
            self.db,
            delivery_id,
            token,
            now=now,
            succeeded=outcome.succeeded,
            status_code=outcome.status_code,
            error=outcome.error,
            response=outcome.response,
            next_attempt_at=next_at,
        )
        if not recorded:
            logger.warning("webhook delivery %s: its claim was taken over meanwhile", delivery_id)
        if outcome.succeeded:
            await webhooks_sql.note_success(self.db, webhook_id)
            return
        logger.info(
            "webhook delivery %s to %s failed (%s)%s",
            delivery_id,
            webhook_id,
            outcome.error or f"HTTP {outcome.status_code}",
            "; given up" if next_at is None else "",
        )
        since = await webhooks_sql.note_failure(self.db, webhook_id, now)
        limit = dt.timedelta(seconds=self.settings.webhooks_disable_after_seconds)
        if (
            since is not None
            and now - since >= limit
            and await webhooks_sql.disable_if_failing_since(self.db, webhook_id, now - limit, now)
        ):
            logger.warning("webhook %s disabled: every delivery failed since %s", webhook_id, since)

    async def send(self, url: str, secret: str, delivery: webhooks_sql.DeliveryRow) -> Outcome:
        """One signed POST of the delivery's payload; never raises for the receiver's sake."""
        timeout = self.settings.webhooks_timeout_seconds
        try:
            with anyio.fail_after(timeout + 1):
                return await self._post(url, secret, delivery)
        except RefusedAddress as exc:
            return Outcome(False, error=_clean(f"refused: {exc}", 500))
        except TimeoutError:
            return Outcome(False, error=f"no answer within {timeout:g} s")
        except httpx.TimeoutException:
            return Outcome(False, error=f"no answer within {timeout:g} s")
        except (httpx.HTTPError, OSError) as exc:
            return Outcome(False, error=_clean(f"{type(exc).__name__}: {exc}", 500))
        except (ValueError, UnicodeError) as exc:  # a URL httpx cannot send
            return Outcome(False, error=_clean(f"cannot send to this URL ({exc})", 500))

    async def _post(self, url: str, secret: str, delivery: webhooks_sql.DeliveryRow) -> Outcome:
        # Resolved here (off the loop's resolver, see ``_addresses``) and sent to the address,
        # private ones allowed or not: httpx would resolve the name on the loop's pool
        allow_private = self.settings.webhooks_allow_private
        address = await resolve_url(url, allow_private=allow_private)
        target, headers, extensions = _pinned(url, address.addresses[0])
        payload = delivery["payload"]
        now = _utcnow()
        headers.update(
            {
                "Content-Type": "application/json",
                "webhook-id": delivery["delivery_id"],
                "webhook-timestamp": str(int(now.timestamp())),
                "webhook-signature": Webhook(secret).sign(delivery["delivery_id"], now, payload),
            }
        )
        async with self._client.stream(
            "POST", target, content=payload.encode(), headers=headers, extensions=extensions
        ) as response:
            text = await _start_of(response)
        return Outcome(
            200 <= response.status_code < 300,
            status_code=response.status_code,
            response=text,
        )


def _pinned(url: str, ip: Any) -> tuple[str, dict[str, str], dict[str, Any]]:
    """The request for ``url`` sent to ``ip``: the URL with the address in place of the name,
    the name in ``Host`` and, for https, in TLS's server name (so the certificate is still
    checked against the name)."""
    parts = urllib.parse.urlsplit(url)
    literal = f"[{ip}]" if ip.version == 6 else str(ip)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    target = urllib.parse.urlunsplit(parts._replace(netloc=f"{literal}:{port}"))
    name = httpx.URL(url)  # the host as it goes on the wire (IDNA)
    ascii_host = name.raw_host.decode("ascii")
    extensions: dict[str, Any] = {"sni_hostname": ascii_host} if parts.scheme == "https" else {}
    return target, {"Host": name.netloc.decode("ascii")}, extensions


async def _start_of(response: httpx.Response) -> str:
    """The first :data:`MAX_RESPONSE_CHARS` of the answer (the rest is not read)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= MAX_RESPONSE_CHARS:
            break
    return _clean(b"".join(chunks).decode("utf-8", "replace"), MAX_RESPONSE_CHARS)
