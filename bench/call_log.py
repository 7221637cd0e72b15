"""A year of calls: usage queries and a call's latency at 10³ and at 10⁷ recorded calls.

    python bench/call_log.py [--large 10000000] [--quick] [--rounds 5] [--out FILE]
                             [--postgres URL]

The call-log phase of ``run.py`` (:func:`run`), on its own (issue 28: a usage query at 10⁷
recorded calls within 1.5x of 10³; a call's latency flat from 10³ to 10⁷). On PostgreSQL only
(the call log is partitioned by month there): starts, on 127.0.0.1, the fast upstream stub and
two servers with the same settings, each on a throw-away database of its own, and creates the
bench team on each. Then pre-fills, straight in SQL, the bench team's own history
(``database.prefill_year``): ``small`` calls on one, ``large`` on the other, 10 per job, over
the last 365 days (a partition per month), 3 model aliases x 4 job types, about 2 % failed;
all of it rolled up into the daily rollups as the maintenance sweep would have, except the same
small tail in both (the last minute's calls, not rolled up yet). The sweep does not run during
the measurement (``SAAS_LITELLM_MAINTENANCE_INTERVAL_SECONDS`` of a day): both databases stay
in the same state, and the usage queries read their raw tail, the case that costs most.

Measured side by side, the two servers taking turns in each round (the order flips every
round), with one sequential keep-alive client — so whatever else the machine runs weighs on
both alike: the usage endpoints (team all time and since 30 days ago at midnight UTC, the
organization's, the dashboard's overview), then a non-streamed llm-call on a fresh job of the
bench team. Per request: wall ms at the client and the server's own ``Server-Timing: total``.
Once per database: ``EXPLAIN (ANALYZE, BUFFERS)`` of the team-usage statements. Prints the
report's section (``--out`` writes it to a file); the databases are dropped at the end, also on
errors and Ctrl-C.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

DATABASES = {"small": "saas_litellm_bench_log_small", "large": "saas_litellm_bench_log_large"}
SMALL = 1_000
LARGE = 10_000_000
TAIL = 100
ENV = {"SAAS_LITELLM_MAINTENANCE_INTERVAL_SECONDS": "86400"}
BODY = {
    "messages": [{"role": "user", "content": "Say hello to the benchmark."}],
    "model": "bench",
    "max_tokens": 64,
}
ORGANIZATION = "bench-org"


def _server_ms(response: httpx.Response) -> float:
    """The server's own time for the request (``Server-Timing: total;dur=…``)."""
    timing = response.headers["server-timing"]
    return float(timing.split("total;dur=", 1)[1].split(",", 1)[0].split(";", 1)[0])


def queries(team_id: str, now: dt.datetime) -> dict[str, str]:
    """The usage requests measured, by name."""
    midnight = (now - dt.timedelta(days=30)).replace(hour=0, minute=0, second=0, microsecond=0)
    since = midnight.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "team usage, all time": f"/api/teams/{team_id}/usage",
        "team usage, since 30 days": f"/api/teams/{team_id}/usage?since={since}",
        "organization usage, all time": f"/api/organizations/{ORGANIZATION}/usage",
        "dashboard overview": "/admin",
    }


def _dashboard(http: httpx.Client, admin_key: str) -> str | None:
    """Sign ``http`` in to the dashboard (its session cookie); ``None``, or why not."""
    r = http.post(
        "/admin/login",
        data={"admin_key": admin_key},
        headers={"Origin": str(http.base_url).rstrip("/")},
    )
    if r.status_code != 303:
        return f"sign-in answered {r.status_code}"
    r = http.get("/admin")
    if r.status_code != 200:
        return f"GET /admin answered {r.status_code} after signing in"
    return None


def _sample(http: httpx.Client, method: str, path: str, n: int, **kw: Any) -> list[list[float]]:
    """``n`` requests; [wall ms, server ms] of each."""
    out = []
    for _ in range(n):
        began = time.perf_counter()
        r = http.request(method, path, **kw)
        wall = (time.perf_counter() - began) * 1000
        if r.status_code != 200:
            raise RuntimeError(f"{method} {path}: {r.status_code} {r.text[:300]}")
        out.append([wall, _server_ms(r)])
    return out


def _call_path(server: Any) -> str:
    return f"/api/jobs/{server.job_id}/llm-call"


def _check(http: httpx.Client, team_id: str, calls: int, jobs: int) -> str:
    """The team's usage, all time, against what was pre-filled."""
    r = http.get(f"/api/teams/{team_id}/usage")
    rows = r.json()["by_job_type"]
    got_calls = sum(row["calls"] for row in rows)
    got_jobs = sum(row["jobs"] for row in rows)
    ok = got_calls == calls and got_jobs == jobs
    text = f"{'ok' if ok else 'MISMATCH'}: {got_calls:,} calls, {got_jobs:,} jobs"
    return text if ok else f"{text} (pre-filled {calls:,} calls, {jobs:,} jobs)"


def measure(
    servers: dict[str, Any],
    admin_key: str,
    *,
    rounds: int,
    samples: int,
    call_samples: int,
    say: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Per round, each usage request then the llm-call on each server in turn (the order flips
    every round); ``result[kind][name][size]``: per round, the samples' [wall, server] ms."""
    any_server = next(iter(servers.values()))
    paths = queries(any_server.team_id, dt.datetime.now(dt.timezone.utc))
    admin = {"Authorization": f"Bearer {admin_key}"}
    clients = {size: httpx.Client(base_url=s.url, timeout=120) for size, s in servers.items()}
    result: dict[str, Any] = {"usage": {}, "call": {}, "skipped": {}, "checks": {}}
    try:
        for http in clients.values():
            why = _dashboard(http, admin_key)
            if why:
                result["skipped"]["dashboard overview"] = why
        if "dashboard overview" in result["skipped"]:
            paths.pop("dashboard overview")
        result["paths"] = paths
        for name in paths:
            result["usage"][name] = {size: [] for size in servers}
        result["call"]["llm-call"] = {size: [] for size in servers}
        sizes = list(servers)
        for size in sizes:  # warm-up: connections, caches, plans
            for path in paths.values():
                _sample(clients[size], "GET", path, 10, headers=admin)
            server = servers[size]
            _sample(clients[size], "POST", _call_path(server), 10, json=BODY, headers=server.auth())
        for r in range(rounds):
            order = sizes if r % 2 == 0 else sizes[::-1]
            for name, path in paths.items():
                for size in order:
                    got = _sample(clients[size], "GET", path, samples, headers=admin)
                    result["usage"][name][size].append(got)
            say(f"  round {r + 1}/{rounds}: usage sampled")
        for r in range(rounds):
            order = sizes if r % 2 == 0 else sizes[::-1]
            for size in order:
                server = servers[size]
                got = _sample(
                    clients[size],
                    "POST",
                    _call_path(server),
                    call_samples,
                    json=BODY,
                    headers=server.auth(),
                )
                result["call"]["llm-call"][size].append(got)
            say(f"  round {r + 1}/{rounds}: llm-call sampled")
    finally:
        for http in clients.values():
            http.close()
    return result


async def _explain(url: str, team_id: str, since: dt.datetime) -> dict[str, str]:
    """``EXPLAIN (ANALYZE, BUFFERS)`` of the team-usage statements (the server's own SQL,
    compiled for PostgreSQL), by name."""
    import asyncpg
    import sqlalchemy as sa
    from sqlalchemy.dialects import postgresql

    from saas_litellm_server.store import usage_sql

    class _Postgres:
        backend = "postgresql"

    db: Any = _Postgres()
    out: dict[str, str] = {}
    conn = await asyncpg.connect(url, timeout=10)
    try:
        for label, window in (("all time", None), ("since 30 days", since)):
            jobs = usage_sql._jobs(db, team_id=team_id, since=window, until=None)
            calls = usage_sql._calls(db, team_id=team_id, since=window, until=None)
            statements = {
                f"team usage, {label}: jobs": sa.select(
                    jobs.c.job_type, *(usage_sql._sum(jobs.c[c]) for c in usage_sql._JOB_SUMS)
                ).group_by(jobs.c.job_type),
                f"team usage, {label}: calls": sa.select(
                    calls.c.job_type,
                    usage_sql._sum(calls.c.calls),
                    usage_sql._sum(calls.c.total_tokens),
                    usage_sql._sum(calls.c.client_cost_micros),
                ).group_by(calls.c.job_type),
            }
            for name, statement in statements.items():
                sql = str(
                    statement.compile(
                        dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}
                    )
                )
                rows = await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
                out[name] = "\n".join(r[0] for r in rows)
    finally:
        await conn.close()
    return out


def run(
    procs: Any,
    admin_url: str,
    upstream: str,
    workdir: Path,
    *,
    small: int = SMALL,
    large: int = LARGE,
    tail: int = TAIL,
    rounds: int = 5,
    samples: int = 100,
    call_samples: int = 400,
    say: Callable[[str], None] = print,
    databases: list[str] | None = None,
) -> dict[str, Any]:
    """Two servers on databases of their own (dropped at the end), the bench team's history
    pre-filled on each (``small`` and ``large`` calls), then :func:`measure` and the plans."""
    import asyncio

    import database
    import systems

    sizes = {"small": small, "large": large}
    servers: dict[str, Any] = {}
    result: dict[str, Any] = {"rows": sizes, "tail": tail, "fill": {}, "plans": {}}
    try:
        for size, name in DATABASES.items():
            if databases is not None:
                databases.append(name)
            url = database.create_database(admin_url, name)
            servers[size] = systems.start_server(
                procs, f"call-log-{size}", url, upstream, workdir, {"bench": "fast"}, env=ENV
            )
        for server in servers.values():
            systems.ready(server)
        for size, server in servers.items():
            say(f"pre-filling {sizes[size]:,} calls ({size}) ...")
            fill = database.prefill_year(
                server.database_url, server.team_id, sizes[size], tail=tail, progress=say
            )
            result["fill"][size] = fill
            say(f"pre-filled {sizes[size]:,} calls in {fill['seconds']:.0f} s")
            with httpx.Client(base_url=server.url, timeout=120) as http:
                jobs = -(-fill["calls"] // database.CALLS_PER_JOB) + 1  # + the bench's job
                http.headers["Authorization"] = f"Bearer {systems.ADMIN_KEY}"
                result.setdefault("checks", {})[size] = _check(
                    http, server.team_id, fill["calls"], jobs
                )
        since = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=30)
        since = since.replace(hour=0, minute=0, second=0, microsecond=0)
        for size, server in servers.items():
            try:
                result["plans"][size] = asyncio.run(
                    _explain(server.database_url, server.team_id, since)
                )
            except Exception as exc:  # optional: the figures do not depend on it
                result["plans"][size] = {"error": f"{type(exc).__name__}: {exc}"}
        say("measuring ...")
        measured = measure(
            servers,
            systems.ADMIN_KEY,
            rounds=rounds,
            samples=samples,
            call_samples=call_samples,
            say=say,
        )
        result.update(measured, checks=result.get("checks", {}))
        result["samples"], result["call_samples"], result["rounds"] = (
            samples,
            call_samples,
            rounds,
        )
    finally:
        for server in servers.values():
            procs.stop(server.proc)
        for name in DATABASES.values():
            try:
                database.drop_database(admin_url, name)
            except Exception as exc:  # report and go on dropping
                print(f"warning: could not drop database {name}: {exc}")
    return result


def main() -> int:
    import database
    import nofile
    import report as rep
    import systems
    from processes import Processes, machine_busy

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--large", type=float, default=LARGE, help="calls of the large database")
    parser.add_argument("--small", type=float, default=SMALL, help="calls of the small database")
    parser.add_argument("--tail", type=int, default=TAIL, help="calls not rolled up, in both")
    parser.add_argument("--rounds", type=int, default=5, help="rounds (default 5)")
    parser.add_argument("--samples", type=int, default=100, help="requests per usage sample")
    parser.add_argument("--call-samples", type=int, default=400, help="llm-calls per sample")
    parser.add_argument("--quick", action="store_true", help="10⁵ calls, 2 rounds of fewer samples")
    parser.add_argument("--out", type=Path, help="write the Markdown section to this file")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    if args.quick:
        args.large, args.rounds, args.samples, args.call_samples = 100_000, 2, 20, 50
    nofile.raise_nofile()
    problem = database.postgres_reachable(args.postgres)
    if problem:
        print(f"PostgreSQL is needed: {problem}")
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="saas-litellm-bench-call-log-"))
    started = time.monotonic()
    busy = [machine_busy(1.0)]

    def say(text: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)

    try:
        with Processes(workdir) as procs:
            _, upstream = systems.start_upstream(procs)
            result = run(
                procs,
                args.postgres,
                upstream,
                workdir,
                small=int(args.small),
                large=int(args.large),
                tail=args.tail,
                rounds=args.rounds,
                samples=args.samples,
                call_samples=args.call_samples,
                say=say,
            )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    busy.append(machine_busy(1.0))
    report = rep.Report()
    report.call_log(result)
    lines = report.sections[rep.CALL_LOG]
    seconds = time.monotonic() - started
    lines += [
        f"Run: `python bench/call_log.py {' '.join(__import__('sys').argv[1:])}` in "
        f"{seconds / 60:.1f} minutes; CPU busy with other work before / after: "
        + " / ".join(f"{b:.0%}" for b in busy),
        "",
    ]
    text = "\n".join(lines)
    print("\n" + text)
    for row in report.target_rows():
        if row.key.startswith("call log"):
            met = {True: "met", False: "NOT met", None: "not measured"}[row.met]
            print(f"{row.goal}: {row.measured}: {met}")
    if args.out:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
