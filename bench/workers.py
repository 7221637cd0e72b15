"""Recorded calls per second with ``serve --workers 1`` against ``--workers 2`` on PostgreSQL.

    python bench/workers.py [--seconds 10] [--rounds 3] [--connections 64] [--postgres URL]

Starts, on 127.0.0.1: the fast upstream stub, and two servers on databases of their own (one
with one worker, one with two), each with a team and one long-lived job. Each round runs ``wrk``
against ``POST /api/jobs/{job}/llm-call`` on each server in turn; a server's figure is the rows
its run added to ``llm_calls`` divided by the run's duration (calls the server *recorded*, not
responses wrk counted). Prints each round, the medians and their ratio. Everything is stopped
and the databases dropped at the end. Not part of ``nox -s bench``: run it by hand.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import database
import systems
from phases import ours
from processes import Processes, machine_busy, wait_idle

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"


def _wrk_script(headers: dict[str, str], body: str) -> str:
    lines = ['wrk.method = "POST"', f"wrk.body = [==[{body}]==]"]
    lines += [f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items()]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10, help="per wrk run (default 10)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (default 3)")
    parser.add_argument("--connections", type=int, default=64, help="wrk connections")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="an admin database URL")
    args = parser.parse_args()
    problem = database.postgres_reachable(args.postgres)
    if problem:
        print(f"PostgreSQL is needed: {problem}")
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="saas-litellm-bench-workers-"))
    wrk, how = systems.ensure_wrk(workdir)
    if wrk is None:
        print(how)
        return 2
    names = {1: "saas_litellm_bench_w1", 2: "saas_litellm_bench_w2"}
    rates: dict[int, list[float]] = {1: [], 2: []}
    try:
        with Processes(workdir) as procs:
            upstream_proc, upstream = systems.start_upstream(procs)
            servers = {}
            for n, name in names.items():
                url = database.create_database(args.postgres, name)
                servers[n] = systems.start_server(
                    procs, f"workers-{n}", url, upstream, workdir, {"bench": "fast"}, workers=n
                )
            for server in servers.values():
                systems.ready(server)
            print(f"ready; machine busy with other work: {machine_busy(1.0):.0%}", flush=True)
            for round_ in range(args.rounds):
                order = [1, 2] if round_ % 2 == 0 else [2, 1]
                for n in order:
                    server = servers[n]
                    target = ours(f"w{n}", server, "bench")
                    script = workdir / f"w{n}.lua"
                    headers = {"Content-Type": "application/json", **target.headers}
                    script.write_text(_wrk_script(headers, target.spec()["body"]))
                    before = database.recorded_calls(server.database_url, server.team_id)
                    started = time.monotonic()
                    argv = [wrk, "-t2", f"-c{args.connections}", f"-d{args.seconds}s"]
                    argv += ["--timeout", "10s", "-s", str(script)]
                    subprocess.run(
                        [*argv, f"http://127.0.0.1:{server.port}{target.path}"],
                        check=True,
                        capture_output=True,
                        timeout=args.seconds + 60,
                    )
                    wait_idle(upstream_proc.pid, timeout=30)
                    elapsed = time.monotonic() - started
                    after = database.recorded_calls(server.database_url, server.team_id)
                    added = after.get("call/success", 0) - before.get("call/success", 0)
                    rates[n].append(added / args.seconds)
                    print(
                        f"round {round_ + 1}: {n} worker(s): {added} calls recorded in "
                        f"{args.seconds} s ({added / args.seconds:.0f}/s; {elapsed:.1f} s "
                        "with the tail)",
                        flush=True,
                    )
                    time.sleep(1)
    finally:
        for name in names.values():
            database.drop_database(args.postgres, name)
    one, two = statistics.median(rates[1]), statistics.median(rates[2])
    print(f"median recorded calls/s: 1 worker {one:.0f}, 2 workers {two:.0f}")
    print(f"ratio 2 workers / 1 worker: {two / one:.2f}x" if one else "ratio: n/a")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
