"""The systems under test, started as real processes on loopback, and the tools that load them.

- the fast upstream stub (``fast_upstream.py``);
- our server (``python -m saas_litellm_server serve``) on SQLite or PostgreSQL, with a config
  file declaring the benchmark's model aliases, and a team with a long-lived open job;
- a real LiteLLM proxy forwarding to the same stub (installed into ``.nox/litellm-proxy`` when
  missing, like ``nox -s interop`` does);
- ``wrk`` (installed with ``apt-get`` when missing).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from processes import Proc, Processes, free_port, wait_http

__all__ = [
    "ADMIN_KEY",
    "LITELLM_MASTER_KEY",
    "LITELLM_SPEC",
    "Server",
    "create_team",
    "ensure_litellm",
    "ensure_wrk",
    "litellm_version",
    "ready",
    "start_litellm",
    "start_server",
    "start_upstream",
    "wait_litellm",
]

BENCH = Path(__file__).resolve().parent
ADMIN_KEY = "sk-bench-admin-key-0123456789abcdef"
LITELLM_MASTER_KEY = "sk-bench-litellm-master"
LITELLM_SPEC = "litellm[proxy]==1.108.7"
TEAM_ID = "bench-team"


@dataclass
class Server:
    """One running instance of our server, with a team and an open job ready for load."""

    name: str
    proc: Proc
    url: str
    port: int
    database_url: str
    virtual_key: str = ""
    job_id: str = ""

    @property
    def team_id(self) -> str:
        return TEAM_ID

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.virtual_key}"}


def start_upstream(procs: Processes) -> tuple[Proc, str]:
    port = free_port()
    proc = procs.start("upstream", [sys.executable, str(BENCH / "fast_upstream.py"), str(port)])
    url = f"http://127.0.0.1:{port}"
    wait_http(f"{url}/health", proc, timeout=15)
    return proc, url


def _config_toml(aliases: dict[str, str]) -> str:
    lines = ['[[access_groups]]\ngroup_name = "bench"\n']
    for alias, model in aliases.items():
        lines.append(
            f'[[model_aliases]]\nmodel_alias = "{alias}"\naccess_groups = ["bench"]\n'
            f'[[model_aliases.deployments]]\nprovider = "openai"\nmodel = "{model}"\n'
        )
    return "\n".join(lines)


def _server_env(upstream: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAAS_LITELLM_")}
    return {
        **env,
        "SAAS_LITELLM_UPSTREAM_BASE_URL": upstream,
        "SAAS_LITELLM_ADMIN_KEY": ADMIN_KEY,
    }


def start_server(
    procs: Processes,
    name: str,
    database_url: str,
    upstream: str,
    workdir: Path,
    aliases: dict[str, str],
    *,
    workers: int = 1,
    env: dict[str, str] | None = None,
) -> Server:
    """Start ``python -m saas_litellm_server serve`` (not yet waited for: see :func:`ready`),
    with ``workers`` worker processes and ``env`` added to its environment."""
    config = workdir / f"{name}.toml"
    config.write_text(_config_toml(aliases))
    port = free_port()
    argv = [sys.executable, "-m", "saas_litellm_server", "serve", "--port", str(port)]
    argv += ["--database-url", database_url, "--config", str(config)]
    if workers != 1:
        argv += ["--workers", str(workers)]
    proc = procs.start(name, argv, env={**_server_env(upstream), **(env or {})}, cwd=workdir)
    return Server(name, proc, f"http://127.0.0.1:{port}", port, database_url)


def ready(server: Server, credits: int = 10_000_000) -> Server:
    """Wait for the server, then create an organization, a team with ``credits`` and one job."""
    wait_http(f"{server.url}/health", server.proc, timeout=60)
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    with httpx.Client(base_url=server.url, timeout=30) as http:

        def post(path: str, body: dict[str, object], headers: dict[str, str]) -> dict[str, str]:
            response = http.post(path, json=body, headers=headers)
            if response.status_code >= 300:
                raise RuntimeError(f"{server.name}: POST {path} -> {response.text[:500]}")
            result: dict[str, str] = response.json()
            return result

        post("/api/organizations/create", {"organization_id": "bench-org", "name": "Bench"}, admin)
        team = post(
            "/api/teams/create",
            {
                "organization_id": "bench-org",
                "team_id": TEAM_ID,
                "access_groups": ["bench"],
                "credits_allocated": credits,
            },
            admin,
        )
        server.virtual_key = team["virtual_key"]
        job = post("/api/jobs/create", {"team_id": TEAM_ID, "job_type": "bench"}, server.auth())
        server.job_id = job["job_id"]
    return server


def create_team(server: Server, team_id: str) -> None:
    """Another team (for pre-filled rows), with no key the benchmark needs."""
    with httpx.Client(base_url=server.url, timeout=30) as http:
        response = http.post(
            "/api/teams/create",
            json={"organization_id": "bench-org", "team_id": team_id, "credits_allocated": 1},
            headers={"Authorization": f"Bearer {ADMIN_KEY}"},
        )
        response.raise_for_status()


# -- LiteLLM ---------------------------------------------------------------------------------


def ensure_litellm(venv: Path, log_dir: Path) -> tuple[str | None, str]:
    """The ``litellm`` binary (installing it into ``venv`` when missing) and what happened."""
    override = os.environ.get("SAAS_LITELLM_LITELLM_BIN")
    if override:
        if Path(override).exists():
            return override, f"LiteLLM proxy from SAAS_LITELLM_LITELLM_BIN ({override})"
        return None, f"SAAS_LITELLM_LITELLM_BIN={override} does not exist"
    binary = venv / "bin" / "litellm"
    if binary.exists():
        return str(binary), f"LiteLLM proxy from {venv}"
    print(f"installing {LITELLM_SPEC} into {venv} (one-time, ~750 MB) ...", flush=True)
    start = time.monotonic()
    log = log_dir / "litellm-install.log"
    with log.open("wb") as out:
        try:
            subprocess.run(
                [sys.executable, "-m", "venv", str(venv)],
                check=True,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=300,
            )
            subprocess.run(
                [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", LITELLM_SPEC],
                check=True,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=1200,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            tail = log.read_text(errors="replace")[-800:]
            return None, f"installing {LITELLM_SPEC} failed ({exc}): {tail}"
    if not binary.exists():
        return None, f"installing {LITELLM_SPEC} gave no {binary}"
    return str(binary), f"LiteLLM proxy installed into {venv} in {time.monotonic() - start:.0f} s"


def _litellm_config(upstream: str, models: list[str]) -> str:
    lines = ["model_list:"]
    for model in models:
        lines.append(
            f"  - model_name: {model}\n"
            f'    litellm_params: {{model: openai/{model}, api_base: "{upstream}", '
            "api_key: sk-fake}"
        )
    lines += [
        "general_settings:",
        f"  master_key: {LITELLM_MASTER_KEY}",
        "litellm_settings:",
        "  num_retries: 0",
    ]
    return "\n".join(lines) + "\n"


def start_litellm(
    procs: Processes, binary: str, upstream: str, workdir: Path, models: list[str]
) -> tuple[Proc, str]:
    """Start the proxy (ready after ~6-10 s: wait with :func:`wait_litellm`)."""
    folder = workdir / "litellm"
    folder.mkdir(exist_ok=True)
    (folder / "config.yaml").write_text(_litellm_config(upstream, models))
    port = free_port()
    argv = [binary, "--config", "config.yaml", "--host", "127.0.0.1", "--port", str(port)]
    proc = procs.start(
        "litellm", argv, cwd=folder, env={**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    )
    return proc, f"http://127.0.0.1:{port}"


def wait_litellm(proc: Proc, url: str) -> float:
    return wait_http(f"{url}/health/liveliness", proc, timeout=120)


def litellm_version(binary: str) -> str:
    python = Path(binary).parent / "python"
    try:
        out = subprocess.run(
            [str(python), "-c", "import importlib.metadata as m; print(m.version('litellm'))"],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


# -- wrk -------------------------------------------------------------------------------------


def ensure_wrk(log_dir: Path) -> tuple[str | None, str]:
    """The ``wrk`` binary (``apt-get install -y wrk`` when missing) and what happened."""
    found = shutil.which("wrk")
    if found:
        return found, "wrk found on the PATH"
    apt = shutil.which("apt-get")
    if apt is None:
        return None, "wrk is not installed and there is no apt-get to install it"
    print("wrk is missing: apt-get update && apt-get install -y wrk (one-time) ...", flush=True)
    log = log_dir / "wrk-install.log"
    with log.open("wb") as out:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for argv in ([apt, "update"], [apt, "install", "-y", "wrk"]):
            try:
                subprocess.run(
                    argv, check=True, stdout=out, stderr=subprocess.STDOUT, env=env, timeout=600
                )
            except (OSError, subprocess.SubprocessError) as exc:
                tail = log.read_text(errors="replace")[-500:]
                return None, f"installing wrk failed ({' '.join(argv)}: {exc}): {tail}"
    found = shutil.which("wrk")
    if not found:
        return None, "apt-get installed no wrk"
    return found, "wrk was missing and has been installed with apt-get"
