"""Capacity, measured: what one call costs PostgreSQL, and how far 1, 2 and 4 servers go on one.

    python bench/capacity.py [--quick] [--calls 300] [--seconds 10] [--rounds 2] [--out FILE]

Everything runs on 127.0.0.1 and is stopped at the end, also on errors: a throw-away PostgreSQL
cluster with ``pg_stat_statements`` (``cluster.py``: the machine's own PostgreSQL does not preload
it), the fast upstream stub, and our servers (``python -m saas_litellm_server serve``).

1. **Per call** (one server, one sequential client, ``--calls`` calls per kind after a warm-up):
   statements (``pg_stat_statements``), round trips (a relay between the server and PostgreSQL
   counts each time PostgreSQL answers after the server sent something), WAL bytes
   (``pg_current_wal_lsn()``) and PostgreSQL's CPU time, for a non-streamed llm-call in each
   budget mode, the same with an ``Idempotency-Key`` (the SDK sends one), and the single-call
   jobs (``POST /api/jobs/create-and-call``, ``POST /v1/chat/completions``). What the server does
   meanwhile in the background (cooldown polls, sweeps) is measured while idle and subtracted.
   Then the same again from a server in pooler mode (``DATABASE_TRANSACTION_POOLING=true``:
   no cached prepared statements, as PgBouncer in transaction mode needs).
2. **Throughput** with 1, 2 and 4 ``serve`` processes on their own ports, on the one cluster:
   ``wrk`` per server, ``--connections`` split among them, ``--seconds`` per run. Variants:
   llm-calls spread over 16 teams (a job each) against every call in one hot team's one job, in
   ``job_based`` (a call writes its row only) and ``consumption_tokens`` (a call also updates its
   job and its team's balance), and single-call jobs (``/v1/chat/completions``). A point's rate
   is the rows added to ``llm_calls`` per second (calls *recorded*); beside it the CPU time per
   call of the servers, PostgreSQL, wrk and the stub, the peak connections
   (``pg_stat_activity``), errors, p50/p99. Points are the median of ``--rounds`` rounds.

Prints a Markdown report (and writes it to ``--out``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import billing
import httpx
import nofile
import systems
from cluster import Cluster, cluster, sql
from processes import (
    Processes,
    _cpu_ticks,
    cpu_seconds,
    cpu_seconds_tree,
    free_port,
    machine_busy,
    wait_http,
    wait_idle,
)

DATABASE = "capacity"
TEAMS = 16  # the "many teams" variant
PROCESS_COUNTS = (1, 2, 4)
IDLE_SECONDS = 5.0  # to measure the servers' background statements


@dataclass(frozen=True)
class Plan:
    calls: int  # per kind, in the per-call phase
    seconds: int  # per wrk run
    rounds: int
    connections: int  # wrk's, in all, split among the servers
    warmup_seconds: int


FULL = Plan(calls=300, seconds=10, rounds=2, connections=64, warmup_seconds=2)
QUICK = Plan(calls=40, seconds=2, rounds=1, connections=32, warmup_seconds=1)


# -- round trips -----------------------------------------------------------------------------


class Relay:
    """A TCP relay from the server to PostgreSQL that counts round trips: one each time
    PostgreSQL answers after the server sent something (a pipelined Parse/Bind/Execute/Sync is
    one, ``BEGIN`` then a statement is two). Runs its own event loop on a thread."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self.round_trips = 0
        self.connections = 0
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        threading.Thread(target=self._run, daemon=True, name="relay").start()
        if not self._ready.wait(10):
            raise RuntimeError("the relay did not start")

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._task = self._loop.create_task(self._serve())
        with contextlib.suppress(asyncio.CancelledError):
            self._loop.run_until_complete(self._task)

    async def _serve(self) -> None:
        server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self._ready.set()
        async with server:
            await server.serve_forever()

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        self.connections += 1
        pg_r, pg_w = await asyncio.open_connection("127.0.0.1", self.target_port)
        asked = False

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter, up: bool) -> None:
            nonlocal asked
            with contextlib.suppress(OSError):
                while data := await src.read(65536):
                    if up:
                        asked = True
                    elif asked:
                        asked = False
                        self.round_trips += 1
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pump(client_r, pg_w, True), pump(pg_r, client_w, False))

    def close(self) -> None:
        if self._loop is not None and self._task is not None:
            self._loop.call_soon_threadsafe(self._task.cancel)


# -- what PostgreSQL did ---------------------------------------------------------------------


@dataclass
class Snapshot:
    """PostgreSQL's counters at one moment."""

    at: float
    statements: dict[str, int]  # normalized query -> calls, the server's database only
    wal: int  # bytes
    cpu: float  # seconds, the cluster's processes
    round_trips: int = 0

    @staticmethod
    def take(pg: Cluster, relay: Relay | None = None) -> Snapshot:
        rows = sql(
            pg.url(),
            "SELECT s.query, sum(s.calls)::bigint FROM pg_stat_statements s "
            "JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = $1 GROUP BY 1",
            DATABASE,
        )
        wal = sql(pg.url(), "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint")[0][0]
        return Snapshot(
            time.monotonic(),
            {" ".join(q.split()): int(n) for q, n in rows},
            int(wal),
            pg.cpu_seconds(),
            relay.round_trips if relay else 0,
        )


@dataclass
class Delta:
    """What happened between two snapshots."""

    seconds: float
    statements: dict[str, float]
    wal: float
    cpu: float
    round_trips: float

    @staticmethod
    def between(a: Snapshot, b: Snapshot) -> Delta:
        queries = set(a.statements) | set(b.statements)
        return Delta(
            b.at - a.at,
            {q: b.statements.get(q, 0) - a.statements.get(q, 0) for q in queries},
            b.wal - a.wal,
            b.cpu - a.cpu,
            b.round_trips - a.round_trips,
        )

    def minus_idle(self, idle: Delta) -> Delta:
        """This delta less what the idle rate would have done in the same time."""
        k = self.seconds / idle.seconds
        queries = set(self.statements) | set(idle.statements)
        return Delta(
            self.seconds,
            {q: self.statements.get(q, 0) - k * idle.statements.get(q, 0) for q in queries},
            self.wal - k * idle.wal,
            self.cpu - k * idle.cpu,
            self.round_trips - k * idle.round_trips,
        )


# -- set-up ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """One kind of call: where it goes, with which key, and the body it sends."""

    path: str
    key: str
    body: dict[str, Any] = field(default_factory=lambda: dict(billing.BODY))
    idempotent: bool = False  # a fresh Idempotency-Key on each call, as the SDK sends


def _post(url: str, path: str, body: dict[str, Any], key: str) -> dict[str, Any]:
    r = httpx.post(
        f"{url}{path}", json=body, headers={"Authorization": f"Bearer {key}"}, timeout=30
    )
    if r.status_code >= 300:
        raise RuntimeError(f"POST {path}: {r.status_code} {r.text[:300]}")
    result: dict[str, Any] = r.json()
    return result


def _team(url: str, team_id: str, mode: str) -> Call:
    """A team in budget ``mode`` with plenty of credits, and an llm-call in a job of its own
    (with billing.py's per-job limits in the consumption modes)."""
    body = {
        "organization_id": "bench-org",
        "team_id": team_id,
        "access_groups": ["bench"],
        "credits_allocated": 10**9,
        **billing.MODES[mode]["budget"],
    }
    key = _post(url, "/api/teams/create", body, systems.ADMIN_KEY)["virtual_key"]
    job = billing._open_job(url, mode, {"team_id": team_id, "key": key})
    return Call(f"/api/jobs/{job['job']}/llm-call", key)


def set_up(url: str) -> tuple[dict[str, Call], dict[str, list[Call]]]:
    """billing.py's priced alias and a team per budget mode (the consumption modes' jobs with
    limits, as billing.py measures them); the load's ``TEAMS`` teams with a job each in
    ``job_based`` and in ``consumption_tokens``. Returns the per-call kinds, and the load's
    variants: each a list of calls taken in turn."""
    organization = {"organization_id": "bench-org", "name": "Bench"}
    _post(url, "/api/organizations/create", organization, systems.ADMIN_KEY)
    teams = billing._set_up(url, systems.ADMIN_KEY)
    kinds: dict[str, Call] = {}
    for mode, team in teams.items():
        job = billing._open_job(url, mode, team)
        kinds[f"llm-call, {mode}"] = Call(f"/api/jobs/{job['job']}/llm-call", job["key"])
    plain = teams["job_based"]
    kinds["llm-call, job_based, Idempotency-Key"] = replace(
        kinds["llm-call, job_based"], idempotent=True
    )
    single = {**billing.BODY, "team_id": plain["team_id"], "job_type": "single"}
    kinds["create-and-call"] = Call("/api/jobs/create-and-call", plain["key"], single)
    kinds["/v1/chat/completions"] = Call("/v1/chat/completions", plain["key"])
    plain_many = [_team(url, f"bench-capacity-{i}", "job_based") for i in range(TEAMS)]
    tokens = [_team(url, f"bench-capacity-tokens-{i}", "consumption_tokens") for i in range(TEAMS)]
    single = [replace(c, path="/v1/chat/completions") for c in plain_many]
    variants = {
        f"llm-call, job_based, {TEAMS} teams": plain_many,
        "llm-call, job_based, one hot team": plain_many[:1],
        f"llm-call, consumption_tokens, {TEAMS} teams": tokens,
        "llm-call, consumption_tokens, one hot team": tokens[:1],
        f"/v1/chat/completions (single-call jobs), {TEAMS} teams": single,
    }
    return kinds, variants


# -- phase 1: per call -----------------------------------------------------------------------


def _calls(http: httpx.Client, call: Call, n: int) -> None:
    headers = {"Authorization": f"Bearer {call.key}"}
    for _ in range(n):
        if call.idempotent:
            headers["Idempotency-Key"] = str(uuid.uuid4())
        r = http.post(call.path, json=call.body, headers=headers)
        if r.status_code != 200:
            raise RuntimeError(f"{call.path}: {r.status_code} {r.text[:300]}")


@dataclass
class PerCall:
    calls: int
    idle: Delta
    kinds: dict[str, Delta]


def per_call(pg: Cluster, relay: Relay, url: str, kinds: dict[str, Call], n: int) -> PerCall:
    """Each kind's ``n`` calls, one at a time, between two snapshots, less the background's
    (the server measured idle for ``IDLE_SECONDS`` first)."""
    with httpx.Client(base_url=url, timeout=30) as http:
        for call in kinds.values():  # warm-up: pool connections, prepared statements, caches
            _calls(http, call, 20)
        before = Snapshot.take(pg, relay)
        time.sleep(IDLE_SECONDS)
        idle = Delta.between(before, Snapshot.take(pg, relay))
        out: dict[str, Delta] = {}
        for name, call in kinds.items():
            a = Snapshot.take(pg, relay)
            _calls(http, call, n)
            out[name] = Delta.between(a, Snapshot.take(pg, relay)).minus_idle(idle)
    return PerCall(n, idle, out)


def _per_call_phase(
    procs: Processes,
    pg: Cluster,
    relay: Relay,
    upstream: str,
    plan: Plan,
    *,
    kinds: dict[str, Call] | None = None,
) -> tuple[PerCall, dict[str, Call], dict[str, list[Call]]]:
    """A server reaching PostgreSQL through the relay, and :func:`per_call` on it. Without
    ``kinds``, it sets them up (and the load's variants); with them, it runs in pooler mode
    (``DATABASE_TRANSACTION_POOLING``) on the same teams and jobs."""
    url = f"postgresql://postgres@127.0.0.1:{relay.port}/{DATABASE}"
    pooler = kinds is not None
    env = {"SAAS_LITELLM_DATABASE_TRANSACTION_POOLING": "true"} if pooler else {}
    name = "capacity-pooler-mode" if pooler else "capacity-count"
    workdir = procs.log_dir
    server = systems.start_server(procs, name, url, upstream, workdir, {"bench": "fast"}, env=env)
    wait_http(f"{server.url}/health", server.proc, timeout=60)
    variants: dict[str, list[Call]] = {}
    if kinds is None:
        kinds, variants = set_up(server.url)
    print(f"per call ({name}): {len(kinds)} kinds x {plan.calls} calls", flush=True)
    result = per_call(pg, relay, server.url, kinds, plan.calls)
    procs.stop(server.proc)
    return result, kinds, variants


# -- phase 2: throughput ---------------------------------------------------------------------


def _wrk_script(calls: list[Call]) -> str:
    """wrk's Lua: the calls in turn, and a result line (``BENCH_RESULT {json}``)."""
    body = json.dumps(billing.BODY, separators=(",", ":"))
    paths = ", ".join(f'"{c.path}"' for c in calls)
    keys = ", ".join(f'"{c.key}"' for c in calls)
    return f"""
local body = [==[{body}]==]
local paths = {{{paths}}}
local keys = {{{keys}}}
local requests = {{}}
local i = 0
function init(args)
  for n = 1, #paths do
    requests[n] = wrk.format("POST", paths[n],
      {{["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. keys[n]}}, body)
  end
end
function request()
  i = (i % #requests) + 1
  return requests[i]
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {{"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,'
    .. '"status":%d,"timeout":%d,"p50_us":%d,"p99_us":%d}}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def _recorded(pg: Cluster) -> int:
    return int(sql(pg.url(DATABASE), "SELECT count(*) FROM llm_calls")[0][0])


def _connections(pg: Cluster) -> tuple[int, int, int]:
    """(open, active, waiting for a lock) connections to the servers' database: the last shows
    calls queueing on a row another transaction holds (one hot job)."""
    query = (
        "SELECT count(*), count(*) FILTER (WHERE state = 'active'), "
        "count(*) FILTER (WHERE wait_event_type = 'Lock') FROM pg_stat_activity "
        "WHERE datname = $1"
    )
    row = sql(pg.url(), query, DATABASE)[0]
    return int(row[0]), int(row[1]), int(row[2])


def _children_cpu() -> float:
    """CPU time of this process's children that have been waited for (the wrk runs)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass(frozen=True)
class Rig:
    """What a load run needs: the cluster, the stub's pid, wrk and where to write."""

    pg: Cluster
    upstream_pid: int
    wrk: str
    workdir: Path


def _wrk_runs(rig: Rig, servers: list[systems.Server], seconds: int, each: int) -> list[Any]:
    script = rig.workdir / "capacity.lua"
    argv = [rig.wrk, "-t1", f"-c{each}", f"-d{seconds}s", "--timeout", "10s", "-s", str(script)]
    return [
        subprocess.Popen([*argv, f"{s.url}/"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for s in servers
    ]


def load(
    rig: Rig, servers: list[systems.Server], calls: list[Call], seconds: int, connections: int
) -> dict[str, Any]:
    """One wrk per server at once (``connections`` split among them), the CPU time of every
    process and PostgreSQL's counters around it, its connections sampled meanwhile."""
    (rig.workdir / "capacity.lua").write_text(_wrk_script(calls))
    each = max(1, connections // len(servers))

    def servers_cpu() -> float:
        return sum(cpu_seconds_tree(s.proc.pid) for s in servers)

    before, rows0 = Snapshot.take(rig.pg), _recorded(rig.pg)
    cpu0 = (servers_cpu(), cpu_seconds(rig.upstream_pid), _children_cpu())
    busy0, _ = _cpu_ticks()
    start = time.monotonic()
    runs = _wrk_runs(rig, servers, seconds, each)
    peak = (0, 0, 0)
    while any(r.poll() is None for r in runs):
        seen = _connections(rig.pg)
        peak = (max(peak[0], seen[0]), max(peak[1], seen[1]), max(peak[2], seen[2]))
        time.sleep(0.5)
    outputs = [r.communicate() for r in runs]
    for s in servers:  # what the servers still do for requests wrk left in flight counts too
        wait_idle(s.proc.pid, timeout=15)
    busy1, _ = _cpu_ticks()
    window = time.monotonic() - start
    delta = Delta.between(before, Snapshot.take(rig.pg))
    recorded = _recorded(rig.pg) - rows0
    results = []
    for (out, err), run in zip(outputs, runs, strict=True):
        text = out.decode(errors="replace")
        line = next((x for x in text.splitlines() if x.startswith("BENCH_RESULT ")), None)
        if run.returncode != 0 or line is None:
            raise RuntimeError(f"wrk failed: {text[-500:]}{err.decode(errors='replace')[-500:]}")
        results.append(json.loads(line.split(" ", 1)[1]))
    duration = max(r["duration_us"] for r in results) / 1e6
    cpu = {
        "servers": servers_cpu() - cpu0[0],
        "PostgreSQL": delta.cpu,
        "wrk": _children_cpu() - cpu0[2],
        "stub": cpu_seconds(rig.upstream_pid) - cpu0[1],
    }
    cpu["other"] = (busy1 - busy0) / os.sysconf("SC_CLK_TCK") - sum(cpu.values())
    errors = ("connect", "read", "write", "status", "timeout")
    return {
        "recorded": recorded,
        "duration": duration,
        "window": window,  # the CPU figures' (wrk's duration, then until the servers idle)
        "recorded_per_s": recorded / duration,
        "answered": sum(r["requests"] - r["status"] for r in results),
        "errors": sum(r[k] for r in results for k in errors),
        "p50_ms": statistics.median(r["p50_us"] for r in results) / 1000,
        "p99_ms": max(r["p99_us"] for r in results) / 1000,
        "cpu": cpu,
        "statements": sum(delta.statements.values()),
        "wal": delta.wal,
        "connections_open": peak[0],
        "connections_active": peak[1],
        "connections_locked": peak[2],
        "per_server": each,
    }


def throughput(
    procs: Processes, rig: Rig, upstream: str, plan: Plan, variants: dict[str, list[Call]]
) -> dict[str, dict[int, list[dict[str, Any]]]]:
    """For 1, 2 and 4 fresh servers: a warm-up on each variant, then ``rounds`` rounds of each
    (their order rotating). Per variant and process count, the rounds' results."""
    out: dict[str, dict[int, list[dict[str, Any]]]] = {v: {} for v in variants}
    url = rig.pg.url(DATABASE)
    for n in PROCESS_COUNTS:
        servers = [
            systems.start_server(
                procs, f"capacity-{n}-{i}", url, upstream, rig.workdir, {"bench": "fast"}
            )
            for i in range(n)
        ]
        for s in servers:
            wait_http(f"{s.url}/health", s.proc, timeout=60)
        for calls in variants.values():
            load(rig, servers, calls, plan.warmup_seconds, plan.connections)
        for r in range(plan.rounds):
            k = r % len(variants)
            names = list(variants)[k:] + list(variants)[:k]
            for name in names:
                result = load(rig, servers, variants[name], plan.seconds, plan.connections)
                out[name].setdefault(n, []).append(result)
                print(f"  {name}, {n} process(es): {result['recorded_per_s']:.0f}/s", flush=True)
        for s in servers:
            procs.stop(s.proc)
    return out


# -- report ----------------------------------------------------------------------------------


def _settings(pg: Cluster) -> str:
    names = ("shared_buffers", "synchronous_commit", "fsync", "wal_level", "max_connections")
    rows = sql(
        pg.url(), "SELECT name, current_setting(name) FROM unnest($1::text[]) AS name", list(names)
    )
    version = sql(pg.url(), "SHOW server_version")[0][0]
    shown = ", ".join(f"`{name}={value}`" for name, value in sorted(rows))
    return f"PostgreSQL {version} (defaults but {shown})"


def _short(query: str, width: int = 90) -> str:
    query = query.replace("|", "\\|")
    return f"`{query[:width]}{'…' if len(query) > width else ''}`"


def render_per_call(result: PerCall, pooled: PerCall) -> list[str]:
    n = result.calls
    idle = result.idle
    lines = [
        "## What one call costs PostgreSQL",
        "",
        f"One server, one sequential client, {n} calls of each kind after 20 of warm-up; the "
        f"server's background (measured idle over {idle.seconds:.1f} s: "
        f"{sum(idle.statements.values()) / idle.seconds:.1f} statements/s, "
        f"{idle.round_trips / idle.seconds:.1f} round trips/s) subtracted. PostgreSQL CPU here "
        "is at concurrency 1 (no batching of WAL flushes between calls). *Pooler mode*: the "
        "same calls from a server with `SAAS_LITELLM_DATABASE_TRANSACTION_POOLING=true` (no "
        "cached prepared statements, as behind PgBouncer in transaction mode; measured here "
        "without a PgBouncer, so PgBouncer's own CPU is not in it).",
        "",
        "| call | statements | round trips | WAL bytes | PostgreSQL CPU ms "
        "| pooler mode: round trips | pooler mode: PostgreSQL CPU ms |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, d in result.kinds.items():
        statements = sum(d.statements.values()) / n
        p = pooled.kinds[name]
        lines.append(
            f"| {name} | {statements:.2f} | {d.round_trips / n:.2f} | {d.wal / n:,.0f} "
            f"| {d.cpu * 1000 / n:.3f} | {p.round_trips / pooled.calls:.2f} "
            f"| {p.cpu * 1000 / pooled.calls:.3f} |"
        )
    names = list(result.kinds)
    queries = sorted(
        {q for d in result.kinds.values() for q, c in d.statements.items() if c / n >= 0.05}
    )
    lines += [
        "",
        "Statements per call, by statement (`pg_stat_statements`, ≥ 0.05 a call in some kind; "
        "kinds in the order of the table above):",
        "",
        "| statement | " + " | ".join(f"({i + 1})" for i in range(len(names))) + " |",
        "|---|" + "---:|" * len(names),
    ]
    for q in queries:
        cells = " | ".join(f"{result.kinds[k].statements.get(q, 0) / n:.2f}" for k in names)
        lines.append(f"| {_short(q)} | {cells} |")
    return lines


def _median(runs: list[dict[str, Any]], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def _per_call_ms(runs: list[dict[str, Any]], who: str) -> float:
    return statistics.median(r["cpu"][who] * 1000 / max(1, r["recorded"]) for r in runs)


def render_throughput(result: dict[str, dict[int, list[dict[str, Any]]]], plan: Plan) -> list[str]:
    lines = [
        "## Throughput: 1, 2 and 4 server processes on one PostgreSQL",
        "",
        f"`wrk` per server, {plan.connections} connections in all split among them, "
        f"{plan.seconds} s per run, median of {plan.rounds} round(s), non-streamed calls. "
        "*calls/s*: rows added to `llm_calls` per second; CPU ms, statements and WAL bytes "
        "are per recorded call; *per PG core*: 1000 / PostgreSQL CPU ms; connections: the "
        "peaks seen in `pg_stat_activity` every 0.5 s (open / active / waiting for a lock), "
        "each server's pool holding up to `DB_POOL_SIZE` (20).",
        "",
        "| load | processes | calls/s | errors | p50 ms | p99 ms | server CPU ms "
        "| PostgreSQL CPU ms | per PG core | wrk CPU ms | stub CPU ms | statements | WAL bytes "
        "| connections |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for variant, points in result.items():
        for n, runs in points.items():
            statements = statistics.median(r["statements"] / max(1, r["recorded"]) for r in runs)
            wal = statistics.median(r["wal"] / max(1, r["recorded"]) for r in runs)
            pg_ms = _per_call_ms(runs, "PostgreSQL")
            lines.append(
                f"| {variant} | {n} | {_median(runs, 'recorded_per_s'):,.0f} "
                f"| {sum(r['errors'] for r in runs)} | {_median(runs, 'p50_ms'):.1f} "
                f"| {_median(runs, 'p99_ms'):.1f} | {_per_call_ms(runs, 'servers'):.2f} "
                f"| {pg_ms:.2f} | {1000 / pg_ms if pg_ms else 0:,.0f}/s "
                f"| {_per_call_ms(runs, 'wrk'):.2f} "
                f"| {_per_call_ms(runs, 'stub'):.2f} | {statements:.2f} | {wal:,.0f} "
                f"| {max(r['connections_open'] for r in runs)} / "
                f"{max(r['connections_active'] for r in runs)} / "
                f"{max(r['connections_locked'] for r in runs)} |"
            )
    cores = os.cpu_count() or 1
    lines += [
        "",
        f"Where the machine's CPU went ({cores} cores; share of all cores over the runs; "
        "*other*: the harness's probes and whatever else ran on the machine):",
        "",
        "| load | processes | servers | PostgreSQL | wrk | stub | other | idle |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for variant, points in result.items():
        for n, runs in points.items():
            capacity = sum(r["window"] for r in runs) * cores
            shares = {
                who: sum(r["cpu"][who] for r in runs) / capacity
                for who in ("servers", "PostgreSQL", "wrk", "stub", "other")
            }
            idle = max(0.0, 1 - sum(shares.values()))
            cells = " | ".join(f"{v:.0%}" for v in (*shares.values(), idle))
            lines.append(f"| {variant} | {n} | {cells} |")
    return lines


def render(
    environment: str,
    first: tuple[PerCall, PerCall],
    second: dict[str, Any],
    plan: Plan,
    argv: str,
) -> str:
    lines = [
        "# Capacity on one PostgreSQL",
        "",
        f"`{argv}`: {environment}.",
        "",
        *render_per_call(*first),
        "",
        *render_throughput(second, plan),
    ]
    return "\n".join(lines) + "\n"


# -- main ------------------------------------------------------------------------------------


def _interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a few seconds per point")
    parser.add_argument("--calls", type=int, help="per kind in the per-call phase (300)")
    parser.add_argument("--seconds", type=int, help="per wrk run (10)")
    parser.add_argument("--rounds", type=int, help="rounds of the throughput phase (2)")
    parser.add_argument("--connections", type=int, help="wrk connections in all (64)")
    parser.add_argument("--out", type=Path, help="also write the report to this file")
    args = parser.parse_args()
    plan = QUICK if args.quick else FULL
    chosen = {k: getattr(args, k) for k in ("calls", "seconds", "rounds", "connections")}
    plan = replace(plan, **{k: v for k, v in chosen.items() if v is not None})
    nofile.raise_nofile()
    # SIGTERM, and SIGINT even when started in the background (where it is ignored), stop the
    # run through the ``finally`` blocks: the servers, the stub and the cluster with it.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _interrupted)
    workdir = Path(tempfile.mkdtemp(prefix="saas-litellm-bench-capacity-"))
    try:
        wrk, how = systems.ensure_wrk(workdir)
        if wrk is None:
            print(how)
            return 2
        busy = machine_busy(1.0)
        with cluster() as pg, Processes(workdir) as procs:
            sql(pg.url(), f"CREATE DATABASE {DATABASE}")
            upstream_proc, upstream = systems.start_upstream(procs)
            rig = Rig(pg, upstream_proc.pid, wrk, workdir)
            relay = Relay(pg.port)
            try:
                first, kinds, variants = _per_call_phase(procs, pg, relay, upstream, plan)
                pooled, _, _ = _per_call_phase(procs, pg, relay, upstream, plan, kinds=kinds)
            finally:
                relay.close()
            print("throughput:", flush=True)
            second = throughput(procs, rig, upstream, plan, variants)
            environment = f"{os.cpu_count()} cores, busy {busy:.0%} with other work at the start; "
            environment += _settings(pg)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    argv = "python bench/capacity.py " + " ".join(sys.argv[1:])
    text = render(environment, (first, pooled), second, plan, argv.strip())
    print(text)
    if args.out:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
