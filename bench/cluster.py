"""A throw-away PostgreSQL cluster with ``pg_stat_statements`` preloaded, and what it costs.

The machine's PostgreSQL does not preload ``pg_stat_statements`` and must not be reconfigured
(others use it), so ``capacity.py`` measures on a cluster of its own: ``initdb`` into a temporary
directory owned by ``postgres`` (``runuser`` when run as root, as PostgreSQL refuses to run as
root), ``pg_ctl start`` on a free loopback port, stopped and removed at the end, also on errors.
Its processes are the postmaster's children, so its CPU time is theirs, read from ``/proc``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from glob import glob
from pathlib import Path
from typing import Any

import asyncpg
from processes import descendants, free_port

__all__ = ["Cluster", "cluster", "sql"]

ADMIN_DATABASE = "postgres"  # the probes' database: their statements are not the server's


def _binaries() -> Path:
    found = sorted(glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise RuntimeError("PostgreSQL's server binaries are missing (apt-get install postgresql)")
    return Path(found[-1]).parent


@dataclass(frozen=True)
class Cluster:
    """A running cluster: its data directory, port and binaries."""

    data: Path
    port: int
    bin_dir: Path

    def url(self, database: str = ADMIN_DATABASE) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def postmaster_pid(self) -> int:
        return int((self.data / "postmaster.pid").read_text().split("\n", 1)[0])

    def cpu_seconds(self) -> float:
        """CPU time of the postmaster and every process it runs (backends, WAL writer,
        checkpointer, autovacuum); a backend that exited no longer counts. From
        ``/proc/<pid>/schedstat`` (nanoseconds; PostgreSQL's processes have one thread each):
        ``/proc/<pid>/stat``'s 10 ms ticks are too coarse for a few hundred calls of 0.2 ms."""
        postmaster = self.postmaster_pid()
        total = 0.0
        for pid in [postmaster, *descendants(postmaster)]:
            with contextlib.suppress(OSError, ValueError, IndexError):
                total += int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e9
        return total


def _as_postgres() -> list[str]:
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


@contextlib.contextmanager
def cluster(max_connections: int = 200) -> Iterator[Cluster]:
    """A fresh cluster with ``pg_stat_statements`` (the extension created in ``postgres`` and
    ``template1``, so every database created afterwards has it too)."""
    bin_dir = _binaries()
    root = Path(tempfile.mkdtemp(prefix="saas-litellm-capacity-pg-"))
    data = root / "data"
    as_user = _as_postgres()

    def run(*command: str) -> None:
        done = subprocess.run(
            [*as_user, str(bin_dir / command[0]), *command[1:]],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{command[0]} failed: {done.stdout[-800:]}{done.stderr[-800:]}")

    started = False
    try:
        if as_user:
            subprocess.run(["chown", "postgres:", str(root)], check=True)
        run("initdb", "-D", str(data), "-A", "trust", "-U", "postgres")
        port = free_port()
        options = (
            f"-p {port} -k {root} -c listen_addresses=127.0.0.1"
            f" -c shared_preload_libraries=pg_stat_statements -c max_connections={max_connections}"
            " -c pg_stat_statements.max=10000 -c pg_stat_statements.track=top"
        )
        run("pg_ctl", "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start")
        started = True
        handle = Cluster(data, port, bin_dir)
        for database in (ADMIN_DATABASE, "template1"):
            sql(handle.url(database), "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        yield handle
    finally:
        if started:
            with contextlib.suppress(RuntimeError, subprocess.SubprocessError):
                run("pg_ctl", "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)


def sql(url: str, query: str, *args: Any) -> list[tuple[Any, ...]]:
    """The rows of one statement on a connection of its own (a probe, not the load)."""

    async def fetch() -> list[tuple[Any, ...]]:
        conn = await asyncpg.connect(url, timeout=10)
        try:
            return [tuple(row) for row in await conn.fetch(query, *args)]
        finally:
            await conn.close()

    return asyncio.run(fetch())
