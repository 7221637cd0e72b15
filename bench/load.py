"""The load process: ``python bench/load.py COMMAND SPEC_JSON`` prints its results as JSON.

Run by ``run.py`` as a separate process, so that the load does not share an interpreter with the
systems measured. Commands:

- ``latency``: non-streaming requests at concurrency 1 over raw keep-alive sockets, one request
  per target in turn (request-level interleaving), for several rounds: per-request milliseconds.
- ``ttft``: streaming requests the same way: time to first content chunk, chunks received, and
  how late the latest chunk came relative to the upstream's schedule (buffering shows there).
- ``sdk``: ``SaasLiteLLMClient.llm_call`` against a raw ``httpx`` POST of the same request,
  alternating, on the same server.
- ``streams``: opens many concurrent streams (in batches), holds them open and reads the
  server's RSS.

Targets are ``{"name", "port", "path", "body", "headers", "marker"?}``; ``marker`` is the byte
string that starts each content chunk in the target's stream.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import nofile
from processes import rss_mb, wait_idle

RECV = 65536
TIMEOUT = 30.0


def raw_request(target: dict[str, Any]) -> bytes:
    body: bytes = target["body"].encode()
    headers = {
        "Host": f"127.0.0.1:{target['port']}",
        "Content-Type": "application/json",
        "Content-Length": str(len(body)),
        **target.get("headers", {}),
    }
    head = f"POST {target['path']} HTTP/1.1\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in headers.items()
    )
    return (head + "\r\n").encode() + body


class HTTPError(Exception):
    """A response that was not a 200, or a connection that broke."""


@dataclass
class Exchange:
    status: int
    seconds: float
    arrivals: list[float] = field(default_factory=list)  # seconds after sending, per chunk
    body: bytes = b""


class RawConnection:
    """A blocking HTTP/1.1 keep-alive connection: the cheapest client Python has."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sock: socket.socket | None = None

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def _connect(self) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=TIMEOUT)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = sock
        return sock

    def exchange(self, request: bytes, marker: bytes | None = None) -> Exchange:
        """Send one request and read its whole response (reconnecting once if the idle
        connection was closed by the server)."""
        for attempt in (1, 2):
            sock = self.sock or self._connect()
            try:
                return self._exchange(sock, request, marker)
            except _Stale:
                self.close()
                if attempt == 2:
                    raise HTTPError("connection closed before any response byte") from None
            except (OSError, HTTPError):
                self.close()
                raise
        raise AssertionError("unreachable")

    def _exchange(self, sock: socket.socket, request: bytes, marker: bytes | None) -> Exchange:
        perf = time.perf_counter
        start = perf()
        try:
            sock.sendall(request)
        except (BrokenPipeError, ConnectionResetError):
            raise _Stale from None
        buf = bytearray()
        arrivals: list[float] = []
        while (end := buf.find(b"\r\n\r\n")) < 0:
            data = self._recv(sock, first=not buf)
            buf += data
        head = bytes(buf[:end]).decode("latin-1").split("\r\n")
        status = int(head[0].split(" ", 2)[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in head[1:])}
        body = buf[end + 4 :]
        length = headers.get("content-length")
        chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        seen = 0

        def count(now: float) -> None:
            nonlocal seen
            if marker is not None:
                total = body.count(marker)
                arrivals.extend([now - start] * (total - seen))
                seen = total

        count(perf())
        while True:
            if length is not None and len(body) >= int(length):
                break
            if chunked and (body.endswith(b"\r\n0\r\n\r\n") or body == b"0\r\n\r\n"):
                break
            data = sock.recv(RECV)
            if not data:
                if length is None and not chunked:
                    break
                raise HTTPError("connection closed mid-response")
            body += data
            count(perf())
        seconds = perf() - start
        if headers.get("connection", "").lower() == "close":
            self.close()
        if status != 200:
            raise HTTPError(f"HTTP {status}: {bytes(body[:300])!r}")
        return Exchange(status, seconds, arrivals, bytes(body))

    @staticmethod
    def _recv(sock: socket.socket, first: bool) -> bytes:
        try:
            data = sock.recv(RECV)
        except ConnectionResetError:
            if first:
                raise _Stale from None
            raise
        if not data:
            if first:
                raise _Stale
            raise HTTPError("connection closed mid-response")
        return data


class _Stale(Exception):
    """The kept-alive connection was closed before the request got any answer."""


def _interleaved(
    spec: dict[str, Any], measure: Callable[[str, RawConnection, bytes, bytes | None], Any]
) -> dict[str, Any]:
    """Run ``measure`` ``n`` times per target and round, the targets taking turns.

    ``mode`` ``"request"``: one request per target in turn (for systems without background
    work). ``"block"``: ``warmup`` + ``n`` requests per target, then wait until the target's
    process (``pid``) is idle before the next target, so that work a system does after
    answering (LiteLLM's logging callbacks) does not land on the next system's figures.
    The order of the targets rotates from round to round.
    """
    targets = spec["targets"]
    names = [t["name"] for t in targets]
    conns = {t["name"]: RawConnection(t["port"]) for t in targets}
    requests = {t["name"]: raw_request(t) for t in targets}
    markers = {t["name"]: (t["marker"].encode() if t.get("marker") else None) for t in targets}
    pids = {t["name"]: t.get("pid") for t in targets}
    errors: dict[str, list[str]] = {name: [] for name in names}
    ok = {name: 0 for name in names}  # successful requests, warm-ups included
    rounds: list[dict[str, list[Any]]] = []

    def one(name: str, keep: bool, samples: dict[str, list[Any]]) -> None:
        try:
            result = measure(name, conns[name], requests[name], markers[name])
        except (OSError, HTTPError) as exc:
            if len(errors[name]) < 1000:
                errors[name].append(f"{type(exc).__name__}: {exc}"[:300])
            return
        ok[name] += 1
        if keep:
            samples[name].append(result)

    warmup, n = spec["warmup"], spec["n"]
    for r in range(spec["rounds"]):
        samples: dict[str, list[Any]] = {name: [] for name in names}
        order = names[r % len(names) :] + names[: r % len(names)]
        if spec.get("mode", "request") == "request":
            for i in range(warmup + n):
                for name in order:
                    one(name, i >= warmup, samples)
        else:
            for name in order:
                for i in range(warmup + n):
                    one(name, i >= warmup, samples)
                if pids[name]:
                    wait_idle(pids[name], timeout=10)
        rounds.append(samples)
    for conn in conns.values():
        conn.close()
    return {"rounds": rounds, "errors": errors, "ok": ok}


def cmd_latency(spec: dict[str, Any]) -> dict[str, Any]:
    """Milliseconds per non-streaming request."""

    def measure(name: str, conn: RawConnection, request: bytes, marker: bytes | None) -> float:
        return round(conn.exchange(request).seconds * 1000, 4)

    return _interleaved(spec, measure)


def cmd_ttft(spec: dict[str, Any]) -> dict[str, Any]:
    """Per stream: [ttft ms, chunks received, max lateness ms] where lateness of chunk i is its
    arrival minus ``i * delay`` (the upstream sends chunk i at ``i * delay``)."""
    delay_ms = spec["delay_ms"]

    def measure(
        name: str, conn: RawConnection, request: bytes, marker: bytes | None
    ) -> list[float]:
        ex = conn.exchange(request, marker)
        if not ex.arrivals:
            raise HTTPError(f"no content chunk in the stream: {ex.body[:300]!r}")
        ms = [t * 1000 for t in ex.arrivals]
        lateness = max(t - i * delay_ms for i, t in enumerate(ms))
        return [round(ms[0], 4), len(ms), round(lateness, 4)]

    return _interleaved(spec, measure)


async def _sdk_request_headers(
    base: str, spec: dict[str, Any], body: dict[str, Any]
) -> dict[str, str]:
    """The headers the SDK sends with an ``llm_call`` (seen through an httpx event hook on a
    throw-away SDK client), so that the raw client can send exactly the same request."""
    import httpx

    from saas_litellm_client import SaasLiteLLMClient

    seen: list[httpx.Request] = []

    async def hook(request: httpx.Request) -> None:
        seen.append(request)

    async with (
        httpx.AsyncClient(event_hooks={"request": [hook]}) as http,
        SaasLiteLLMClient(
            base_url=base,
            team_id=spec["team_id"],
            virtual_key=spec["virtual_key"],
            http_client=http,
        ) as probe,
    ):
        await probe.llm_call(job_id=spec["job_id"], **body)
    skip = {"host", "content-length", "accept-encoding", "connection"}
    return {k: v for k, v in seen[-1].headers.items() if k.lower() not in skip}


async def _sdk(spec: dict[str, Any]) -> dict[str, Any]:
    """Three clients taking turns call by call: a plain raw POST, a raw POST of exactly the
    request the SDK sends (its headers, a fresh ``Idempotency-Key`` per call if it sends one),
    and ``SaasLiteLLMClient.llm_call``."""
    import httpx

    from saas_litellm_client import SaasLiteLLMClient

    base, job_id = spec["base_url"], spec["job_id"]
    body = json.loads(spec["body"])
    url = f"{base}/api/jobs/{job_id}/llm-call"
    plain_headers = {"Authorization": f"Bearer {spec['virtual_key']}"}
    sdk_headers = await _sdk_request_headers(base, spec, body)
    idempotent = any(k.lower() == "idempotency-key" for k in sdk_headers)
    sdk_headers = {k: v for k, v in sdk_headers.items() if k.lower() != "idempotency-key"}
    perf = time.perf_counter
    rounds = []
    async with (
        httpx.AsyncClient() as raw,
        SaasLiteLLMClient(
            base_url=base, team_id=spec["team_id"], virtual_key=spec["virtual_key"]
        ) as sdk,
    ):

        async def raw_call() -> float:
            start = perf()
            response = await raw.post(url, json=body, headers=plain_headers)
            response.raise_for_status()
            response.json()
            return perf() - start

        async def same_call() -> float:
            start = perf()
            headers = sdk_headers
            if idempotent:
                headers = {**sdk_headers, "Idempotency-Key": f"bench-{uuid.uuid4().hex}"}
            response = await raw.post(url, json=body, headers=headers)
            response.raise_for_status()
            response.json()
            return perf() - start

        async def sdk_call() -> float:
            start = perf()
            await sdk.llm_call(job_id=job_id, **body)
            return perf() - start

        clients = [("raw", raw_call), ("raw same", same_call), ("sdk", sdk_call)]
        for _ in range(spec["rounds"]):
            samples: dict[str, list[float]] = {name: [] for name, _ in clients}
            for i in range(spec["warmup"] + spec["n"]):
                order = clients[i % 3 :] + clients[: i % 3]
                for name, call in order:
                    seconds = await call()
                    if i >= spec["warmup"]:
                        samples[name].append(round(seconds * 1000, 4))
            rounds.append(samples)
    return {
        "rounds": rounds,
        "errors": {},
        "sdk_headers": sorted(sdk_headers) + (["Idempotency-Key"] if idempotent else []),
        "idempotency_key": idempotent,
    }


def cmd_sdk(spec: dict[str, Any]) -> dict[str, Any]:
    return asyncio.run(_sdk(spec))


async def _streams(spec: dict[str, Any]) -> dict[str, Any]:
    """Open ``count`` streams in batches of ``batch`` (at most ``window`` of them connecting or
    waiting for their first chunk at any time, well under any listen backlog), read the server's
    RSS after each batch and ``samples`` times over ``hold_seconds`` once all are open, then
    disconnect them all. Opening stops early when no stream has settled (got its first chunk, or
    failed) for ``stall_seconds``, or after ``open_timeout`` seconds: whatever is open then is
    held and measured: *pending* streams had connected but had no first chunk yet, and those
    not *attempted* never connected."""
    target = spec["target"]
    request = raw_request(target)
    marker = target["marker"].encode()
    count, batch = spec["count"], spec.get("batch") or spec["count"]
    state = {"connecting": 0, "open": 0, "failed": 0}
    progress = asyncio.Event()
    errors: list[str] = []
    gate = asyncio.Semaphore(spec.get("window", 200))

    def settle(failed: bool) -> None:
        state["failed" if failed else "open"] += 1
        progress.set()

    async def one() -> None:
        writer = None
        counted = False
        try:
            async with gate:
                state["connecting"] += 1
                reader, writer = await asyncio.open_connection("127.0.0.1", target["port"])
                writer.write(request)
                buf = b""
                while marker not in buf:
                    data = await reader.read(RECV)
                    if not data:
                        raise HTTPError(f"closed before the first chunk: {buf[:200]!r}")
                    buf += data
                if not buf.startswith(b"HTTP/1.1 200"):
                    raise HTTPError(buf[:200].decode("latin-1"))
            settle(False)
            counted = True
            while await reader.read(RECV):  # keep consuming until told to stop
                pass
        except (OSError, HTTPError) as exc:
            if not counted:
                settle(True)
                if len(errors) < 20:
                    errors.append(f"{type(exc).__name__}: {exc}"[:300])
        finally:
            if writer is not None:
                writer.transport.abort()

    pid = spec["server_pid"]
    rss_before = rss_mb(pid)
    perf = time.perf_counter
    start = perf()
    deadline = start + spec["open_timeout"]
    tasks: list[asyncio.Task[None]] = []
    batches: list[dict[str, Any]] = []
    stopped = ""
    for first in range(0, count, batch):
        tasks += [asyncio.create_task(one()) for _ in range(min(batch, count - first))]
        while state["open"] + state["failed"] < len(tasks) and not stopped:
            progress.clear()
            wait = min(spec["stall_seconds"], deadline - perf())
            try:
                await asyncio.wait_for(progress.wait(), max(0.0, wait))
            except asyncio.TimeoutError:
                stopped = (
                    f"no stream opened or failed for {spec['stall_seconds']:g} s"
                    if perf() < deadline
                    else f"not all open after {spec['open_timeout']:g} s"
                )
        batches.append(
            {
                "requested": len(tasks),
                "open": state["open"],
                "failed": state["failed"],
                "seconds": round(perf() - start, 2),
                "rss_mb": round(rss_mb(pid), 1),
            }
        )
        if stopped:
            break
    open_seconds = perf() - start
    samples = []
    for _ in range(spec["samples"]):
        samples.append(rss_mb(pid))
        await asyncio.sleep(spec["hold_seconds"] / spec["samples"])
    still_open = state["open"] - sum(1 for t in tasks if t.done())
    attempted = state["connecting"]  # the others never got through the gate
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {
        "requested": count,
        "attempted": attempted,
        "opened": state["open"],
        "failed": state["failed"],
        "pending": attempted - state["open"] - state["failed"],
        "stopped": stopped,
        "still_open_at_end": still_open,
        "open_seconds": round(open_seconds, 3),
        "batches": batches,
        "rss_before_mb": round(rss_before, 1),
        "rss_open_mb": [round(s, 1) for s in samples],
        "nofile": {"load": nofile.limit(os.getpid()), "server": nofile.limit(pid)},
        "errors": errors,
    }


def cmd_streams(spec: dict[str, Any]) -> dict[str, Any]:
    return asyncio.run(_streams(spec))


COMMANDS = {"latency": cmd_latency, "ttft": cmd_ttft, "sdk": cmd_sdk, "streams": cmd_streams}

if __name__ == "__main__":
    nofile.raise_nofile()  # one socket per stream: 10,000 in the streams phase
    command, spec_json = sys.argv[1], sys.argv[2]
    print(json.dumps(COMMANDS[command](json.loads(spec_json))))
