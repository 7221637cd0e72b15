"""The SDK's logger, ``saas_litellm_client``, and its opt-in set-up from ``SAAS_LITELLM_LOG``.

Nothing is configured unless ``SAAS_LITELLM_LOG`` is ``info`` or ``debug`` (case-insensitive):
then a stderr handler is attached to this logger (not to the root logger) at that level. At
``info`` each request's outcome and each retry are logged; ``debug`` adds the request headers,
with credentials redacted. Without the variable the logger behaves like any library's: records
propagate to whatever logging the application configured.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

__all__ = ["ENV_LOG", "log", "redact_headers", "setup_logging"]

ENV_LOG = "SAAS_LITELLM_LOG"

log = logging.getLogger("saas_litellm_client")

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO}
_SENSITIVE_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "x-api-key", "api-key", "cookie", "set-cookie"}
)
REDACTED = "<redacted>"


class _EnvHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler installed by :func:`setup_logging` (recognised so that it is added once)."""


def setup_logging() -> None:
    """Attach a stderr handler when ``SAAS_LITELLM_LOG`` asks for one; otherwise do nothing.
    Called once at import; calling it again does not add a second handler."""
    level = _LEVELS.get(os.environ.get(ENV_LOG, "").strip().lower())
    if level is None:
        return
    if not any(isinstance(handler, _EnvHandler) for handler in log.handlers):
        handler = _EnvHandler()
        handler.setFormatter(logging.Formatter("[%(asctime)s %(name)s %(levelname)s] %(message)s"))
        log.addHandler(handler)
    log.setLevel(level)


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The headers as they may be logged: credentials replaced by ``<redacted>``."""
    return {
        name: REDACTED if name.lower() in _SENSITIVE_HEADERS else value
        for name, value in headers.items()
    }
