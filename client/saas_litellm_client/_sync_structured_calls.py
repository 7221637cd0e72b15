# Generated from _structured_calls.py by scripts/unasync.py: edit that module and run
# `python scripts/unasync.py`, never this file.
"""The calls of structured outputs: ``structured_call``'s validate-and-re-ask loop and the
:class:`SyncStructuredStream` of ``stream_structured`` (what they send and how answers are validated
is in ``_structured``).

Generated from ``_structured_calls`` by ``scripts/unasync.py``: edit that module, not this one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from saas_litellm_models import ChatMessage, LLMCallResponse, Usage

from ._exceptions import StructuredOutputError
from ._request_id import set_request_id
from ._structured import (
    add_usage,
    give_up,
    is_complete_json,
    parse_partial,
    partial_model,
    reask_message,
    validate_answer,
)
from ._sync_streaming import SyncChatStream
from ._types import MessageParam

__all__ = ["SyncStructuredStream", "run_structured_call"]

_ModelT = TypeVar("_ModelT", bound=BaseModel)
_StructuredStreamT = TypeVar("_StructuredStreamT", bound="SyncStructuredStream[Any]")


def run_structured_call(
    call: Callable[[Sequence[ChatMessage | MessageParam]], LLMCallResponse],
    messages: Sequence[ChatMessage | MessageParam],
    model: type[_ModelT],
    max_reasks: int,
) -> _ModelT:
    """Call, validate, re-ask with the errors; ``call`` makes one ``llm_call`` of the job."""
    conversation: list[ChatMessage | MessageParam] = list(messages)
    usage = Usage()
    call_ids: list[str] = []
    attempts = max_reasks + 1
    for attempt in range(1, attempts + 1):
        response = call(conversation)
        usage = add_usage(usage, response.usage)
        call_ids.append(response.call_id)
        content = response.content
        result = validate_answer(
            model,
            content,
            response.finish_reason,
            attempts=attempt,
            usage=usage,
            call_ids=call_ids,
        )
        if not isinstance(result, list):
            return result
        if attempt == attempts:
            raise give_up(
                model,
                content,
                response.finish_reason,
                result,
                attempts=attempt,
                usage=usage,
                call_ids=call_ids,
            )
        conversation = [
            *conversation,
            ChatMessage(role="assistant", content=content),
            reask_message(model, result),
        ]
    raise AssertionError("unreachable")  # pragma: no cover


class SyncStructuredStream(Generic[_ModelT]):
    """The answer of ``client.stream_structured(...)``: partial objects while the JSON arrives,
    then the validated ``response_model`` instance as the last item.

    ::

        with client.stream_structured(
            job_id=job.job_id, messages=[...], response_model=Person
        ) as stream:
            for snapshot in stream:
                print(snapshot.model_dump(exclude_none=True))
        person = stream.final  # a Person

    The snapshots are instances of a generated ``Partial<Model>`` (every field optional, nested
    models partial too), typed as ``BaseModel``; only the last item is a ``Model``, so
    ``isinstance(item, Model)`` tells it apart. A snapshot is yielded whenever the object grew,
    until the JSON is complete: then the validated object follows.

    Nothing is sent until the ``with`` or the first iteration. API and stream errors are
    those of ``client.stream(...)``; an answer that does not validate raises
    :class:`StructuredOutputError` (no re-ask in streaming mode), a cut-off one
    :class:`StructuredOutputTruncatedError`, a refusal :class:`StructuredOutputRefusedError`.
    The HTTP response is closed when the stream ends or fails, on ``close()`` and at the end of
    ``with`` (a ``break`` out of a bare ``for`` is not noticed: prefer ``with``).
    """

    def __init__(self, chat_stream: SyncChatStream, response_model: type[_ModelT]) -> None:
        self._chat = chat_stream
        self._model = response_model
        self._partial = partial_model(response_model)
        self._last_data: dict[str, Any] = {}
        self._iterated = False
        self._final: _ModelT | None = None
        self._error: StructuredOutputError | None = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__}[{self._model.__name__}] {self._chat!r}>"

    # -- results -----------------------------------------------------------------------------

    @property
    def response_model(self) -> type[_ModelT]:
        return self._model

    @property
    def chat_stream(self) -> SyncChatStream:
        """The underlying stream: ``.response``, ``.done`` (usage, call_id), ``.text``."""
        return self._chat

    @property
    def text(self) -> str:
        """The JSON text received so far."""
        return self._chat.text

    @property
    def final(self) -> _ModelT | None:
        """The validated object, once the stream has ended successfully."""
        return self._final

    @property
    def usage(self) -> Usage | None:
        return self._chat.usage

    @property
    def request_id(self) -> str | None:
        """The server's ``X-Request-ID``, once the stream is open."""
        return self._chat.request_id

    @property
    def call_id(self) -> str | None:
        return self._chat.call_id

    def get_final(self) -> _ModelT:
        """Read the rest of the stream and return the validated object."""
        self._iterated = True
        while self._final is None:
            self.__next__()
        return self._final

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        """Close the HTTP response; safe at any time, any number of times."""
        self._chat.close()

    def __enter__(self: _StructuredStreamT) -> _StructuredStreamT:
        self._chat.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- iteration ---------------------------------------------------------------------------

    def __iter__(self: _StructuredStreamT) -> _StructuredStreamT:
        if self._iterated:
            raise RuntimeError(
                "This stream has already been iterated; a stream can be read only once. "
                "The result is in .final; call client.stream_structured(...) again for a new one."
            )
        self._iterated = True
        return self

    def __next__(self) -> BaseModel:
        if self._final is not None:
            raise StopIteration
        if self._error is not None:
            raise self._error
        try:
            while True:
                try:
                    self._chat.__next__()
                except StopIteration:
                    break
                snapshot = self._snapshot()
                if snapshot is not None:
                    return snapshot
            final = self._validate_final()
        except BaseException as exc:
            if isinstance(exc, StructuredOutputError):
                self._error = exc
            self._chat.close()
            raise
        set_request_id(final, self._chat.request_id)
        self._final = final
        return final

    def _snapshot(self) -> BaseModel | None:
        text = self._chat.text
        if is_complete_json(text):  # the validated object comes next, with ``done``
            return None
        parsed = parse_partial(text, self._partial)
        if parsed is None:
            return None
        data, snapshot = parsed
        if not data or data == self._last_data:
            return None
        self._last_data = data
        return snapshot

    def _validate_final(self) -> _ModelT:
        done = self._chat.done
        assert done is not None  # the chat stream stops without an error only after ``done``
        content = self._chat.text
        call_ids = [done.call_id]
        result = validate_answer(
            self._model,
            content,
            done.finish_reason,
            attempts=1,
            usage=done.usage,
            call_ids=call_ids,
        )
        if isinstance(result, list):
            raise give_up(
                self._model,
                content,
                done.finish_reason,
                result,
                attempts=1,
                usage=done.usage,
                call_ids=call_ids,
            )
        return result
