"""Start, wait for and stop the benchmark's processes (all on 127.0.0.1).

:class:`Processes` is a context manager: every process it started is stopped when the block ends,
also on errors and Ctrl-C (SIGTERM to the process's own group, then SIGKILL after a grace period).
Each process runs in a session of its own, so a Ctrl-C in the terminal reaches only the harness,
which then stops them in order.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import httpx

_NOFILE = Path(__file__).resolve().parent / "nofile.py"

__all__ = [
    "Idle",
    "Proc",
    "Processes",
    "cpu_seconds",
    "cpu_seconds_tree",
    "descendants",
    "free_port",
    "machine_busy",
    "rss_mb",
    "threads",
    "wait_http",
    "wait_idle",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _status(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for pid {pid}")


def rss_mb(pid: int) -> float:
    """The resident set size of ``pid`` in MiB (``VmRSS`` from ``/proc``)."""
    return _status(pid, "VmRSS") / 1024


def threads(pid: int) -> int:
    """The number of threads of ``pid``."""
    return _status(pid, "Threads")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def descendants(pid: int) -> list[int]:
    """The processes started by ``pid`` (``serve --workers N``: uvicorn's workers), and theirs."""
    out: list[int] = []
    todo = [pid]
    while todo:
        parent = todo.pop()
        try:
            tasks = list(Path(f"/proc/{parent}/task").iterdir())
        except OSError:
            continue
        for task in tasks:
            try:
                children = [int(c) for c in (task / "children").read_text().split()]
            except (OSError, ValueError):
                continue
            out += children
            todo += children
    return out


def cpu_seconds_tree(pid: int) -> float:
    """:func:`cpu_seconds` of ``pid`` and of every process it started that is still running."""
    total = 0.0
    for each in [pid, *descendants(pid)]:
        with contextlib.suppress(OSError, ValueError, IndexError):
            total += cpu_seconds(each)
    return total


def _cpu_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all cores, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


def machine_busy(seconds: float = 0.5) -> float:
    """Share of all cores (0..1) busy during the next ``seconds``."""
    busy0, total0 = _cpu_ticks()
    time.sleep(seconds)
    busy1, total1 = _cpu_ticks()
    return (busy1 - busy0) / max(1, total1 - total0)


@dataclass
class Idle:
    """What :func:`wait_idle` saw: seconds waited, and the peaks meanwhile."""

    seconds: float
    rss_peak_mb: float
    threads_peak: int


def wait_idle(pid: int, *, busy: float = 0.05, window: float = 0.1, timeout: float = 30.0) -> Idle:
    """Wait until ``pid`` uses less than ``busy`` of a core over ``window`` seconds (its work
    after a load, e.g. background tasks or disconnects to account for, is done)."""
    start = time.monotonic()
    peak, most = rss_mb(pid), threads(pid)
    while time.monotonic() - start < timeout:
        before = cpu_seconds(pid)
        time.sleep(window)
        peak, most = max(peak, rss_mb(pid)), max(most, threads(pid))
        if cpu_seconds(pid) - before < busy * window:
            break
    return Idle(time.monotonic() - start, peak, most)


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def tail(self, chars: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


def wait_http(url: str, proc: Proc, timeout: float, headers: dict[str, str] | None = None) -> float:
    """Poll ``url`` until it answers 200; return the seconds it took. Fails if ``proc`` exits."""
    start = time.monotonic()
    deadline = start + timeout
    while True:
        try:
            if httpx.get(url, timeout=1, headers=headers).status_code == 200:
                return time.monotonic() - start
        except httpx.TransportError:
            pass
        if proc.popen.poll() is not None:
            raise RuntimeError(f"{proc.name} exited ({proc.popen.returncode}):\n{proc.tail()}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{proc.name} not ready after {timeout:g} s:\n{proc.tail()}")
        time.sleep(0.1)


@dataclass
class Processes:
    """The processes of one benchmark run; logs go to ``log_dir``."""

    log_dir: Path
    grace: float = 10.0
    procs: list[Proc] = field(default_factory=list)

    def start(
        self,
        name: str,
        argv: list[str],
        *,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ) -> Proc:
        """Start ``argv`` with ``env`` (the whole environment; default: this process's), through
        ``nofile.py``: its open-files limit raised to the hard limit (same pid)."""
        log = self.log_dir / f"{name}.log"
        with log.open("wb") as out:
            popen = subprocess.Popen(
                [sys.executable, str(_NOFILE), *argv],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env if env is not None else dict(os.environ),
                cwd=cwd,
                start_new_session=True,
            )
        proc = Proc(name, popen, log)
        self.procs.append(proc)
        return proc

    def stop(self, proc: Proc) -> None:
        """SIGTERM the process's group, wait, then SIGKILL it."""
        if proc in self.procs:
            self.procs.remove(proc)
        if proc.popen.poll() is None:
            _signal_group(proc.popen, signal.SIGTERM)
            try:
                proc.popen.wait(timeout=self.grace)
            except subprocess.TimeoutExpired:
                _signal_group(proc.popen, signal.SIGKILL)
                proc.popen.wait(timeout=self.grace)
        # children of the process (same group) that outlived it
        _signal_group(proc.popen, signal.SIGKILL)

    def stop_all(self) -> None:
        for proc in reversed(list(self.procs)):
            try:
                self.stop(proc)
            except Exception as exc:  # keep stopping the others
                print(f"warning: could not stop {proc.name} (pid {proc.pid}): {exc}")

    def __enter__(self) -> Processes:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # A second Ctrl-C must not leave processes behind: ignore it while stopping.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            self.stop_all()
        finally:
            signal.signal(signal.SIGINT, previous)


def _signal_group(popen: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    """Signal the process group that ``popen`` leads (its own session); gone is fine."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(popen.pid, sig)
