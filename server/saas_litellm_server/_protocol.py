"""uvicorn's HTTP protocol with read timeouts, so slow clients cannot hold sockets forever.

uvicorn arms its keep-alive timer only after a response; a connection that trickles its headers
(slowloris) or its body keeps a socket, a buffer and a parser for as long as it likes. This
protocol gives every request ``header_timeout`` seconds from its first byte (or from the
connection's opening) to finish its headers, and ``body_timeout`` seconds from there to finish
its body. A request that misses either gets ``408 Request Timeout`` (if no response has started)
and its connection is closed.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from saas_litellm_models import ErrorDetail, ErrorResponse

__all__ = ["timed_protocol"]


def _response_408(what: str) -> bytes:
    body = ErrorResponse(
        error=ErrorDetail(
            type="request_timeout", message=f"the request's {what} did not arrive in time"
        )
    ).model_dump_json(exclude_none=True)
    head = (
        "HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
        f"x-should-retry: true\r\nconnection: close\r\ncontent-length: {len(body)}\r\n\r\n"
    )
    return (head + body).encode()


class _TimedProtocol(HttpToolsProtocol):
    header_timeout: float = 10.0
    body_timeout: float = 60.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._read_timer: asyncio.TimerHandle | None = None

    def _arm(self, seconds: float, what: str) -> None:
        self._disarm()
        self._read_timer = self.loop.call_later(seconds, self._timed_out, what)

    def _disarm(self) -> None:
        if self._read_timer is not None:
            self._read_timer.cancel()
            self._read_timer = None

    def _timed_out(self, what: str) -> None:
        self._read_timer = None
        if self.transport.is_closing():
            return
        cycle = self.cycle
        if cycle is None or cycle.response_complete or not cycle.response_started:
            self.transport.write(_response_408(what))
        if cycle is not None and not cycle.response_complete:
            cycle.disconnected = True  # the app sees a disconnect, not a half-read body
            cycle.message_event.set()
        self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self.header_timeout, "headers")

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _pipelined(self) -> bool:
        """A request sent while the one before is still being answered: uvicorn queues it and
        stops reading, so its time is not its client's to answer for."""
        cycle = self.cycle
        return bool(self.pipeline) or (cycle is not None and not cycle.response_complete)

    def on_message_begin(self) -> None:
        pipelined = self._pipelined()
        super().on_message_begin()
        if pipelined:
            self._disarm()
        elif self._read_timer is None:
            self._arm(self.header_timeout, "headers")

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        if self.pipeline:  # queued behind a response still under way: not timed
            self._disarm()
        else:
            self._arm(self.body_timeout, "body")

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()


def timed_protocol(*, header_timeout: float, body_timeout: float) -> type[asyncio.Protocol]:
    """The protocol class to hand to ``uvicorn.Config(http=...)``."""
    return type(
        "TimedHttpToolsProtocol",
        (_TimedProtocol,),
        {"header_timeout": header_timeout, "body_timeout": body_timeout},
    )


def __getattr__(name: str) -> Any:
    """``EnvironmentTimedProtocol``: the protocol class with the timeouts of the ``SAAS_LITELLM_*``
    environment, for worker processes, which get their uvicorn options pickled and so can only
    name the class by import string (``saas_litellm_server._protocol:EnvironmentTimedProtocol``)."""
    if name == "EnvironmentTimedProtocol":
        from ._settings import Settings

        settings = Settings()
        protocol = timed_protocol(
            header_timeout=settings.header_timeout_seconds,
            body_timeout=settings.body_timeout_seconds,
        )
        globals()[name] = protocol
        return protocol
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
