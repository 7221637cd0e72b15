"""Server log lines: text or JSON, tagged with the request id, and kept free of addresses and
secrets.

The upstream hop (aiohttp, the ``openai`` provider) logs no request. httpx and httpcore, which
deliver webhooks, log every request with its URL (and at debug level the host and port they
connect to): a receiver's URL is a team's configuration, which may carry a token in its query
and which others reading shared logs should not find, so the server scrubs those records before
any handler sees them. The server's own lines name a deployment by its model name only.
"""

from __future__ import annotations

import atexit
import copy
import datetime as dt
import json
import logging
import logging.handlers
import queue
import re
import sys
from contextvars import ContextVar

__all__ = [
    "CONTEXT_FIELDS",
    "QUIET_LOGGERS",
    "JsonFormatter",
    "configure_logging",
    "current_request_id",
    "flush_logs",
    "install_log_scrubbing",
]

current_request_id: ContextVar[str | None] = ContextVar("saas_litellm_request_id", default=None)
"""The id of the request being served (set by ``RequestContextMiddleware``), for log lines
written far from the request object."""

CONTEXT_FIELDS = (
    "request_id",
    "team",
    "alias",
    "deployment",
    "status",
    "fallback_to",
    "method",
    "path",
    "client",
    "duration_ms",
)
"""``extra=`` fields of the server's records that JSON lines carry as their own keys."""

_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``time``, ``level``, ``logger``, ``message`` and the context
    fields a record carries — what log pipelines index without a parsing rule."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.timezone.utc).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:  # formatted already (a record handed over by _Deferred)
            entry["exception"] = record.exc_text
        return json.dumps(entry, default=str)


QUIET_LOGGERS = ("httpx", "databases", "aiosqlite")
"""Kept at WARNING whatever the level: their DEBUG lines carry every query's arguments (a
webhook's signing secret among them) and every URL called."""


class _Deferred(logging.handlers.QueueHandler):
    """Hands each record to the writer thread: the event loop pays for the record and its
    message, not for formatting its time and line or for the write to stderr (an access line
    for every request: ~5 % of a call's CPU when written in line)."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        # Everything that refers to the request's live objects becomes text now: the message
        # (its arguments), and an exception's traceback (its frames).
        record = copy.copy(record)
        record.msg, record.args = record.getMessage(), None
        if record.exc_info:
            record.exc_text = _TRACEBACKS.formatException(record.exc_info)
            record.exc_info = None
        return record


_TRACEBACKS = logging.Formatter()
_writer: logging.handlers.QueueListener | None = None


def flush_logs() -> None:
    """Write every line handed over so far and stop the writer thread (at exit; the tests)."""
    global _writer
    if _writer is not None:
        _writer.stop()
        _writer = None


atexit.register(flush_logs)


def configure_logging(*, level: str = "INFO", json_lines: bool = False) -> None:
    """Route every logger (uvicorn's included) to one stderr writer in the chosen format, on a
    thread of its own (:class:`_Deferred`)."""
    global _writer
    flush_logs()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if json_lines else logging.Formatter(_TEXT_FORMAT))
    lines: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    _writer = logging.handlers.QueueListener(lines, handler)
    _writer.start()
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(_Deferred(lines))
    root.setLevel(level)
    for noisy in QUIET_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):  # as uvicorn may have set them
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.setLevel(logging.NOTSET)
        logger.propagate = True


_SECRETS = re.compile(
    r"https?://[^\s\"']+|\bhost=\S+|\bport=\d+|sk-[A-Za-z0-9_\-]{6,}|Bearer\s+[^\s\"']+"
)


class _ScrubFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        scrubbed = _SECRETS.sub("[redacted]", message)
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        return True


_FILTER = _ScrubFilter()


def install_log_scrubbing() -> None:
    """Idempotent: attach the filter to the loggers of the HTTP stack webhooks are sent with."""
    for name in ("httpx", "httpcore", "httpcore.connection", "httpcore.http11"):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
