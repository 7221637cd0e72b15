"""``saas-litellm-server serve | demo`` (also ``python -m saas_litellm_server``)."""

from __future__ import annotations

import argparse
import contextlib
import gc
import ipaddress
import logging
import os
import shutil
import socket
import sys
from collections.abc import Sequence
from typing import Any

__all__ = ["build_parser", "main", "uvicorn_options"]


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        try:
            return all(
                ipaddress.ip_address(a[4][0]).is_loopback for a in socket.getaddrinfo(host, None)
            )
        except OSError:
            return False


_FLAGS = {
    "ssl_certfile": "--ssl-certfile",
    "ssl_keyfile": "--ssl-keyfile",
    "host": "--host",
    "port": "--port",
    "database_url": "--database-url",
    "config": "--config",
    "workers": "--workers",
}

# Settings the command line may override, as the environment variables worker processes read.
_ENV = {
    "ssl_certfile": "SAAS_LITELLM_SSL_CERTFILE",
    "ssl_keyfile": "SAAS_LITELLM_SSL_KEYFILE",
    "host": "SAAS_LITELLM_HOST",
    "port": "SAAS_LITELLM_PORT",
    "database_url": "SAAS_LITELLM_DATABASE_URL",
    "config": "SAAS_LITELLM_CONFIG",
    "log_format": "SAAS_LITELLM_LOG_FORMAT",
    "workers": "SAAS_LITELLM_WORKERS",
}

WORKER_CATALOG_CACHE_SECONDS = 1.0
"""The longest a worker of ``serve --workers N`` (N > 1) reuses catalog data it read: an admin
change made through one worker reaches the others within this time."""


def uvicorn_options(settings: Any) -> dict[str, Any]:
    """How ``serve`` runs uvicorn (tests serve the app the same way)."""
    from ._protocol import timed_protocol

    tls = (
        {"ssl_certfile": str(settings.ssl_certfile), "ssl_keyfile": str(settings.ssl_keyfile)}
        if settings.ssl_certfile is not None
        else {}
    )
    return {
        "host": settings.host,
        "port": settings.port,
        # X-Forwarded-* are read by the app itself, from SAAS_LITELLM_TRUSTED_PROXIES only
        "proxy_headers": False,
        **tls,
        # Longer than any client's idle-connection expiry (httpx: 5 s), so that a client never
        # sends a request on a connection the server is closing at that moment.
        "timeout_keep_alive": 75,
        # The cap on uvicorn's wait for responses in flight when it stops (serve's drain sets
        # what is left of it; a worker of --workers N gets it whole)
        "timeout_graceful_shutdown": settings.shutdown_grace_seconds,
        "http": timed_protocol(
            header_timeout=settings.header_timeout_seconds,
            body_timeout=settings.body_timeout_seconds,
        ),
    }


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from ._drain import DrainingServer
    from ._preflight import (
        StartupError,
        check_admin_key,
        check_config,
        check_database,
        check_otel,
        check_port,
        check_read_database,
        check_tls,
        load_settings,
    )
    from .app import create_app

    overrides = {
        key: value
        for key, value in {
            "host": args.host,
            "port": args.port,
            "database_url": args.database_url,
            "config": args.config,
            "log_format": args.log_format,
            "workers": args.workers,
            "ssl_certfile": args.ssl_certfile,
            "ssl_keyfile": args.ssl_keyfile,
        }.items()
        if value is not None
    }
    flags = {field: flag for field, flag in _FLAGS.items() if field in overrides}
    try:
        settings = load_settings(overrides, flags)
        check_admin_key(settings)
        check_tls(settings, flags)
        check_otel(settings)
        check_port(settings, flags)
        check_read_database(settings, flags)
        check_database(settings, flags)  # refuse what cannot work before creating anything
        check_config(settings, flags)
    except StartupError as exc:
        print(f"saas-litellm-server: {exc}", file=sys.stderr)
        return 2
    _configure_logging(args.log_level, settings.log_format)
    _raise_open_files_limit()
    if settings.dev_mode and not _is_loopback(settings.host):
        print(
            f"refusing to bind to {settings.host}: no SAAS_LITELLM_ADMIN_KEY is set, so admin "
            "endpoints are open (local-dev mode). Set an admin key or bind to 127.0.0.1.",
            file=sys.stderr,
        )
        return 2
    if settings.workers > 1:
        if settings.database_url.partition(":")[0].partition("+")[0] not in {
            "postgresql",
            "postgres",
        }:
            print(
                f"saas-litellm-server: --workers {settings.workers} needs PostgreSQL: SQLite "
                "cannot keep several processes' credit transactions exact (concurrent "
                "read-then-write transactions fail with 'database is locked'). Use "
                "--database-url postgresql://…, or one worker on SQLite.",
                file=sys.stderr,
            )
            return 2
        return _serve_workers(args, settings, overrides)
    config = uvicorn.Config(
        create_app(settings),
        **uvicorn_options(settings),
        log_level=args.log_level,
        log_config=None,  # the handlers set up by _configure_logging format uvicorn's lines too
        access_log=False,  # the app logs each request itself, with its request id
    )
    server = DrainingServer(config, grace_seconds=settings.shutdown_grace_seconds)
    settle_heap()
    server.run()
    return 0 if server.started else 3  # uvicorn's status for a failed start


GC_THRESHOLDS = (7000, 10, 10)
"""The cyclic collector's thresholds for a serving process: a young collection every 7,000
allocations instead of 700 (a call makes a few hundred short-lived objects)."""


def settle_heap() -> None:
    """Once the app is built, hide what lives as long as the process — modules, models,
    tables, ~130,000 objects — from the cyclic garbage collector (``gc.freeze``), and collect
    the young generations less often. Each full collection walked all of them: 70 ms, twenty
    times in 17,000 calls, a fifth of a call's CPU at c=64 on SQLite (and a 70 ms pause). Only
    ``serve`` (and its workers) do it: an app mounted in another process leaves its heap as
    that process keeps it."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def _raise_open_files_limit() -> None:
    """Lift the soft limit on open files to the hard one, as servers do: each open stream holds
    two sockets (its client's and its upstream's), so a soft limit of 1,024 would cap a server
    at ~500 streams. Worker processes inherit it."""
    try:
        import resource
    except ImportError:  # not on Windows
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = 2**20 if hard == resource.RLIM_INFINITY else hard
    if soft != resource.RLIM_INFINITY and soft < target:
        # A kernel cap below the hard limit refuses it: the soft limit stays as it was.
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def _serve_workers(args: argparse.Namespace, settings: Any, overrides: dict[str, Any]) -> int:
    """uvicorn's supervisor and ``settings.workers`` worker processes on one port. The workers
    are spawned (fresh interpreters): they get the settings through their environment (never
    argv, which every local user can read) and build the app with ``create_app_from_env``."""
    import tempfile

    import uvicorn

    from ._drain import drain_workers
    from .app import WORKER_LOG_LEVEL

    drain_workers()
    for field, value in overrides.items():
        os.environ[_ENV[field]] = str(value)
    os.environ["SAAS_LITELLM_CATALOG_CACHE_SECONDS"] = str(
        min(settings.catalog_cache_seconds, WORKER_CATALOG_CACHE_SECONDS)
    )
    os.environ[WORKER_LOG_LEVEL] = args.log_level
    metrics_dir = None
    if settings.metrics and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # one fresh directory for this run: a scrape of any worker reports them all
        metrics_dir = tempfile.mkdtemp(prefix="saas-litellm-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    options = uvicorn_options(settings)
    options["http"] = "saas_litellm_server._protocol:EnvironmentTimedProtocol"  # picklable
    try:
        uvicorn.run(
            "saas_litellm_server.app:create_app_from_env",
            factory=True,
            workers=settings.workers,
            **options,
            log_level=args.log_level,
            log_config=None,
            access_log=False,
        )
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0


def _configure_logging(level: str, log_format: str) -> None:
    from ._logging import configure_logging

    configure_logging(level=level.upper(), json_lines=log_format == "json")


def _demo(args: argparse.Namespace) -> int:
    import asyncio

    from ._demo import run_demo

    return asyncio.run(run_demo(chunk_delay=args.chunk_delay, keep=args.keep, port=args.port))


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The top-level parser and its sub-commands' parsers, by name."""
    from ._version import __version__

    parser = argparse.ArgumentParser(
        prog="saas-litellm-server",
        description="Reference server of saas-litellm: a job-based, multi-tenant LLM API.",
    )
    parser.add_argument("--version", action="version", version=f"saas-litellm-server {__version__}")
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="{serve,demo}", help="what to run"
    )

    serve = commands.add_parser(
        "serve",
        help="run the server",
        description="Run the server. Flags override the SAAS_LITELLM_* environment variables.",
    )
    serve.add_argument("--host", help="interface to bind (default 127.0.0.1; SAAS_LITELLM_HOST)")
    serve.add_argument(
        "--port", type=int, help="port to listen on (default 8003; SAAS_LITELLM_PORT)"
    )
    serve.add_argument(
        "--database-url",
        help="sqlite:///path.db or postgresql://user@host/db "
        "(default sqlite:///./saas_litellm.db; SAAS_LITELLM_DATABASE_URL)",
    )
    serve.add_argument(
        "--config",
        help="TOML or YAML file declaring access groups and model aliases, applied at start "
        "(SAAS_LITELLM_CONFIG)",
    )
    serve.add_argument(
        "--workers",
        type=int,
        help="server processes sharing the port; above 1 needs PostgreSQL "
        "(default 1; SAAS_LITELLM_WORKERS)",
    )
    serve.add_argument(
        "--ssl-certfile",
        help="serve https with this certificate, PEM "
        "(with --ssl-keyfile; SAAS_LITELLM_SSL_CERTFILE)",
    )
    serve.add_argument(
        "--ssl-keyfile",
        help="the certificate's private key, PEM (SAAS_LITELLM_SSL_KEYFILE)",
    )
    serve.add_argument(
        "--log-level",
        default="info",
        choices=["critical", "error", "warning", "info", "debug"],
        help="least severe log lines shown (default info)",
    )
    serve.add_argument(
        "--log-format",
        choices=["text", "json"],
        help="text lines, or one JSON object per line (default text; SAAS_LITELLM_LOG_FORMAT)",
    )
    serve.set_defaults(handler=_serve)

    demo = commands.add_parser(
        "demo",
        help="run the integration guide's flow against a throw-away local server",
        description="Run the integration guide's flow against a throw-away local server.",
    )
    demo.add_argument(
        "--chunk-delay",
        type=float,
        default=0.05,
        help="seconds between streamed chunks of the mock model (default 0.05)",
    )
    demo.add_argument(
        "--keep",
        action="store_true",
        help="keep the server running afterwards (Ctrl+C stops it), to explore the dashboard",
    )
    demo.add_argument(
        "--port", type=int, default=0, help="port of the demo server (default: a free one)"
    )
    demo.set_defaults(handler=_demo)
    return parser, {"serve": serve, "demo": demo}


def main(argv: Sequence[str] | None = None) -> int:
    parser, commands = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # argparse would blame the top-level command; show the sub-command's usage
        commands[args.command].error(f"unrecognized arguments: {' '.join(unknown)}")
    if args.command == "demo":
        logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
        for noisy in ("httpx", "databases"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        code: int = args.handler(args)
    except KeyboardInterrupt:
        return 130
    return code
