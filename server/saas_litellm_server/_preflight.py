"""Start-up checks of ``serve``, run before anything is bound or created.

A bad setting, an unreachable database or a config file that cannot be applied is reported as
one line naming the setting and the fix (exit code 2), instead of a traceback from deep inside
the lifespan — and before the SQLite file or any catalog row exists, so a failed start leaves
nothing behind.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_settings import SettingsError

from ._settings import Settings

__all__ = [
    "MIN_ADMIN_KEY_LENGTH",
    "StartupError",
    "check_admin_key",
    "check_config",
    "check_database",
    "check_otel",
    "check_port",
    "check_read_database",
    "check_tls",
    "load_settings",
    "safe_url",
]

_CONNECT_TIMEOUT = 5.0

MIN_ADMIN_KEY_LENGTH = 32
"""An admin key opens every team's credits: one short enough to guess is refused at start."""


class StartupError(Exception):
    """One line for the user: what is wrong, where it was set, how to fix it."""


def _source(field: str, flags: Mapping[str, str]) -> str:
    return flags.get(field) or f"SAAS_LITELLM_{field.upper()}"


def load_settings(overrides: Mapping[str, Any], flags: Mapping[str, str]) -> Settings:
    """``Settings`` from the environment and ``overrides`` (CLI flags, named in ``flags``)."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False):
            field = str(error["loc"][0]) if error["loc"] else "?"
            info = Settings.model_fields.get(field)
            secret = info is not None and "SecretStr" in str(info.annotation)
            shown = "" if secret else f"={error.get('input')}"
            message = error["msg"].removeprefix("Value error, ")
            if field in flags:
                fix = "fix it or leave the flag out"
            else:
                default = None if info is None else info.get_default(call_default_factory=True)
                fix = f"fix it or unset it (default: {default!r})"
            problems.append(f"{_source(field, flags)}{shown} is invalid: {message}; {fix}")
        raise StartupError("; ".join(problems)) from None
    except SettingsError as exc:  # a value the environment source could not even parse
        raise StartupError(f"invalid setting: {exc}") from None


def check_port(settings: Settings, flags: Mapping[str, str]) -> None:
    """Refuse a port another process listens on, first: before the database is touched (a
    SQLite file created) or the app started, as uvicorn would only find out after both."""
    host, port = settings.host, settings.port
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind((host, port))
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise StartupError(
                f"cannot listen on {host}:{port} ({reason}); stop what uses it or choose another "
                f"port with {_source('port', flags)}"
            ) from None


def check_tls(settings: Settings, flags: Mapping[str, str]) -> None:
    """A certificate and its key, both or neither, that load together."""
    cert, key = settings.ssl_certfile, settings.ssl_keyfile
    if cert is None and key is None:
        return
    if cert is None or key is None:
        missing = "ssl_certfile" if cert is None else "ssl_keyfile"
        raise StartupError(
            f"TLS needs a certificate and its key: {_source(missing, flags)} is not set"
        )
    import ssl

    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise StartupError(
            f"cannot load the certificate {cert} with the key {key} ({reason}); fix "
            f"{_source('ssl_certfile', flags)} and {_source('ssl_keyfile', flags)}"
        ) from None


def check_otel(settings: Settings) -> None:
    """``SAAS_LITELLM_OTEL=true`` needs the OpenTelemetry SDK and its OTLP/HTTP exporter."""
    if not settings.otel:
        return
    import importlib.util

    for module in ("opentelemetry.sdk.trace", "opentelemetry.exporter.otlp.proto.http"):
        try:
            found = importlib.util.find_spec(module) is not None
        except ImportError:
            found = False
        if not found:
            raise StartupError(
                f"SAAS_LITELLM_OTEL=true needs {module}: install the extra saas-litellm[otel] "
                '(pip install ".[server,otel]" in a clone), or unset SAAS_LITELLM_OTEL'
            )


def check_admin_key(settings: Settings) -> None:
    """Refuse an admin key shorter than :data:`MIN_ADMIN_KEY_LENGTH` (its length is named,
    never the key)."""
    key = settings.admin_key.get_secret_value() if settings.admin_key is not None else ""
    if key and len(key) < MIN_ADMIN_KEY_LENGTH:
        raise StartupError(
            f"SAAS_LITELLM_ADMIN_KEY is {len(key)} characters long; an admin key needs at least "
            f'{MIN_ADMIN_KEY_LENGTH} (make one with: python -c "import secrets; '
            'print(secrets.token_urlsafe(32))")'
        )


def safe_url(url: str) -> str:
    """The database URL as it may be shown: without its password."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return "(unparseable URL)"


def check_database(settings: Settings, flags: Mapping[str, str]) -> None:
    """Refuse a database URL the server could not use, without creating anything."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    source = _source("database_url", flags)
    shown = safe_url(settings.database_url)
    fix = "use sqlite:///path/to/file.db or postgresql://user@host:5432/dbname"
    try:
        url = make_url(settings.database_url)
    except (ArgumentError, ValueError):
        raise StartupError(f"{source} {shown} is not a database URL; {fix}") from None
    backend = url.get_backend_name()
    if backend == "sqlite":
        _check_sqlite(url.database, source)
    elif backend in {"postgresql", "postgres"}:
        asyncio.run(_check_postgres(settings.database_url, shown, source))
    else:
        raise StartupError(f"{source} {shown}: {backend!r} databases are not supported; {fix}")


def check_read_database(settings: Settings, flags: Mapping[str, str]) -> None:
    """A replica must be PostgreSQL, serving a PostgreSQL primary, and reachable; it is
    only read, so nothing is created there."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    if not settings.read_database_url:
        return
    source = _source("read_database_url", flags)
    shown = safe_url(settings.read_database_url)
    fix = "set it to a postgresql://user@host:5432/dbname replica of the primary, or unset it"
    try:
        backend = make_url(settings.read_database_url).get_backend_name()
        primary = make_url(settings.database_url).get_backend_name()
    except (ArgumentError, ValueError):
        raise StartupError(f"{source} {shown} is not a database URL; {fix}") from None
    if backend not in _POSTGRES:
        raise StartupError(f"{source} {shown}: a read replica must be PostgreSQL; {fix}")
    if primary not in _POSTGRES:
        raise StartupError(
            f"{source} is set but {_source('database_url', flags)} is {primary!r}: a read "
            "replica needs a PostgreSQL primary; unset it"
        )
    asyncio.run(_check_postgres(settings.read_database_url, shown, source))


_POSTGRES = {"postgresql", "postgres"}


def _check_sqlite(database: str | None, source: str) -> None:
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if path.is_dir():
        raise StartupError(f"{source}: {database} is a directory; name a file inside it")
    parent = path.parent
    if not parent.is_dir():
        raise StartupError(
            f"{source}: the directory {parent} of the SQLite file {database} does not exist; "
            f"create it (mkdir -p {parent}) or choose another path"
        )
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise StartupError(
            f"{source}: the SQLite file {database} is not writable; fix its permissions or "
            "choose another path"
        )


async def _check_postgres(url: str, shown: str, source: str) -> None:
    import asyncpg

    dsn = "postgresql://" + url.partition("://")[2]
    try:
        connection = await asyncpg.connect(dsn, timeout=_CONNECT_TIMEOUT)
    except asyncpg.PostgresError as exc:  # it answered: wrong database, user or password
        raise StartupError(
            f"cannot use the database {shown} ({_reason(exc)}); fix {source}"
        ) from None
    except (OSError, TimeoutError, asyncpg.InterfaceError) as exc:
        raise StartupError(
            f"cannot connect to the database {shown} ({_reason(exc)}); check that PostgreSQL "
            f"is running there, or fix {source}"
        ) from None
    await connection.close()


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError) or "Connect call failed" in str(exc):
        return "connection refused"
    if isinstance(exc, TimeoutError):
        return f"no answer within {_CONNECT_TIMEOUT:g} s"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]


def check_config(settings: Settings, flags: Mapping[str, str]) -> None:
    """Validate the config file completely (schema, access groups, upstreams) before it is
    applied, so that a bad file refuses to start instead of half-applying."""
    from ._config import ConfigError, load_config
    from .services.catalog import config_problem

    if settings.config is None:
        return
    try:
        problem = config_problem(load_config(settings.config), settings)
    except ConfigError as exc:
        raise StartupError(str(exc)) from None
    if problem:
        raise StartupError(f"config file {settings.config} ({_source('config', flags)}): {problem}")
