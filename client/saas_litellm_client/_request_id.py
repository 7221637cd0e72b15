"""``request_id_of(obj)``: the server's ``X-Request-ID`` of whatever the SDK returned.

Responses are the shared models, frozen and compared by value, so the id cannot be a field or an
attribute of theirs (two equal answers of different requests must stay equal). Instead the SDK
remembers it on the side, keyed by the object's identity and dropped when the object is garbage
collected (``weakref.finalize``). Nothing about the object changes, and there is no "last request
id" to race on: each object answers for the request that produced it.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

from ._exceptions import SaasLiteLLMError

__all__ = ["request_id_of", "set_request_id"]

_REQUEST_IDS: dict[int, str] = {}
_REFS: dict[int, weakref.ref[Any]] = {}
"""The weak reference whose callback forgets the id when its object is collected (a plain
``weakref.ref`` with a callback: ``weakref.finalize`` costs three times as much, per call)."""


def _forget(key: int) -> Callable[[weakref.ref[Any]], None]:
    def forget(_: weakref.ref[Any]) -> None:
        _REQUEST_IDS.pop(key, None)
        _REFS.pop(key, None)

    return forget


def set_request_id(obj: object, request_id: str | None) -> None:
    """Remember ``request_id`` for ``obj`` for as long as ``obj`` lives (no-op for ``None`` or
    an object that cannot be weakly referenced)."""
    if request_id is None:
        return
    key = id(obj)
    if key not in _REQUEST_IDS:
        try:
            _REFS[key] = weakref.ref(obj, _forget(key))
        except TypeError:  # no __weakref__ slot: nothing to attach to
            return
    _REQUEST_IDS[key] = request_id


def request_id_of(obj: object) -> str | None:
    """The server's request id (``X-Request-ID``) behind ``obj``; quote it when reporting a
    problem.

    ``obj`` is anything the SDK returned or raised: a response model (``Job``,
    ``LLMCallResponse``, …), the object ``structured_call`` validated (the id of the call whose
    answer it is), a :class:`ChatStream` or :class:`StructuredStream` (once the request was
    sent) and its final object, or a :class:`SaasLiteLLMError`. ``None`` for anything else — a
    copy made with ``model_copy()`` included — and when the server sent no id.
    """
    found = _REQUEST_IDS.get(id(obj))
    if found is not None:
        return found
    if isinstance(obj, SaasLiteLLMError):
        return obj.request_id
    from ._streaming import ChatStream
    from ._structured_calls import StructuredStream
    from ._sync_streaming import SyncChatStream
    from ._sync_structured_calls import SyncStructuredStream

    if isinstance(obj, (ChatStream, StructuredStream, SyncChatStream, SyncStructuredStream)):
        return obj.request_id
    return None
