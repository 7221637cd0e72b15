"""Room for many sockets: ``RLIMIT_NOFILE`` soft limit raised to the hard limit.

Every process of the benchmark calls :func:`raise_nofile` (the harness, ``load.py``,
``fast_upstream.py``); processes it does not write (our server, the LiteLLM proxy) are started
through this module, which raises the limit and then ``exec``\\ s them (same pid):

    python bench/nofile.py PROGRAM [ARG ...]

10,000 open streams take 10,000 sockets in the load process and in the stub, and 20,000 in our
server (one to the client and one to the upstream per stream). The hard limit itself can only be
raised with ``CAP_SYS_RESOURCE``; when that is missing the limit is what it is, and the report
says so (:func:`limit`).
"""

from __future__ import annotations

import contextlib
import os
import resource
import sys
from pathlib import Path

__all__ = ["limit", "raise_nofile"]


def _nr_open() -> int:
    try:
        return int(Path("/proc/sys/fs/nr_open").read_text())
    except (OSError, ValueError):
        return 1 << 20


def raise_nofile() -> tuple[int, int]:
    """Raise the soft ``RLIMIT_NOFILE`` to the hard one (an infinite hard limit: to the kernel's
    ``fs.nr_open``); return ``(soft, hard)`` afterwards."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = _nr_open() if hard == resource.RLIM_INFINITY else hard
    if soft == resource.RLIM_INFINITY or soft >= want:
        return soft, hard
    with contextlib.suppress(ValueError, OSError):  # else keep the soft limit we have
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return soft, hard


def limit(pid: int) -> int | None:
    """The soft "Max open files" of a running process (``/proc/PID/limits``)."""
    try:
        for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
            if line.startswith("Max open files"):
                value = line.split()[3]
                return None if value == "unlimited" else int(value)
    except (OSError, ValueError, IndexError):
        pass
    return None


if __name__ == "__main__":
    if len(sys.argv) < 2:
        raise SystemExit("usage: python bench/nofile.py PROGRAM [ARG ...]")
    raise_nofile()
    os.execvp(sys.argv[1], sys.argv[1:])
