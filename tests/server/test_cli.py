"""``saas-litellm-server serve`` and ``demo`` as real processes (_cli.py, _demo.py)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli(*args: str, env: dict[str, str] | None = None, **kw: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "saas_litellm_server", *args],
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **kw,  # type: ignore[call-overload]
    )


def wait_ready(url: str, proc: subprocess.Popen[str], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(
                f"server exited early:\n{proc.stdout.read() if proc.stdout else ''}"
            )
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("server did not become ready")


def test_serve_runs_with_flags_and_environment(database_url: str, tmp_path: Path) -> None:
    port = free_port()
    admin = "adm-cli-test-key"
    proc = cli(
        "serve",
        "--port",
        str(port),
        "--database-url",
        database_url,
        env={"SAAS_LITELLM_ADMIN_KEY": admin},
        cwd=tmp_path,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_ready(url, proc)
        r = httpx.post(
            f"{url}/api/organizations/create", json={"organization_id": "o", "name": "O"}
        )
        assert r.status_code == 401  # the admin key from the environment is enforced
        r = httpx.post(
            f"{url}/api/organizations/create",
            json={"organization_id": "o", "name": "O"},
            headers={"Authorization": f"Bearer {admin}"},
        )
        assert r.status_code == 201
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=15)
    # uvicorn shuts down gracefully, then re-raises SIGTERM so the exit status tells why
    assert "Finished server process" in out
    assert "Traceback" not in out


def test_serve_refuses_a_public_bind_without_an_admin_key(tmp_path: Path) -> None:
    proc = cli(
        "serve",
        "--host",
        "0.0.0.0",
        "--port",
        str(free_port()),
        env={"SAAS_LITELLM_ADMIN_KEY": ""},
        cwd=tmp_path,
    )
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert "refusing to bind to 0.0.0.0" in out


def test_demo_plays_the_guide_and_spends_one_credit(tmp_path: Path) -> None:
    proc = cli("demo", "--chunk-delay", "0", cwd=tmp_path)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, out
    assert "created team 'acme-corp' with 1000 credits" in out
    assert "credits after: remaining 999 (was 1000), used 1, reserved 0" in out
    assert "Traceback" not in out
    assert list(tmp_path.iterdir()) == []  # the demo's database lives in a temp dir


def test_serve_refuses_a_bad_config_file_clearly(tmp_path: Path) -> None:
    bad = tmp_path / "models.toml"
    bad.write_text('[[model_aliases]]\nmodel_alias = "X"\ndeployments = []\n')
    proc = cli("serve", "--port", str(free_port()), "--config", str(bad), cwd=tmp_path)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert "deployments" in out and "Traceback" not in out
