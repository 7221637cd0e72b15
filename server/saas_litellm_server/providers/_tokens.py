"""Token estimates for providers that do not report usage.

About four characters per token for English text, plus OpenAI's per-message overhead: close
enough to bill consistently, and documented as an estimate wherever it is used.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["count_message_tokens", "count_text_tokens"]


def count_text_tokens(text: str) -> int:
    return math.ceil(len(text) / 4) if text else 0


def count_message_tokens(messages: list[dict[str, Any]]) -> int:
    total = 3  # every reply is primed with <|start|>assistant<|message|>
    for message in messages:
        total += 3 + count_text_tokens(str(message.get("content") or ""))
        for call in message.get("tool_calls") or ():
            total += count_text_tokens(str(call))
    return total
