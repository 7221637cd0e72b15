"""What the providers rely on of aiohttp's internals, in one place; ``tests/server/test_compat.py``
fails, naming the attribute and the version, when an upgrade takes any of it away.

When a streamed answer is cut, aiohttp's ``StreamReader`` raises the error on the next read
before it hands over what it already received, so the lines that arrived just before the cut
would be lost (they may carry content the client is billed for). :func:`held` takes them from
the reader's buffer: ``StreamReader._buffer`` (a deque of the chunks received and not yet read)
and ``StreamReader._buffer_offset`` (how much of the first chunk was read already).
"""

from __future__ import annotations

import aiohttp

__all__ = ["held"]


def held(reader: aiohttp.StreamReader) -> bytes:
    """The bytes ``reader`` received and has not handed over yet (none, should an aiohttp
    without these attributes run: the test fails first, and at worst those lines are lost)."""
    chunks: list[bytes] = list(getattr(reader, "_buffer", ()))
    if chunks:
        chunks[0] = chunks[0][getattr(reader, "_buffer_offset", 0) :]
    return b"".join(chunks)
