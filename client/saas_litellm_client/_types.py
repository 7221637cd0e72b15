"""Small types shared by the public signatures."""

from __future__ import annotations

from typing import Final, Literal

import httpx

__all__ = ["DEFAULT_MAX_RETRIES", "DEFAULT_TIMEOUT", "NOT_GIVEN", "NotGiven", "TimeoutTypes"]

TimeoutTypes = float | httpx.Timeout | None
"""Seconds for every phase, an ``httpx.Timeout`` per phase, or ``None`` for no timeout at all."""

DEFAULT_TIMEOUT: Final = httpx.Timeout(60.0, connect=5.0)
"""A minute for an LLM to answer, but fail fast when the server is unreachable."""


class NotGiven:
    """Marks an argument that was not passed, where ``None`` is a meaningful value.

    ``timeout=None`` means "no timeout"; leaving ``timeout`` out means "the default", which is
    the passed-in ``http_client``'s own timeout when there is one.
    """

    def __bool__(self) -> Literal[False]:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN: Final = NotGiven()

DEFAULT_MAX_RETRIES: Final = 2
"""Retries after the first attempt (so at most three attempts), see ``_retry``."""
