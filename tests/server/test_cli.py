"""``saas-litellm-server serve`` and ``demo`` as real processes (_cli.py, _demo.py)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest


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
    admin = "adm-cli-test-key-0123456789abcdef"
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
    # it drains (nothing in flight: at once) and exits 0, as a process manager expects
    assert proc.returncode == 0, out
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


# --- start-up checks (_preflight.py): one line naming the setting and the fix, exit code 2,
# --- no traceback, nothing created on disk


def run_main(*argv: str) -> int:
    from saas_litellm_server._cli import main

    return main(list(argv))


@pytest.fixture(autouse=True)
def _root_logging_restored() -> Iterator[None]:
    """``main`` run in this process sets up logging as ``serve`` does (one handler on the
    stderr of the moment: pytest's capture, closed after the test): put the root logger back."""
    import logging

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No SAAS_LITELLM_* setting from the outside; the working directory is an empty tmp dir."""
    for name in list(os.environ):
        if name.startswith("SAAS_LITELLM_") and "TEST" not in name and "REQUIRE" not in name:
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def one_clear_line(capsys: pytest.CaptureFixture[str]) -> str:
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert lines[0].startswith("saas-litellm-server: ")
    return lines[0]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///missing_dir/x.db", ["--database-url", "missing_dir", "does not exist"]),
        ("mysql://me:hunter2@db.example/app", ["--database-url", "'mysql'", "sqlite:///"]),
        ("not a url", ["--database-url", "not a database URL", "postgresql://"]),
    ],
)
def test_serve_refuses_an_unusable_database_url_in_one_line(
    clean_env: Path, capsys: pytest.CaptureFixture[str], url: str, expected: list[str]
) -> None:
    assert run_main("serve", "--database-url", url) == 2
    line = one_clear_line(capsys)
    assert all(part in line for part in expected), line
    assert "hunter2" not in line
    assert list(clean_env.iterdir()) == []


def test_serve_names_an_unreachable_postgres_without_its_password(
    clean_env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()  # nothing listens there: connection refused
    monkeypatch.setenv(
        "SAAS_LITELLM_DATABASE_URL", f"postgresql://me:hunter2@127.0.0.1:{port}/nope"
    )
    assert run_main("serve") == 2
    line = one_clear_line(capsys)
    assert f"postgresql://me:***@127.0.0.1:{port}/nope" in line
    assert "connection refused" in line and "SAAS_LITELLM_DATABASE_URL" in line
    assert "hunter2" not in line


def test_serve_names_a_missing_postgres_database(
    clean_env: Path, capsys: pytest.CaptureFixture[str], postgres_database: str
) -> None:
    missing = postgres_database.rsplit("/", 1)[0] + "/saas_litellm_no_such_db"
    assert run_main("serve", "--database-url", missing) == 2
    line = one_clear_line(capsys)
    assert '"saas_litellm_no_such_db" does not exist' in line and "fix --database-url" in line


def test_an_unreachable_postgres_is_one_line_from_the_real_command(tmp_path: Path) -> None:
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/nope"
    proc = cli("serve", "--database-url", url, cwd=tmp_path)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert out.splitlines() == [
        f"saas-litellm-server: cannot connect to the database {url} (connection refused); "
        "check that PostgreSQL is running there, or fix --database-url"
    ]


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("SAAS_LITELLM_UPSTREAM_TIMEOUT", "-1", "greater than 0"),
        ("SAAS_LITELLM_PORT", "eighty", "valid integer"),
        ("SAAS_LITELLM_CORS_ORIGINS", '["http://a", ', "comma-separated"),
        ("SAAS_LITELLM_LOG_FORMAT", "xml", "'text' or 'json'"),
        ("SAAS_LITELLM_SHUTDOWN_GRACE_SECONDS", "-1", "greater than or equal to 0"),
    ],
)
def test_an_invalid_setting_names_its_environment_variable(
    clean_env: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    value: str,
    expected: str,
) -> None:
    monkeypatch.setenv(name, value)
    assert run_main("serve") == 2
    line = one_clear_line(capsys)
    assert f"{name}={value} is invalid" in line and expected in line
    assert "unset it (default: " in line
    assert list(clean_env.iterdir()) == []


def test_several_invalid_settings_share_one_line_naming_variable_and_flag(
    clean_env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAAS_LITELLM_UPSTREAM_TIMEOUT", "0")
    assert run_main("serve", "--port", "70000") == 2
    line = one_clear_line(capsys)
    assert "SAAS_LITELLM_UPSTREAM_TIMEOUT=0 is invalid" in line
    assert "--port=70000 is invalid" in line and "leave the flag out" in line


def test_a_config_naming_an_unknown_access_group_creates_nothing(
    clean_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = clean_env / "models.toml"
    config.write_text(
        '[[model_aliases]]\nmodel_alias = "X"\naccess_groups = ["gpt-models"]\n'
        '[[model_aliases.deployments]]\nprovider = "mock"\nmodel = "m"\n'
    )
    assert run_main("serve", "--config", str(config)) == 2
    line = one_clear_line(capsys)
    assert "unknown access group(s) gpt-models" in line and "access_groups" in line
    assert "--config" in line
    assert list(clean_env.iterdir()) == [config]  # no SQLite file


def test_a_config_with_an_openai_deployment_but_no_upstream_is_refused(
    clean_env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = clean_env / "models.yaml"
    config.write_text(
        "model_aliases:\n- model_alias: Chat\n  deployments:\n"
        "  - {provider: openai, model: gpt-4o-mini}\n"
    )
    monkeypatch.setenv("SAAS_LITELLM_CONFIG", str(config))
    assert run_main("serve") == 2
    line = one_clear_line(capsys)
    assert "'gpt-4o-mini'" in line and "api_base" in line
    assert "SAAS_LITELLM_UPSTREAM_BASE_URL" in line and "SAAS_LITELLM_CONFIG" in line
    assert list(clean_env.iterdir()) == [config]


def test_a_default_upstream_makes_an_openai_deployment_without_api_base_valid(
    clean_env: Path,
) -> None:
    from saas_litellm_server import Settings
    from saas_litellm_server._preflight import check_config

    config = clean_env / "models.yaml"
    config.write_text(
        "model_aliases:\n- model_alias: Chat\n  deployments:\n"
        "  - {provider: openai, model: gpt-4o-mini}\n"
    )
    settings = Settings(config=config, upstream_base_url="http://127.0.0.1:4000")
    check_config(settings, {})  # no StartupError


# --- the command line itself


def test_version_flag(capsys: pytest.CaptureFixture[str]) -> None:
    from saas_litellm_server import __version__

    with pytest.raises(SystemExit) as exit_:
        run_main("--version")
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"saas-litellm-server {__version__}"


def test_an_unknown_serve_flag_shows_serves_usage(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        run_main("serve", "--bogus")
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: saas-litellm-server serve ")
    assert "--database-url" in err
    assert "saas-litellm-server serve: error: unrecognized arguments: --bogus" in err


def test_every_flag_has_help() -> None:
    from saas_litellm_server._cli import build_parser

    parser, commands = build_parser()
    for command in (parser, *commands.values()):
        for action in command._actions:
            assert action.help, f"{command.prog} {action.option_strings} has no help"
    config = next(a for a in commands["serve"]._actions if "--config" in a.option_strings)
    assert "TOML or YAML" in str(config.help)


def test_serve_log_format_json_writes_one_json_object_per_line(tmp_path: Path) -> None:
    port = free_port()
    proc = cli("serve", "--port", str(port), "--log-format", "json", cwd=tmp_path)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_ready(url, proc)
        r = httpx.get(f"{url}/ready", headers={"X-Request-ID": "trace-json-1"})
        assert r.status_code == 200
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=15)
    lines = [json.loads(line) for line in out.splitlines()]  # every line is JSON
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    (ready,) = [x for x in lines if x.get("request_id") == "trace-json-1"]
    assert ready["logger"] == "saas_litellm_server.access"
    assert (ready["method"], ready["path"], ready["status"]) == ("GET", "/ready", 200)
    assert any(x["message"].startswith("Finished server process") for x in lines)


def test_demo_prints_the_dashboard_and_keeps_the_server_running(tmp_path: Path) -> None:
    import signal

    port = free_port()
    proc = cli("demo", "--chunk-delay", "0", "--keep", "--port", str(port), cwd=tmp_path)
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 120
    while not any(line.startswith("Dashboard: ") for line in lines):
        assert time.monotonic() < deadline and proc.poll() is None, "".join(lines)
        lines.append(proc.stdout.readline())
    dashboard = lines[-1].split()[1]
    assert dashboard == f"http://127.0.0.1:{port}/admin"
    try:
        assert "keeps running" in proc.stdout.readline()
        teams = httpx.get(f"{dashboard}/teams", timeout=10)
        assert teams.status_code == 200 and "acme-corp" in teams.text
        overview = httpx.get(dashboard, timeout=10)
        assert "Calls today" in overview.text
        time.sleep(0.5)
        assert proc.poll() is None  # still serving
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode in (0, 130), out
    assert "Traceback" not in out
    assert list(tmp_path.iterdir()) == []


def test_demo_without_keep_names_no_address_of_its_stopped_server(tmp_path: Path) -> None:
    proc = cli("demo", "--chunk-delay", "0", cwd=tmp_path)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, out
    assert "/admin" not in out and "Dashboard: " not in out  # no address of a stopped server
    assert "has stopped; run it with --keep to explore the dashboard" in out
    assert "keeps running" not in out


def test_zero_workers_is_refused_in_one_line(
    clean_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_main("serve", "--workers", "0") == 2
    line = one_clear_line(capsys)
    assert "--workers=0 is invalid" in line and "leave the flag out" in line
    assert list(clean_env.iterdir()) == []


def test_several_workers_on_sqlite_are_refused_with_the_fix(
    clean_env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAAS_LITELLM_WORKERS", "3")
    assert run_main("serve") == 2
    line = one_clear_line(capsys)
    assert "--workers 3 needs PostgreSQL" in line and "postgresql://" in line
    assert list(clean_env.iterdir()) == []  # nothing created


def test_serve_lifts_its_open_files_limit_to_the_hard_one(tmp_path: Path) -> None:
    """Every open stream holds two sockets: a server left at a soft limit of 256 open files
    would refuse connections past ~120 streams. (An unlimited hard limit is lifted to 2**20.)"""
    import resource

    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    low = 256 if hard == resource.RLIM_INFINITY else min(256, hard // 2)
    port = free_port()

    def lowered() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (low, hard))

    proc = cli(
        "serve",
        "--port",
        str(port),
        "--database-url",
        f"sqlite:///{tmp_path / 'files.db'}",
        cwd=tmp_path,
        preexec_fn=lowered,
    )
    try:
        wait_ready(f"http://127.0.0.1:{port}", proc)
        limits = Path(f"/proc/{proc.pid}/limits").read_text()
        line = next(x for x in limits.splitlines() if x.startswith("Max open files"))
        now_soft = line.split()[3]
        assert now_soft == (str(2**20) if hard == resource.RLIM_INFINITY else str(hard)), line
    finally:
        proc.terminate()
        proc.communicate(timeout=15)


# --- the admin key and the port, checked before anything is created


def test_a_short_admin_key_is_refused_at_start_without_showing_it(tmp_path: Path) -> None:
    proc = cli(
        *("serve", "--host", "0.0.0.0", "--port", str(free_port())),
        env={"SAAS_LITELLM_ADMIN_KEY": "hunter2-admin"},
        cwd=tmp_path,
    )
    try:
        out, _ = proc.communicate(timeout=30)  # a key let through would serve until stopped
    finally:
        proc.kill()
    assert proc.returncode == 2
    assert out.splitlines() == [
        "saas-litellm-server: SAAS_LITELLM_ADMIN_KEY is 13 characters long; an admin key needs "
        'at least 32 (make one with: python -c "import secrets; print(secrets.token_urlsafe(32))")'
    ]
    assert list(tmp_path.iterdir()) == []


def test_an_admin_key_of_32_characters_is_accepted(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from saas_litellm_server import Settings
    from saas_litellm_server._preflight import check_admin_key

    check_admin_key(Settings(admin_key="k" * 32))  # no StartupError
    check_admin_key(Settings(admin_key=None))  # local-dev mode has its own check


def test_a_busy_port_is_one_line_and_creates_nothing(
    clean_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert run_main("serve", "--port", str(port)) == 2
        line = one_clear_line(capsys)
        assert f"cannot listen on 127.0.0.1:{port}" in line and "--port" in line
        assert list(clean_env.iterdir()) == []  # no SQLite file


def test_a_busy_port_exits_2_from_the_real_command(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = cli("serve", "--port", str(port), cwd=tmp_path)
        try:
            out, _ = proc.communicate(timeout=30)
        finally:
            proc.kill()
    assert proc.returncode == 2
    assert len(out.splitlines()) == 1 and "Application startup" not in out, out
    assert list(tmp_path.iterdir()) == []


# --- TLS (issue 26, item 4)


def test_serve_speaks_https_and_the_dashboard_cookie_is_secure(tmp_path: Path) -> None:
    import ssl

    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.cert_chain_pems[0].write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(key_file))
    port = free_port()
    admin = "adm-tls-test-key-0123456789abcdef"
    proc = cli(
        *("serve", "--port", str(port), "--ssl-certfile", str(cert_file)),
        *("--ssl-keyfile", str(key_file)),
        env={"SAAS_LITELLM_ADMIN_KEY": admin},
        cwd=tmp_path,
    )
    context = ssl.create_default_context()
    ca.configure_trust(context)
    url = f"https://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            try:
                r = httpx.get(f"{url}/health", verify=context, timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "no https answer"
                time.sleep(0.1)
        assert r.status_code == 200 and r.url.scheme == "https"
        r = httpx.post(
            f"{url}/admin/login",
            data={"admin_key": admin},
            headers={"Origin": url},
            verify=context,
        )
        assert r.status_code == 303
        assert "secure" in r.headers["set-cookie"].lower()
        with pytest.raises(httpx.TransportError):  # no plain http on that port
            httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
    finally:
        proc.terminate()
        proc.communicate(timeout=15)


def test_a_certificate_without_its_key_is_one_line(
    clean_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (clean_env / "cert.pem").write_text("not a certificate")
    assert run_main("serve", "--ssl-certfile", str(clean_env / "cert.pem")) == 2
    line = one_clear_line(capsys)
    assert "SAAS_LITELLM_SSL_KEYFILE is not set" in line
    assert run_main("serve", "--ssl-certfile", "cert.pem", "--ssl-keyfile", "cert.pem") == 2
    line = one_clear_line(capsys)
    assert "cannot load the certificate" in line and "--ssl-certfile" in line
    assert list(clean_env.iterdir()) == [clean_env / "cert.pem"]


def test_serve_hides_the_apps_lasting_objects_from_the_garbage_collector(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``serve`` freezes what was built before it serves (modules, models, tables) so that a
    full collection does not walk it on every pass (70 ms each, a fifth of a call's CPU), and
    collects young objects less often; a worker process of ``serve --workers`` does the same."""
    import gc

    from saas_litellm_server import _cli, _drain, app

    seen: list[tuple[int, tuple[int, int, int]]] = []

    def run(self: object) -> None:  # instead of serving: what the heap looks like then
        seen.append((gc.get_freeze_count(), gc.get_threshold()))

    monkeypatch.setattr(_drain.DrainingServer, "run", run)
    before = gc.get_threshold()
    try:
        gc.unfreeze()
        run_main("serve", "--port", str(free_port()))
        ((frozen, thresholds),) = seen
        assert frozen > 10_000 and thresholds == _cli.GC_THRESHOLDS
        gc.unfreeze()
        gc.set_threshold(*before)
        monkeypatch.setenv("SAAS_LITELLM_DATABASE_URL", f"sqlite:///{clean_env / 'w.db'}")
        app.create_app_from_env()
        assert gc.get_freeze_count() > 10_000 and gc.get_threshold() == _cli.GC_THRESHOLDS
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
