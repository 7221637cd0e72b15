"""Redaction of text that leaves the server: configured secrets by value, addresses by shape.

Pattern-only scrubbing misses a key that does not look like ``sk-…``, and an upstream's error
text can quote the key it was sent, its own address or internal host names. So every configured
secret (the admin key, the upstream key) is removed *by value*, wherever the text goes, and text
meant for a team also loses anything shaped like an address: URLs, IP addresses, ``host:port``
and the hosts of configured upstreams. Operators' logs keep addresses (they need them) but never
a secret.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

__all__ = ["REDACTED", "Redactor"]

REDACTED = "[redacted]"

_SECRET_SHAPES = re.compile(r"\bsk-[A-Za-z0-9_\-]{6,}|\bBearer\s+[^\s\"',;]+", re.IGNORECASE)
_ADDRESS_SHAPES = re.compile(
    r"\b[a-z][a-z0-9+.-]*://[^\s\"'<>]+"  # URLs of any scheme
    r"|\[?\b(?:[0-9a-f]{1,4}:){2,7}[0-9a-f]{0,4}\b\]?(?::\d{1,5})?"  # IPv6
    r"|\b(?:\d{1,3}\.){3}\d{1,3}(?::\d{1,5})?\b"  # IPv4, with a port
    r"|\b[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*:\d{2,5}\b",  # host:port
    re.IGNORECASE,
)
_MIN_SECRET = 4
"""Shorter configured values are not redacted by value (they would blank ordinary words)."""


class Redactor:
    """Knows the server's secrets and upstream hosts; cheap to call on error paths only."""

    def __init__(self, secrets: Iterable[str | None] = (), hosts: Iterable[str | None] = ()):
        self._secrets: set[str] = set()
        self._hosts: set[str] = set()
        for secret in secrets:
            self.add_secret(secret)
        for host in hosts:
            self.add_upstream(host)

    def add_secret(self, value: str | None) -> None:
        if value and len(value) >= _MIN_SECRET:
            self._secrets.add(value)

    def add_upstream(self, url_or_host: str | None) -> None:
        """Remember an upstream's host name (from an ``api_base`` or a bare host)."""
        if not url_or_host:
            return
        host = urlsplit(url_or_host).hostname if "//" in url_or_host else url_or_host
        if host and len(host) >= _MIN_SECRET:
            self._hosts.add(host.lower())

    def secrets(self, text: str) -> str:
        """Text for operators: every secret gone, addresses kept."""
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, REDACTED)
        return _SECRET_SHAPES.sub(REDACTED, text)

    def for_tenant(self, text: str, *, limit: int = 300) -> str:
        """Text for a team: no secret and nothing that names or locates an internal host."""
        text = _ADDRESS_SHAPES.sub(REDACTED, self.secrets(" ".join(text.split())))
        for host in sorted(self._hosts, key=len, reverse=True):
            text = re.sub(re.escape(host), REDACTED, text, flags=re.IGNORECASE)
        return text if len(text) <= limit else text[: limit - 1] + "…"
