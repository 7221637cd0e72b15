"""A bounded soak: the server under steady mixed load for a few minutes, on loopback.

    python soak/run.py [--minutes 3] [--concurrency 16] [--database-url URL]

Starts the server as a real process (PostgreSQL when reachable, else SQLite), drives job
lifecycles, plain and streamed calls, repeated completions and disconnecting streams from 16
concurrent workers, samples the server's memory (RSS) and the error counts every 10 s, and at the
end checks that the ledger balances. Exits non-zero on any 5xx or an unbalanced ledger. Stops by
itself.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

PG_URL = os.environ.get(
    "SAAS_LITELLM_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
MSG = {"messages": [{"role": "user", "content": "Tell me a short story about soak testing"}]}


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def postgres_database() -> str | None:
    try:
        import asyncpg

        conn = await asyncpg.connect(PG_URL, timeout=3)
    except Exception:
        return None
    try:
        await conn.execute("DROP DATABASE IF EXISTS saas_litellm_soak WITH (FORCE)")
        await conn.execute("CREATE DATABASE saas_litellm_soak")
    finally:
        await conn.close()
    return PG_URL.rsplit("/", 1)[0] + "/saas_litellm_soak"


async def drop_database() -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_URL, timeout=3)
    try:
        await conn.execute("DROP DATABASE IF EXISTS saas_litellm_soak WITH (FORCE)")
    finally:
        await conn.close()


async def soak(args: argparse.Namespace) -> int:
    tmp = tempfile.TemporaryDirectory()
    url = args.database_url or await postgres_database() or f"sqlite:///{tmp.name}/soak.db"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "saas_litellm_server",
            "serve",
            "--port",
            str(port),
            "--database-url",
            url,
            "--log-level",
            "warning",
        ],
        env={**os.environ, "SAAS_LITELLM_MOCK_CHUNK_DELAY": "0.005"},
    )
    base = f"http://127.0.0.1:{port}"
    counts: Counter[str] = Counter()
    samples: list[tuple[float, float, int, int]] = []
    try:
        async with httpx.AsyncClient(
            base_url=base, timeout=30, limits=httpx.Limits(max_connections=64)
        ) as http:
            for _ in range(300):
                try:
                    if (await http.get("/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
            await http.post(
                "/api/organizations/create", json={"organization_id": "soak", "name": "Soak"}
            )
            key = (
                await http.post(
                    "/api/teams/create",
                    json={
                        "organization_id": "soak",
                        "team_id": "soak",
                        "credits_allocated": 10**9,
                    },
                )
            ).json()["virtual_key"]
            auth = {"Authorization": f"Bearer {key}"}
            stop_at = time.monotonic() + args.minutes * 60
            rng = random.Random(7)

            def count(r: httpx.Response) -> None:
                counts["requests"] += 1
                counts[f"{r.status_code // 100}xx"] += 1

            async def worker() -> None:
                while time.monotonic() < stop_at:
                    r = await http.post(
                        "/api/jobs/create",
                        headers=auth,
                        json={"team_id": "soak", "job_type": "soak"},
                    )
                    count(r)
                    job = r.json().get("job_id")
                    if not job:
                        continue
                    for _ in range(rng.randint(1, 3)):
                        if rng.random() < 0.3:
                            async with http.stream(
                                "POST", f"/api/jobs/{job}/llm-call-stream", json=MSG, headers=auth
                            ) as s:
                                async for line in s.aiter_lines():
                                    if rng.random() < 0.05:
                                        counts["disconnects"] += 1
                                        break  # a user closing the tab
                                    del line
                                counts["requests"] += 1
                                counts[f"{s.status_code // 100}xx"] += 1
                        else:
                            count(
                                await http.post(f"/api/jobs/{job}/llm-call", json=MSG, headers=auth)
                            )
                    status = rng.choice(["completed", "completed", "failed"])
                    for _ in range(rng.choice([1, 1, 2])):  # sometimes completed twice
                        count(
                            await http.post(
                                f"/api/jobs/{job}/complete", headers=auth, json={"status": status}
                            )
                        )

            async def sampler() -> None:
                start = time.monotonic()
                while time.monotonic() < stop_at:
                    samples.append(
                        (
                            time.monotonic() - start,
                            rss_mb(server.pid),
                            counts["requests"],
                            counts["5xx"],
                        )
                    )
                    print(
                        f"t={samples[-1][0]:6.0f}s  rss={samples[-1][1]:7.1f} MB  "
                        f"requests={counts['requests']:7d}  5xx={counts['5xx']}",
                        flush=True,
                    )
                    await asyncio.sleep(10)

            await asyncio.gather(sampler(), *[worker() for _ in range(args.concurrency)])
            samples.append(
                (args.minutes * 60, rss_mb(server.pid), counts["requests"], counts["5xx"])
            )
            await asyncio.sleep(1)  # let the last disconnected streams be recorded
            balance = (await http.get("/api/credits/balance", headers=auth)).json()
            usage = (await http.get("/api/teams/soak/usage", headers=auth)).json()
            transactions = await _ledger(http, auth)
    finally:
        server.terminate()
        server.wait(timeout=30)
        tmp.cleanup()
        if url.endswith("/saas_litellm_soak"):
            await drop_database()
    row = usage["by_job_type"][0]
    balanced = (
        # a completed job whose only calls were cut off (disconnects) is not charged
        balance["credits_used"] == row["credits"] <= row["completed"]
        and balance["credits_reserved"] == row["jobs"] - row["completed"] - row["failed"]
        # the credit ledger: its transactions add up to the balance, none ever went negative
        and sum(t["credits"] for t in transactions) == balance["credits_remaining"]
        and all(t["credits_remaining_after"] >= 0 for t in transactions)
        and sum(1 for t in transactions if t["kind"] == "charge") == row["credits"]
    )
    first, last = samples[0][1], samples[-1][1]
    print(
        f"\nsoak: {args.minutes} min, {args.concurrency} workers, database "
        f"{'PostgreSQL' if url.startswith('postgres') else 'SQLite'}"
    )
    print(
        f"requests {counts['requests']}, 2xx {counts['2xx']}, 4xx {counts['4xx']}, "
        f"5xx {counts['5xx']}, client disconnects {counts['disconnects']}"
    )
    print(
        f"jobs {row['jobs']}, calls {row['calls']}, credits used {balance['credits_used']}, "
        f"reserved {balance['credits_reserved']}: ledger {'balanced' if balanced else 'WRONG'}"
    )
    print(f"server RSS {first:.1f} MB -> {last:.1f} MB (peak {max(s[1] for s in samples):.1f})")
    return 0 if balanced and counts["5xx"] == 0 else 1


async def _ledger(http: httpx.AsyncClient, auth: dict[str, str]) -> list[dict[str, Any]]:
    """Every transaction of the soak team's credit ledger."""
    rows: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 500, **({"cursor": cursor} if cursor else {})}
        page = (await http.get("/api/teams/soak/transactions", params=params, headers=auth)).json()
        rows.extend(page["transactions"])
        cursor = page["next_cursor"]
        if cursor is None:
            return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--database-url")
    return asyncio.run(soak(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
