"""Benchmark harness: ``python bench/run.py [--quick]`` (or ``nox -s bench [-- --quick]``).

Starts, on 127.0.0.1: the fast upstream stub, our server on SQLite and on PostgreSQL (plus
servers of their own for the streams, the database-size comparison, ``serve --workers 1``
against ``--workers 2`` and a year of calls), and a real LiteLLM proxy forwarding to the same
stub; loads them from separate processes (``load.py``, ``wrk``); prints a Markdown report, its
Targets table first (a row per target of issue 31, 25 and 28 and backend, see ``report.GOALS``;
then the figures that are not targets, ``report.MEASURED``), and writes it to
``bench/RESULTS.md`` (a quick run: ``bench/RESULTS-quick.md``, git-ignored, so that it never
replaces the committed full run). Every process is stopped and every database dropped at the
end, also on errors and Ctrl-C. ``--quick`` runs a reduced version in under a minute (one-time
installs of wrk and LiteLLM excepted).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import importlib.metadata as metadata
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import billing
import call_log
import database
import nofile
import report as rep
import systems
from phases import FULL, QUICK, Bench, Plan, throughput_medians
from processes import Processes, machine_busy
from report import Report, write_report

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
_ACCESS = re.compile(r'HTTP/1\.1" (\d{3})')
_REQUEST_ID = re.compile(r"req_[0-9a-f]{8,}")
# throw-away databases, dropped at the end
DB_MAIN = "saas_litellm_bench"
DB_SMALL = "saas_litellm_bench_1e3"
DB_LARGE = "saas_litellm_bench_big"
DB_STREAMS = "saas_litellm_bench_streams"
DB_WORKERS = {1: "saas_litellm_bench_w1", 2: "saas_litellm_bench_w2"}
CONSUMPTION_TEAM = "bench-consumption"  # §2's team in consumption_tokens, on each server


def _git(*args: str) -> str:
    try:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True, timeout=30
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def _commit() -> str:
    """The commit the servers run, ``+dirty`` when the tree differs (RESULTS.md aside)."""
    commit = _git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = _git("status", "--porcelain", "--", ".", ":(exclude)bench/RESULTS.md")
    return commit + ("+dirty" if dirty else "")


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _versions(litellm_bin: str | None) -> str:
    """Versions of what the measured processes run on."""
    found = []
    for name in ("uvicorn", "starlette", "httpx", "httpcore", "databases", "asyncpg", "uvloop"):
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"no {name}")
    if litellm_bin:
        found.append(f"litellm {systems.litellm_version(litellm_bin)}")
    return ", ".join(found)


def _log_problems(log: Path) -> list[str]:
    """What a server's log says went wrong: exceptions (by kind), ERROR lines, non-2xx answers."""
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return []
    problems: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    for i, line in enumerate(lines):
        if line.startswith("Traceback"):
            last = next((x for x in lines[i + 1 : i + 200] if x and not x[0].isspace()), "?")
            problems[f"exception {last[:160]}"] += 1
        elif line.startswith(("ERROR", "CRITICAL")):
            problems[_REQUEST_ID.sub("req_…", line)[:160]] += 1
        elif (match := _ACCESS.search(line)) and not match.group(1).startswith("2"):
            statuses[match.group(1)] += 1
    out = []
    if problems:
        top = "; ".join(f"{n}x `{text}`" for text, n in problems.most_common(4))
        out.append(f"{log.stem} log: {sum(problems.values())} error lines/exceptions: {top}")
    if statuses:
        out.append(f"{log.stem} log: non-2xx answers {dict(statuses)}")
    return out


class Run:
    """One benchmark run: set-up, phases, tear-down, report."""

    def __init__(self, plan: Plan, postgres: str, use_litellm: bool) -> None:
        self.plan = plan
        self.postgres = postgres
        self.use_litellm = use_litellm
        self.workdir = Path(tempfile.mkdtemp(prefix="saas-litellm-bench-"))
        self.notes: list[str] = []
        self.report = Report()
        self.databases: list[str] = []
        self.timings: dict[str, float] = {}
        self.busy: list[float] = []  # machine load before and after, without our processes
        self.versions = ""
        self.commit = ""

    def say(self, text: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)

    def note(self, text: str) -> None:
        self.notes.append(text)
        self.say(text)

    def phase(self, name: str, fn: Callable[[], Any]) -> Any:
        """Run one phase; a failing phase is reported and the others still run."""
        self.say(f"{name} ...")
        start = time.monotonic()
        try:
            return fn()
        except (RuntimeError, OSError, subprocess.SubprocessError, ValueError, KeyError) as exc:
            self.note(f"phase '{name}' failed: {type(exc).__name__}: {str(exc)[:1500]}")
            return None
        finally:
            self.timings[name] = time.monotonic() - start

    def create_db(self, name: str) -> str:
        url = database.create_database(self.postgres, name)
        self.databases.append(name)
        return url

    # -- the run -----------------------------------------------------------------------------

    def tools(self) -> tuple[str | None, str | None, bool]:
        """wrk, the LiteLLM binary (installed when missing) and whether PostgreSQL is up."""
        wrk, wrk_note = systems.ensure_wrk(self.workdir)
        self.note(wrk_note)
        litellm_bin: str | None = None
        if self.use_litellm:
            venv = Path(os.environ.get("BENCH_LITELLM_VENV", ROOT / ".nox" / "litellm-proxy"))
            litellm_bin, litellm_note = systems.ensure_litellm(venv, self.workdir)
            self.note(litellm_note)
            if litellm_bin is None:
                self.note("the LiteLLM column is left out: the proxy could not be installed")
        else:
            self.note("the LiteLLM column is left out (--no-litellm)")
        pg_problem = database.postgres_reachable(self.postgres)
        if pg_problem:
            self.note(f"PostgreSQL at {self.postgres} unreachable ({pg_problem}): SQLite only")
        return wrk, litellm_bin, pg_problem is None

    def execute(self) -> int:
        started = time.monotonic()
        wrk, litellm_bin, postgres = self.tools()
        self.versions = _versions(litellm_bin)
        self.commit = _commit()  # now: the code the servers are about to load
        installs_done = time.monotonic()
        self.busy.append(machine_busy())
        with Processes(self.workdir) as procs:
            self.measure(procs, wrk, litellm_bin, postgres)
        self.busy.append(machine_busy())
        self._finish(started, installs_done)
        return 0

    def measure(
        self, procs: Processes, wrk: str | None, litellm_bin: str | None, postgres: bool
    ) -> None:
        plan, report = self.plan, self.report
        set_up = time.monotonic()
        upstream_proc, upstream = systems.start_upstream(procs)
        litellm = None
        if litellm_bin:  # the slowest to boot: first, and used last
            models = ["fast", plan.stream_model]
            litellm = systems.start_litellm(procs, litellm_bin, upstream, self.workdir, models)
        aliases = {
            "bench": "fast",
            "bench-stream": plan.stream_model,
            "bench-slow": plan.slow_model,
        }

        def server(name: str, url: str, workers: int = 1) -> systems.Server:
            return systems.start_server(
                procs, name, url, upstream, self.workdir, aliases, workers=workers
            )

        sqlite = f"sqlite:///{self.workdir / 'bench.db'}"
        servers = {"ours-sqlite": server("ours-sqlite", sqlite)}
        # fresh servers of their own for the streams, so that what 10,000 streams leave behind
        # does not weigh on the other figures
        streams = {"ours-sqlite": server("streams-sqlite", f"sqlite:///{self.workdir / 's.db'}")}
        small = large = None
        workers: dict[int, systems.Server] = {}
        if postgres:
            servers["ours-pg"] = server("ours-pg", self.create_db(DB_MAIN))
            small = server("pg-1e3", self.create_db(DB_SMALL))
            large = server("pg-big", self.create_db(DB_LARGE))
            if "ours-pg" in plan.streams_backends:
                streams["ours-pg"] = server("streams-pg", self.create_db(DB_STREAMS))
            if plan.workers_rounds and wrk:
                for n, name in DB_WORKERS.items():
                    workers[n] = server(f"workers-{n}", self.create_db(name), workers=n)
        else:
            report.not_measured("no PostgreSQL", backend="ours-pg")
            report.not_measured("no PostgreSQL", key="dbsize")
        for each in [*servers.values(), *streams.values(), small, large, *workers.values()]:
            if each is not None:
                systems.ready(each)
        self.say("our servers are ready")
        self._nofile_note(upstream_proc.pid, streams)
        port = int(upstream.rsplit(":", 1)[1])
        bench = Bench(plan, self.workdir, upstream_proc, port, servers, wrk)
        self.phase(f"{rep.CONSUMPTION_MODE} teams", lambda: self._consumption(bench))
        self.timings["set-up"] = time.monotonic() - set_up

        # Not timing-sensitive (memory, data loading): together, while the LiteLLM proxy boots.
        with ThreadPoolExecutor(1) as pool:
            prefill = None
            if small is not None and large is not None:
                prefill = pool.submit(self.phase, "pre-fill", lambda: self._prefill(small, large))
            opened = self.streams(bench, streams)
            for each in streams.values():
                procs.stop(each.proc)
            self.streams_recorded(streams, opened)
            if prefill is not None:
                prefill.result()
        if litellm is not None:
            proc, url = litellm
            try:
                seconds = systems.wait_litellm(proc, url)
                bench.litellm, bench.litellm_port = proc, int(url.rsplit(":", 1)[1])
                self.say(f"LiteLLM proxy ready (waited {seconds:.1f} s more for it)")
            except RuntimeError as exc:
                self.note(f"the LiteLLM proxy did not start, its column is left out: {exc}")
                procs.stop(proc)
        self.timed(bench)
        if small is not None and large is not None:
            self.dbsize(bench, small, large)
        else:
            report.skipped(
                rep.DBSIZE, "llm-call latency against database size", "no PostgreSQL", "dbsize"
            )
        self.billing(servers)
        self.call_log(procs, upstream, postgres)
        self.workers(bench, workers, postgres)
        for each in workers.values():
            procs.stop(each.proc)
        counts = self.phase(
            "recorded calls",
            lambda: {n: database.recorded_calls(s.database_url, s.team_id)
                     for n, s in servers.items()}
            | {n: database.recorded_calls(s.database_url, CONSUMPTION_TEAM)
               for n, s in bench.consumption.items()},
        )  # fmt: skip
        if counts:
            report.recorded(counts, bench.acknowledged)
        for proc in [upstream_proc, *(s.proc for s in [*servers.values(), *streams.values()])]:
            for line in _log_problems(proc.log):
                self.note(line)

    def _consumption(self, bench: Bench) -> None:
        """On each of our servers, a team in ``consumption_tokens`` with per-job limits and a
        job of it, for §2's CPU per call in a consumption mode (``report.CONSUMPTION``)."""
        for name, server in bench.servers.items():
            made = billing.team_job(
                server.url, systems.ADMIN_KEY, rep.CONSUMPTION_MODE, CONSUMPTION_TEAM
            )
            consumption = rep.CONSUMPTION[name]
            bench.consumption[consumption] = dataclasses.replace(
                server, name=consumption, virtual_key=made["key"], job_id=made["job"]
            )

    def _nofile_note(self, upstream_pid: int, streams: dict[str, systems.Server]) -> None:
        """The open-files limits of the processes that hold the streams, and whether our server
        has room for ``plan.streams`` of them (a socket to the client and one to the upstream
        each)."""
        soft, hard = nofile.raise_nofile()
        limits = {"load (as this harness)": soft, "stub": nofile.limit(upstream_pid)}
        limits |= {s.name: nofile.limit(s.proc.pid) for s in streams.values()}
        text = ", ".join(f"{k} {v:,}" if v else f"{k} ?" for k, v in limits.items())
        server = min((v for k, v in limits.items() if k.startswith("streams-") and v), default=0)
        need = 2 * self.plan.streams + 64
        if server and server < need:
            text += (
                f". Our server needs ~{need:,} for {self.plan.streams:,} streams (two sockets "
                f"each): room for ~{(server - 64) // 2:,} here; the hard limit is "
                f"{hard:,} and raising it needs CAP_SYS_RESOURCE"
            )
        self.note(f"open-files limits (RLIMIT_NOFILE, soft raised to hard): {text}")

    def _prefill(self, small: systems.Server, large: systems.Server) -> None:
        for server, rows in ((small, self.plan.db_small), (large, self.plan.db_large)):
            systems.create_team(server, "bench-fill")
            seconds = database.prefill_calls(server.database_url, "bench-fill", rows)
            self.say(f"pre-filled {rows:,} llm_calls rows in {seconds:.1f} s")

    def streams(self, bench: Bench, servers: dict[str, systems.Server]) -> dict[str, Any] | None:
        plan = self.plan
        result: dict[str, Any] | None = self.phase(
            f"{plan.streams} concurrent streams", lambda: bench.streams(servers)
        )
        if result:
            self.report.streams(result, plan.slow_model)
        if "ours-pg" not in servers:
            self.report.not_measured(f"--{plan.name}: SQLite only", key="streams rss")
            self.report.not_measured(f"--{plan.name}: SQLite only", key="streams recorded")
        reduced = plan.streams < FULL.streams or plan.streams_rounds < FULL.streams_rounds
        if reduced or len(servers) < len(FULL.streams_backends):
            self.note(
                f"--{plan.name}: {plan.streams:,} streams opened {plan.streams_rounds} time(s) "
                f"on {' and '.join(rep.LABELS[n] for n in servers)} (the full run: "
                f"{FULL.streams:,} streams, {FULL.streams_rounds} rounds, SQLite and PostgreSQL)"
            )
        return result

    def streams_recorded(
        self, servers: dict[str, systems.Server], result: dict[str, Any] | None
    ) -> None:
        """Every abandoned stream must be recorded (``client_disconnected``: cancelled once
        content reached its client, failed before)."""
        if not result:
            return
        opened = {n: sum(r[n]["opened"] for r in result["rounds"]) for n in servers}
        asked = {n: sum(r[n]["attempted"] for r in result["rounds"]) for n in servers}
        counts = self.phase(
            "recorded streams",
            lambda: {n: database.recorded_calls(s.database_url, s.team_id)
                     for n, s in servers.items()},
        )  # fmt: skip
        if counts:
            self.report.streams_recorded(counts, opened, asked)

    def timed(self, bench: Bench) -> None:
        """The timing-sensitive phases, once every system is up."""
        plan, report = self.plan, self.report
        result = self.phase("latency, concurrency 1", bench.latency)
        if result:
            report.latency(result, plan.rounds)
        if bench.wrk:
            result = self.phase(f"throughput, concurrency {plan.connections}", bench.throughput)
            if result:
                report.throughput(result, plan.connections)
            known = throughput_medians(result) if result else None
            result = self.phase(
                "throughput against concurrency " + "/".join(str(c) for c in plan.curve),
                lambda: bench.curve(known),
            )
            if result:
                report.curve(result)
        else:
            for key in ("over litellm", "cpu per call", "cpu per call consumption", "workers"):
                report.not_measured("no wrk", key=key)
            report.skipped(rep.THROUGHPUT, "Throughput", "no wrk")
            report.skipped(rep.CURVE, "Throughput against concurrency", "no wrk")
        result = self.phase("streaming TTFT", bench.ttft)
        if result:
            report.ttft(result, plan.rounds)
        result = self.phase("SDK against raw httpx", bench.sdk)
        if result:
            report.sdk(result, plan.rounds)

    def dbsize(self, bench: Bench, small: systems.Server, large: systems.Server) -> None:
        plan = self.plan
        result = self.phase("database size", lambda: bench.dbsize(small, large))
        if result:
            self.report.dbsize(result, plan.db_small, plan.db_large)
        if plan.db_large < rep.DB_ROWS:
            self.note(
                f"--{plan.name}: the database-size comparison uses {plan.db_large:,} rows, "
                f"not {rep.DB_ROWS:,} (the full run uses {FULL.db_large:,})"
            )

    def billing(self, servers: dict[str, systems.Server]) -> None:
        """A call's server time by budget mode, first in its job and deep into it."""
        plan = self.plan
        results = {}
        for name, server in servers.items():
            result = self.phase(
                f"billing modes and depth ({name})",
                lambda server=server: billing.measure(
                    server.url,
                    systems.ADMIN_KEY,
                    depth=plan.billing_depth,
                    samples=plan.billing_samples,
                    rounds=plan.billing_rounds,
                ),
            )
            if result:
                results[name] = result
        if results:
            self.report.billing(results)
        if plan.billing_depth < rep.BILLING_DEPTH:
            self.note(
                f"--{plan.name}: the billing phase goes {plan.billing_depth:,} calls deep, not "
                f"{rep.BILLING_DEPTH:,} (its depth target is not measured)"
            )

    def call_log(self, procs: Processes, upstream: str, postgres: bool) -> None:
        """A year of calls: usage queries and a call's latency at 10³ and at
        ``plan.call_log_large`` recorded calls (two servers of their own, started and stopped
        here, their databases dropped at the end)."""
        plan = self.plan
        title = "A year of calls: usage queries and call latency at 10⁷ calls (PostgreSQL)"
        if not postgres:
            self.report.skipped(
                rep.CALL_LOG, title, "no PostgreSQL", "call log usage", "call log latency"
            )
            return
        result = self.phase(
            f"a year of calls ({plan.call_log_large:,})",
            lambda: call_log.run(
                procs,
                self.postgres,
                upstream,
                self.workdir,
                large=plan.call_log_large,
                rounds=plan.call_log_rounds,
                samples=plan.call_log_samples,
                call_samples=plan.call_log_call_samples,
                say=self.say,
                databases=self.databases,
            ),
        )
        if result:
            self.report.call_log(result)
        if plan.call_log_large < rep.LOG_ROWS:
            self.note(
                f"--{plan.name}: the call-log comparison uses {plan.call_log_large:,} calls, "
                f"not {rep.LOG_ROWS:,} (its targets are not measured)"
            )

    def workers(self, bench: Bench, servers: dict[int, systems.Server], postgres: bool) -> None:
        title = "`serve --workers N` (PostgreSQL)"
        if not self.plan.workers_rounds:
            why = f"skipped in --{self.plan.name} mode (the full run measures it)"
            self.report.skipped(rep.WORKERS, title, why, "workers")
            self.note(f"--{self.plan.name}: the `serve --workers N` phase is skipped")
            return
        if not servers:
            why = "no PostgreSQL" if not postgres else "no wrk"
            self.report.skipped(rep.WORKERS, title, why, "workers")
            return
        result = self.phase("serve --workers 1 against 2", lambda: bench.workers(servers))
        if result:
            self.report.workers(result)

    def _finish(self, started: float, installs_done: float) -> None:
        total = time.monotonic() - started
        measured = time.monotonic() - installs_done
        command = os.environ.get("BENCH_COMMAND") or " ".join(
            ["python", "bench/run.py", *sys.argv[1:]]
        )
        phases = ", ".join(f"{k} {v:.1f} s" for k, v in self.timings.items())
        header = [
            f"- date: {dt.datetime.now(dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
            f"- commit: {self.commit}",
            f"- machine: {os.cpu_count()} cores ({_cpu()}); "
            "CPU busy with other work just before / after the run: "
            + " / ".join(f"{b:.0%}" for b in self.busy)
            + " (anything well above 0 % makes every figure noisier)",
            f"- command: `{command}` ({self.plan.name} mode)",
            f"- duration: {measured:.0f} s without one-time installs ({total:.0f} s in all); "
            f"{phases}",
            "- systems: the fast stub (`bench/fast_upstream.py`, *direct*); our server "
            "(`python -m saas_litellm_server serve`, one process, default log level) on SQLite "
            "and PostgreSQL (and with `--workers 1` and `--workers 2` on PostgreSQL for "
            f"§{rep.WORKERS}); a LiteLLM proxy (one process, no database) in front of the same "
            "stub; every process started with its open-files limit raised to the hard limit",
            f"- software: Python {platform.python_version()}, {self.versions}",
            "- figures: median over rounds of each round's p50/p99; ratios are medians of "
            "per-round ratios",
        ]
        text = self.report.render(header, self.notes)
        print("\n" + text)
        path = write_report(text, bench_dir=BENCH, root=ROOT, quick=self.plan is QUICK)
        self.say(f"written to {path.relative_to(ROOT)}")

    def cleanup(self, keep_logs: bool) -> None:
        for name in self.databases:
            try:
                database.drop_database(self.postgres, name)
            except Exception as exc:  # report and go on dropping
                print(f"warning: could not drop database {name}: {exc}")
        if keep_logs:
            print(f"logs kept in {self.workdir}")
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="reduced run, under a minute; writes bench/RESULTS-quick.md, not bench/RESULTS.md",
    )
    parser.add_argument("--no-litellm", action="store_true", help="leave the LiteLLM column out")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES),
        help=f"PostgreSQL to create throw-away databases in (default {DEFAULT_POSTGRES})",
    )
    parser.add_argument("--keep-logs", action="store_true", help="keep the processes' logs")
    args = parser.parse_args(argv)

    def terminate(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with it ignored
    nofile.raise_nofile()  # inherited by the load processes (which raise it themselves too)
    run = Run(QUICK if args.quick else FULL, args.postgres, not args.no_litellm)
    failed = True
    try:
        code = run.execute()
        failed = False
        return code
    except KeyboardInterrupt:
        print("interrupted: everything started has been stopped", file=sys.stderr)
        return 130
    except Exception:
        traceback.print_exc()
        return 1
    finally:
        run.cleanup(keep_logs=failed or args.keep_logs)


if __name__ == "__main__":
    sys.exit(main())
