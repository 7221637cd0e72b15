"""The built-in ``mock`` provider: deterministic, offline, plausible.

It answers with a reply that quotes the gist of the last user message, reports token usage as a
real tokenizer might (about four characters a token, plus a few per message: always within the
server's upper bound, ``_tokens``), honours ``max_tokens`` or ``max_completion_tokens``
(``finish_reason="length"``), and
when the request asks for JSON (``response_format``) or a tool call it returns JSON that
validates against the schema, filled from the prompt where it can. It streams in word-sized
chunks, optionally with a delay between them so that streaming can be seen happening.

Embeddings are deterministic too: a text's vector is drawn from the SHA-256 stream of the text
(and of the vector's length), so the same text always gets the same vector; its length is the
request's ``dimensions`` or :data:`DEFAULT_DIMENSIONS`, and it is unit-normalised.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import re
from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Any

from saas_litellm_models import AssistantMessage, FunctionCall, ToolCall, Usage

from ._schema_fill import fill_schema
from .base import EmbeddingResult, ProviderRequest, ProviderResult, StreamDelta, register

if TYPE_CHECKING:
    from .._redact import Redactor
    from .._settings import Settings

__all__ = ["DEFAULT_DIMENSIONS", "MockProvider", "mock_vector"]

DEFAULT_DIMENSIONS = 16
"""The length of the mock's vectors when a request does not ask for another."""

_WORDS = re.compile(r"\S+\s*|\s+")


def _tokens(text: str) -> int:
    """The mock's tokenizer: about four characters a token."""
    return math.ceil(len(text) / 4) if text else 0


def _usage(messages: list[dict[str, Any]], completion: str) -> Usage:
    prompt = 3 + sum(
        3 + _tokens(str(m.get("content") or "")) + _tokens(str(m.get("tool_calls") or ""))
        for m in messages
    )
    answer = _tokens(completion)
    return Usage(prompt_tokens=prompt, completion_tokens=answer, total_tokens=prompt + answer)


def _gist(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user" and message.get("content"):
            text = " ".join(str(message["content"]).split())
            return text if len(text) <= 120 else text[:119] + "…"
    return ""


def _prompt(messages: list[dict[str, Any]]) -> str:
    return "\n".join(str(m.get("content") or "") for m in messages if m.get("role") != "assistant")


def mock_vector(text: str, dimensions: int = DEFAULT_DIMENSIONS) -> list[float]:
    """The mock's vector of ``text``: ``dimensions`` floats in [-1, 1) from the SHA-256 stream
    of the text, scaled to length 1."""
    raw: list[float] = []
    block = 0
    while len(raw) < dimensions:
        digest = hashlib.sha256(f"{dimensions}:{block}:{text}".encode()).digest()
        raw.extend(
            (int.from_bytes(digest[i : i + 2], "big") - 32768) / 32768 for i in range(0, 32, 2)
        )
        block += 1
    vector = raw[:dimensions]
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return [v / norm for v in vector]


class MockProvider:
    def __init__(self, *, chunk_delay: float = 0.0) -> None:
        self.chunk_delay = chunk_delay

    async def aclose(self) -> None:
        return None

    def unavailable(self, model: str, api_base: str | None) -> str | None:
        return None

    def answer(self, request: ProviderRequest) -> ProviderResult:
        """The whole answer, computed synchronously (it is deterministic and cheap)."""
        messages = request.messages
        params = request.params
        tool_calls = self._tool_calls(request)
        content: str | None
        if tool_calls:
            content, finish = None, "tool_calls"
        else:
            content, finish = self._content(messages, params), "stop"
        completion_text = content or json.dumps([c.model_dump() for c in tool_calls or []])
        limit = params.get("max_tokens", params.get("max_completion_tokens"))
        if limit is not None and _tokens(completion_text) > limit:
            # cut off at the limit, as a model is: a tool call's arguments too
            content, finish, tool_calls = completion_text[: int(limit) * 4], "length", None
            completion_text = content
        return ProviderResult(
            message=AssistantMessage(content=content, finish_reason=finish, tool_calls=tool_calls),
            usage=_usage(messages, completion_text),
            model=request.model,
        )

    async def complete(self, request: ProviderRequest) -> ProviderResult:
        return self.answer(request)

    async def embed(self, request: ProviderRequest) -> EmbeddingResult:
        texts = request.input or []
        dimensions = int(request.params.get("dimensions") or DEFAULT_DIMENSIONS)
        tokens = sum(_tokens(t) for t in texts)
        return EmbeddingResult(
            vectors=[mock_vector(t, dimensions) for t in texts],
            usage=Usage(prompt_tokens=tokens, completion_tokens=0, total_tokens=tokens),
            model=request.model,
        )

    async def stream(self, request: ProviderRequest) -> AsyncGenerator[StreamDelta, None]:
        result = self.answer(request)
        text = result.message.content or ""
        pieces = _WORDS.findall(text) or [text]
        for index, piece in enumerate(pieces):
            if index and self.chunk_delay:
                await asyncio.sleep(self.chunk_delay)
            yield StreamDelta(content=piece)
        yield StreamDelta(
            finish_reason=result.message.finish_reason,
            usage=result.usage,
            tool_calls=result.message.tool_calls,
            model=result.model,
        )

    @staticmethod
    def _content(messages: list[dict[str, Any]], params: dict[str, Any]) -> str:
        fmt = params.get("response_format") or {}
        if fmt.get("type") == "json_schema":
            schema = (fmt.get("json_schema") or {}).get("schema") or {}
            return json.dumps(fill_schema(schema, _prompt(messages)), ensure_ascii=False)
        gist = _gist(messages)
        if fmt.get("type") == "json_object":
            return json.dumps({"answer": gist}, ensure_ascii=False)
        if not gist:
            return "Hello! I am the built-in mock model: I answer offline and deterministically."
        return f'You said: "{gist}". I am the built-in mock model, answering offline.'

    @staticmethod
    def _tool_calls(request: ProviderRequest) -> list[ToolCall] | None:
        tools = request.params.get("tools") or []
        choice = request.params.get("tool_choice", "auto")
        last_role = request.messages[-1].get("role") if request.messages else None
        if not tools or choice == "none" or last_role == "tool":
            return None
        chosen = tools[0]
        if isinstance(choice, dict):
            wanted = (choice.get("function") or {}).get("name")
            chosen = next((t for t in tools if t["function"]["name"] == wanted), chosen)
        function = chosen["function"]
        schema = function.get("parameters") or {"type": "object", "properties": {}}
        arguments = json.dumps(fill_schema(schema, _prompt(request.messages)), ensure_ascii=False)
        digest = hashlib.sha256((function["name"] + arguments).encode()).hexdigest()[:24]
        return [
            ToolCall(
                id=f"call_{digest}",
                function=FunctionCall(name=function["name"], arguments=arguments),
            )
        ]


@register("mock")
def _create(settings: Settings, redactor: Redactor) -> MockProvider:
    return MockProvider(chunk_delay=settings.mock_chunk_delay)
