"""Loopback names, as a ``Host`` header or an ``Origin`` carries them — decided from the text
alone, never by a DNS lookup (a name that resolves to 127.0.0.1 is exactly what DNS rebinding
uses)."""

from __future__ import annotations

import ipaddress

__all__ = ["host_name", "host_port", "is_loopback"]


def host_name(host: str) -> str:
    """The name of a ``Host`` value or URL authority, without its port (``[::1]:80`` → ``::1``)."""
    host = host.strip().lower()
    if host.startswith("["):
        end = host.find("]")
        return host[1:end] if end > 0 else host
    name, sep, port = host.rpartition(":")
    return name if sep and port.isdigit() and ":" not in name else host


def host_port(host: str) -> int | None:
    """The port of a ``Host`` value or URL authority (``None`` when it names none)."""
    tail = host.rpartition("]")[2] if host.startswith("[") else host
    name, sep, port = tail.rpartition(":")
    return int(port) if sep and port.isdigit() and ":" not in name else None


def is_loopback(name: str) -> bool:
    """``localhost`` (and ``*.localhost``, which browsers keep on the machine), or an address
    in 127.0.0.0/8 or ``::1``."""
    name = name.rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False
