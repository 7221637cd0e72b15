"""A small OpenAI-compatible upstream, run as a real process by the tests.

``python upstream_stub.py PORT`` serves ``POST /chat/completions`` (streaming or not). What it does
is scripted by the request's ``model``:

- ``echo`` (and any unknown name): answers ``stub answer: <last user message>``;
- ``slow-<seconds>``: streams ``stub-chunk-<i> `` chunks, one every ``<seconds>``, 6 of them;
- ``cut``: streams two chunks, then drops the connection mid-stream;
- ``late-end``: streams like ``echo``, and ends its body 20 ms after ``[DONE]``;
- ``nousage``: streams without a ``usage`` chunk;
- ``error-<status>``: answers that HTTP status with an OpenAI-style error body;
- ``hang``: never answers;
- ``bad-usage``: valid JSON whose ``usage`` has the wrong shape (plain and streamed);
- ``sleep-<seconds>``: answers like ``echo``, after ``<seconds>``;
- ``tools``: answers with a ``get_weather`` tool call (streamed in fragments, as OpenAI does);
- ``garbage``: answers 200 with a body that is not JSON (or, streaming, a chunk that is not);
- ``reask``: answers JSON that fails the test's ``Person`` model until the conversation contains
  an assistant message (a re-ask), then a valid one;
- ``never-valid``: always answers JSON that fails ``Person``;
- ``person``: always answers a valid ``Person`` as JSON (a ``json_schema`` answer);
- ``greedy``: the most an upstream may count under the server's bound: one prompt token per
  UTF-8 byte of the messages' contents, and an answer exactly as long as it is allowed —
  ``max_completion_tokens`` when sent (as vLLM and OpenAI's reasoning models follow it), else
  ``max_tokens``, else 100,000 — of one-byte tokens (``"a"``), streamed 1,000 at a time;
- ``gate-<name>`` (streaming): sends all of ``greedy``'s content at once, then holds the stream
  open, before its finish and usage, until ``POST /_stub/release/<name>`` (a call in flight
  whose client already has every content chunk).

``POST /embeddings`` answers one vector per input text: ``dimensions`` floats (default 4), the
first the text's length, the rest its index and 0.5s; ``usage.prompt_tokens`` one per four
characters. ``error-<status>`` and ``garbage`` behave as for chat, ``nousage`` leaves ``usage``
out, ``shuffled`` lists the vectors in reverse order (each with its ``index``), ``short``
answers one vector fewer than the inputs.

``GET /_stub/requests`` returns every request received (body, whether it was streamed, its
connection ``peer``, and how it ended: ``finished`` or ``cancelled``); ``POST /_stub/reset``
forgets them (and opens every gate).
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

LOG: list[dict[str, Any]] = []
GATES: dict[str, asyncio.Event] = {}

VALID_PERSON = {"name": "Ada Lovelace", "age": 36, "email": "ada@example.com"}
INVALID_PERSON = {"name": "Ada Lovelace", "age": "thirty-six"}


def _answer(body: dict[str, Any]) -> str:
    model = body.get("model", "")
    messages = body.get("messages", [])
    if model == "reask":
        reasked = any(m.get("role") == "assistant" for m in messages)
        return json.dumps(VALID_PERSON if reasked else INVALID_PERSON)
    if model == "never-valid":
        return json.dumps(INVALID_PERSON)
    if model == "person":
        return json.dumps(VALID_PERSON)
    last = next((m["content"] for m in reversed(messages) if m.get("role") == "user"), "")
    return f"stub answer: {last}"


def _greedy(body: dict[str, Any]) -> tuple[str, dict[str, int]]:
    """The greedy answer and its usage: the upper bound of everything."""
    prompt = sum(len(str(m.get("content") or "").encode()) for m in body.get("messages", []))
    limit = body.get("max_completion_tokens") or body.get("max_tokens") or 100_000
    usage = {"prompt_tokens": prompt, "completion_tokens": limit, "total_tokens": prompt + limit}
    return "a" * limit, usage


def _gate(name: str) -> asyncio.Event:
    return GATES.setdefault(name, asyncio.Event())


async def _greedy_stream(body: dict[str, Any], gate: str | None) -> AsyncIterator[bytes]:
    text, usage = _greedy(body)
    for start in range(0, len(text), 1000):
        yield _chunk(text[start : start + 1000])
    if gate is not None:
        await _gate(gate).wait()
    yield _chunk(finish="stop")
    if (body.get("stream_options") or {}).get("include_usage"):
        data = {"object": "chat.completion.chunk", "choices": [], "usage": usage}
        yield f"data: {json.dumps(data)}\n\n".encode()
    yield b"data: [DONE]\n\n"


def _usage(body: dict[str, Any], text: str) -> dict[str, int]:
    prompt = sum(len(str(m.get("content") or "").split()) + 4 for m in body.get("messages", []))
    completion = max(1, len(text.split()))
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


TOOL_CALL = {
    "id": "call_1",
    "type": "function",
    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
}


async def _tool_stream() -> AsyncIterator[bytes]:
    fragments = [
        {
            "index": 0,
            "id": "call_1",
            "type": "function",
            "function": {"name": "get_weather", "arguments": ""},
        },
        {"index": 0, "function": {"arguments": '{"city": '}},
        {"index": 0, "function": {"arguments": '"Paris"}'}},
    ]
    for fragment in fragments:
        data = {
            "object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": {"tool_calls": [fragment]}}],
        }
        yield f"data: {json.dumps(data)}\n\n".encode()
    yield _chunk(finish="tool_calls")
    yield b"data: [DONE]\n\n"


def _chunk(content: str | None = None, finish: str | None = None) -> bytes:
    delta = {"content": content} if content is not None else {}
    data = {
        "id": "chatcmpl-stub",
        "object": "chat.completion.chunk",
        "model": "stub",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(data)}\n\n".encode()


def _sent_key(request: Request) -> str:
    return request.headers.get("authorization", "").removeprefix("Bearer ")


async def completions(request: Request) -> Response:
    body = await request.json()
    entry = {
        "body": body,
        "stream": bool(body.get("stream")),
        "ended": "started",
        "authorization": request.headers.get("authorization"),
        "traceparent": request.headers.get("traceparent"),
        # the client's port names the connection the request came on
        "peer": f"{request.client.host}:{request.client.port}" if request.client else None,
    }
    LOG.append(entry)
    model = str(body.get("model", ""))
    if model.startswith("error-"):
        entry["ended"] = "finished"
        return _error(int(model.removeprefix("error-")), request)
    if model.startswith("sleep-"):
        await asyncio.sleep(float(model.removeprefix("sleep-")))
    if model == "hang":
        while not await request.is_disconnected():
            await asyncio.sleep(0.05)
        entry["ended"] = "cancelled"
        return Response(status_code=499)
    if model == "bad-usage":  # valid JSON, wrong shapes inside
        entry["ended"] = "finished"
        if body.get("stream"):
            chunk = {
                "choices": [{"delta": {"content": "hi"}}],
                "usage": {"completion_tokens": None},
            }
            return Response(
                f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n".encode(),
                media_type="text/event-stream",
            )
        return JSONResponse(
            {"choices": [{"message": {"role": "assistant", "content": "hi"}}], "usage": [1]}
        )
    if model == "garbage":
        entry["ended"] = "finished"
        if body.get("stream"):
            return Response(b"data: {this is not json\n\n", media_type="text/event-stream")
        return Response(b"<html>502 from a confused proxy</html>", media_type="application/json")
    if model == "greedy" or model.startswith("gate-"):
        entry["ended"] = "finished"
        if body.get("stream"):
            gate = model.removeprefix("gate-") if model.startswith("gate-") else None
            return StreamingResponse(_greedy_stream(body, gate), media_type="text/event-stream")
        text, usage = _greedy(body)
        return JSONResponse(
            {
                "object": "chat.completion",
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "length",
                        "message": {"role": "assistant", "content": text},
                    }
                ],
                "usage": usage,
            }
        )
    if model == "tools":
        entry["ended"] = "finished"
        if not body.get("stream"):
            return JSONResponse(
                {
                    "id": "chatcmpl-stub",
                    "object": "chat.completion",
                    "choices": [
                        {
                            "index": 0,
                            "finish_reason": "tool_calls",
                            "message": {
                                "role": "assistant",
                                "content": None,
                                "tool_calls": [TOOL_CALL],
                            },
                        }
                    ],
                    "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12},
                }
            )
        return StreamingResponse(_tool_stream(), media_type="text/event-stream")
    text = _answer(body)
    if not body.get("stream"):
        entry["ended"] = "finished"
        return JSONResponse(
            {
                "id": "chatcmpl-stub",
                "object": "chat.completion",
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "message": {"role": "assistant", "content": text},
                    }
                ],
                "usage": _usage(body, text),
            }
        )

    async def events() -> AsyncIterator[bytes]:
        try:
            if model.startswith("slow-"):
                delay = float(model.removeprefix("slow-"))
                pieces = [f"stub-chunk-{i} " for i in range(6)]
            else:
                delay = 0.0
                words = text.split(" ")
                pieces = [w + (" " if i < len(words) - 1 else "") for i, w in enumerate(words)]
            full = "".join(pieces)
            for i, piece in enumerate(pieces):
                if i and delay:
                    await asyncio.sleep(delay)
                if model == "cut" and i == 2:
                    entry["ended"] = "cut"
                    raise ConnectionAbortedError("stub cuts the stream")
                yield _chunk(piece)
            yield _chunk(finish="stop")
            include = (body.get("stream_options") or {}).get("include_usage")
            if include and model != "nousage":
                usage = {
                    "id": "chatcmpl-stub",
                    "object": "chat.completion.chunk",
                    "choices": [],
                    "usage": _usage(body, full),
                }
                yield f"data: {json.dumps(usage)}\n\n".encode()
            yield b"data: [DONE]\n\n"
            if model == "late-end":  # the body's end (chunked encoding's last chunk) comes later
                await asyncio.sleep(0.02)
            entry["ended"] = "finished"
        except asyncio.CancelledError:
            entry["ended"] = "cancelled"
            raise

    return StreamingResponse(events(), media_type="text/event-stream")


def _error(status: int, request: Request) -> Response:
    return JSONResponse(
        {
            "error": {
                "message": f"stub failure {status} at http://10.0.0.1/v1 "
                "with key sk-upstreamsecret123; Incorrect API key provided: "
                f"{_sent_key(request)}. Proxy at 10.1.2.3:4000 (upstream.internal:4000)",
                "type": "stub",
            }
        },
        status_code=status,
    )


async def embeddings(request: Request) -> Response:
    body = await request.json()
    LOG.append(
        {
            "body": body,
            "stream": False,
            "ended": "finished",
            "path": request.url.path,
            "authorization": request.headers.get("authorization"),
        }
    )
    model = str(body.get("model", ""))
    if model.startswith("error-"):
        return _error(int(model.removeprefix("error-")), request)
    if model == "garbage":
        return Response(b"not json", media_type="application/json")
    texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
    size = int(body.get("dimensions") or 4)
    data = [
        {
            "object": "embedding",
            "index": i,
            "embedding": [float(len(text)), float(i), *([0.5] * (size - 2))][:size],
        }
        for i, text in enumerate(texts)
    ]
    if model == "shuffled":
        data.reverse()
    if model == "short":
        data = data[:-1]
    answer: dict[str, Any] = {"object": "list", "data": data, "model": f"stub-{model}"}
    if model != "nousage":
        tokens = sum(-(-len(t) // 4) for t in texts)
        answer["usage"] = {"prompt_tokens": tokens, "total_tokens": tokens}
    return JSONResponse(answer)


async def requests_log(request: Request) -> Response:
    return JSONResponse(LOG)


async def reset(request: Request) -> Response:
    LOG.clear()
    for gate in GATES.values():
        gate.set()  # nothing stays held from an earlier test
    GATES.clear()
    return JSONResponse({"ok": True})


async def release(request: Request) -> Response:
    _gate(request.path_params["name"]).set()
    return JSONResponse({"ok": True})


async def health(request: Request) -> Response:
    return JSONResponse({"ok": True})


app = Starlette(
    routes=[
        Route("/chat/completions", completions, methods=["POST"]),
        Route("/v1/chat/completions", completions, methods=["POST"]),
        Route("/embeddings", embeddings, methods=["POST"]),
        Route("/v1/embeddings", embeddings, methods=["POST"]),
        Route("/_stub/requests", requests_log, methods=["GET"]),
        Route("/_stub/reset", reset, methods=["POST"]),
        Route("/_stub/release/{name}", release, methods=["POST"]),
        Route("/_stub/health", health, methods=["GET"]),
    ]
)

if __name__ == "__main__":
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(sys.argv[1]),
        log_level="critical",
        timeout_graceful_shutdown=1,
    )
