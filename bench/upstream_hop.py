"""The upstream hop on its own: what one call to an OpenAI-compatible upstream costs the server.

    python bench/upstream_hop.py [--calls 3000] [--rounds 3]

Starts ``fast_upstream.py`` on 127.0.0.1 and, in one process, times the same
``POST /chat/completions`` through each client in turn, round after round (the clients take
turns, so that a busy moment hits them all): httpx with its defaults (``trust_env``: it reads
the proxy environment once, when the client is made), httpx without it, raw aiohttp, aiohttp
with ``trust_env`` (which reads the proxy environment on every request), and the server's own
provider (``OpenAIProvider.complete``: on a plain-HTTP upstream, the lean HTTP/1.1 client of
``providers/_http1.py``).
Then a stream's first line, once back to back and once after the 70 ms of silence of the
``stream-8x10ms`` model: on a virtual machine, a process woken from idle answers later, and a
proxy adds two such wake-ups to every first chunk. Prints the medians (milliseconds a call).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import httpx

from saas_litellm_server.providers import ProviderRequest
from saas_litellm_server.providers.openai import OpenAIProvider

BENCH = Path(__file__).resolve().parent
MESSAGES = [{"role": "user", "content": "Say hello to the benchmark."}]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _timed(call: Callable[[], Awaitable[object]], n: int) -> float:
    """Median milliseconds of ``n`` calls, after a few unmeasured ones."""
    for _ in range(min(50, n)):
        await call()
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


async def measure(base: str, calls: int, rounds: int) -> dict[str, list[float]]:
    url = f"{base}/chat/completions"
    body = {"model": "fast", "messages": MESSAGES}
    raw = json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    figures: dict[str, list[float]] = {}
    async with (
        httpx.AsyncClient() as default,
        httpx.AsyncClient(trust_env=False) as no_env,
        aiohttp.ClientSession() as session,
        aiohttp.ClientSession(trust_env=True) as env_session,
    ):
        provider = OpenAIProvider(base_url=base, api_key=None)
        request = ProviderRequest(model="fast", messages=MESSAGES)

        def aiohttp_post(client: aiohttp.ClientSession) -> Callable[[], Awaitable[object]]:
            async def post() -> object:
                async with client.post(url, data=raw, headers=headers) as response:
                    return json.loads(await response.read())

            return post

        clients: dict[str, Callable[[], Awaitable[object]]] = {
            "httpx (defaults: trust_env)": lambda: default.post(url, json=body),
            "httpx, trust_env=False": lambda: no_env.post(url, json=body),
            "aiohttp": aiohttp_post(session),
            "aiohttp, trust_env=True": aiohttp_post(env_session),
            "the server's provider (lean HTTP/1.1 client)": lambda: provider.complete(request),
        }
        for _ in range(rounds):
            for name, call in clients.items():
                figures.setdefault(name, []).append(await _timed(call, calls))

        for model, label in (
            ("stream-8x0ms", "stream, first line, back to back"),
            ("stream-8x10ms", "stream, first line, after 70 ms idle"),
        ):
            payload = json.dumps({"model": model, "messages": MESSAGES, "stream": True}).encode()
            samples = []
            for i in range(60 * rounds):
                start = time.perf_counter()
                async with session.post(url, data=payload, headers=headers) as response:
                    await response.content.readline()
                    if i >= 10:
                        samples.append(time.perf_counter() - start)
                    await response.read()
            figures[label] = [statistics.median(samples) * 1000]
        await provider.aclose()
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=3000, help="calls per client and round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (default 3)")
    args = parser.parse_args()
    port = _free_port()
    stub = subprocess.Popen(
        [sys.executable, str(BENCH / "fast_upstream.py"), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                httpx.get(f"{base}/health", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or stub.poll() is not None:
                    print("the upstream stub did not start", file=sys.stderr)
                    return 1
                time.sleep(0.05)
        figures = asyncio.run(measure(base, args.calls, args.rounds))
    finally:
        stub.terminate()
        stub.wait(timeout=10)
    print("| client | ms a call (median of rounds) | per round |")
    print("|---|---|---|")
    for name, values in figures.items():
        rounds = ", ".join(f"{v:.3f}" for v in values)
        print(f"| {name} | {statistics.median(values):.3f} | {rounds} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
