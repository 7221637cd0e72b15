"""A Server-Sent Events response that forwards each event the moment it is produced.

Each event is written as ``event: <type>``, ``id: <sequence>`` and one ``data:`` line of JSON, and
sent in its own ASGI message: nothing is buffered. While streaming, the response also listens for
the client's disconnect and then cancels the producer, so that an abandoned stream stops its
upstream request at once (the producer's own ``finally`` does the accounting).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator

import anyio
from pydantic import BaseModel
from starlette.types import Receive, Scope, Send

__all__ = ["EventStreamResponse", "encode_event"]


def encode_event(event: BaseModel, sequence: int) -> bytes:
    kind = getattr(event, "type", "message")
    return f"event: {kind}\nid: {sequence}\ndata: {event.model_dump_json()}\n\n".encode()


class EventStreamResponse:
    media_type = "text/event-stream"

    def __init__(self, events: AsyncGenerator[BaseModel, None]) -> None:
        self.events = events

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/event-stream; charset=utf-8"),
                    (b"cache-control", b"no-cache"),
                    (b"x-accel-buffering", b"no"),
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
                    await send(
                        {
                            "type": "http.response.body",
                            "body": encode_event(event, sequence),
                            "more_body": True,
                        }
                    )
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            group.cancel_scope.cancel()
