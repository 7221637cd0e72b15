"""Bound the work a JSON body can cause before anything parses it.

A 4 MB body may hold 1.4 million ``{}``: parsing it builds 1.4 million objects and holds the event
loop for half a second, and 1,100 nested ``[`` overflow the recursion of any recursive JSON code.
:func:`check_json_shape` refuses both with counts of the raw bytes (C speed); it looks inside the
strings (a regular expression, still C speed) only when the quick bounds cannot decide.
"""

from __future__ import annotations

import re

from ..errors import InvalidRequest, RequestTooLarge

__all__ = ["MAX_JSON_DEPTH", "MAX_JSON_VALUES", "check_json_shape"]

MAX_JSON_DEPTH = 64
"""Nesting levels a body may have (the deepest shape, a tool's JSON schema, needs far fewer)."""
MAX_JSON_VALUES = 100_000
"""JSON values (strings, numbers, objects, arrays…) a body may hold."""

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")


def check_json_shape(
    body: bytes, *, max_depth: int = MAX_JSON_DEPTH, max_values: int = MAX_JSON_VALUES
) -> None:
    """Raise :class:`RequestTooLarge` (too many values) or :class:`InvalidRequest` (too deep)."""
    opens = body.count(b"{") + body.count(b"[")
    if opens + body.count(b",") < max_values and opens <= max_depth:
        return  # fewer separators and brackets than either limit: nothing to look at
    # Every string has two unescaped quotes; over the limit in strings alone, no need to look.
    if (body.count(b'"') - body.count(b'\\"')) // 2 > max_values:
        raise _too_many(max_values)
    structure = _STRING.sub(b"", body)  # what is left: brackets, commas, numbers, literals
    brackets = structure.translate(None, _NOT_BRACKET)
    if len(brackets) // 2 + structure.count(b",") + 1 > max_values:
        raise _too_many(max_values)
    if len(brackets) > max_depth:
        depth = deepest = 0
        for byte in brackets:
            depth += 1 if byte in b"[{" else -1
            if depth > deepest:
                deepest = depth
                if deepest > max_depth:
                    raise InvalidRequest(f"the body nests deeper than {max_depth} levels")


def _too_many(max_values: int) -> RequestTooLarge:
    return RequestTooLarge(f"the body holds more than {max_values} JSON values")
