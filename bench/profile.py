"""Where a call's CPU goes: the server's CPU samples per stage, under wrk at c=64 on llm-call.

    python bench/profile.py [--seconds 5] [--modes job_based,consumption_tokens]
                            [--postgres URL] [--raw DIR] [--top 3]

Starts, on 127.0.0.1, the fast upstream stub and our server on SQLite and on PostgreSQL
(``systems.py``), each with the bench team's job (``job_based``) and a job of a team in
``consumption_tokens`` with per-job limits (``billing.team_job``). For each server and mode:
wrk at c=64 against the non-streamed llm-call for ``--seconds`` (the server's CPU per call from
``/proc``, as in §2), then again with ``py-spy record -f raw`` attached; every sample of the
server's threads (py-spy leaves idle threads out, so samples stand for CPU time) is put in a
stage by :func:`classify`, and the table gives each stage's share of the samples and that share
of the CPU per call. ``py-spy`` is installed into this interpreter's environment when missing
(like ``wrk``, installed with ``apt-get``). ``--raw DIR`` keeps the raw profiles
(``DIR/<backend>-<mode>.txt``), ``--top N`` lists each stage's N heaviest functions (self time).
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import math
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent

# The stages, in the order the table shows them.
HTTP = "HTTP server (uvicorn, httptools, the event loop)"
FRAMEWORK = "framework (Starlette middleware, routing, Request/Response)"
MIDDLEWARE = "our middleware (access log, Server-Timing, request context, metrics)"
AUTH = "auth (key look-up, hashing, authorization)"
PARSING = "body parsing and validation (pydantic, json, shared models)"
RENDERING = "JSON rendering (pydantic and json serialization, responses)"
DATABASE = "database (store, databases/SQLAlchemy, aiosqlite/sqlite3, asyncpg)"
UPSTREAM = "upstream client (aiohttp, providers)"
CALL = "call handling (our routes and services: routing, billing, idempotency, recording)"
LOGGING = "logging"
OTHER = "other"
STAGES = (
    HTTP,
    FRAMEWORK,
    MIDDLEWARE,
    AUTH,
    PARSING,
    RENDERING,
    DATABASE,
    UPSTREAM,
    CALL,
    LOGGING,
    OTHER,
)

_OURS = r"(?:^|/)saas_litellm_server/"
_MODELS = r"(?:^|/)saas_litellm_models/"
_PARSE_FN = r"validat|loads|decode|parse|__init__$|__new__$"
_RENDER_FN = r"dump|dumps|encode|serializ|to_json"

# (stage, file pattern, function pattern or None): the first rule that claims a frame, walking
# from the sampled frame (the leaf) towards the thread's root, decides the sample's stage. A
# frame no rule claims (asyncio's tasks and futures, contextlib, uuid, random, a dataclass's
# generated __init__, ...) is transparent: its time counts for whoever called it. pydantic and
# json count as parsing or rendering by what they do, whoever calls them (the upstream's answer
# parsed in the provider included): what the "parse once, encode once" levers would save.
RULES: tuple[tuple[str, str, str | None], ...] = (
    (LOGGING, r"(?:^|/)logging/", None),
    (LOGGING, _OURS + r"_logging\.py$", None),
    (PARSING, r"(?:^|/)(?:pydantic|pydantic_core)/", _PARSE_FN),
    (RENDERING, r"(?:^|/)(?:pydantic|pydantic_core)/", _RENDER_FN),
    (PARSING, r"(?:^|/)json/", r"loads|decode"),
    (RENDERING, r"(?:^|/)json/", r"dumps|encode"),
    (PARSING, _MODELS, None),
    (PARSING, _OURS + r"routes/_json_shape\.py$", None),
    (PARSING, _OURS + r"routes/_http\.py$", r"read_body|parse_body|parse_query|_check_json"),
    (RENDERING, _OURS + r"_responses\.py$", None),
    (MIDDLEWARE, _OURS + r"_(?:access_log|timing|middleware|metrics|tracing)\.py$", None),
    (AUTH, _OURS + r"(?:services/(?:auth|keys|lockout)|routes/_auth)\.py$", None),
    (AUTH, _OURS + r"routes/_http\.py$", r"bearer"),
    (DATABASE, _OURS + r"store/", None),
    (DATABASE, r"(?:^|/)(?:databases|sqlalchemy|aiosqlite|asyncpg|sqlite3)/", None),
    (UPSTREAM, _OURS + r"providers/", None),
    (UPSTREAM, r"(?:^|/)(?:aiohttp|yarl|multidict|aiohappyeyeballs|propcache|frozenlist)/", None),
    (FRAMEWORK, r"(?:^|/)starlette/", None),
    (HTTP, r"(?:^|/)(?:uvicorn|httptools|uvloop|h11|granian)/", None),
    # the event loop itself (with uvloop: Runner.run is the frame its C code runs under)
    (HTTP, r"(?:^|/)asyncio/runners\.py$", None),
    (HTTP, r"(?:^|/)asyncio/base_events\.py$", r"_run_once|run_forever|run_until_complete"),
    (HTTP, r"(?:^|/)asyncio/events\.py$", r"Handle\._run"),
    (HTTP, r"(?:^|/)asyncio/selector_events\.py$", r"_read|_write|_accept"),
    (HTTP, r"(?:^|/)selectors\.py$", None),
    (CALL, _OURS, None),
)
_COMPILED = [(stage, re.compile(path), re.compile(fn) if fn else None) for stage, path, fn in RULES]
_FRAME = re.compile(r"^(?P<fn>.*) \((?P<file>.*?)(?::\d+)?\)$")

# Frames a thread waits in when they are the sampled one. py-spy leaves idle threads out, but
# not every waiting thread: an aiosqlite connection's worker thread blocked on its queue
# (``tx.get()``, a C call) is sampled as if running, 200 times a second per connection of the
# pool. Such a sample is left out (counted as *idle*). Matched on the sampled frame only:
# (file, function, the source text of the waiting line, resolved to its line number).
WAITS: tuple[tuple[str, str, str | None], ...] = (
    ("aiosqlite/core.py", "_connection_worker_thread", "tx.get("),
    ("threading.py", r"Condition\.wait|Event\.wait|Thread\.join|Semaphore\.acquire", None),
    ("queue.py", r"Queue\.get", None),
    # the server's log writer thread (``_logging``: a QueueListener) waiting for a record
    ("logging/handlers.py", r"QueueListener\.dequeue", None),
    ("selectors.py", r"select", None),
)
IDLE = "idle (a waiting thread, left out)"


def frame_parts(frame: str) -> tuple[str, str]:
    """``("Class.method", "package/module.py")`` of py-spy's ``Class.method (file.py:12)``."""
    match = _FRAME.match(frame.strip())
    if match is None:
        return frame.strip(), ""
    return match["fn"], match["file"]


def _stage_of(frame: str) -> str | None:
    fn, file = frame_parts(frame)
    for stage, path, name in _COMPILED:
        if path.search(file) and (name is None or name.search(fn)):
            return stage
    return None


def waiting_frames() -> frozenset[str]:
    """The sampled frames of :data:`WAITS` that name a line (``fn (file:line)``), their line
    numbers read from the installed sources; the others are matched by function name."""
    out = set()
    for file, fn, text in WAITS:
        if text is None:
            continue
        spec = importlib.util.find_spec(file.removesuffix(".py").replace("/", "."))
        if spec is None or spec.origin is None:
            continue
        lines = Path(spec.origin).read_text().splitlines()
        out |= {f"{fn} ({file}:{n})" for n, line in enumerate(lines, 1) if text in line}
    return frozenset(out)


def _waits(frame: str, waiting: frozenset[str]) -> bool:
    if frame.strip() in waiting:
        return True
    fn, file = frame_parts(frame)
    return any(
        text is None and (file == path or file.endswith("/" + path)) and re.fullmatch(name, fn)
        for path, name, text in WAITS
    )


def classify(frames: Iterable[str], waiting: frozenset[str] = frozenset()) -> str:
    """The stage of one sample: ``frames`` from the thread's root to the sampled frame;
    :data:`IDLE` when the sampled frame is one a thread waits in (:data:`WAITS`; ``waiting``:
    :func:`waiting_frames`)."""
    frames = list(frames)
    if frames and _waits(frames[-1], waiting):
        return IDLE
    for frame in reversed(frames):
        stage = _stage_of(frame)
        if stage is not None:
            return stage
    return OTHER


def parse_raw(text: str) -> Iterator[tuple[list[str], int]]:
    """The samples of py-spy's ``-f raw`` output (collapsed stacks: ``root;…;leaf count``)."""
    for line in text.splitlines():
        stack, _, count = line.rstrip().rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [f for f in stack.split(";") if "(" in f]  # no process or thread names
        if frames:
            yield frames, int(count)


def stages(text: str, waiting: frozenset[str] = frozenset()) -> Counter[str]:
    """Samples per stage of a raw profile (:data:`IDLE` ones included: leave them out of the
    shares)."""
    out: Counter[str] = Counter()
    for frames, count in parse_raw(text):
        out[classify(frames, waiting)] += count
    return out


def heaviest(
    text: str, top: int, waiting: frozenset[str] = frozenset()
) -> dict[str, list[tuple[str, int]]]:
    """Per stage, its ``top`` functions by self samples (the sampled frame's)."""
    by_stage: dict[str, Counter[str]] = {}
    for frames, count in parse_raw(text):
        fn, file = frame_parts(frames[-1])
        stage = classify(frames, waiting)
        by_stage.setdefault(stage, Counter())[f"{fn} ({file})"] += count
    return {stage: c.most_common(top) for stage, c in by_stage.items() if stage != IDLE}


def table(results: dict[str, dict[str, Any]]) -> list[str]:
    """Markdown: a row per stage, a column per profile (``results``: label -> a
    :func:`profile_server` result), each cell the stage's share and its CPU ms per call."""
    labels = list(results)
    header = ["stage", *(f"{label}: share / CPU ms per call" for label in labels)]
    totals = {
        label: sum(n for stage, n in r["stages"].items() if stage != IDLE)
        for label, r in results.items()
    }
    rows = []
    for stage in STAGES:
        cells = [stage]
        for label in labels:
            r, total = results[label], totals[label]
            share = r["stages"].get(stage, 0) / total if total else math.nan
            cells.append(f"{share:.1%} / {share * r['cpu_ms_per_call']:.3f}")
        rows.append(cells)
    rows.append(
        [
            "**all** (CPU ms per call from /proc without / with py-spy; samples, idle ones "
            "left out; req/s without py-spy)",
            *(
                f"{r['cpu_ms_per_call']:.3f} / {r['cpu_ms_per_call_profiled']:.3f} ms; "
                f"{totals[label]:,} ({r['stages'].get(IDLE, 0):,} idle); {r['rps']:.0f}"
                for label, r in results.items()
            ),
        ]
    )
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return [*out, *("| " + " | ".join(row) + " |" for row in rows), ""]


# -- running it ------------------------------------------------------------------------------


def ensure_py_spy() -> tuple[str | None, str]:
    """``py-spy`` (installed with this interpreter's pip when missing) and what happened."""
    here = Path(sys.executable).parent / "py-spy"
    found = str(here) if here.exists() else shutil.which("py-spy")
    if found:
        return found, f"py-spy {_version(found)}"
    print("py-spy is missing: pip install py-spy (one-time) ...", flush=True)
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "py-spy"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    found = str(here) if here.exists() else shutil.which("py-spy")
    if done.returncode != 0 or not found:
        return None, f"installing py-spy failed: {(done.stderr or done.stdout)[-500:]}"
    return found, f"py-spy {_version(found)} installed with pip"


def _version(binary: str) -> str:
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30)
        return out.stdout.strip().removeprefix("py-spy ")
    except (OSError, subprocess.SubprocessError):
        return "?"


def profile_server(
    bench: Any,
    target: Any,
    py_spy: str,
    seconds: int,
    raw: Path,
    *,
    warmup: int = 2,
    rate: int = 250,
    nonblocking: bool = True,
) -> dict[str, Any]:
    """wrk at c=64 against ``target`` (a ``phases.Target``) through ``bench`` (a
    ``phases.Bench``): a warm-up, a run for the CPU per call, then one with py-spy attached;
    the raw profile goes to ``raw``."""
    bench._wrk(target, warmup)
    clean = bench._wrk(target, seconds)
    argv = [py_spy, "record", "-p", str(target.pid), "-d", str(seconds + 2), "-r", str(rate)]
    argv += ["--nonblocking"] if nonblocking else []
    spy = subprocess.Popen(
        [*argv, "-f", "raw", "-o", str(raw)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(1.0)  # attached before the load starts (idle threads are not sampled)
    profiled = bench._wrk(target, seconds)
    _, err = spy.communicate(timeout=seconds + 60)
    if spy.returncode != 0 or not raw.exists():
        raise RuntimeError(f"py-spy failed ({spy.returncode}): {err[-800:]}")
    text = raw.read_text()
    return {
        "stages": dict(stages(text, waiting_frames())),
        "cpu_ms_per_call": clean["cpu_ms_per_call"],
        "cpu_ms_per_call_profiled": profiled["cpu_ms_per_call"],
        "rps": clean["rps"],
        "raw": text,
    }


def main() -> int:
    import billing
    import database
    import nofile
    import systems
    from phases import QUICK, Bench, ours
    from processes import Processes

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=5, help="each wrk run (default 5)")
    parser.add_argument("--modes", default="job_based,consumption_tokens")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--raw", type=Path, help="keep the raw profiles in this directory")
    parser.add_argument("--top", type=int, default=0, help="each stage's N heaviest functions")
    parser.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
    parser.add_argument(
        "--blocking",
        action="store_true",
        help="py-spy pauses the server for each sample (exact stacks, more perturbation)",
    )
    args = parser.parse_args()
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = set(modes) - {"job_based", *billing.MODES}
    if unknown:
        parser.error(f"unknown modes {sorted(unknown)}")
    nofile.raise_nofile()
    workdir = Path(tempfile.mkdtemp(prefix="saas-litellm-bench-profile-"))
    raw_dir = args.raw or workdir
    raw_dir.mkdir(parents=True, exist_ok=True)
    wrk, wrk_note = systems.ensure_wrk(workdir)
    py_spy, spy_note = ensure_py_spy()
    print(f"{wrk_note}; {spy_note}")
    if wrk is None or py_spy is None:
        return 1
    backends = {"SQLite": f"sqlite:///{workdir / 'profile.db'}"}
    db_name = "saas_litellm_bench_profile"
    problem = database.postgres_reachable(args.postgres)
    if problem:
        print(f"PostgreSQL left out: {problem}")
    else:
        backends["PostgreSQL"] = database.create_database(args.postgres, db_name)
    results: dict[str, dict[str, Any]] = {}
    try:
        with Processes(workdir) as procs:
            upstream_proc, upstream = systems.start_upstream(procs)
            port = int(upstream.rsplit(":", 1)[1])
            for label, url in backends.items():
                server = systems.ready(
                    systems.start_server(
                        procs, f"profile-{label}", url, upstream, workdir, {"bench": "fast"}
                    )
                )
                bench = Bench(QUICK, workdir, upstream_proc, port, {label: server}, wrk)
                for mode in modes:
                    if mode == "job_based":
                        target = ours(label, server, "bench")
                    else:
                        made = billing.team_job(
                            server.url, systems.ADMIN_KEY, mode, f"bench-profile-{mode}"
                        )
                        key, job = made["key"], made["job"]
                        mine = dataclasses.replace(server, virtual_key=key, job_id=job)
                        target = ours(f"{label}-{mode}", mine, "bench")
                    name = f"{label}, {mode}"
                    print(f"profiling {name} ...", flush=True)
                    raw = raw_dir / f"{label.lower()}-{mode}.txt"
                    results[name] = profile_server(
                        bench,
                        target,
                        py_spy,
                        args.seconds,
                        raw,
                        rate=args.rate,
                        nonblocking=not args.blocking,
                    )
                procs.stop(server.proc)
    finally:
        if "PostgreSQL" in backends:
            database.drop_database(args.postgres, db_name)
        if args.raw is None:
            shutil.rmtree(workdir, ignore_errors=True)
    print()
    print(
        f"Server CPU samples per stage, wrk c=64 on llm-call, {args.seconds} s per run "
        "(share of the samples / that share of the CPU per call measured without py-spy):"
    )
    print()
    print("\n".join(table(results)))
    if args.top:
        for name, result in results.items():
            print(f"{name}: heaviest functions per stage (self samples)")
            for stage, top in heaviest(result["raw"], args.top, waiting_frames()).items():
                print(f"  {stage}")
                for fn, n in top:
                    print(f"    {n:6,}  {fn}")
    if args.raw:
        print(f"raw profiles in {raw_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
