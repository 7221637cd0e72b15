"""The webhook receiver of the tests (webhook_receiver.py) as a real process, started,
stopped and restarted on one port, its state in files of a directory: the secrets it trusts,
a script of failures, and the deliveries it received."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from support import free_port, stop, wait_until_up


class Receiver:
    """The receiver process: started, stopped and restarted on one port, its state in files."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def start(self) -> None:
        script = Path(__file__).parent / "webhook_receiver.py"
        self.proc = subprocess.Popen(
            [sys.executable, str(script), str(self.port), str(self.dir)],
            stderr=subprocess.DEVNULL,
        )
        wait_until_up(
            f"http://127.0.0.1:{self.port}/_receiver/health", self.proc, "the receiver", seconds=30
        )

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc, seconds=5)
            self.proc = None

    def trust(self, secret: str) -> None:
        secrets = self._read("secrets.json", [])
        self._write("secrets.json", [*secrets, secret])

    def script(self, **script: Any) -> None:
        self._write("script.json", script)

    def received(self) -> list[dict[str, Any]]:
        path = self.dir / "received.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def accepted(self) -> list[dict[str, Any]]:
        """Deliveries answered 200 at once (the server recorded them as delivered)."""
        return [r for r in self.received() if r["status"] == 200 and not r["held"]]

    def _read(self, name: str, default: Any) -> Any:
        try:
            return json.loads((self.dir / name).read_text())
        except OSError:
            return default

    def _write(self, name: str, value: Any) -> None:
        tmp = self.dir / f".{name}.test"
        tmp.write_text(json.dumps(value))
        tmp.replace(self.dir / name)
