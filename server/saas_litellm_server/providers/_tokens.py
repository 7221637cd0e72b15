"""Token counts the server works out itself: upper bounds, never estimates that can fall short.

A call reserves its prompt before it goes upstream, and a call whose upstream reported no usage
(a stream cut short, an upstream that ignores ``stream_options``) is billed for what it sent and
received. Both need a count that cannot be below the upstream's own. Byte-level BPE tokenizers
(OpenAI's, Llama's, Qwen's…) never make a token of less than one UTF-8 byte, so the UTF-8
length of a text bounds its tokens: 3,000 CJK characters are 9,000 bytes, where "four
characters a token" said 750 and an upstream counted 3,000. Each message adds the tokens of its
role and separators (OpenAI's formats: 3 or 4), bounded by :data:`PER_MESSAGE` plus the role's
bytes; tools and a response format are counted as the JSON the upstream receives.

The bound is the contract: an upstream whose counts exceed the UTF-8 length of what it was sent
(a tokenizer with sub-byte tokens) can make a call cost more than it reserved; the job is then
charged what it used, as far as the team's credits go (``services.billing``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from saas_litellm_models import Usage

__all__ = [
    "PER_MESSAGE",
    "PER_TEXT",
    "PRIMING",
    "bound_usage",
    "input_bound",
    "prompt_bound",
    "text_bound",
]

PER_MESSAGE = 4
"""Tokens a message's framing may add beyond its role's bytes."""
PER_TEXT = 2
"""Tokens an embedding model may add to each text beyond its bytes."""
PRIMING = 3
"""Tokens that open the answer (``<|start|>assistant<|message|>``)."""
_COUNTED = ("tools", "response_format", "tool_choice")
"""Upstream parameters that are part of what the model reads."""


def text_bound(text: str) -> int:
    """At least as many as the tokens of ``text``: its UTF-8 length."""
    return len(text.encode())


def _json_bound(value: Any) -> int:
    return text_bound(json.dumps(value, ensure_ascii=False, separators=(",", ":")))


def prompt_bound(messages: list[dict[str, Any]], params: Mapping[str, Any] | None = None) -> int:
    """At least as many as the prompt tokens of a call with ``messages`` (OpenAI's wire format)
    and the upstream ``params`` (its tools and response format are read by the model too)."""
    total = PRIMING
    for message in messages:
        total += PER_MESSAGE + text_bound(str(message.get("role") or ""))
        content = message.get("content")
        if isinstance(content, str):
            total += text_bound(content)
        elif content is not None:
            total += _json_bound(content)
        for name in ("name", "tool_call_id"):
            if message.get(name):
                total += text_bound(str(message[name]))
        if message.get("tool_calls"):
            total += _json_bound(message["tool_calls"])
    if params:
        extra = {k: params[k] for k in _COUNTED if params.get(k) is not None}
        if extra:
            total += _json_bound(extra)
    return total


def input_bound(texts: list[str]) -> int:
    """At least as many as the tokens of an embeddings call's input: each text's UTF-8 length
    plus :data:`PER_TEXT` (the special tokens an encoder wraps a text in: BERT's ``[CLS]`` and
    ``[SEP]``; OpenAI's models add none)."""
    return sum(text_bound(t) + PER_TEXT for t in texts)


def bound_usage(
    messages: list[dict[str, Any]],
    params: Mapping[str, Any] | None,
    completion: str,
    *,
    prompt_tokens: int | None = None,
    completion_tokens: int | None = None,
) -> Usage:
    """The usage of a call whose upstream reported none (or not all): what it did report, the
    rest bounded from the text sent (``messages``, ``params``) and received (``completion``)."""
    prompt = prompt_tokens if prompt_tokens else prompt_bound(messages, params)
    answer = completion_tokens if completion_tokens else text_bound(completion)
    return Usage(prompt_tokens=prompt, completion_tokens=answer, total_tokens=prompt + answer)
