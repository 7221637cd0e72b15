"""The ``openai`` provider: any OpenAI-compatible ``/chat/completions`` (and ``/embeddings``)
upstream.

A LiteLLM proxy (the guide's architecture), vLLM, Ollama or OpenAI itself. The upstream hop is
on every call's critical path: a non-streamed call to a plain-HTTP upstream without a proxy goes
through the lean client of ``_http1`` (~0.02 ms of CPU a request); streams, TLS and proxies
through one pooled ``aiohttp.ClientSession`` for the server's life (~0.10 ms; httpx's costs
twice that: ``bench/upstream_hop.py``). Upstream failures become
:class:`ProviderError` with a message that names what went wrong but never the upstream's URL
or key. When a stream ends without a ``usage`` object (some upstreams ignore
``stream_options``), tokens are estimated from the text (see ``_tokens``) so that the call is
still billed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import urllib.request
from collections.abc import AsyncGenerator, Callable
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import aiohttp
from aiohttp.http_exceptions import LineTooLong
from pydantic import ValidationError
from pydantic_core import from_json, to_json

from saas_litellm_models import AssistantMessage, FunctionCall, ToolCall, Usage

from .._redact import Redactor
from ._aiohttp_compat import held
from ._http1 import Http1Pool, MalformedAnswer, encode_request
from ._tokens import bound_usage, input_bound
from .base import (
    EmbeddingResult,
    ErrorKind,
    ProviderError,
    ProviderRequest,
    ProviderResult,
    StreamDelta,
    register,
)

if TYPE_CHECKING:
    from .._settings import Settings

__all__ = ["OpenAIProvider"]

_DETAIL_CHARS = 2000
"""How much of an upstream's error text the operator's log gets."""
_LINE_BYTES = 2**22
"""The longest line of a streamed answer (an SSE ``data:`` line: a chunk with a large tool
call); a longer one is a malformed answer."""
_DRAIN_BYTES = 64 * 1024
_DRAIN_SECONDS = 0.25
"""How much, and how long, is read after a stream's ``[DONE]`` to keep its connection."""
_KEEPALIVE_SECONDS = 4.0
"""How long an idle upstream connection is kept: under uvicorn's 5 s (a LiteLLM proxy's), so
that the pool never sends a request on a connection the upstream is closing."""


def _upstream_words(body: bytes) -> str:
    """The message of an OpenAI-style error body, or the body itself."""
    try:
        parsed = json.loads(body)
        error = parsed.get("error", parsed) if isinstance(parsed, dict) else parsed
        return str(error.get("message", "")) if isinstance(error, dict) else str(error)
    except (ValueError, RecursionError):
        return body.decode(errors="replace")


async def _lines(body: aiohttp.StreamReader) -> AsyncGenerator[bytes, None]:
    """The lines of an upstream answer as they arrive. When the connection is cut, the lines
    received before the cut come first, then the error: aiohttp's reader raises the error before
    handing over what it holds, so that is taken from its buffer (``_aiohttp_compat``;
    ``tests/server/test_streaming.py`` checks that no line is lost)."""
    while True:
        try:
            line = await body.readline(max_line_length=_LINE_BYTES)
        except aiohttp.ClientPayloadError:
            for line in held(body).splitlines(keepends=True):
                yield line
            raise
        if not line:
            return
        yield line


async def _finish_reading(body: aiohttp.StreamReader) -> None:
    """Read what follows ``[DONE]`` (the end of the chunked body, usually already here), so
    that the connection goes back to the pool instead of being closed: the next stream then
    starts without a TCP handshake. An upstream that sends more, or holds the connection open,
    is not waited for: its connection is closed, as it would have been."""
    with contextlib.suppress(asyncio.TimeoutError, aiohttp.ClientError):
        await asyncio.wait_for(body.read(_DRAIN_BYTES), _DRAIN_SECONDS)


async def _sse_data(body: aiohttp.StreamReader) -> AsyncGenerator[str, None]:
    """The ``data`` of each event of a ``text/event-stream`` body, as the SSE specification
    assembles it: multi-line data joined by newlines, comments and other fields skipped, an
    event cut off before its blank line dropped."""
    data: list[str] = []
    async with contextlib.aclosing(_lines(body)) as lines:
        async for raw in lines:
            line = raw.decode().rstrip("\r\n")
            if not line:
                if data:
                    yield "\n".join(data)
                    data = []
                continue
            field, _, value = line.partition(":")
            if field == "data":
                data.append(value[1:] if value.startswith(" ") else value)


_T = TypeVar("_T")


class OpenAIProvider:
    def __init__(
        self,
        *,
        base_url: str | None,
        api_key: str | None,
        redactor: Redactor | None = None,
    ) -> None:
        self.base_url = base_url
        self.api_key = api_key
        self.redactor = redactor or Redactor()
        self.redactor.add_secret(api_key)
        self.redactor.add_upstream(base_url)
        self._session: aiohttp.ClientSession | None = None
        self._proxies: dict[str, str | None] = {}
        self._http1 = Http1Pool(_KEEPALIVE_SECONDS)
        self._plain: dict[str, tuple[str, int, str, str] | None] = {}

    def _client(self) -> aiohttp.ClientSession:
        """The pooled session, made on first use (it belongs to the running event loop)."""
        if self._session is None:
            self._session = aiohttp.ClientSession(
                # No cap on connections: an open stream holds one for as long as it runs, so a
                # cap would hold the streams beyond it back until others end.
                connector=aiohttp.TCPConnector(
                    limit=0, limit_per_host=0, keepalive_timeout=_KEEPALIVE_SECONDS
                ),
                # Not trust_env: it reads the proxy environment on every request (0.5 ms a
                # call); _proxy reads it once per upstream.
                skip_auto_headers=("User-Agent",),
            )
        return self._session

    def _proxy(self, url: str) -> str | None:
        """The proxy ``HTTP_PROXY``/``HTTPS_PROXY`` name for ``url`` unless ``NO_PROXY`` excludes
        its host (httpx's default, kept), looked up once per upstream."""
        parts = urlsplit(url)
        key = f"{parts.scheme}://{parts.netloc}"
        if key not in self._proxies:
            host = parts.hostname or ""
            bypass = not host or urllib.request.proxy_bypass(host)
            self._proxies[key] = None if bypass else urllib.request.getproxies().get(parts.scheme)
        return self._proxies[key]

    def _plain_http(self, url: str) -> tuple[str, int, str, str] | None:
        """``(host, port, netloc, path)`` when ``url`` is plain HTTP reached without a proxy
        (the lean client's case: ``_http1``), else ``None``; decided once per URL."""
        if url not in self._plain:
            parts = urlsplit(url)
            plain = None
            if parts.scheme == "http" and parts.hostname and self._proxy(url) is None:
                try:
                    port = parts.port or 80
                except ValueError:
                    port = None
                if port is not None and not parts.username and not parts.password:
                    plain = (parts.hostname, port, parts.netloc, parts.path or "/")
            self._plain[url] = plain
        return self._plain[url]

    async def _lean(
        self, plain: tuple[str, int, str, str], request: bytes, timeout: float
    ) -> tuple[int, bytes]:
        host, port, _, _ = plain
        try:
            status, body = await self._http1.post(host, port, request, timeout)
        except (OSError, asyncio.TimeoutError, MalformedAnswer) as exc:
            raise self._transport_error(exc, timeout) from None
        return status, body

    async def aclose(self) -> None:
        self._http1.close()
        if self._session is not None:
            await self._session.close()
            self._session = None

    def unavailable(self, model: str, api_base: str | None) -> str | None:
        if api_base or self.base_url:
            return None
        return (
            f"no upstream is configured for deployment {model!r} "
            "(set its api_base or SAAS_LITELLM_UPSTREAM_BASE_URL)"
        )

    def _target(
        self, request: ProviderRequest, endpoint: str = "chat/completions"
    ) -> tuple[str, dict[str, str]]:
        base = request.api_base or self.base_url
        if not base:
            raise ProviderError(
                "connection",
                "no upstream is configured for this deployment "
                "(set its api_base or SAAS_LITELLM_UPSTREAM_BASE_URL)",
            )
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        if request.headers:
            headers.update(request.headers)
        return f"{base.rstrip('/')}/{endpoint}", headers

    @staticmethod
    def _body(request: ProviderRequest, *, stream: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": request.model,
            "messages": request.messages,
            **request.params,
        }
        if stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        return body

    def _status_error(self, request: ProviderRequest, status: int, body: bytes) -> ProviderError:
        """Only a rejected *request* (400, 404, 413, 422…) passes the upstream's words on to the
        team, scrubbed: they say what to fix. Failures of the upstream or of the server's own
        credentials (401, 403, 429, 5xx) are the operator's business, told in the log."""
        words = " ".join(_upstream_words(body).split())
        self.redactor.add_upstream(request.api_base)
        detail = f"HTTP {status}: {self.redactor.secrets(words)[:_DETAIL_CHARS]}"

        def error(kind: ErrorKind, message: str) -> ProviderError:
            return ProviderError(kind, message, status_code=status, detail=detail)

        if status == 429:
            return error("rate_limited", "the upstream is rate limiting")
        if status in (408, 504):
            return error("timeout", f"the upstream timed out (HTTP {status})")
        if status >= 500:
            return error("server", f"the upstream failed with HTTP {status}")
        if status in (401, 403, 407):
            return error("server", f"the upstream refused the server's credentials (HTTP {status})")
        said = f": {self.redactor.for_tenant(words)}" if words else ""
        return error("bad_request", f"the upstream rejected the request (HTTP {status}){said}")

    @staticmethod
    def _transport_error(exc: BaseException, timeout: float) -> ProviderError:
        """What a failure to talk to the upstream is: a timeout (no answer, or silence longer
        than ``timeout``) or a connection error (refused, reset, an answer cut short)."""
        if isinstance(exc, asyncio.TimeoutError):
            return ProviderError("timeout", f"the upstream did not answer within {timeout:g} s")
        return ProviderError("connection", f"could not talk to the upstream ({type(exc).__name__})")

    def _request(
        self, request: ProviderRequest, *, stream: bool
    ) -> tuple[str, dict[str, str], dict[str, Any]]:
        """The URL, headers and JSON body of ``request`` (an embeddings request's when it has
        ``input``)."""
        if request.input is not None:
            url, headers = self._target(request, "embeddings")
            return url, headers, {"model": request.model, "input": request.input, **request.params}
        url, headers = self._target(request)
        return url, headers, self._body(request, stream=stream)

    async def _exchange(self, request: ProviderRequest) -> tuple[int, bytes]:
        """A non-streamed POST: its status and body; on the lean client when the upstream is
        plain HTTP without a proxy, else on aiohttp."""
        url, headers, payload = self._request(request, stream=False)
        plain = self._plain_http(url)
        if plain is not None:
            raw = encode_request(plain[2], plain[3], headers, to_json(payload))
            if raw is not None:
                return await self._lean(plain, raw, request.timeout)
        try:
            async with self._post(request, stream=False) as response:
                return response.status, await response.read()
        except _TRANSPORT as exc:
            raise self._transport_error(exc, request.timeout) from None

    def _post(self, request: ProviderRequest, *, stream: bool) -> Any:
        """The upstream request (an ``async with`` context): ``timeout`` bounds connecting and
        every silence while reading, as it did with httpx, not the whole answer."""
        url, headers, body = self._request(request, stream=stream)
        return self._client().post(
            url,
            proxy=self._proxy(url),
            data=to_json(body),
            headers=headers,
            # connect: the name's lookup too (sock_connect alone starts after it)
            timeout=aiohttp.ClientTimeout(
                total=None,
                connect=request.timeout,
                sock_connect=request.timeout,
                sock_read=request.timeout,
            ),
        )

    async def _answer(
        self, request: ProviderRequest, read: Callable[[ProviderRequest, Any], _T]
    ) -> _T:
        """POST ``request`` (not streamed) and ``read`` its JSON answer; a transport failure,
        an error status or a malformed answer as :class:`ProviderError`."""
        status, body = await self._exchange(request)
        if status >= 400:
            raise self._status_error(request, status, body)
        try:
            return read(request, from_json(body))
        except _MALFORMED:
            raise ProviderError("server", "the upstream sent a malformed response") from None

    async def complete(self, request: ProviderRequest) -> ProviderResult:
        return await self._answer(request, _result)

    async def embed(self, request: ProviderRequest) -> EmbeddingResult:
        """``POST {base}/embeddings`` with the texts; the vectors always asked for as floats
        (the server encodes them as its client asked)."""
        return await self._answer(request, _embeddings)

    async def stream(self, request: ProviderRequest) -> AsyncGenerator[StreamDelta, None]:
        text: list[str] = []
        finish: str | None = None
        usage: Usage | None = None
        model: str | None = None
        calls: dict[int, dict[str, Any]] = {}  # tool calls arrive in fragments, by index
        try:
            # Leaving this block early (the consumer closed the generator) closes the
            # connection, which cancels the upstream's work.
            async with self._post(request, stream=True) as response:
                if response.status >= 400:
                    raise self._status_error(request, response.status, await response.read())
                if "text/event-stream" not in response.headers.get("Content-Type", ""):
                    raise ProviderError(
                        "server", "the upstream did not answer with an event stream"
                    )
                async with contextlib.aclosing(_sse_data(response.content)) as events:
                    async for data in events:
                        if data.strip() == "[DONE]":
                            await _finish_reading(response.content)
                            break
                        try:
                            chunk = from_json(data)
                        except _MALFORMED:
                            raise ProviderError(
                                "server", "the upstream sent a malformed chunk"
                            ) from None
                        if not isinstance(chunk, dict):
                            continue
                        try:
                            if chunk.get("error"):
                                words = _upstream_words(json.dumps(chunk).encode())
                                raise ProviderError(
                                    "server",
                                    "the upstream failed mid-stream",
                                    detail=self.redactor.secrets(words)[:_DETAIL_CHARS],
                                )
                            if chunk.get("usage"):
                                usage = Usage.model_validate(chunk["usage"])
                            if model is None and isinstance(chunk.get("model"), str):
                                model = chunk["model"]
                            pieces, finished = _chunk_parts(chunk, calls)
                        except _MALFORMED:
                            raise ProviderError(
                                "server", "the upstream sent a malformed chunk"
                            ) from None
                        for piece in pieces:
                            text.append(piece)
                            yield StreamDelta(content=piece)
                        finish = finished or finish
        except (LineTooLong, UnicodeDecodeError):
            raise ProviderError("server", "the upstream sent a malformed chunk") from None
        except _TRANSPORT as exc:
            raise self._transport_error(exc, request.timeout) from None
        tool_calls = _tool_calls(calls)
        if usage is None or not usage.total_tokens:
            answered = "".join(text) + (_tool_text(tool_calls) if tool_calls else "")
            usage = bound_usage(request.messages, request.params, answered)
        yield StreamDelta(
            finish_reason=finish or "stop", usage=usage, tool_calls=tool_calls, model=model
        )


_TRANSPORT = (aiohttp.ClientError, asyncio.TimeoutError, OSError)
"""What failing to talk to the upstream can raise (aiohttp's timeouts are timeouts)."""

_MALFORMED = (
    ValueError,
    KeyError,
    IndexError,
    TypeError,
    AttributeError,
    RecursionError,
    ValidationError,
)
"""What parsing an upstream answer that is not what OpenAI's format says can raise."""


def _result(request: ProviderRequest, data: Any) -> ProviderResult:
    """A non-streamed answer; raises one of :data:`_MALFORMED` when it is not one."""
    choice = data["choices"][0]
    message = choice.get("message") or {}
    tool_calls = [ToolCall.model_validate(c) for c in message.get("tool_calls") or []]
    content = message.get("content")
    if content is not None and not isinstance(content, str):
        raise TypeError("content is not text")
    usage = data.get("usage") or {}
    answered = content or (_tool_text(tool_calls) if tool_calls else "")
    return ProviderResult(
        message=AssistantMessage(
            content=content,
            finish_reason=choice.get("finish_reason") or "stop",
            tool_calls=tool_calls or None,
        ),
        usage=bound_usage(
            request.messages,
            request.params,
            answered,
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
        ),
        model=data["model"] if isinstance(data.get("model"), str) else None,
    )


def _embeddings(request: ProviderRequest, data: Any) -> EmbeddingResult:
    """An embeddings answer: one float vector per input text, put in input order by ``index``;
    raises one of :data:`_MALFORMED` when it is not one."""
    texts = request.input or []
    vectors: list[list[float] | None] = [None] * len(texts)
    for item in data["data"]:
        vector = item["embedding"]
        if not isinstance(vector, list) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
            for v in vector
        ):
            raise TypeError("an embedding is not a list of finite numbers")
        index = int(item["index"])
        if not 0 <= index < len(texts):
            raise IndexError("an embedding's index is not an input's")
        vectors[index] = [float(v) for v in vector]
    if any(v is None for v in vectors):
        raise ValueError("an input has no embedding")
    usage = data.get("usage") or {}
    prompt = int(usage.get("prompt_tokens") or usage.get("total_tokens") or 0) or input_bound(texts)
    return EmbeddingResult(
        vectors=[v for v in vectors if v is not None],
        usage=Usage(prompt_tokens=prompt, completion_tokens=0, total_tokens=prompt),
        model=data["model"] if isinstance(data.get("model"), str) else None,
    )


def _chunk_parts(
    chunk: dict[str, Any], calls: dict[int, dict[str, Any]]
) -> tuple[list[str], str | None]:
    """The text pieces and the finish reason of one streamed chunk (tool-call fragments go
    into ``calls``); raises one of :data:`_MALFORMED` when it is not a chunk."""
    pieces: list[str] = []
    finish: str | None = None
    for choice in chunk.get("choices") or ():
        delta = choice.get("delta") or {}
        piece = delta.get("content")
        if piece:
            if not isinstance(piece, str):
                raise TypeError("content is not text")
            pieces.append(piece)
        for fragment in delta.get("tool_calls") or ():
            _merge_tool_call(calls, fragment)
        if choice.get("finish_reason"):
            finish = str(choice["finish_reason"])
    return pieces, finish


def _merge_tool_call(calls: dict[int, dict[str, Any]], fragment: Any) -> None:
    if not isinstance(fragment, dict):
        return
    call = calls.setdefault(
        int(fragment.get("index", len(calls))), {"id": "", "name": "", "arguments": ""}
    )
    call["id"] = fragment.get("id") or call["id"]
    function = fragment.get("function") or {}
    call["name"] += function.get("name") or ""
    call["arguments"] += function.get("arguments") or ""


def _tool_text(calls: list[ToolCall]) -> str:
    """Tool calls as the text the model wrote (what their tokens are bounded by)."""
    return json.dumps([c.model_dump() for c in calls], ensure_ascii=False)


def _tool_calls(calls: dict[int, dict[str, Any]]) -> list[ToolCall] | None:
    if not calls:
        return None
    return [
        ToolCall(
            id=c["id"] or f"call_{i}",
            function=FunctionCall(name=c["name"], arguments=c["arguments"]),
        )
        for i, c in sorted(calls.items())
    ]


@register("openai")
def _create(settings: Settings, redactor: Redactor) -> OpenAIProvider:
    api_key = settings.upstream_api_key.get_secret_value() if settings.upstream_api_key else None
    return OpenAIProvider(base_url=settings.upstream_base_url, api_key=api_key, redactor=redactor)
