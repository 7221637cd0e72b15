"""Keep upstream addresses and secrets out of log lines.

httpx and httpcore log every request the ``openai`` provider makes, with its URL (and at debug
level its host and port). The upstream's address is configuration that users should not find in
shared logs, so the server scrubs those records before any handler sees them.
"""

from __future__ import annotations

import logging
import re

__all__ = ["install_log_scrubbing"]

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
    """Idempotent: attach the filter to the loggers of the HTTP stack the providers use."""
    for name in ("httpx", "httpcore", "httpcore.connection", "httpcore.http11"):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
