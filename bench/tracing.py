"""Traces off and on: what ``SAAS_LITELLM_OTEL`` costs a call (issue 28: "off by default and free
when off").

    python bench/tracing.py [--rounds 5] [--calls 400] [--out FILE]

Starts, on 127.0.0.1, the fast upstream stub, an OTLP/HTTP sink (answers every export with 200,
counts the spans' bytes) and two servers on SQLite databases of their own, the same settings but
``SAAS_LITELLM_OTEL``: *off* (the default) and *on* (exporting to the sink; the extra must be
installed). Non-streamed llm-calls on a job of each, the two servers taking turns (the order flips
every round), one sequential keep-alive client: wall ms and the server's own ``Server-Timing:
total``, p50 and p99. Then, in this process, the hooks tracing leaves on the path when off — each
database statement's and each upstream call's check for a tracer — timed against the same
functions without the check, times the statements and upstream calls of an llm-call: what *off*
costs a call, against what the call costs.
"""

from __future__ import annotations

import argparse
import http.server
import statistics
import tempfile
import threading
import time
import timeit
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import httpx

BODY = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 16}
STATEMENTS_PER_CALL = 2
"""A job_based llm-call's statements (``bench/CAPACITY.md``): the key look-up, the call's row."""


class _Sink(http.server.BaseHTTPRequestHandler):
    """An OTLP/HTTP receiver that accepts everything (the spans' cost is the server's)."""

    received = 0

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        _Sink.received += len(self.rfile.read(length))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return None


def _server_ms(response: httpx.Response) -> float:
    header = response.headers.get("server-timing", "")
    total = header.split(",")[0]
    return float(total.split("dur=")[1])


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def measure(servers: dict[str, Any], *, rounds: int, calls: int) -> dict[str, list[list[float]]]:
    """Per server, per round: the calls' [wall ms, server ms]."""
    clients = {name: httpx.Client(base_url=s.url, timeout=60) for name, s in servers.items()}
    out: dict[str, list[list[float]]] = {name: [] for name in servers}
    try:
        names = list(servers)
        for name in names:  # warm-up
            for _ in range(20):
                s = servers[name]
                clients[name].post(f"/api/jobs/{s.job_id}/llm-call", json=BODY, headers=s.auth())
        for r in range(rounds):
            for name in names if r % 2 == 0 else names[::-1]:
                s, http = servers[name], clients[name]
                walls, totals = [], []
                for _ in range(calls):
                    started = time.perf_counter()
                    response = http.post(
                        f"/api/jobs/{s.job_id}/llm-call", json=BODY, headers=s.auth()
                    )
                    walls.append((time.perf_counter() - started) * 1000)
                    response.raise_for_status()
                    totals.append(_server_ms(response))
                out[name].append([statistics.median(walls), statistics.median(totals)])
                out[name].append([_percentile(walls, 0.99), _percentile(totals, 0.99)])
    finally:
        for http in clients.values():
            http.close()
    return out


def hooks_when_off(number: int = 1_000_000) -> dict[str, float]:
    """Nanoseconds: ``add_db`` as the store calls it (tracing off: one check for a tracer) and
    the same without the check; ``tracer()`` as a call asks it once."""
    from saas_litellm_server import _timing

    timing = _timing.RequestTiming()
    current: ContextVar[Any] = ContextVar("bench_timing", default=timing)

    def without_hook(seconds: float, query: object = None) -> None:
        found = current.get()
        if found is not None:
            found.db += seconds

    token = _timing._current.set(timing)
    try:
        with_hook = timeit.timeit(lambda: _timing.add_db(0.0, "q"), number=number)
        bare = timeit.timeit(lambda: without_hook(0.0, "q"), number=number)
        ask = timeit.timeit(_timing.tracer, number=number)
    finally:
        _timing._current.reset(token)
    return {
        "add_db": with_hook / number * 1e9,
        "add_db without the check": bare / number * 1e9,
        "tracer()": ask / number * 1e9,
    }


def render(result: dict[str, Any]) -> str:
    lines = [
        "## Traces off and on (SQLite)",
        "",
        f"`python bench/tracing.py` ({result['rounds']} rounds of {result['calls']} non-streamed "
        "llm-calls per server, the servers taking turns; medians of per-round figures).",
        "",
        "| server | wall p50 ms | wall p99 ms | server p50 ms | server p99 ms |",
        "|---|---:|---:|---:|---:|",
    ]
    medians: dict[str, list[float]] = {}
    for name, rows in result["servers"].items():
        p50 = rows[0::2]
        p99 = rows[1::2]
        m = [
            statistics.median(r[0] for r in p50),
            statistics.median(r[0] for r in p99),
            statistics.median(r[1] for r in p50),
            statistics.median(r[1] for r in p99),
        ]
        medians[name] = m
        lines.append(f"| {name} | {m[0]:.3f} | {m[1]:.3f} | {m[2]:.3f} | {m[3]:.3f} |")
    off, on = result["servers"]["off"][0::2], result["servers"]["on"][0::2]
    ratio = statistics.median(b[1] / a[1] for a, b in zip(off, on, strict=True))
    lines += [
        "",
        f"On / off, server p50 (median of per-round ratios): {ratio:.2f}x; the OTLP sink "
        f"received {result['exported_bytes']:,} bytes of spans.",
        "",
        "What *off* leaves on a call's path, timed in this process: `add_db` (each statement's "
        f"report) {result['hooks']['add_db']:.0f} ns with its check for a tracer, "
        f"{result['hooks']['add_db without the check']:.0f} ns for the same body without it "
        "(the check is below what `timeit` resolves); `tracer()` (asked once per upstream call) "
        f"{result['hooks']['tracer()']:.0f} ns.",
        "",
    ]
    bound = result["hooks"]["tracer()"] * (STATEMENTS_PER_CALL + 1)
    server_ms = medians["off"][2]
    lines.append(
        f"Counting every check as a whole `tracer()` call, *off* costs an llm-call at most "
        f"{bound:.0f} ns ({STATEMENTS_PER_CALL} statements, one upstream call), against its "
        f"{server_ms * 1000:.0f} µs of server time: {bound / (server_ms * 1e6) * 100:.3f} %."
    )
    return "\n".join(lines) + "\n"


def main() -> int:
    import nofile
    import systems
    from processes import Processes, free_port

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=400, help="llm-calls per server per round")
    parser.add_argument("--out", type=Path, help="also write the report to this file")
    args = parser.parse_args()
    nofile.raise_nofile()
    workdir = Path(tempfile.mkdtemp(prefix="saas-litellm-bench-tracing-"))
    sink_port = free_port()
    sink = http.server.ThreadingHTTPServer(("127.0.0.1", sink_port), _Sink)
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    env_on = {
        "SAAS_LITELLM_OTEL": "true",
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{sink_port}",
        "OTEL_BSP_SCHEDULE_DELAY": "200",
    }
    try:
        with Processes(workdir) as procs:
            _, upstream = systems.start_upstream(procs)
            servers = {
                name: systems.start_server(
                    procs,
                    f"tracing-{name}",
                    f"sqlite:///{workdir / f'{name}.db'}",
                    upstream,
                    workdir,
                    {"bench": "fast"},
                    env=env,
                )
                for name, env in (("off", {}), ("on", env_on))
            }
            for server in servers.values():
                systems.ready(server)
            measured = measure(servers, rounds=args.rounds, calls=args.calls)
    finally:
        sink.shutdown()
    result = {
        "rounds": args.rounds,
        "calls": args.calls,
        "servers": measured,
        "exported_bytes": _Sink.received,
        "hooks": hooks_when_off(),
    }
    text = render(result)
    print(text)
    if args.out:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
