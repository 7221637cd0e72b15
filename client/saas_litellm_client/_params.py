"""The parameters of an LLM call, declared once for every method that makes one.

``llm_call``, ``stream``, ``structured_call`` and ``stream_structured`` — on the client and on a
``client.job(...)`` handle — take them as ``**params: Unpack[CallParams]`` (or
:class:`StructuredCallParams`), so a type checker still refuses a misspelt or mistyped argument.
They are the fields of the shared ``LLMCallRequest`` model, which validates them before anything
is sent; ``tests/sdk/test_params.py`` fails when the two drift apart.

(No ``from __future__ import annotations`` here: ``Required`` must be seen at runtime for
``CallParams.__required_keys__`` to be right.)
"""

from collections.abc import Mapping, Sequence
from typing import Any

from typing_extensions import Required, TypedDict

from saas_litellm_models import ChatMessage, ResponseFormat, Tool, ToolChoice

from ._types import IdempotentRequestOptions, MessageParam

__all__ = [
    "STRUCTURED_OWN_FIELDS",
    "CallParams",
    "CallParamsWithOptions",
    "StructuredCallParams",
    "StructuredCallParamsWithOptions",
]


class StructuredCallParams(TypedDict, total=False):
    """What ``structured_call`` and ``stream_structured`` pass on to each call: the fields of
    ``LLMCallRequest`` except :data:`STRUCTURED_OWN_FIELDS`, which they set themselves."""

    messages: Required[Sequence[ChatMessage | MessageParam]]
    """The conversation, in the OpenAI chat format: dicts (typed: ``MessageParam``) or
    ``ChatMessage``."""
    model: str | None
    """A model alias; omitted, the team's default model."""
    temperature: float | None
    max_tokens: int | None
    top_p: float | None
    stop: str | Sequence[str] | None
    purpose: str | None
    """What the call is for, recorded with it (e.g. ``"extract"``)."""
    metadata: Mapping[str, Any] | None


class CallParams(StructuredCallParams, total=False):
    """The arguments of ``llm_call`` and ``stream``: every field of ``LLMCallRequest``.
    ``None`` (or leaving one out) means "not sent"."""

    response_format: ResponseFormat | Mapping[str, Any] | None
    tools: Sequence[Tool | Mapping[str, Any]] | None
    tool_choice: ToolChoice | Mapping[str, Any] | None


STRUCTURED_OWN_FIELDS = frozenset({"response_format", "tools", "tool_choice"})
"""The ``LLMCallRequest`` fields a structured call does not take: it asks for JSON matching its
``response_model`` (``response_format``), and tool calls are not an answer to validate."""


class StructuredCallParamsWithOptions(StructuredCallParams, IdempotentRequestOptions, total=False):
    """:class:`StructuredCallParams` and the per-call options (``timeout``, ``max_retries``,
    ``deadline``, ``idempotency_key``): what a structured call method takes as ``**params``."""


class CallParamsWithOptions(CallParams, IdempotentRequestOptions, total=False):
    """:class:`CallParams` and the per-call options (``timeout``, ``max_retries``,
    ``deadline``, ``idempotency_key``): what ``llm_call`` and ``stream`` take as ``**params``."""
