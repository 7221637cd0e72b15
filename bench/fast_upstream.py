"""A minimal, fast OpenAI-compatible upstream for benchmarks: raw asyncio, HTTP/1.1 keep-alive.

``python bench/fast_upstream.py PORT`` serves, on 127.0.0.1:

- ``POST /chat/completions`` (and ``/v1/chat/completions``): a canned ``chat.completion`` with
  ``usage``; with ``"stream": true`` an SSE stream (chunked transfer encoding) of N content chunks,
  a finish chunk, a usage chunk and ``data: [DONE]``. The model name sets the stream's shape:
  ``stream-20x10ms`` sends 20 chunks, the first at once and then one every 10 ms (on an absolute
  schedule, so delays do not drift); any other model streams ``DEFAULT_CHUNKS`` chunks at once.
- ``GET /health``: ``ok``.

No framework and no per-request allocation beyond parsing the JSON body, so that its own cost is
small and known (the harness measures it as the "direct" column).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import sys

from nofile import raise_nofile

DEFAULT_CHUNKS = 8
_STREAM_MODEL = re.compile(r"^stream-(\d{1,5})x(\d{1,6})ms$")
_USAGE = {"prompt_tokens": 9, "completion_tokens": 12, "total_tokens": 21}
_USAGE_JSON = json.dumps(_USAGE, separators=(",", ":"))


def _completion_response() -> bytes:
    body = json.dumps(
        {
            "id": "chatcmpl-bench",
            "object": "chat.completion",
            "created": 1700000000,
            "model": "fast",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "The quick brown fox jumps."},
                    "finish_reason": "stop",
                }
            ],
            "usage": _USAGE,
        },
        separators=(",", ":"),
    ).encode()
    head = (
        f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    return head + body


COMPLETION = _completion_response()
HEALTH = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"
NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
BAD_REQUEST = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
STREAM_HEAD = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n"
)
_CHUNK_PREFIX = (
    '{"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":'
)


def _frame(payload: str) -> bytes:
    """One SSE event in one HTTP chunk."""
    data = f"data: {payload}\n\n".encode()
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def _content_chunk(model: str, index: int) -> bytes:
    return _frame(
        f'{_CHUNK_PREFIX}{model},"choices":[{{"index":0,"delta":{{"content":"tok{index} "}},'
        '"finish_reason":null}]}'
    )


def _tail(model: str) -> bytes:
    finish = _frame(
        f'{_CHUNK_PREFIX}{model},"choices":[{{"index":0,"delta":{{}},"finish_reason":"stop"}}]}}'
    )
    usage = _frame(f'{_CHUNK_PREFIX}{model},"choices":[],"usage":{_USAGE_JSON}}}')
    return finish + usage + _frame("[DONE]") + b"0\r\n\r\n"


def stream_shape(model: str) -> tuple[int, float]:
    """(number of content chunks, seconds between them) for a model name."""
    match = _STREAM_MODEL.match(model)
    if not match:
        return DEFAULT_CHUNKS, 0.0
    return max(1, int(match.group(1))), int(match.group(2)) / 1000


class UpstreamProtocol(asyncio.Protocol):
    """One keep-alive connection; requests are answered in order, one at a time."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.streaming: asyncio.Task[None] | None = None
        self.close_after_stream = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        if self.streaming is not None:
            self.streaming.cancel()
        self.transport = None

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.streaming is None:
            self._process()

    def _process(self) -> None:
        """Answer every complete request in the buffer (stops while a stream is running)."""
        while self.transport is not None and self.streaming is None:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end]).decode("latin-1")
            request_line, _, header_text = head.partition("\r\n")
            length = 0
            close = False
            for line in header_text.split("\r\n"):
                name, _, value = line.partition(":")
                name = name.strip().lower()
                if name == "content-length":
                    length = int(value.strip() or 0)
                elif name == "connection" and value.strip().lower() == "close":
                    close = True
            if len(self.buffer) < end + 4 + length:
                return
            body = bytes(self.buffer[end + 4 : end + 4 + length])
            del self.buffer[: end + 4 + length]
            self._answer(request_line, body)
            if close and self.transport is not None:
                if self.streaming is None:
                    self.transport.close()
                else:
                    self.close_after_stream = True

    def _answer(self, request_line: str, body: bytes) -> None:
        assert self.transport is not None
        method, _, rest = request_line.partition(" ")
        path = rest.partition(" ")[0]
        if method == "GET" and path == "/health":
            self.transport.write(HEALTH)
            return
        if method != "POST" or path not in ("/chat/completions", "/v1/chat/completions"):
            self.transport.write(NOT_FOUND)
            return
        try:
            request = json.loads(body)
            model = str(request.get("model", ""))
            stream = bool(request.get("stream"))
        except (ValueError, AttributeError):
            self.transport.write(BAD_REQUEST)
            self.transport.close()
            return
        if not stream:
            self.transport.write(COMPLETION)
            return
        self.streaming = asyncio.get_running_loop().create_task(self._stream(model))

    async def _stream(self, model: str) -> None:
        transport = self.transport
        assert transport is not None
        chunks, delay = stream_shape(model)
        model = json.dumps(model)  # quoted, as it goes into each chunk's JSON
        loop = asyncio.get_running_loop()
        start = loop.time()
        try:
            transport.write(STREAM_HEAD + _content_chunk(model, 0))
            for i in range(1, chunks):
                if delay:
                    await asyncio.sleep(max(0.0, start + i * delay - loop.time()))
                if transport.is_closing():
                    return
                transport.write(_content_chunk(model, i))
            transport.write(_tail(model))
            if self.close_after_stream:
                transport.close()
        except asyncio.CancelledError:
            return
        finally:
            self.streaming = None
        if self.buffer:
            self._process()


async def serve(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(UpstreamProtocol, "127.0.0.1", port, backlog=4096)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    raise_nofile()  # one socket per open stream: 10,000 in the streams phase
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(int(sys.argv[1])))
