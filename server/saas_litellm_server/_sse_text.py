"""The text of one Server-Sent Event, as sent and as kept for replays."""

from __future__ import annotations

from pydantic import BaseModel

__all__ = ["encode_event"]


def encode_event(event: BaseModel, sequence: int) -> bytes:
    """``event: <type>``, ``id: <sequence>`` and one ``data:`` line of JSON."""
    kind = getattr(event, "type", "message")
    return f"event: {kind}\nid: {sequence}\ndata: {event.model_dump_json()}\n\n".encode()
