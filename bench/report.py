"""Figures from the raw samples, and the Markdown report (terminal and ``bench/RESULTS.md``, or
``bench/RESULTS-quick.md`` for a quick run).

Every figure is computed per round and the median over rounds is reported; ratios are the median
of the per-round ratios (the systems compared ran interleaved within each round).
"""

from __future__ import annotations

import math
import re
import statistics
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Report", "percentile", "report_path", "without_local_paths", "write_report"]

LABELS = {
    "direct": "direct (stub)",
    "ours-sqlite": "ours, SQLite",
    "ours-pg": "ours, PostgreSQL",
    "litellm": "LiteLLM proxy",
}
OURS = ("ours-sqlite", "ours-pg")


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile, ``q`` in [0, 100]."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def _median(values: Sequence[float]) -> float:
    clean = [v for v in values if not math.isnan(v)]
    return statistics.median(clean) if clean else math.nan


def ms(value: float) -> str:
    if math.isnan(value):
        return "n/a"
    return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"


def ratio(value: float) -> str:
    if math.isnan(value):
        return "n/a"
    return f"{value:.2f}x" if value >= 0.1 else f"{value:.2g}x"


@dataclass
class Stat:
    """Median over rounds of per-round p50 and p99, per-round values kept for ratios."""

    p50s: list[float]
    p99s: list[float]
    n: int

    @classmethod
    def of(cls, rounds: Sequence[Sequence[float]]) -> Stat:
        return cls(
            [percentile(r, 50) for r in rounds],
            [percentile(r, 99) for r in rounds],
            sum(len(r) for r in rounds),
        )

    @property
    def p50(self) -> float:
        return _median(self.p50s)

    @property
    def p99(self) -> float:
        return _median(self.p99s)


def _paired(a: list[float], b: list[float], op: Callable[[float, float], float]) -> float:
    return _median([op(x, y) for x, y in zip(a, b, strict=True) if not math.isnan(x + y)])


def _sub(x: float, y: float) -> float:
    return x - y


def _div(x: float, y: float) -> float:
    return x / y if y else math.nan


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return [*out, ""]


def _errors(result: dict[str, Any]) -> str:
    errs = {k: v for k, v in result.get("errors", {}).items() if v}
    if not errs:
        return ""
    return "Errors: " + "; ".join(
        f"{LABELS.get(k, k)}: {len(v)} (first: {v[0]})" for k, v in errs.items()
    )


@dataclass
class Target:
    goal: str
    measured: str
    met: bool | None  # None: not measured
    section: int


class Report:
    """Collects sections and targets, renders Markdown."""

    def __init__(self) -> None:
        self.sections: dict[int, list[str]] = {}
        self.lines: list[str] = []  # the current section's
        self.current = 0
        self.targets: list[Target] = []

    def section(self, number: int) -> None:
        """Start section ``number``: sections render in number order, whatever the run order."""
        self.current = number
        self.lines = self.sections.setdefault(number, [])

    def target(self, goal: str, measured: str, met: bool | None) -> None:
        self.targets.append(Target(goal, measured, met, self.current))

    # -- sections ----------------------------------------------------------------------------

    def latency(self, result: dict[str, Any], rounds: int) -> None:
        self.section(1)
        names = list(result["rounds"][0])
        stats = {n: Stat.of([r[n] for r in result["rounds"]]) for n in names}
        self.lines += [
            "## 1. Latency at concurrency 1 (non-streaming, raw keep-alive socket)",
            "",
            f"{rounds} rounds; in each, every system in turn (rotating order) gets a few warm-up "
            "requests then its samples, and the next waits until it is idle. *Added* = ours "
            "minus direct in the same round (p50 - p50, p99 - p99); every call of ours is "
            "written to its database.",
            "",
        ]
        rows = []
        direct, lite = stats.get("direct"), stats.get("litellm")
        for name in names:
            s = stats[name]
            added50 = added99 = over_direct = over_lite = math.nan
            if name in OURS and direct:
                added50 = _paired(s.p50s, direct.p50s, _sub)
                added99 = _paired(s.p99s, direct.p99s, _sub)
                over_direct = _paired(s.p50s, direct.p50s, _div)
            if name in OURS and lite:
                over_lite = _paired(s.p50s, lite.p50s, _div)
            rows.append(
                [LABELS.get(name, name), ms(s.p50), ms(s.p99), str(s.n)]
                + (
                    [ms(added50), ms(added99), ratio(over_direct), ratio(over_lite)]
                    if name in OURS
                    else ["", "", "", ""]
                )
            )
            if name in OURS:
                label = LABELS[name]
                self.target(
                    f"added latency p50 ≤ 1 ms, c=1 ({label})",
                    f"{ms(added50)} ms",
                    added50 <= 1.0,
                )
                self.target(
                    f"added latency p99 ≤ 5 ms, c=1 ({label})",
                    f"{ms(added99)} ms",
                    added99 <= 5.0,
                )
        self.lines += _table(
            [
                "system",
                "p50 ms",
                "p99 ms",
                "samples",
                "added p50 ms",
                "added p99 ms",
                "p50 ours/direct",
                "p50 ours/LiteLLM",
            ],
            rows,
        )
        self._append_errors(result)

    def throughput(self, result: dict[str, Any], connections: int) -> None:
        self.section(2)
        names = result["names"]
        rps = {n: [r[n]["rps"] for r in result["rounds"]] for n in names}
        self.lines += [
            f"## 2. Throughput at concurrency {connections} (wrk, non-streaming llm-call)",
            "",
            f"{len(result['rounds'])} rounds, the systems taking turns (each run waits until the "
            "previous system is idle); run lengths: "
            + ", ".join(f"{LABELS.get(k, k)} {v} s" for k, v in result["seconds"].items())
            + f". *req/s* = {connections} / mean latency (Little's law for wrk's closed loop; the "
            "figure compared), *counted* = 2xx answers / run length (biased low for short runs "
            f"of slow systems: the first answers come only after ~{connections} service times); "
            "latency p50/p99 as "
            "wrk measured them; *CPU* = "
            "the system's process's user+system CPU time per answered call (from /proc, "
            "including what it did after wrk stopped); *busy after* = seconds it kept working "
            "once wrk had stopped.",
            "",
        ]
        rows = []
        for name in names:
            runs = [r[name] for r in result["rounds"]]
            errors = sum(
                r["status"] + r["connect"] + r["read"] + r["write"] + r["timeout"] for r in runs
            )
            over_direct = over_lite = math.nan
            if name in OURS:
                over_direct = _paired(rps[name], rps["direct"], _div)
                if "litellm" in rps:
                    over_lite = _paired(rps[name], rps["litellm"], _div)
                    self.target(
                        f"req/s at c={connections} ≥ 3x LiteLLM ({LABELS[name]})",
                        ratio(over_lite),
                        over_lite >= 3.0,
                    )
            rows.append(
                [
                    LABELS.get(name, name),
                    f"{_median(rps[name]):.0f}",
                    f"{_median([r['rps_counted'] for r in runs]):.0f}",
                    ms(_median([r["p50_us"] / 1000 for r in runs])),
                    ms(_median([r["p99_us"] / 1000 for r in runs])),
                    str(sum(r["requests"] for r in runs)),
                    str(errors),
                    ms(_median([r.get("cpu_ms_per_call", math.nan) for r in runs])),
                    f"{_median([r.get('busy_after_s', math.nan) for r in runs]):.1f}",
                    ratio(over_direct) if name in OURS else "",
                    ratio(over_lite) if name in OURS else "",
                ]
            )
        if "litellm" not in rps:
            self.target(f"req/s at c={connections} ≥ 3x LiteLLM", "no LiteLLM column", None)
        self.lines += _table(
            [
                "system",
                "req/s",
                "counted req/s",
                "p50 ms",
                "p99 ms",
                "requests",
                "errors",
                "CPU ms/call",
                "busy after s",
                "ours/direct",
                "ours/LiteLLM",
            ],
            rows,
        )

    def ttft(self, result: dict[str, Any], rounds: int) -> None:
        self.section(3)
        names = list(result["rounds"][0])
        expected, delay = result["expected_chunks"], result["delay_ms"]

        def col(name: str, i: int) -> list[list[float]]:
            return [[s[i] for s in r[name]] for r in result["rounds"]]

        first = {n: Stat.of(col(n, 0)) for n in names}
        late = {n: Stat.of(col(n, 2)) for n in names}
        chunks = {n: [c for r in col(n, 1) for c in r] for n in names}
        self.lines += [
            "## 3. Streaming: time to first chunk, and buffering",
            "",
            f"Upstream model `stream-{expected}x{delay}ms`: {expected} chunks, the first at once, "
            f"then one every {delay} ms. {rounds} rounds, the systems taking turns as in §1. "
            f"*Lateness* of chunk i = its arrival - i x {delay} ms; the max over the stream's "
            "chunks (p50 over streams) equals TTFT when nothing is held back, and grows by the "
            "time held when a proxy buffers.",
            "",
        ]
        rows = []
        direct = first.get("direct")
        for name in names:
            s = first[name]
            added50 = added99 = math.nan
            if name in OURS and direct:
                added50 = _paired(s.p50s, direct.p50s, _sub)
                added99 = _paired(s.p99s, direct.p99s, _sub)
            got = chunks[name]
            complete = sum(1 for c in got if c == expected)
            rows.append(
                [
                    LABELS.get(name, name),
                    ms(s.p50),
                    ms(s.p99),
                    str(s.n),
                    ms(added50) if name in OURS else "",
                    ms(added99) if name in OURS else "",
                    f"{complete}/{len(got)}",
                    ms(late[name].p50),
                ]
            )
            if name in OURS and direct:
                label = LABELS[name]
                self.target(
                    f"TTFT ≤ direct + 1 ms ({label})", f"+{ms(added50)} ms (p50)", added50 <= 1.0
                )
                extra = _paired(late[name].p50s, late["direct"].p50s, _sub) - added50
                ok = complete == len(got) and extra < delay / 2
                self.target(
                    f"no buffering ({label})",
                    f"{complete}/{len(got)} streams with all {expected} chunks; chunks held "
                    f"{ms(extra)} ms beyond TTFT vs direct",
                    ok,
                )
        self.lines += _table(
            [
                "system",
                "TTFT p50 ms",
                "TTFT p99 ms",
                "streams",
                "added p50 ms",
                "added p99 ms",
                f"streams with all {expected} chunks",
                "max lateness p50 ms",
            ],
            rows,
        )
        self._append_errors(result)

    def sdk(self, result: dict[str, Any], rounds: int) -> None:
        self.section(4)
        stats = {k: Stat.of([r[k] for r in result["rounds"]]) for k in ("raw", "raw same", "sdk")}
        sdk = stats["sdk"]
        idem = result.get("idempotency_key")
        self.lines += [
            "## 4. SDK `llm_call` against a raw httpx POST (ours, SQLite)",
            "",
            f"{rounds} rounds, the three clients taking turns call by call on one server. Raw = "
            "`httpx.AsyncClient.post(url, json=body, headers=auth)` + `.json()`; *same request* "
            f"= a raw POST with exactly the SDK's headers ({', '.join(result['sdk_headers'])}"
            + ("; a fresh Idempotency-Key per call, as the SDK sends" if idem else "")
            + "); SDK = `SaasLiteLLMClient.llm_call(...)`.",
            "",
        ]
        rows = []
        ratios = {}
        for key, label in (
            ("raw", "raw httpx POST (auth only)"),
            ("raw same", "raw httpx POST, the SDK's exact request"),
            ("sdk", "SDK llm_call"),
        ):
            s = stats[key]
            r50 = _paired(sdk.p50s, s.p50s, _div)
            r99 = _paired(sdk.p99s, s.p99s, _div)
            ratios[key] = r50
            cells = ["", ""] if key == "sdk" else [ratio(r50), ratio(r99)]
            rows.append([label, ms(s.p50), ms(s.p99), str(s.n), *cells])
        self.lines += _table(
            ["client", "p50 ms", "p99 ms", "samples", "p50 SDK/this", "p99 SDK/this"], rows
        )
        self.target(
            "SDK llm_call ≤ 1.10x raw httpx POST of the same request",
            f"{ratio(ratios['raw same'])} (p50)",
            ratios["raw same"] <= 1.10,
        )
        if idem:
            self.target(
                "SDK llm_call ≤ 1.10x raw httpx POST without the SDK's Idempotency-Key",
                f"{ratio(ratios['raw'])} (p50)",
                ratios["raw"] <= 1.10,
            )

    def streams(self, result: dict[str, Any], model: str) -> None:
        self.section(6)
        count = result["count"]
        rounds = result["rounds"]
        names = list(rounds[0])
        self.lines += [
            f"## 6. {count} concurrent open streams",
            "",
            f"{len(rounds)} round(s); each opens {count} streams on alias `bench-slow` (upstream "
            f"`{model}`: one chunk per second), waits until every one has its first chunk, "
            "reads the server's VmRSS 4 times while all are open, then disconnects them all and "
            "samples VmRSS until the server is idle again (*closing*: it cancels 1000 upstream "
            "requests and records 1000 failed calls). Dedicated server processes, run while "
            "the LiteLLM proxy boots (memory is not timing-sensitive; *seconds to open* is, a "
            "little).",
            "",
        ]
        rows = []
        for name in names:
            runs = [r[name] for r in rounds]
            peak = _median([max(r["rss_open_mb"]) for r in runs])
            opened = min(r["opened"] for r in runs)
            failed = max(r["failed"] for r in runs)
            rows.append(
                [
                    LABELS.get(name, name),
                    f"{opened}/{count}",
                    str(failed),
                    f"{_median([r['open_seconds'] for r in runs]):.2f}",
                    f"{runs[0]['rss_before_mb']:.0f}",
                    f"{peak:.0f}",
                    f"{_median([r['rss_closing_peak_mb'] for r in runs]):.0f}",
                    f"{_median([r['threads_closing_peak'] for r in runs]):.0f}",
                    f"{_median([r['settle_seconds'] for r in runs]):.1f}",
                    f"{_median([r['rss_after_mb'] for r in runs]):.0f}",
                ]
            )
            self.target(
                f"{count} open streams, server RSS ≤ 250 MB ({LABELS.get(name, name)})",
                f"{peak:.0f} MB with {opened}/{count} open (closing them: "
                f"{_median([r['rss_closing_peak_mb'] for r in runs]):.0f} MB)",
                peak <= 250 and opened == count,
            )
            errors = [e for r in runs for e in r["errors"]]
            if errors:
                self.lines.append(f"Errors ({LABELS.get(name, name)}): {errors[0]}")
        self.lines += _table(
            [
                "server",
                "streams open (min)",
                "failed (max)",
                "seconds to open",
                "RSS fresh MB",
                "RSS open MB (max of samples)",
                "RSS closing MB (max)",
                "threads closing (max)",
                "seconds to close",
                "RSS after MB",
            ],
            rows,
        )

    def streams_recorded(self, counts: dict[str, dict[str, int]], expected: int) -> None:
        self.section(6)
        rows = []
        for name, c in counts.items():
            failed = c.get("stream/failed", 0)
            kinds = ", ".join(f"{k}: {v}" for k, v in sorted(c.items()) if k != "all rows")
            rows.append([LABELS.get(name, name), str(expected), str(failed), kinds])
            self.target(
                f"every abandoned stream recorded ({LABELS.get(name, name)})",
                f"{failed} recorded as failed / {expected} abandoned",
                failed == expected,
            )
        self.lines += [
            "Calls recorded by the streams servers (each abandoned stream must be a failed "
            "call, `client_disconnected`):",
            "",
        ]
        self.lines += _table(["server", "streams abandoned", "failed calls recorded", "rows"], rows)

    def dbsize(self, result: dict[str, Any], rows_small: int, rows_large: int) -> None:
        self.section(5)
        small = Stat.of([r["small"] for r in result["rounds"]])
        large = Stat.of([r["large"] for r in result["rounds"]])
        r50 = _paired(large.p50s, small.p50s, _div)
        r99 = _paired(large.p99s, small.p99s, _div)
        ratios = [ratio(r50), ratio(r99)]
        self.lines += [
            "## 5. llm-call latency against database size (PostgreSQL)",
            "",
            "Two servers, each on its own database; another team's `llm_calls` (and `jobs`, 10 "
            "calls per job) pre-filled with `INSERT … SELECT … generate_series`, then VACUUM "
            "ANALYZE. Calls at concurrency 1, the two servers taking turns.",
            "",
        ]
        self.lines += _table(
            ["llm_calls rows", "p50 ms", "p99 ms", "samples", "p50 ratio", "p99 ratio"],
            [
                [f"{rows_small:,}", ms(small.p50), ms(small.p99), str(small.n), "1.00x", "1.00x"],
                [f"{rows_large:,}", ms(large.p50), ms(large.p99), str(large.n), *ratios],
            ],
        )
        self.target(
            f"latency within ±10 % at 10³ vs {rows_large:,} calls (PostgreSQL)",
            f"{ratio(r50)} (p50)",
            0.9 <= r50 <= 1.1,
        )
        self._append_errors(result)

    def recorded(self, counts: dict[str, dict[str, int]], acknowledged: dict[str, int]) -> None:
        self.section(7)
        self.lines += [
            "## 7. Every call written to the database",
            "",
            "Rows of the benchmark team in `llm_calls` at the end, against the non-streamed "
            "calls the clients saw answered with 200 (wrk's in-flight requests at its end are "
            "recorded but not counted, so recorded ≥ answered).",
            "",
        ]
        rows = []
        for name, c in counts.items():
            answered = acknowledged.get(name, 0)
            recorded = c.get("call/success", 0)
            kinds = ", ".join(f"{k}: {v}" for k, v in sorted(c.items()) if k != "all rows")
            rows.append([LABELS.get(name, name), str(answered), str(recorded), kinds])
            self.target(
                f"every answered call recorded ({LABELS.get(name, name)})",
                f"{recorded} recorded / {answered} answered",
                recorded >= answered,
            )
        self.lines += _table(["server", "answered calls", "recorded calls", "all rows"], rows)

    def _append_errors(self, result: dict[str, Any]) -> None:
        text = _errors(result)
        if text:
            self.lines += [text, ""]

    # -- rendering ---------------------------------------------------------------------------

    def render(self, header: list[str], notes: list[str]) -> str:
        out = ["# Benchmark results", "", *header, "", "## Targets", ""]
        mark = {True: "**met**", False: "**NOT met**", None: "not measured"}
        targets = sorted(self.targets, key=lambda t: t.section)
        out += _table(
            ["target", "measured", "met"], [[t.goal, t.measured, mark[t.met]] for t in targets]
        )
        for number in sorted(self.sections):
            out += self.sections[number]
        if notes:
            out += ["## Notes", "", *[f"- {n}" for n in notes], ""]
        return "\n".join(out)


# -- where a report goes -----------------------------------------------------------------------

_ABSOLUTE_PATH = re.compile(r"(?<![\w:/.~$-])/(?:[\w.+@-]+/)+([\w.+@-]+)")
"""Two components or more: ``/proc`` alone names a kind of thing, not a place on this machine."""


def report_path(bench_dir: Path, *, quick: bool) -> Path:
    """A full run updates the committed ``RESULTS.md``; a quick run's figures (fewer rounds,
    smaller database) are not comparable, so they go to the git-ignored ``RESULTS-quick.md``."""
    return bench_dir / ("RESULTS-quick.md" if quick else "RESULTS.md")


def without_local_paths(text: str, root: Path) -> str:
    """The report says where things are relative to the repository, never on this machine:
    paths under ``root`` become relative, the temp dir ``$TMPDIR``, home ``~``; any other
    absolute path is cut to its last component (``/usr/bin/wrk`` → ``wrk``)."""
    for prefix, short in (
        (str(root), "."),
        (tempfile.gettempdir(), "$TMPDIR"),
        (str(Path.home()), "~"),
    ):
        if len(prefix) > 1:  # never "/" itself
            text = re.sub(re.escape(prefix) + r"(?=/|\s|$|[`'\")])", short, text)
    text = re.sub(r"(?<![\w.])\./", "", text)  # "./.nox/x" -> ".nox/x"
    return _ABSOLUTE_PATH.sub(lambda m: m.group(1), text)


def write_report(text: str, *, bench_dir: Path, root: Path, quick: bool) -> Path:
    """Write ``text`` (local paths taken out) where this kind of run belongs; returns the path."""
    path = report_path(bench_dir, quick=quick)
    path.write_text(without_local_paths(text, root))
    return path
