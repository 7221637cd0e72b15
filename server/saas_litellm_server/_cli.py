"""``saas-litellm-server serve | demo`` (also ``python -m saas_litellm_server``)."""

from __future__ import annotations

import argparse
import ipaddress
import logging
import socket
import sys
from collections.abc import Sequence
from typing import Any

__all__ = ["main", "uvicorn_options"]


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


def _settings(args: argparse.Namespace) -> Any:
    from ._settings import Settings

    overrides = {
        key: value
        for key, value in {
            "host": args.host,
            "port": args.port,
            "database_url": args.database_url,
            "config": args.config,
        }.items()
        if value is not None
    }
    return Settings(**overrides)


def uvicorn_options(settings: Any) -> dict[str, Any]:
    """How ``serve`` runs uvicorn (tests serve the app the same way)."""
    from ._protocol import timed_protocol

    return {
        "host": settings.host,
        "port": settings.port,
        "proxy_headers": False,
        "http": timed_protocol(
            header_timeout=settings.header_timeout_seconds,
            body_timeout=settings.body_timeout_seconds,
        ),
    }


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from .app import create_app

    settings = _settings(args)
    if settings.dev_mode and not _is_loopback(settings.host):
        print(
            f"refusing to bind to {settings.host}: no SAAS_LITELLM_ADMIN_KEY is set, so admin "
            "endpoints are open (local-dev mode). Set an admin key or bind to 127.0.0.1.",
            file=sys.stderr,
        )
        return 2
    if settings.config is not None:
        from ._config import ConfigError, load_config

        try:
            load_config(settings.config)  # refuse a bad file before binding anything
        except ConfigError as exc:
            print(f"saas-litellm-server: {exc}", file=sys.stderr)
            return 2
    uvicorn.run(create_app(settings), **uvicorn_options(settings), log_level=args.log_level)
    return 0


def _demo(args: argparse.Namespace) -> int:
    import asyncio

    from ._demo import run_demo

    return asyncio.run(run_demo(chunk_delay=args.chunk_delay))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="saas-litellm-server",
        description="Reference server of saas-litellm: a job-based, multi-tenant LLM API.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the server")
    serve.add_argument("--host", help="interface to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default 8003)")
    serve.add_argument("--database-url", help="sqlite:///path.db or postgresql://…")
    serve.add_argument("--config", help="TOML file declaring model aliases")
    serve.add_argument(
        "--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"]
    )
    serve.set_defaults(handler=_serve)

    demo = commands.add_parser(
        "demo", help="run the integration guide's flow against a throw-away local server"
    )
    demo.add_argument(
        "--chunk-delay",
        type=float,
        default=0.05,
        help="seconds between streamed chunks of the mock model (default 0.05)",
    )
    demo.set_defaults(handler=_demo)

    args = parser.parse_args(argv)
    quiet = args.command == "demo"
    logging.basicConfig(
        level=logging.ERROR if quiet else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("httpx", "databases"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        code: int = args.handler(args)
    except KeyboardInterrupt:
        return 130
    return code
