"""A Server-Sent Events response that forwards each event the moment it is produced.

Each event is written as ``event: <type>``, ``id: <sequence>`` and one ``data:`` line of JSON, and
sent in its own ASGI message: nothing is buffered. While streaming, the response also listens for
the client's disconnect and then cancels the producer, so that an abandoned stream stops its
upstream request at once (the producer's own ``finally`` does the accounting). The producer is
closed whatever happens, also when the client left before the response began.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol

import anyio
from pydantic import BaseModel
from starlette.types import Receive, Scope, Send

from .._sse_text import encode_event

__all__ = ["EventStreamResponse", "StreamKeeping"]


Encode = Callable[[BaseModel, int], bytes]
"""An event and its sequence number (from 1) as the bytes to send."""


class Events(Protocol):
    """What produces a stream's events: an async generator, or anything closable like one."""

    def __aiter__(self) -> AsyncIterator[BaseModel]: ...

    async def __anext__(self) -> BaseModel: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True)
class StreamKeeping:
    """How a stream is kept for its Idempotency-Key (``routes._idempotency``)."""

    lease: Callable[[], AbstractAsyncContextManager[None]]
    """Held while the stream is sent (the key's lease, renewed meanwhile)."""
    complete: Callable[[bytes], Awaitable[None]]
    """Called with the whole stream once it was sent to the end (to keep it for replays)."""
    abort: Callable[[], Awaitable[None]]
    """Called when the stream stopped early (the client left): nothing is kept."""


class EventStreamResponse:
    media_type = "text/event-stream"

    def __init__(
        self,
        events: Events,
        *,
        encode: Encode = encode_event,
        headers: dict[str, str] | None = None,
        keeping: StreamKeeping | None = None,
    ) -> None:
        self.events = events
        self.encode = encode
        """Native events by default; the OpenAI surface sends ``chat.completion.chunk``s."""
        self.headers = headers or {}
        self.keeping = keeping

    def kept(self, keeping: StreamKeeping) -> EventStreamResponse:
        """The same stream, kept as ``keeping`` says."""
        return EventStreamResponse(
            self.events, encode=self.encode, headers=self.headers, keeping=keeping
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        sent: list[bytes] = []
        completed = False
        keeping = self.keeping
        lease = keeping.lease() if keeping is not None else contextlib.nullcontext()
        try:
            async with lease:
                completed = await self._stream(receive, send, sent)
        finally:
            with anyio.CancelScope(shield=True):
                await self.events.aclose()  # a no-op once the stream was read to its end
                if keeping is not None:
                    await (keeping.complete(b"".join(sent)) if completed else keeping.abort())

    async def _stream(self, receive: Receive, send: Send, sent: list[bytes]) -> bool:
        """Send every event; ``True`` if the stream ran to its end, ``False`` if the client
        left first."""
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/event-stream; charset=utf-8"),
                    (b"cache-control", b"no-cache"),
                    (b"x-accel-buffering", b"no"),
                    *((k.lower().encode(), v.encode()) for k, v in self.headers.items()),
                ],
            }
        )
        async with anyio.create_task_group() as group:

            async def watch_disconnect() -> None:
                while (await receive())["type"] != "http.disconnect":
                    pass
                group.cancel_scope.cancel()

            group.start_soon(watch_disconnect)
            async with contextlib.aclosing(self.events) as events:
                sequence = 0
                async for event in events:
                    sequence += 1
                    chunk = self.encode(event, sequence)
                    if self.keeping is not None:
                        sent.append(chunk)
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            group.cancel_scope.cancel()
            return True
        return False  # the disconnect watcher cancelled the stream
