"""Token estimates for providers that do not report usage.

About four characters per token for English text, plus OpenAI's per-message overhead: close
enough to bill consistently, and documented as an estimate wherever it is used.
"""

from __future__ import annotations

import math
from typing import Any

from saas_litellm_models import Usage

__all__ = ["count_message_tokens", "count_text_tokens", "estimate_usage"]


def count_text_tokens(text: str) -> int:
    return math.ceil(len(text) / 4) if text else 0


def count_message_tokens(messages: list[dict[str, Any]]) -> int:
    total = 3  # every reply is primed with <|start|>assistant<|message|>
    for message in messages:
        total += 3 + count_text_tokens(str(message.get("content") or ""))
        for call in message.get("tool_calls") or ():
            total += count_text_tokens(str(call))
    return total


def estimate_usage(
    messages: list[dict[str, Any]], completion: str, *, prompt_tokens: int | None = None
) -> Usage:
    """The one usage estimate: for an upstream that reported none (or a stream cut short).
    ``prompt_tokens`` keeps a count the upstream did report."""
    prompt = prompt_tokens if prompt_tokens is not None else count_message_tokens(messages)
    completion_tokens = count_text_tokens(completion)
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion_tokens,
        total_tokens=prompt + completion_tokens,
    )
