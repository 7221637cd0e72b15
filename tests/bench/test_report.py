"""Where the benchmark report goes and what it may say (bench/report.py): a quick run never
replaces the committed full run, and no report names a path on the machine that made it."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def _report() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_report", ROOT / "bench" / "report.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


report = _report()


def test_a_quick_run_never_replaces_the_committed_results(tmp_path: Path) -> None:
    bench = tmp_path / "bench"
    bench.mkdir()
    committed = bench / "RESULTS.md"
    committed.write_text("# the full run\n")
    quick = report.write_report("# quick\n", bench_dir=bench, root=tmp_path, quick=True)
    assert quick == bench / "RESULTS-quick.md" and quick.read_text() == "# quick\n"
    assert committed.read_text() == "# the full run\n"
    full = report.write_report("# full\n", bench_dir=bench, root=tmp_path, quick=False)
    assert full == committed and committed.read_text() == "# full\n"


def test_git_ignores_the_quick_report() -> None:
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", "bench/RESULTS-quick.md"], cwd=ROOT, check=False
    )
    assert ignored.returncode == 0
    tracked = subprocess.run(
        ["git", "check-ignore", "-q", "bench/RESULTS.md"], cwd=ROOT, check=False
    )
    assert tracked.returncode == 1


def test_a_report_names_no_absolute_local_path(tmp_path: Path) -> None:
    root = tmp_path / "checkout"
    temp = tempfile.gettempdir()
    text = "\n".join(
        [
            f"- LiteLLM proxy from {root}/.nox/litellm-proxy",
            f"- phase 'streams' failed: OSError: [Errno 2] No such file: '{temp}/bench-x/s.log'",
            f"- cache in {Path.home()}/.cache/pip",
            "- binary /usr/local/bin/wrk, config /etc/postgresql/15/main/postgresql.conf",
            "- database postgresql://postgres@127.0.0.1:5432/test",
            "| concurrency 1, p50 / p99 | 1.27 / 1.88 ms | 180/180 streams | 2.4 req/s |",
            "- command: `python bench/run.py --quick`",
        ]
    )
    out = report.without_local_paths(text, root)
    assert "LiteLLM proxy from .nox/litellm-proxy" in out
    assert "'$TMPDIR/bench-x/s.log'" in out
    assert "~/.cache/pip" in out
    assert "binary wrk, config postgresql.conf" in out
    # what is not a local path is left alone
    assert "postgresql://postgres@127.0.0.1:5432/test" in out
    assert "| concurrency 1, p50 / p99 | 1.27 / 1.88 ms | 180/180 streams | 2.4 req/s |" in out
    assert "`python bench/run.py --quick`" in out
    for local in (str(root), temp + "/", str(Path.home()) + "/", "/usr/", "/etc/"):
        assert local not in out


def test_the_committed_results_name_no_absolute_local_path() -> None:
    text = (ROOT / "bench" / "RESULTS.md").read_text()
    assert report.without_local_paths(text, ROOT) == text


# -- the targets: given figures, each row says met / NOT met / not measured -----------------


def _row(rep: Any, key: str, backend: str | None = None) -> Any:
    rows = [t for t in rep.target_rows() if t.key == key and t.backend == backend]
    assert len(rows) == 1, (key, backend, rows)
    return rows[0]


def _figure(rep: Any, key: str, backend: str | None = None) -> Any:
    """A row of the "Measured, not targets" list."""
    rows = [t for t in rep.measured_rows() if t.key == key and t.backend == backend]
    assert len(rows) == 1, (key, backend, rows)
    assert rows[0].met is None  # never met or not: not a target
    return rows[0]


def _constant(ms: float, n: int = 20) -> list[float]:
    return [ms] * n


def test_every_target_has_a_row_on_every_backend_even_unmeasured() -> None:
    rep = report.Report()
    rep.not_measured("no PostgreSQL", backend="ours-pg")
    rows = rep.target_rows()
    expected = sum(len(goal.backends) or 1 for goal in report.GOALS.values())
    assert len(rows) == expected
    assert all(row.met is None for row in rows)
    assert _row(rep, "latency p50", "ours-pg").measured == "no PostgreSQL"
    assert _row(rep, "latency p50", "ours-sqlite").measured.startswith("not run")
    assert _row(rep, "cpu per call consumption", "ours-pg").measured == "no PostgreSQL"
    text = rep.render([], [])
    for row in rows:
        assert f"| {row.goal} | {row.measured} | not measured |" in text
    # the figures that are no longer targets are listed below the table, with why they are not
    assert _figure(rep, "streams rss", "ours-pg").measured == "no PostgreSQL"
    figures = text.split("Measured, not targets", 1)[1].split("\n## ", 1)[0]
    for row in rep.measured_rows():
        assert f"- {row.goal}: {row.measured}" in figures


def test_the_targets_are_issue_31s() -> None:
    sqlite = {key: goal.goal("ours-sqlite") for key, goal in report.GOALS.items()}
    pg = {key: goal.goal("ours-pg") for key, goal in report.GOALS.items()}
    assert sqlite["cpu per call"] == (
        "server CPU per non-streamed llm-call ≤ 0.5 ms, c=64, job_based (ours, SQLite)"
    )
    assert pg["cpu per call consumption"] == (
        "server CPU per non-streamed llm-call ≤ 0.5 ms, c=64, consumption_tokens with per-job "
        "limits (ours, PostgreSQL)"
    )
    assert sqlite["latency p50"] == "added latency p50 ≤ 0.5 ms at c=1 (ours, SQLite)"
    assert pg["latency p50"] == "added latency p50 ≤ 1 ms at c=1 (ours, PostgreSQL)"
    assert pg["latency p99"] == "added latency p99 ≤ 2 ms at c=1 (ours, PostgreSQL)"
    assert sqlite["ttft"] == "TTFT added p50 ≤ 1 ms (ours, SQLite)"
    assert "≥ 15x the LiteLLM proxy" in sqlite["over litellm"]
    assert sqlite["sdk raw"] == "SDK llm_call ≤ 1.10x raw httpx POST without an Idempotency-Key"
    assert "of the same request" in sqlite["sdk same"]
    assert "≤ 1.2x the job's first calls" in sqlite["billing depth"]
    assert "≤ 1.1x job_based" in sqlite["billing modes"]
    assert {"call log usage", "call log latency", "recorded", "streams recorded"} <= set(sqlite)
    for key in (
        "cpu per call",
        "cpu per call consumption",
        "latency p50",
        "latency p99",
        "ttft",
        "no buffering",
        "over litellm",
        "billing depth",
        "billing modes",
        "recorded",
    ):
        assert report.GOALS[key].backends == ("ours-sqlite", "ours-pg")
    # no longer targets: measured figures below the table
    assert "workers" not in report.GOALS and "streams rss" not in report.GOALS
    assert set(report.MEASURED) == {"workers", "streams rss"}
    assert (
        report.MEASURED["streams rss"]
        .goal("ours-sqlite")
        .startswith("10,000 concurrent open streams, server RSS (ours, SQLite")
    )


def test_added_latency_rows_against_each_backends_limit() -> None:
    rep = report.Report()
    rounds = [
        {
            "direct": _constant(0.05),
            "ours-sqlite": [*_constant(0.6), 2.5],  # +0.55 ms: not met; p99 +2.45 ms: not met
            "ours-pg": _constant(0.95),  # +0.9 ms: met on PostgreSQL (≤ 1 ms)
        }
        for _ in range(3)
    ]
    rep.latency({"rounds": rounds, "errors": {}}, 3)
    assert _row(rep, "latency p50", "ours-sqlite").met is False
    assert _row(rep, "latency p50", "ours-sqlite").measured == "0.550 ms"
    assert _row(rep, "latency p99", "ours-sqlite").met is False
    assert _row(rep, "latency p50", "ours-pg").met is True
    assert _row(rep, "latency p99", "ours-pg").met is True
    assert "| added latency p50 ≤ 0.5 ms at c=1 (ours, SQLite) | 0.550 ms | **NOT met** |" in (
        rep.render([], [])
    )
    slow = report.Report()
    slow.latency(
        {"rounds": [{"direct": _constant(0.05), "ours-pg": _constant(1.1)}] * 3, "errors": {}}, 3
    )
    assert _row(slow, "latency p50", "ours-pg").met is False  # +1.05 ms


def _wrk(rps: float, cpu: float) -> dict[str, float]:
    return {
        "rps": rps,
        "rps_counted": rps,
        "p50_us": 1000.0,
        "p99_us": 2000.0,
        "requests": 100,
        "status": 0,
        "connect": 0,
        "read": 0,
        "write": 0,
        "timeout": 0,
        "cpu_ms_per_call": cpu,
        "busy_after_s": 0.1,
    }


def test_throughput_rows_fifteen_times_litellm_and_cpu_per_call_in_both_modes() -> None:
    rep = report.Report()
    one = {
        "direct": _wrk(50_000, 0.01),
        "ours-sqlite": _wrk(1600, 0.45),  # 16x LiteLLM, 0.45 ms CPU: both met
        "ours-pg": _wrk(1400, 0.6),  # 14x, 0.6 ms: neither
        "ours-sqlite-consumption": _wrk(1500, 0.48),  # met, 1.07x job_based's
        "ours-pg-consumption": _wrk(1000, 0.9),  # not met
        "litellm": _wrk(100, 10.0),
    }
    result = {"rounds": [one] * 3, "names": list(one), "seconds": dict.fromkeys(one, 1)}
    rep.throughput(result, 64)
    assert _row(rep, "over litellm", "ours-sqlite").met is True
    assert _row(rep, "over litellm", "ours-sqlite").measured.startswith("16.00x")
    assert _row(rep, "over litellm", "ours-pg").met is False
    assert _row(rep, "cpu per call", "ours-sqlite").met is True
    assert _row(rep, "cpu per call", "ours-pg").met is False
    assert _row(rep, "cpu per call", "ours-pg").measured == "0.600 ms"
    consumption = _row(rep, "cpu per call consumption", "ours-sqlite")
    assert consumption.met is True
    assert consumption.measured == "0.480 ms (1.07x job_based's)"
    assert _row(rep, "cpu per call consumption", "ours-pg").met is False
    text = "\n".join(rep.sections[report.THROUGHPUT])
    assert "| ours, PostgreSQL, consumption_tokens | 1000 |" in text


def test_throughput_without_litellm_or_consumption_still_has_its_rows() -> None:
    rep = report.Report()
    one = {"direct": _wrk(50_000, 0.01), "ours-sqlite": _wrk(850, 0.4)}
    rep.throughput({"rounds": [one], "names": list(one), "seconds": dict.fromkeys(one, 1)}, 64)
    assert _row(rep, "over litellm", "ours-sqlite").met is None
    assert _row(rep, "over litellm", "ours-sqlite").measured == "no LiteLLM column"
    assert _row(rep, "cpu per call", "ours-sqlite").met is True
    assert _row(rep, "cpu per call consumption", "ours-sqlite").met is None


def test_the_curve_table_has_a_column_per_concurrency() -> None:
    rep = report.Report()
    points = {
        "ours-sqlite": {c: _wrk(100.0 * c, 1.0) for c in (1, 8, 64, 256)},
        "litellm": {64: _wrk(80, 10.0)},
    }
    rep.curve({"points": points, "concurrencies": [1, 8, 64, 256], "reused": [64], "seconds": 5})
    text = "\n".join(rep.sections[report.CURVE])
    assert "| req/s | c=1 | c=8 | c=64 | c=256 |" in text
    assert "| ours, SQLite | 100 | 800 | 6400 | 25600 |" in text
    assert "| LiteLLM proxy | n/a | n/a | 80 | n/a |" in text
    assert "| ours, SQLite | 1.000 / 2.000 |" in text


def test_ttft_added_row_against_a_millisecond() -> None:
    def streams(ttft: float) -> list[list[float]]:
        return [[ttft, 8, ttft + 1] for _ in range(10)]

    rep = report.Report()
    rounds = [
        {"direct": streams(0.2), "ours-sqlite": streams(1.1), "ours-pg": streams(1.4)}
        for _ in range(3)
    ]
    rep.ttft({"rounds": rounds, "errors": {}, "expected_chunks": 8, "delay_ms": 10}, 3)
    assert _row(rep, "ttft", "ours-sqlite").met is True  # +0.9 ms
    assert _row(rep, "ttft", "ours-pg").met is False  # +1.2 ms
    assert _row(rep, "no buffering", "ours-pg").met is True


def test_sdk_rows_without_idempotency_key_and_same_request() -> None:
    rep = report.Report()
    rounds = [{"raw": _constant(2.0), "raw same": _constant(2.3), "sdk": _constant(2.4)}] * 3
    rep.sdk({"rounds": rounds, "sdk_headers": ["authorization"], "idempotency_key": True}, 3)
    assert _row(rep, "sdk same").met is True  # 1.04x
    assert _row(rep, "sdk raw").met is False  # 1.20x
    assert _row(rep, "sdk raw").measured == "1.20x (p50)"
    fast = report.Report()
    rounds = [{"raw": _constant(2.0), "raw same": _constant(2.1), "sdk": _constant(2.18)}] * 3
    fast.sdk({"rounds": rounds, "sdk_headers": ["authorization"], "idempotency_key": False}, 3)
    assert _row(fast, "sdk raw").met is True  # 1.09x


def _streams(opened: int, rss_open: float, *, count: int = 10_000) -> dict[str, object]:
    run = {
        "requested": count,
        "attempted": count,
        "opened": opened,
        "failed": count - opened,
        "pending": 0,
        "stopped": "",
        "open_seconds": 40.0,
        "batches": [],
        "rss_before_mb": 80.0,
        "rss_open_mb": [rss_open] * 4,
        "nofile": {"load": 20000, "server": 20000},
        "errors": [],
        "settle_seconds": 5.0,
        "rss_closing_peak_mb": rss_open + 5,
        "threads_closing_peak": 5,
        "rss_after_mb": rss_open,
    }
    return run


def test_ten_thousand_streams_are_a_measured_figure_not_a_target() -> None:
    rep = report.Report()
    rounds = [{"ours-sqlite": _streams(10_000, 900.0), "ours-pg": _streams(9_985, 1100.0)}]
    rep.streams({"count": 10_000, "batch": 1000, "window": 200, "rounds": rounds}, "m")
    measured = _figure(rep, "streams rss", "ours-sqlite").measured
    assert "900 MB with 10,000/10,000 open" in measured and "after 900 MB" in measured
    assert "1100 MB with 9,985/10,000 open" in _figure(rep, "streams rss", "ours-pg").measured
    assert not [t for t in rep.target_rows() if t.met is not None]
    text = rep.render([], [])
    assert "- 10,000 concurrent open streams, server RSS (ours, PostgreSQL" in text
    assert "streams rss" not in {t.key for t in rep.target_rows()}


def test_a_plan_with_fewer_streams_says_so() -> None:
    rep = report.Report()
    rep.streams(
        {"count": 1000, "rounds": [{"ours-sqlite": _streams(1000, 150.0, count=1000)}]}, "m"
    )
    assert _figure(rep, "streams rss", "ours-sqlite").measured.startswith("only 1,000 opened")


def test_abandoned_streams_recorded() -> None:
    rep = report.Report()
    rep.streams_recorded(
        {
            "ours-sqlite": {"stream/cancelled": 1000, "stream/failed": 200},
            "ours-pg": {"stream/cancelled": 900},
        },
        {"ours-sqlite": 1000, "ours-pg": 1000},
        {"ours-sqlite": 1200, "ours-pg": 1200},
    )
    assert _row(rep, "streams recorded", "ours-sqlite").met is True
    assert _row(rep, "streams recorded", "ours-pg").met is False


def test_every_answered_call_recorded_in_both_modes() -> None:
    rep = report.Report()
    rep.recorded(
        {
            "ours-sqlite": {"call/success": 1000, "stream/success": 10},
            "ours-sqlite-consumption": {"call/success": 500},
            "ours-pg": {"call/success": 800},
            "ours-pg-consumption": {"call/success": 399},  # one answered call not recorded
        },
        {
            "ours-sqlite": 1000,
            "ours-sqlite-consumption": 498,
            "ours-pg": 800,
            "ours-pg-consumption": 400,
        },
    )
    sqlite = _row(rep, "recorded", "ours-sqlite")
    assert sqlite.met is True
    assert sqlite.measured == (
        "job_based: 1000 recorded / 1000 answered; consumption_tokens: 500 recorded / 498 answered"
    )
    assert _row(rep, "recorded", "ours-pg").met is False


def _workers_round(one: float, two: float) -> dict[str, object]:
    return {
        "1": {**_wrk(one, 4.0), "recorded_per_s": one, "processes": 1},
        "2": {**_wrk(two, 3.5), "recorded_per_s": two, "processes": 4},
    }


def test_two_workers_against_one_is_a_measured_figure() -> None:
    rep = report.Report()
    rounds = [_workers_round(200, 360), _workers_round(250, 400), _workers_round(220, 500)]
    rep.workers({"rounds": rounds, "seconds": 10, "connections": 64})
    figure = _figure(rep, "workers")
    assert figure.measured == "1.80x (400 against 220 recorded calls/s)"  # median of 1.8/1.6/2.27
    assert "workers" not in {t.key for t in rep.target_rows()}
    assert "- `serve --workers 2` against `--workers 1`" in rep.render([], [])


def test_a_skipped_phase_says_why_in_its_section_and_its_rows() -> None:
    rep = report.Report()
    rep.skipped(report.WORKERS, "`serve --workers N`", "skipped in --quick mode", "workers")
    rep.skipped(report.LATENCY, "Latency", "no direct column", "latency p50")
    assert _figure(rep, "workers").measured == "skipped in --quick mode"
    row = _row(rep, "latency p50", "ours-sqlite")
    assert row.met is None and row.measured == "no direct column"
    text = rep.render([], [])
    assert "Not run: skipped in --quick mode." in text
    assert "- `serve --workers 2` against `--workers 1`" in text and ": skipped in --quick" in text


def test_streams_that_stopped_opening_say_why() -> None:
    rep = report.Report()
    stuck = {**_streams(1000, 160.0), "pending": 200, "failed": 0}
    stuck["stopped"] = "no stream opened or failed for 15 s"
    rep.streams({"count": 10_000, "rounds": [{"ours-sqlite": stuck}]}, "m")
    figure = _figure(rep, "streams rss", "ours-sqlite")
    assert figure.measured.endswith("opening stopped: no stream opened or failed for 15 s")
    text = "\n".join(rep.sections[report.STREAMS])
    assert (
        "ours, SQLite, round 1: opening stopped with 1,000 open, 200 pending and 0 failed" in text
    )


def _billing(first: dict[str, list[float]], deep: dict[str, list[float]], depth: int) -> Any:
    return {"depth": depth, "samples": 300, "rounds": 3, "first": first, "deep": deep}


def test_billing_rows_depth_and_modes_as_fast_as_job_based() -> None:
    flat = {
        "job_based": [1.0, 1.0, 1.0],
        "consumption_tokens": [1.05, 1.1, 1.05],
        "consumption_usd": [1.08, 1.1, 1.09],
    }
    slower = {**flat, "consumption_usd": [1.2, 1.2, 1.2]}  # 1.2x job_based: issue 25 met it
    grown = {**flat, "consumption_usd": [1.5, 1.5, 1.5]}  # 1.25x deeper, 1.5x job_based
    rep = report.Report()
    rep.billing(
        {
            "ours-sqlite": _billing(flat, flat, 10_000),
            "ours-pg": _billing(slower, grown, 10_000),
        }
    )
    assert _row(rep, "billing depth", "ours-sqlite").met is True
    assert _row(rep, "billing modes", "ours-sqlite").met is True  # 1.09x at worst
    assert _row(rep, "billing depth", "ours-pg").met is False  # 1.25x > 1.2x
    assert _row(rep, "billing modes", "ours-pg").met is False  # 1.5x > 1.1x
    assert _row(rep, "billing modes", "ours-pg").measured.startswith("1.50x")
    text = rep.render([], [])
    assert "## 10. A call's cost by budget mode and depth into its job" in text
    shallow = report.Report()
    shallow.billing({"ours-sqlite": _billing(flat, flat, 1000)})
    assert _row(shallow, "billing depth", "ours-sqlite").met is None  # not 10,000 deep
    tight = report.Report()
    tight.billing({"ours-sqlite": _billing(slower, slower, 10_000)})
    assert _row(tight, "billing modes", "ours-sqlite").met is False  # 1.2x > 1.1x


def _call_log(large: int, usage_ms: float, call_ms: float) -> dict[str, Any]:
    """A ``call_log.run`` result: two rounds, each sample's [wall, server] ms."""

    def samples(small: float, big: float) -> dict[str, list[list[list[float]]]]:
        return {
            "small": [[[small + 1, small]] * 10 for _ in range(2)],
            "large": [[[big + 1, big]] * 10 for _ in range(2)],
        }

    sizes = {
        "partitions": 15,
        "calls_table": 3 * 2**30,
        "calls_indexes": 2**30,
        "jobs": 2**28,
        "call_rollups": 2**20,
        "job_rollups": 2**19,
        "calls_rows": large,
        "calls_not_rolled_up": 100,
        "jobs_rows": large // 10,
        "call_rollups_rows": 4386,
        "job_rollups_rows": 1461,
        "database": 5 * 2**30,
    }
    return {
        "rows": {"small": 1000, "large": large},
        "tail": 100,
        "rounds": 2,
        "samples": 10,
        "call_samples": 10,
        "fill": {"large": {"seconds": 300.0, "timings": {"calls": 200.0}, "sizes": sizes}},
        "checks": {"large": "ok: 10,000,000 calls, 1,000,001 jobs"},
        "usage": {"team usage, all time": samples(4.0, usage_ms)},
        "call": {"llm-call": samples(2.0, call_ms)},
        "skipped": {"dashboard overview": "sign-in answered 401"},
        "plans": {
            "small": {"team usage, all time: calls": "Execution Time: 1.500 ms"},
            "large": {"team usage, all time: calls": "Seq Scan\nExecution Time: 2.000 ms"},
        },
    }


def test_a_year_of_calls_usage_within_one_and_a_half_and_calls_flat() -> None:
    rep = report.Report()
    rep.call_log(_call_log(10_000_000, usage_ms=5.0, call_ms=2.1))
    assert _row(rep, "call log usage").met is True  # 1.25x
    assert _row(rep, "call log usage").measured.startswith("1.25x (team usage, all time")
    assert _row(rep, "call log latency").met is True  # 1.05x
    text = rep.render([], [])
    assert "## 11. A year of calls" in text
    assert "Not measured: dashboard overview (sign-in answered 401)." in text
    assert "| team usage, all time: calls | 1.50 | 2.00 |" in text
    slow = report.Report()
    slow.call_log(_call_log(10_000_000, usage_ms=8.0, call_ms=2.4))
    assert _row(slow, "call log usage").met is False  # 2x
    assert _row(slow, "call log latency").met is False  # 1.2x
    small = report.Report()
    small.call_log(_call_log(100_000, usage_ms=5.0, call_ms=2.1))
    assert _row(small, "call log usage").met is None  # not 10⁷ calls
    assert _row(small, "call log latency").met is None
