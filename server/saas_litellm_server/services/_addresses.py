"""Where a webhook may point: only at public addresses, unless the operator allows otherwise.

A webhook makes the server send requests to a URL someone typed in; without this guard it could
be used to reach the server's own network (a database's HTTP port, a cloud metadata service).
Names are resolved here and every address they resolve to must be public; the delivery then
connects to the address that was checked (see ``webhook_delivery``), so a name that resolves
differently a second later (DNS rebinding) gains nothing.

Lookups run in threads of their own (:data:`_RESOLVER`), never through the event loop's
``getaddrinfo``: uvloop runs that on libuv's four-thread pool, which also connects every
upstream call (even to 127.0.0.1), so sixteen webhook deliveries to a name whose DNS server is
slow held the pool for seconds and other tenants' LLM calls timed out behind them. A lookup that
outlasts :data:`RESOLVE_TIMEOUT` keeps its thread until the system gives up; at most
:data:`RESOLVER_THREADS` are busy, and only webhooks wait for them.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import ipaddress
import socket
import urllib.parse
from dataclasses import dataclass
from typing import Any

__all__ = ["Address", "RefusedAddress", "refusal", "resolve_url"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
RESOLVE_TIMEOUT = 5.0
RESOLVER_THREADS = 8
_RESOLVER = concurrent.futures.ThreadPoolExecutor(RESOLVER_THREADS, "webhook-dns")


class RefusedAddress(Exception):
    """The URL points at an address webhooks may not reach (the message says why)."""


def _embedded(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, Teredo, NAT64), if any."""
    if isinstance(ip, ipaddress.IPv4Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFF_FFFF)
    return None


def refusal(ip: IPAddress) -> str | None:
    """Why ``ip`` is not a public address (``None``: it is)."""
    inner = _embedded(ip)
    if inner is not None:
        why = refusal(inner)
        if why is not None:
            return why
    for flag, what in (
        ("is_unspecified", "unspecified"),
        ("is_loopback", "loopback"),
        ("is_link_local", "link-local"),
        ("is_multicast", "multicast"),
        ("is_private", "private"),
        ("is_reserved", "reserved"),
    ):
        if getattr(ip, flag):
            return f"a {what} address"
    if not ip.is_global:
        return "not a public address"
    return None


@dataclass(frozen=True)
class Address:
    """A URL's host, its port and the addresses it resolved to (all checked, when checked)."""

    host: str
    port: int
    addresses: tuple[IPAddress, ...]


async def _lookup(host: str, port: int) -> list[tuple[Any, ...]]:
    """``getaddrinfo`` in the webhooks' own threads (tests replace it to play DNS)."""
    loop = asyncio.get_running_loop()
    lookup = functools.partial(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
    return await loop.run_in_executor(_RESOLVER, lookup)


def _host_and_port(url: str) -> tuple[str, int]:
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    return host, parts.port or (443 if parts.scheme == "https" else 80)


async def resolve_url(url: str, *, allow_private: bool) -> Address:
    """Resolve the URL's host; :class:`RefusedAddress` if any address it resolves to is not
    public (unless ``allow_private``), ``OSError`` if it does not resolve."""
    host, port = _host_and_port(url)
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses: tuple[IPAddress, ...] = (literal,)
    else:
        try:
            infos = await asyncio.wait_for(_lookup(host, port), RESOLVE_TIMEOUT)
        except (UnicodeError, ValueError) as exc:  # a name IDNA cannot encode
            raise OSError(f"cannot resolve {host!r}") from exc
        except asyncio.TimeoutError as exc:
            raise OSError(f"resolving {host!r} timed out") from exc
        addresses = tuple(
            dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos)
        )
        if not addresses:
            raise OSError(f"{host!r} has no address")
    if not allow_private:
        for ip in addresses:
            why = refusal(ip)
            if why is not None:
                shown = host if literal is not None else f"{host} (which resolves to {ip})"
                raise RefusedAddress(
                    f"{shown} is {why}; webhooks go only to public addresses unless "
                    "SAAS_LITELLM_WEBHOOKS_ALLOW_PRIVATE=true"
                )
    return Address(host, port, addresses)
