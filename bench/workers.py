"""Recorded calls per second with ``serve --workers 1`` against ``--workers 2`` on PostgreSQL.

    python bench/workers.py [--seconds 10] [--rounds 3] [--connections 64] [--postgres URL]

The ``serve --workers N`` phase of ``run.py`` (``Bench.workers``), on its own: starts, on
127.0.0.1, the fast upstream stub and two servers on databases of their own (one with one worker,
one with two), each with a team and one long-lived job. Each round runs ``wrk`` against
``POST /api/jobs/{job}/llm-call`` on each server in turn; a server's figure is the rows its run
added to ``llm_calls`` divided by the run's duration (calls the server *recorded*, not responses
wrk counted). Prints the report's section (each round, the medians and their ratio) and the
target's row. Everything is stopped and the databases dropped at the end.
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import tempfile
from pathlib import Path

import database
import nofile
import report as rep
import systems
from phases import FULL, Bench
from processes import Processes, machine_busy

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
DATABASES = {1: "saas_litellm_bench_w1", 2: "saas_litellm_bench_w2"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10, help="per wrk run (default 10)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (default 3)")
    parser.add_argument("--connections", type=int, default=64, help="wrk connections")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="an admin database URL")
    args = parser.parse_args()
    nofile.raise_nofile()
    problem = database.postgres_reachable(args.postgres)
    if problem:
        print(f"PostgreSQL is needed: {problem}")
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="saas-litellm-bench-workers-"))
    wrk, how = systems.ensure_wrk(workdir)
    if wrk is None:
        print(how)
        return 2
    plan = dataclasses.replace(
        FULL,
        workers_rounds=args.rounds,
        workers_seconds=args.seconds,
        connections=args.connections,
    )
    try:
        with Processes(workdir) as procs:
            upstream_proc, upstream = systems.start_upstream(procs)
            servers = {}
            for n, name in DATABASES.items():
                url = database.create_database(args.postgres, name)
                servers[n] = systems.start_server(
                    procs, f"workers-{n}", url, upstream, workdir, {"bench": "fast"}, workers=n
                )
            for server in servers.values():
                systems.ready(server)
            print(f"ready; machine busy with other work: {machine_busy(1.0):.0%}", flush=True)
            port = int(upstream.rsplit(":", 1)[1])
            bench = Bench(plan, workdir, upstream_proc, port, {}, wrk)
            result = bench.workers(servers)
    finally:
        for name in DATABASES.values():
            database.drop_database(args.postgres, name)
        shutil.rmtree(workdir, ignore_errors=True)
    report = rep.Report()
    report.workers(result)
    print("\n".join(report.sections[rep.WORKERS]))
    for row in report.target_rows():
        if row.key == "workers":
            met = {True: "met", False: "NOT met", None: "not measured"}[row.met]
            print(f"{row.goal}: {row.measured}: {met}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
