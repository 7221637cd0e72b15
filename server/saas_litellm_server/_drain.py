"""``serve``'s graceful drain: uvicorn's server, told to drain instead of stopping at once.

uvicorn on SIGTERM closes its listening socket at once, then waits for requests in flight: a
load balancer probing ``/ready`` only sees connections refused. Here the first SIGTERM or SIGINT
starts a drain instead: ``/ready`` answers 503 at once (the app's runtime is marked draining)
while the socket stays open and every request — probes, and whatever a balancer still sends
before it notices — is served. When no request is in flight, or the grace has run out, uvicorn's
own shutdown follows: the socket closes, idle keep-alive connections close, responses still
running get what is left of the grace, then are cancelled. The process then exits 0 (uvicorn would
re-raise the signal). A second SIGINT (Ctrl+C twice) stops at once.
"""

from __future__ import annotations

import logging
import signal
import time
from types import FrameType
from typing import Any

import uvicorn
from uvicorn.supervisors import multiprocess as _multiprocess

__all__ = ["RUNTIME_STATE", "DrainingServer", "drain_workers"]

RUNTIME_STATE = "saas_litellm_runtime"
"""The key under which the app's lifespan hands the server its runtime (ASGI lifespan state)."""

logger = logging.getLogger("saas_litellm_server")


class DrainingServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, *, grace_seconds: float) -> None:
        super().__init__(config)
        self.grace_seconds = grace_seconds
        self.draining_since: float | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # Replaces uvicorn's handler: it records the signal to raise it again after shutdown,
        # which would end the process by that signal instead of exit status 0.
        if self.draining_since is not None:
            if sig == signal.SIGINT:
                self.force_exit = self.should_exit = True
            return
        self.draining_since = time.monotonic()
        runtime: Any = getattr(self, "lifespan", None) and self.lifespan.state.get(RUNTIME_STATE)
        if runtime is not None:
            runtime.draining = True

    async def on_tick(self, counter: int) -> bool:
        if self.draining_since is not None and not self.should_exit:
            left = self.grace_seconds - (time.monotonic() - self.draining_since)
            # server_state.tasks: the requests in flight (a streamed response until its end)
            if not self.server_state.tasks or left <= 0:
                logger.info(
                    "draining: %d request(s) in flight, closing the socket (%.1f s of grace left)",
                    len(self.server_state.tasks),
                    max(left, 0.0),
                )
                # typed int by uvicorn, used as asyncio.timeout's delay: a float is right
                self.config.timeout_graceful_shutdown = max(left, 0.0)  # type: ignore[assignment]
                self.should_exit = True
        return await super().on_tick(counter)


def drain_workers() -> None:
    """Make the workers of uvicorn's supervisor (``serve --workers N``) drain as ``serve``
    does. The supervisor builds each worker's server in ``Process.server``, with no way to
    choose its class: this swaps in a ``Process`` whose server is a :class:`DrainingServer`
    (uvicorn's supervisor sends each worker SIGTERM on its own SIGTERM or SIGINT). It leans on
    uvicorn internals (the module's ``Process`` name, its ``_server`` attribute):
    ``tests/server/test_drain.py`` fails when an upgrade moves them."""
    _multiprocess.Process = _DrainingProcess  # type: ignore[misc]


class _DrainingProcess(_multiprocess.Process):
    @property
    def server(self) -> uvicorn.Server:
        if self._server is None:
            grace = self.config.timeout_graceful_shutdown or 0.0
            self._server = DrainingServer(self.config, grace_seconds=grace)
        return self._server
