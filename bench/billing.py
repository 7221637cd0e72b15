"""What a call costs the server by budget mode and by how deep into its job it is.

    python bench/billing.py [--depth 10000] [--samples 300] [--rounds 3] [--postgres URL]

The billing phase of ``run.py`` (:func:`measure`), on its own: starts, on 127.0.0.1, the fast
upstream stub and our server on SQLite and on PostgreSQL, then prints the report's section and
its target rows. For each budget mode — ``job_based`` without limits, ``consumption_tokens`` and
``consumption_usd`` with per-job limits — one team and two jobs: one filled (concurrently,
unmeasured) to ``depth`` calls, then a fresh one. Each round, the modes take turns and each
samples its fresh job and its deep one back to back — side by side, in the same state of the
database — with one sequential keep-alive client, every call a non-streamed llm-call of the same
request. A sample is the server's own time per call (``Server-Timing: total``, its median over
``samples`` calls). Targets: a call ``depth`` calls into its job within 1.2x a fresh job's calls
(issue 25), and the consumption modes within 1.1x ``job_based`` (issue 31: as fast as it).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ALIAS = "bench-priced"
BODY = {
    "messages": [{"role": "user", "content": "Say hello to the benchmark."}],
    "model": ALIAS,
    "max_tokens": 64,
}
MODES: dict[str, dict[str, Any]] = {
    "job_based": {"budget": {}, "limits": None},
    "consumption_tokens": {
        "budget": {"budget_mode": "consumption_tokens", "tokens_per_credit": 1000},
        "limits": {"max_tokens": 10**9, "max_credits": 10**9},
    },
    "consumption_usd": {
        "budget": {"budget_mode": "consumption_usd", "credits_per_dollar": 100.0},
        "limits": {"max_cost_usd": 100_000.0},
    },
}
DEPTH_RATIO = 1.2
MODE_RATIO = 1.1  # report.MODE_RATIO


def _server_ms(response: httpx.Response) -> float:
    """The server's own time for the request (``Server-Timing: total;dur=…``)."""
    timing = response.headers["server-timing"]
    return float(timing.split("total;dur=", 1)[1].split(",", 1)[0])


def _set_up(url: str, admin_key: str) -> dict[str, dict[str, str]]:
    """A priced alias, and a team per mode; each mode's key and the body of its jobs."""
    admin = {"Authorization": f"Bearer {admin_key}"}
    teams: dict[str, dict[str, str]] = {}
    with httpx.Client(base_url=url, timeout=30) as http:
        r = http.post(
            "/api/model-aliases/create",
            json={
                "model_alias": ALIAS,
                "access_groups": ["bench"],
                "deployments": [
                    {
                        "provider": "openai",
                        "model": "fast",
                        "input_cost_per_million": 0.15,
                        "output_cost_per_million": 0.6,
                    }
                ],
            },
            headers=admin,
        )
        if r.status_code not in (201, 409):
            raise RuntimeError(f"alias: {r.text[:300]}")
        for mode in MODES:
            team_id = f"bench-billing-{mode}".replace("_", "-")
            teams[mode] = _create_team(http, admin_key, mode, team_id)
    return teams


def _create_team(http: httpx.Client, admin_key: str, mode: str, team_id: str) -> dict[str, str]:
    """A team in budget mode ``mode`` (of :data:`MODES`) that may use the ``bench`` aliases."""
    r = http.post(
        "/api/teams/create",
        json={
            "organization_id": "bench-org",
            "team_id": team_id,
            "access_groups": ["bench"],
            "credits_allocated": 10**9,
            **MODES[mode]["budget"],
        },
        headers={"Authorization": f"Bearer {admin_key}"},
    )
    if r.status_code != 201:
        raise RuntimeError(f"team {mode}: {r.text[:300]}")
    return {"key": r.json()["virtual_key"], "team_id": team_id}


def team_job(url: str, admin_key: str, mode: str, team_id: str) -> dict[str, str]:
    """A team in budget mode ``mode`` and an open job of it, with :data:`MODES`' per-job limits:
    ``{"key", "job", "team_id"}`` (the throughput phase's ``consumption_tokens`` rows, and
    ``bench/profile.py``)."""
    with httpx.Client(base_url=url, timeout=30) as http:
        team = _create_team(http, admin_key, mode, team_id)
    return {**_open_job(url, mode, team), "team_id": team_id}


def _open_job(url: str, mode: str, team: dict[str, str]) -> dict[str, str]:
    body: dict[str, Any] = {"team_id": team["team_id"], "job_type": f"bench-{mode}"}
    if MODES[mode]["limits"]:
        body["limits"] = MODES[mode]["limits"]
    r = httpx.post(
        f"{url}/api/jobs/create", json=body, headers={"Authorization": f"Bearer {team['key']}"}
    )
    if r.status_code != 201:
        raise RuntimeError(f"job {mode}: {r.text[:300]}")
    return {"key": team["key"], "job": r.json()["job_id"]}


def _sample(http: httpx.Client, target: dict[str, str], calls: int) -> list[float]:
    out = []
    headers = {"Authorization": f"Bearer {target['key']}"}
    path = f"/api/jobs/{target['job']}/llm-call"
    for _ in range(calls):
        r = http.post(path, json=BODY, headers=headers)
        if r.status_code != 200:
            raise RuntimeError(f"llm-call: {r.status_code} {r.text[:300]}")
        out.append(_server_ms(r))
    return out


async def _fill(url: str, target: dict[str, str], calls: int, concurrency: int = 16) -> None:
    """``calls`` more calls into the job, concurrently (not measured)."""
    headers = {"Authorization": f"Bearer {target['key']}"}
    path = f"/api/jobs/{target['job']}/llm-call"
    left = calls

    async def worker(http: httpx.AsyncClient) -> None:
        nonlocal left
        while left > 0:
            left -= 1
            r = await http.post(path, json=BODY, headers=headers)
            if r.status_code != 200:
                raise RuntimeError(f"fill: {r.status_code} {r.text[:300]}")

    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        await asyncio.gather(*(worker(http) for _ in range(concurrency)))


def _quiet(seconds: float = 30.0) -> None:
    """Until the machine is idle (the database's work after the fill included), at most
    ``seconds``."""
    from processes import machine_busy

    deadline = time.monotonic() + seconds
    while machine_busy(0.5) > 0.05 and time.monotonic() < deadline:
        pass


def measure(url: str, admin_key: str, *, depth: int, samples: int, rounds: int) -> dict[str, Any]:
    """Per mode, per round: the median server time of a call of a fresh job and of one
    ``depth`` calls deep, sampled back to back (the modes take turns in each round)."""
    teams = _set_up(url, admin_key)
    deep_jobs = {mode: _open_job(url, mode, team) for mode, team in teams.items()}
    started = time.monotonic()
    for mode in MODES:
        asyncio.run(_fill(url, deep_jobs[mode], depth))
    fresh_jobs = {mode: _open_job(url, mode, team) for mode, team in teams.items()}
    _quiet()
    first: dict[str, list[float]] = {m: [] for m in MODES}
    deep: dict[str, list[float]] = {m: [] for m in MODES}
    with httpx.Client(base_url=url, timeout=60) as http:
        for mode in MODES:  # warm-up: connections, caches, each job's first hold
            _sample(http, fresh_jobs[mode], 20)
            _sample(http, deep_jobs[mode], 20)
        for r in range(rounds):
            order = list(MODES)[r % len(MODES) :] + list(MODES)[: r % len(MODES)]
            for mode in order:
                first[mode].append(statistics.median(_sample(http, fresh_jobs[mode], samples)))
                deep[mode].append(statistics.median(_sample(http, deep_jobs[mode], samples)))
    return {
        "depth": depth,
        "samples": samples,
        "rounds": rounds,
        "first": first,
        "deep": deep,
        "seconds": time.monotonic() - started,
    }


def ratios(result: dict[str, Any]) -> dict[str, float]:
    """``depth <mode>``: deep over first; ``mode <mode> <when>``: the mode over job_based
    (medians of per-round ratios)."""
    out: dict[str, float] = {}
    first, deep = result["first"], result["deep"]
    for mode in MODES:
        out[f"depth {mode}"] = statistics.median(
            d / f for d, f in zip(deep[mode], first[mode], strict=True)
        )
    for mode in MODES:
        if mode == "job_based":
            continue
        for when, figures in (("first", first), ("deep", deep)):
            out[f"mode {mode} {when}"] = statistics.median(
                m / j for m, j in zip(figures[mode], figures["job_based"], strict=True)
            )
    return out


def main() -> int:
    import database
    import nofile
    import systems
    from processes import Processes

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--depth", type=int, default=10_000, help="calls into the job")
    parser.add_argument("--samples", type=int, default=300, help="calls per sample")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (default 3)")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    nofile.raise_nofile()
    workdir = Path(tempfile.mkdtemp(prefix="saas-litellm-bench-billing-"))
    backends = {"SQLite": f"sqlite:///{workdir / 'billing.db'}"}
    problem = database.postgres_reachable(args.postgres)
    if problem:
        print(f"PostgreSQL left out: {problem}")
    else:
        backends["PostgreSQL"] = database.create_database(args.postgres, "saas_litellm_bench_bill")
    try:
        with Processes(workdir) as procs:
            _, upstream = systems.start_upstream(procs)
            for label, url in backends.items():
                server = systems.ready(
                    systems.start_server(
                        procs, f"billing-{label}", url, upstream, workdir, {"bench": "fast"}
                    )
                )
                result = measure(
                    server.url,
                    systems.ADMIN_KEY,
                    depth=args.depth,
                    samples=args.samples,
                    rounds=args.rounds,
                )
                print(render(label, result))
                procs.stop(server.proc)
    finally:
        if "PostgreSQL" in backends:
            database.drop_database(args.postgres, "saas_litellm_bench_bill")
    return 0


def render(label: str, result: dict[str, Any]) -> str:
    """A plain-text summary (``run.py``'s report has the Markdown section)."""
    lines = [f"{label}: server ms per llm-call (median of {result['rounds']} rounds)"]
    for mode in MODES:
        f = statistics.median(result["first"][mode])
        d = statistics.median(result["deep"][mode])
        lines.append(f"  {mode:20} first {f:.3f}  at {result['depth']:,} calls {d:.3f}")
    for name, value in ratios(result).items():
        goal = DEPTH_RATIO if name.startswith("depth") else MODE_RATIO
        lines.append(f"  {name:34} {value:.2f}x  ({'met' if value <= goal else 'NOT met'})")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
