"""The measurements. Each phase loads the systems from a separate process (``load.py`` or
``wrk``), the systems it compares taking turns within each round, and returns raw samples per
round; ``report.py`` turns them into figures.

Between two systems' turns the harness waits until the previous one is idle: the LiteLLM proxy
keeps working after it has answered (logging callbacks), and that work must not be charged to
the next system on a 2-core machine."""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import database
from processes import Proc, cpu_seconds, cpu_seconds_tree, descendants, rss_mb, wait_idle
from systems import LITELLM_MASTER_KEY, Server

__all__ = ["Bench", "Plan", "Target", "throughput_medians"]

BENCH = Path(__file__).resolve().parent
MESSAGES = [{"role": "user", "content": "Say hello to the benchmark."}]
OURS_MARKER = "event: chunk"
OPENAI_MARKER = '"content":"tok'  # every content chunk of the stub says "tokN "


@dataclass(frozen=True)
class Plan:
    """How much of everything to do: ``quick`` (under a minute) or ``full``."""

    name: str
    rounds: int
    latency_n: int
    latency_warmup: int
    ttft_n: int
    ttft_warmup: int
    sdk_n: int
    sdk_warmup: int
    wrk_seconds: int  # our servers
    wrk_direct_seconds: int  # the stub answers ~30k req/s: a short run says enough
    wrk_litellm_seconds: int  # its first answers take ~1 s at 64 connections
    wrk_warmup_seconds: int
    wrk_rounds: int
    streams: int  # concurrent open streams (the target: 10,000)
    streams_rounds: int
    streams_hold_seconds: float
    streams_open_timeout: float
    streams_backends: tuple[str, ...]
    db_large: int
    db_n: int
    db_warmup: int
    curve_seconds: int  # our servers, per concurrency
    curve_others: tuple[str, ...]  # also on the curve at every concurrency: "direct", "litellm"
    workers_rounds: int  # 0: the serve --workers phase is skipped
    workers_seconds: int
    connections: int = 64
    wrk_threads: int = 2
    curve: tuple[int, ...] = (1, 8, 64, 256)
    streams_batch: int = 1000  # opened in batches of this many, RSS read after each
    streams_window: int = 200  # at most this many connecting / waiting for a first chunk
    streams_stall_seconds: float = 15.0  # opening stops when none settles for this long
    db_small: int = 1000
    stream_chunks: int = 8
    stream_delay_ms: int = 10
    billing_depth: int = 10_000  # calls into a job, for the deep sample
    billing_samples: int = 300  # calls per sample (per mode, per round)
    billing_rounds: int = 5
    call_log_large: int = 10_000_000  # recorded calls of the large call log (bench/call_log.py)
    call_log_rounds: int = 5
    call_log_samples: int = 100  # requests per usage sample (per request, per round)
    call_log_call_samples: int = 400  # llm-calls per sample
    # one chunk every 10 s for 10 minutes: 10,000 open streams cost the server 1,000 chunks/s
    slow_model: str = "stream-60x10000ms"

    @property
    def stream_model(self) -> str:
        return f"stream-{self.stream_chunks}x{self.stream_delay_ms}ms"


QUICK = Plan(
    name="quick",
    rounds=3,
    latency_n=50,
    latency_warmup=5,
    ttft_n=6,
    ttft_warmup=2,
    sdk_n=30,
    sdk_warmup=5,
    wrk_seconds=1,
    wrk_direct_seconds=1,
    wrk_litellm_seconds=2,
    wrk_warmup_seconds=0,
    wrk_rounds=2,
    streams=1000,
    streams_rounds=1,
    streams_hold_seconds=0.5,
    streams_open_timeout=60,
    streams_backends=("ours-sqlite",),
    db_large=100_000,
    db_n=50,
    db_warmup=10,
    curve_seconds=1,
    curve_others=(),
    workers_rounds=0,
    workers_seconds=1,
    stream_chunks=6,
    stream_delay_ms=5,
    billing_depth=1000,
    billing_samples=50,
    billing_rounds=1,
    call_log_large=100_000,
    call_log_rounds=2,
    call_log_samples=20,
    call_log_call_samples=50,
)
FULL = Plan(
    name="full",
    rounds=3,
    latency_n=1000,
    latency_warmup=50,
    ttft_n=60,
    ttft_warmup=5,
    sdk_n=1000,
    sdk_warmup=50,
    wrk_seconds=8,
    wrk_direct_seconds=5,
    wrk_litellm_seconds=8,
    wrk_warmup_seconds=2,
    wrk_rounds=3,
    streams=10_000,
    streams_rounds=2,
    streams_hold_seconds=2.0,
    streams_open_timeout=300,
    streams_backends=("ours-sqlite", "ours-pg"),
    db_large=1_000_000,
    db_n=1000,
    db_warmup=50,
    curve_seconds=5,
    curve_others=("direct", "litellm"),
    workers_rounds=3,
    workers_seconds=10,
)


@dataclass(frozen=True)
class Target:
    """One system's endpoint and request, as ``load.py`` and ``wrk`` take it."""

    name: str
    port: int
    path: str
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    marker: str | None = None
    pid: int | None = None  # the process that serves it (to wait until it is idle)

    def spec(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "port": self.port,
            "path": self.path,
            "body": json.dumps(self.body, separators=(",", ":")),
            "headers": self.headers,
            "marker": self.marker,
            "pid": self.pid,
        }


def ours(name: str, server: Server, alias: str, *, stream: bool = False) -> Target:
    kind = "llm-call-stream" if stream else "llm-call"
    return Target(
        name,
        server.port,
        f"/api/jobs/{server.job_id}/{kind}",
        {"model": alias, "messages": MESSAGES},
        server.auth(),
        OURS_MARKER,
        server.proc.pid,
    )


@dataclass
class Bench:
    """Everything the phases need: the plan, the running systems, where to write."""

    plan: Plan
    workdir: Path
    upstream: Proc
    upstream_port: int
    servers: dict[str, Server]  # "ours-sqlite", "ours-pg"
    wrk: str | None
    litellm: Proc | None = None
    litellm_port: int | None = None
    acknowledged: dict[str, int] = field(default_factory=dict)  # ok non-streamed calls/server
    # our servers again, with the key and job of a team in consumption_tokens with per-job
    # limits (report.CONSUMPTION's names): the throughput phase loads them too
    consumption: dict[str, Server] = field(default_factory=dict)

    # -- targets -----------------------------------------------------------------------------

    def _openai(self, name: str, model: str, stream: bool) -> Target:
        body: dict[str, Any] = {"model": model, "messages": MESSAGES}
        if stream:
            body |= {"stream": True, "stream_options": {"include_usage": True}}
        if name == "litellm":
            assert self.litellm is not None
            assert self.litellm_port is not None
            auth = {"Authorization": f"Bearer {LITELLM_MASTER_KEY}"}
            return Target(
                name, self.litellm_port, "/chat/completions", body, auth, OPENAI_MARKER,
                self.litellm.pid,
            )  # fmt: skip
        return Target(
            name, self.upstream_port, "/chat/completions", body, {}, OPENAI_MARKER,
            self.upstream.pid,
        )  # fmt: skip

    def _targets(self, model: str, alias: str, stream: bool) -> list[Target]:
        """direct, our servers, LiteLLM: those running, in that order."""
        out = [self._openai("direct", model, stream)]
        out += [ours(n, s, alias, stream=stream) for n, s in self.servers.items()]
        if self.litellm_port:
            out.append(self._openai("litellm", model, stream))
        return out

    # -- load processes ----------------------------------------------------------------------

    def load(self, command: str, spec: dict[str, Any], timeout: float = 1800) -> dict[str, Any]:
        argv = [sys.executable, str(BENCH / "load.py"), command, json.dumps(spec)]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
        if done.returncode != 0:
            tail = done.stderr[-3000:]
            raise RuntimeError(f"load.py {command} failed ({done.returncode}): {tail}")
        result: dict[str, Any] = json.loads(done.stdout)
        return result

    def _acknowledge(self, ok: dict[str, int]) -> None:
        """Count the non-streamed calls our servers answered with 200 (warm-ups included)."""
        for name, count in ok.items():
            if name in self.servers or name in self.consumption:
                self.acknowledged[name] = self.acknowledged.get(name, 0) + count

    # -- phases ------------------------------------------------------------------------------

    def latency(self) -> dict[str, Any]:
        """Non-streaming calls at concurrency 1, in blocks per system."""
        p = self.plan
        spec = {
            "targets": [t.spec() for t in self._targets("fast", "bench", False)],
            "mode": "block",
            "rounds": p.rounds,
            "n": p.latency_n,
            "warmup": p.latency_warmup,
        }
        result = self.load("latency", spec)
        self._acknowledge(result["ok"])
        return result

    def ttft(self) -> dict[str, Any]:
        """Streams at concurrency 1, in blocks per system."""
        p = self.plan
        spec = {
            "targets": [t.spec() for t in self._targets(p.stream_model, "bench-stream", True)],
            "mode": "block",
            "rounds": p.rounds,
            "n": p.ttft_n,
            "warmup": p.ttft_warmup,
            "delay_ms": p.stream_delay_ms,
        }
        result = self.load("ttft", spec)
        result["expected_chunks"] = p.stream_chunks
        result["delay_ms"] = p.stream_delay_ms
        return result

    def sdk(self) -> dict[str, Any]:
        p = self.plan
        server = self.servers["ours-sqlite"]
        spec = {
            "base_url": server.url,
            "team_id": server.team_id,
            "virtual_key": server.virtual_key,
            "job_id": server.job_id,
            "body": json.dumps({"model": "bench", "messages": MESSAGES}),
            "rounds": p.rounds,
            "n": p.sdk_n,
            "warmup": p.sdk_warmup,
        }
        result = self.load("sdk", spec)
        calls = (p.sdk_n + p.sdk_warmup) * 3 * p.rounds + 1  # three clients, and one probe
        self._acknowledge({"ours-sqlite": calls})
        return result

    def throughput(self) -> dict[str, Any]:
        """wrk at ``connections``, each system in turn per round (rotating), idle in between."""
        p = self.plan
        assert self.wrk is not None
        targets = self._targets("fast", "bench", False)
        extra = [ours(n, s, "bench") for n, s in self.consumption.items()]
        at = 1 + len(self.servers)  # after direct and our servers, before LiteLLM
        targets = targets[:at] + extra + targets[at:]
        for target in targets if p.wrk_warmup_seconds else ():  # connections, caches
            self._wrk(target, p.wrk_warmup_seconds)
        rounds: list[dict[str, Any]] = []
        for r in range(p.wrk_rounds):
            order = targets[r % len(targets) :] + targets[: r % len(targets)]
            rounds.append({t.name: self._wrk(t, self._seconds(t)) for t in order})
        return {
            "rounds": rounds,
            "names": [t.name for t in targets],
            "seconds": {t.name: self._seconds(t) for t in targets},
        }

    def _seconds(self, target: Target) -> int:
        p = self.plan
        return {"direct": p.wrk_direct_seconds, "litellm": p.wrk_litellm_seconds}.get(
            target.name, p.wrk_seconds
        )

    def curve(self, known: dict[str, dict[str, Any]] | None) -> dict[str, Any]:
        """wrk at each of ``plan.curve``'s concurrencies: our servers, and ``curve_others`` too;
        one run per system and concurrency. ``known``: figures already measured at
        ``plan.connections`` (the throughput phase's medians, by system, every system's), not
        measured again."""
        p = self.plan
        assert self.wrk is not None
        targets = self._targets("fast", "bench", False)
        points: dict[str, dict[int, dict[str, Any]]] = {t.name: {} for t in targets}
        wanted = {*self.servers, *p.curve_others}
        reused: list[int] = []
        for c in p.curve:
            if known is not None and c == p.connections:
                for name, figures in known.items():
                    if name in points:
                        points[name][c] = figures
                reused.append(c)
                continue
            for target in targets:
                if target.name in wanted:
                    points[target.name][c] = self._wrk(target, p.curve_seconds, c)
        return {
            "points": points,
            "concurrencies": list(p.curve),
            "reused": reused,
            "seconds": p.curve_seconds,
        }

    def workers(self, servers: dict[int, Server]) -> dict[str, Any]:
        """``serve --workers N`` for each N in ``servers`` (PostgreSQL): wrk at
        ``plan.connections`` against each in turn, ``workers_rounds`` times; a server's figure is
        the calls it *recorded* in ``llm_calls`` during the run per second of it (and wrk's own
        figures beside it)."""
        p = self.plan
        assert self.wrk is not None
        rounds: list[dict[str, Any]] = []
        counts = sorted(servers)
        for r in range(p.workers_rounds):
            order = counts[r % len(counts) :] + counts[: r % len(counts)]
            samples: dict[str, Any] = {}
            for n in order:
                server = servers[n]
                target = ours(f"workers-{n}", server, "bench")
                before = database.recorded_calls(server.database_url, server.team_id)
                result = self._wrk(target, p.workers_seconds, p.connections, tree=True)
                after = database.recorded_calls(server.database_url, server.team_id)
                added = after.get("call/success", 0) - before.get("call/success", 0)
                result["recorded"] = added
                result["recorded_per_s"] = added / (result["duration_us"] / 1e6)
                result["processes"] = 1 + len(descendants(server.proc.pid))
                samples[str(n)] = result
            rounds.append(samples)
        return {"rounds": rounds, "seconds": p.workers_seconds, "connections": p.connections}

    def _wrk(
        self, target: Target, seconds: int, connections: int | None = None, *, tree: bool = False
    ) -> dict[str, Any]:
        """One wrk run; ``tree``: the target's CPU time and idleness include every process its
        process started (``serve --workers N``)."""
        assert self.wrk is not None
        assert target.pid is not None
        connections = connections or self.plan.connections
        pids = [target.pid, *(descendants(target.pid) if tree else [])]
        script = self.workdir / f"wrk-{target.name}.lua"
        script.write_text(_wrk_script(target))
        url = f"http://127.0.0.1:{target.port}{target.path}"
        threads = min(self.plan.wrk_threads, connections)
        argv = [self.wrk, f"-t{threads}", f"-c{connections}"]
        argv += [f"-d{seconds}s", "--timeout", "10s", "-s", str(script), url]
        cpu_of = cpu_seconds_tree if tree else cpu_seconds
        cpu_before = cpu_of(target.pid)
        done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60)
        # what it still does for the requests wrk left in flight counts too
        idle_after = sum(wait_idle(pid, timeout=30).seconds for pid in pids)
        cpu = cpu_of(target.pid) - cpu_before
        match = re.search(r"^BENCH_RESULT (.*)$", done.stdout, re.MULTILINE)
        if done.returncode != 0 or match is None:
            raise RuntimeError(f"wrk failed on {target.name}: {done.stdout[-800:]}{done.stderr}")
        result: dict[str, Any] = json.loads(match.group(1))
        ok = result["requests"] - result["status"]
        result["ok"] = ok
        result["connections"] = connections
        result["rps_counted"] = ok / (result["duration_us"] / 1e6)
        # Little's law over the closed loop of N connections: N / mean latency. Unlike
        # completed/duration it is not biased by the start (all N requests arrive at once and,
        # shared by one event loop, finish together ~N x service time later) nor by the
        # requests left in flight at the end; both weigh on short runs of slow systems.
        ok_share = ok / result["requests"] if result["requests"] else 0.0
        mean_s = result["mean_us"] / 1e6
        result["rps"] = connections / mean_s * ok_share if mean_s else 0.0
        result["cpu_ms_per_call"] = cpu * 1000 / ok if ok else float("nan")
        result["busy_after_s"] = round(idle_after, 2)
        self._acknowledge({target.name: ok})
        return result

    def streams(self, servers: dict[str, Server]) -> dict[str, Any]:
        """``streams`` concurrent open streams per server; its RSS while they are open, then
        while it deals with their disconnects, and how long that takes."""
        p = self.plan
        out: dict[str, Any] = {
            "count": p.streams,
            "batch": p.streams_batch,
            "window": p.streams_window,
            "stall_seconds": p.streams_stall_seconds,
            "rounds": [],
        }
        for _ in range(p.streams_rounds):
            samples = {}
            for name, server in servers.items():
                spec = {
                    "target": ours(name, server, "bench-slow", stream=True).spec(),
                    "count": p.streams,
                    "batch": p.streams_batch,
                    "window": p.streams_window,
                    "stall_seconds": p.streams_stall_seconds,
                    "server_pid": server.proc.pid,
                    "open_timeout": p.streams_open_timeout,
                    "samples": 4,
                    "hold_seconds": p.streams_hold_seconds,
                }
                result = self.load("streams", spec)
                idle = wait_idle(server.proc.pid, timeout=120)
                result["settle_seconds"] = round(idle.seconds, 2)
                result["rss_closing_peak_mb"] = round(idle.rss_peak_mb, 1)
                result["threads_closing_peak"] = idle.threads_peak
                result["rss_after_mb"] = round(rss_mb(server.proc.pid), 1)
                samples[name] = result
            out["rounds"].append(samples)
        return out

    def dbsize(self, small: Server, large: Server) -> dict[str, Any]:
        """llm-call latency on a database holding ``db_small`` calls against one holding
        ``db_large``; request by request (neither has background work)."""
        p = self.plan
        spec = {
            "targets": [ours("small", small, "bench").spec(), ours("large", large, "bench").spec()],
            "mode": "request",
            "rounds": p.rounds,
            "n": p.db_n,
            "warmup": p.db_warmup,
        }
        return self.load("latency", spec)


def throughput_medians(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per system, the median over the throughput phase's rounds of each of wrk's figures (a
    point of the concurrency curve)."""
    out: dict[str, dict[str, Any]] = {}
    for name in result["names"]:
        runs = [r[name] for r in result["rounds"]]
        keys = [k for k, v in runs[0].items() if isinstance(v, int | float)]
        out[name] = {k: statistics.median(r[k] for r in runs) for k in keys}
        out[name]["runs"] = len(runs)
    return out


def _wrk_script(target: Target) -> str:
    body = json.dumps(target.body, separators=(",", ":"))
    headers = {"Content-Type": "application/json", **target.headers}
    lines = ['wrk.method = "POST"', f"wrk.body = [==[{body}]==]"]
    lines += [f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items()]
    lines.append(
        """function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,'
    .. '"status":%d,"timeout":%d,"p50_us":%d,"p99_us":%d,"mean_us":%.1f}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.mean))
end"""
    )
    return "\n".join(lines) + "\n"
