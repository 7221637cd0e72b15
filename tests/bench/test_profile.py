"""The per-stage profile (bench/profile.py): which stage a CPU sample of the server is counted
in, given py-spy's collapsed stacks, and the table the closing note shows."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def _profile() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_profile", ROOT / "bench" / "profile.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


profile = _profile()

# The frames every request of the server runs under (uvicorn on uvloop, Starlette, our
# middleware), as py-spy writes them: root first.
LOOP = [
    "_run_module_as_main (<frozen runpy>:198)",
    "<module> (saas_litellm_server/__main__.py:5)",
    "main (saas_litellm_server/_cli.py:331)",
    "Server.run (uvicorn/server.py:86)",
    "asyncio_run (uvicorn/_compat.py:30)",
    "Runner.run (asyncio/runners.py:118)",
]
REQUEST = [
    *LOOP,
    "RequestResponseCycle.run_asgi (uvicorn/protocols/http/httptools_impl.py:420)",
    "Starlette.__call__ (starlette/applications.py:96)",
    "ServerErrorMiddleware.__call__ (starlette/middleware/errors.py:164)",
    "AccessLogMiddleware.__call__ (saas_litellm_server/_access_log.py:42)",
    "ServerTimingMiddleware.__call__ (saas_litellm_server/_timing.py:148)",
    "RequestContextMiddleware.__call__ (saas_litellm_server/_middleware.py:120)",
    "Router.__call__ (starlette/routing.py:683)",
    "Route.handle (starlette/routing.py:289)",
    "api_route.<locals>.endpoint (saas_litellm_server/routes/_operation.py:290)",
]
CALL = [
    *REQUEST,
    "idempotent (saas_litellm_server/routes/_idempotency.py:108)",
    "llm_call (saas_litellm_server/routes/jobs.py:53)",
    "run_call (saas_litellm_server/services/calls.py:525)",
]
WORKER = [
    "Thread._bootstrap (threading.py:1002)",
    "Thread._bootstrap_inner (threading.py:1045)",
    "Thread.run (threading.py:982)",
]
WAITING = "_connection_worker_thread (aiosqlite/core.py:59)"


def _stack(*frames: str) -> str:
    return ";".join(frames)


# (stack, samples, the stage they belong to)
SAMPLES = [
    # the event loop itself (uvloop's C code runs under Runner.run), and uvicorn writing
    (_stack(*LOOP), 30, profile.HTTP),
    (
        _stack(
            *REQUEST, "RequestResponseCycle.send (uvicorn/protocols/http/httptools_impl.py:560)"
        ),
        20,
        profile.HTTP,
    ),
    (_stack(*REQUEST[:-2], "Route.matches (starlette/routing.py:221)"), 5, profile.FRAMEWORK),
    # a library frame no rule claims (random) counts for its caller: the request context
    (_stack(*REQUEST[:-3], "SystemRandom.randbytes (random.py:288)"), 4, profile.MIDDLEWARE),
    (
        _stack(
            *REQUEST,
            "authorize (saas_litellm_server/routes/_auth.py:140)",
            "team_for_key (saas_litellm_server/services/auth.py:40)",
            "hash_key (saas_litellm_server/services/keys.py:55)",
        ),
        3,
        profile.AUTH,
    ),
    # the innermost claimed frame decides: the key's look-up in the store is the database's
    (
        _stack(
            *REQUEST,
            "authorize (saas_litellm_server/routes/_auth.py:140)",
            "team_for_key (saas_litellm_server/services/auth.py:40)",
            "get_key (saas_litellm_server/store/keys_sql.py:30)",
            "Connection._do_execute (asyncpg/connection.py:1800)",
        ),
        12,
        profile.DATABASE,
    ),
    (
        _stack(
            *REQUEST,
            "parse_body (saas_litellm_server/routes/_http.py:115)",
            "BaseModel.model_validate_json (pydantic/main.py:744)",
        ),
        6,
        profile.PARSING,
    ),
    (
        _stack(
            *REQUEST,
            "parse_body (saas_litellm_server/routes/_http.py:115)",
            "BaseModel.model_validate_json (pydantic/main.py:744)",
            "ChatMessage._check_role_fields (saas_litellm_models/_llm.py:80)",
        ),
        1,
        profile.PARSING,
    ),
    (
        _stack(
            *REQUEST,
            "json_response (saas_litellm_server/_responses.py:130)",
            "BaseModel.model_dump_json (pydantic/main.py:477)",
        ),
        4,
        profile.RENDERING,
    ),
    # pydantic and json count by what they do, whoever calls them
    (
        _stack(
            *CALL,
            "_Recorder.finish (saas_litellm_server/services/calls.py:300)",
            "JSONEncoder.iterencode (json/encoder.py:258)",
        ),
        2,
        profile.RENDERING,
    ),
    (
        _stack(
            *CALL,
            "OpenAIProvider._answer (saas_litellm_server/providers/openai.py:210)",
            "ClientSession._request (aiohttp/client.py:700)",
            "StreamWriter._writelines (aiohttp/http_writer.py:90)",
        ),
        15,
        profile.UPSTREAM,
    ),
    # our code's own work, and the stdlib it calls without a rule (uuid, a dataclass __init__)
    (_stack(*CALL, "uuid4 (uuid.py:724)"), 3, profile.CALL),
    (_stack(*CALL, "__create_fn__.<locals>.__init__ (<string>:3)"), 2, profile.CALL),
    # logging is logging, whichever middleware logs
    (
        _stack(
            *REQUEST[:10],
            "Logger.info (logging/__init__.py:1489)",
            "StreamHandler.emit (logging/__init__.py:1113)",
        ),
        7,
        profile.LOGGING,
    ),
    # SQLite: a statement on aiosqlite's worker thread is the database's; its wait is idle
    (
        _stack(
            *WORKER,
            "_connection_worker_thread (aiosqlite/core.py:63)",
            "_execute (saas_litellm_server/store/_sqlite.py:133)",
        ),
        9,
        profile.DATABASE,
    ),
    (_stack(*WORKER, WAITING), 800, profile.IDLE),
    (_stack(*WORKER, "Condition.wait (threading.py:327)"), 50, profile.IDLE),
    (_stack("<module> (some_tool.py:1)", "helper (some_tool.py:9)"), 1, profile.OTHER),
]


def _raw() -> str:
    return "\n".join(f"{stack} {n}" for stack, n, _ in SAMPLES) + "\n"


def test_each_sample_is_counted_in_its_stage() -> None:
    waiting = frozenset({WAITING})
    for stack, _, stage in SAMPLES:
        assert profile.classify(stack.split(";"), waiting) == stage, stack
    counted = profile.stages(_raw(), waiting)
    expected: dict[str, int] = {}
    for _, n, stage in SAMPLES:
        expected[stage] = expected.get(stage, 0) + n
    assert dict(counted) == expected
    assert set(counted) <= {*profile.STAGES, profile.IDLE}


def test_the_waiting_line_of_aiosqlites_worker_is_found_in_its_installed_source() -> None:
    waiting = profile.waiting_frames()
    assert any(f.startswith("_connection_worker_thread (aiosqlite/core.py:") for f in waiting)
    line = next(f for f in waiting if "aiosqlite" in f)
    number = int(line.rsplit(":", 1)[1].rstrip(")"))
    spec = importlib.util.find_spec("aiosqlite.core")
    assert spec is not None and spec.origin is not None
    source = Path(spec.origin).read_text()
    assert "tx.get(" in source.splitlines()[number - 1]
    # a worker running a statement is not waiting, whatever line it is on
    running = _stack(*WORKER, "_connection_worker_thread (aiosqlite/core.py:63)")
    assert profile.classify(running.split(";"), frozenset({line})) == profile.DATABASE


def test_lines_that_are_not_samples_are_skipped() -> None:
    text = "\n".join(["", "garbage", "process 12 thread 0x1 5", f"{_stack(*LOOP)} 3"])
    assert dict(profile.stages(text)) == {profile.HTTP: 3}


def test_the_table_gives_each_stage_its_share_of_the_cpu_per_call() -> None:
    result = {
        "stages": {profile.DATABASE: 30, profile.HTTP: 50, profile.CALL: 20, profile.IDLE: 900},
        "cpu_ms_per_call": 1.0,
        "cpu_ms_per_call_profiled": 1.2,
        "rps": 900.0,
    }
    lines = profile.table({"SQLite, job_based": result, "PostgreSQL, job_based": result})
    text = "\n".join(lines)
    assert lines[0] == (
        "| stage | SQLite, job_based: share / CPU ms per call | PostgreSQL, job_based: share / "
        "CPU ms per call |"
    )
    # idle samples are left out of the shares
    assert f"| {profile.HTTP} | 50.0% / 0.500 | 50.0% / 0.500 |" in text
    assert f"| {profile.DATABASE} | 30.0% / 0.300 |" in text
    assert f"| {profile.LOGGING} | 0.0% / 0.000 |" in text
    assert "1.000 / 1.200 ms; 100 (900 idle); 900" in text
    assert len([line for line in lines if line.startswith("| ")]) == 1 + len(profile.STAGES) + 1
