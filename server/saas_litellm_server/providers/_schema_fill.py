"""Build a JSON value that validates against a JSON Schema, filled from a prompt where it can.

Used by the mock provider so that structured-output requests get a valid, plausible answer
offline: a ``name`` field takes a capitalised name from the prompt, ``email`` an address, an
integer the first fitting number, an enum the first of its values that the prompt mentions.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["fill_schema"]

_MAX_DEPTH = 6
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PERSON = re.compile(r"\b([A-Z][a-z]+(?: [A-Z][a-z]+)+)\b")
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.])")
_URL = re.compile(r"https?://\S+")


def fill_schema(schema: dict[str, Any], prompt: str) -> Any:
    return _Filler(schema, prompt).value(schema, name="", depth=0)


class _Filler:
    def __init__(self, root: dict[str, Any], prompt: str) -> None:
        self.root = root
        self.prompt = prompt
        self.numbers = [float(n) for n in _NUMBER.findall(prompt)]

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        seen = 0
        while "$ref" in schema and seen < 32:
            ref = str(schema["$ref"])
            target: Any = self.root
            if not ref.startswith("#"):
                return {}
            for part in ref.lstrip("#").strip("/").split("/"):
                if not part:
                    continue
                target = target.get(part.replace("~1", "/").replace("~0", "~"), {})
            schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
            seen += 1
        return schema

    def value(self, schema: Any, *, name: str, depth: int) -> Any:
        if not isinstance(schema, dict):
            return None
        schema = self.resolve(schema)
        if "const" in schema:
            return schema["const"]
        if schema.get("enum"):
            return self.choose(schema["enum"])
        for key in ("anyOf", "oneOf"):
            if schema.get(key):
                options = [self.resolve(o) for o in schema[key] if isinstance(o, dict)]
                nullable = any(o.get("type") == "null" for o in options)
                real = [o for o in options if o.get("type") != "null"]
                if not real or (nullable and depth >= _MAX_DEPTH):
                    return None
                return self.value(real[0], name=name, depth=depth + 1)
        if schema.get("allOf"):
            merged: dict[str, Any] = {}
            for part in schema["allOf"]:
                merged.update(self.resolve(part) if isinstance(part, dict) else {})
            return self.value(merged, name=name, depth=depth + 1)
        kind = schema.get("type")
        if isinstance(kind, list):
            real_kinds = [k for k in kind if k != "null"]
            if not real_kinds or (len(real_kinds) < len(kind) and depth >= _MAX_DEPTH):
                return None
            kind = real_kinds[0]
        if kind is None:
            kind = "object" if "properties" in schema else "string"
        handler = getattr(self, f"fill_{kind}", None)
        return handler(schema, name, depth) if handler else None

    def choose(self, options: list[Any]) -> Any:
        lowered = self.prompt.lower()
        for option in options:
            if isinstance(option, str) and option and option.lower() in lowered:
                return option
        return options[0]

    def fill_object(self, schema: dict[str, Any], name: str, depth: int) -> dict[str, Any]:
        props = schema.get("properties") or {}
        required = set(schema.get("required") or props)
        out: dict[str, Any] = {}
        for key, sub in props.items():
            if depth >= _MAX_DEPTH and key not in required:
                continue
            out[key] = self.value(sub, name=key, depth=depth + 1)
        return out

    def fill_array(self, schema: dict[str, Any], name: str, depth: int) -> list[Any]:
        low = int(schema.get("minItems", 0 if depth >= _MAX_DEPTH else 1))
        high = schema.get("maxItems")
        count = low if high is None else min(low, int(high))
        items = schema.get("items", {})
        singular = name[:-1] if name.endswith("s") else name
        return [self.value(items, name=singular, depth=depth + 1) for _ in range(count)]

    def fill_string(self, schema: dict[str, Any], name: str, depth: int) -> str:
        fmt = schema.get("format", "")
        key = name.lower()
        if fmt == "email" or "email" in key:
            found = _EMAIL.search(self.prompt)
            text = found.group(0) if found else "jane.doe@example.com"
        elif fmt == "date-time":
            text = "2026-01-01T00:00:00Z"
        elif fmt == "date":
            text = "2026-01-01"
        elif fmt == "time":
            text = "12:00:00"
        elif fmt == "uuid":
            text = "00000000-0000-4000-8000-000000000000"
        elif fmt in {"uri", "url"} or key in {"url", "uri", "website"}:
            found = _URL.search(self.prompt)
            text = found.group(0) if found else "https://example.com"
        elif "name" in key:
            found = _PERSON.search(self.prompt)
            text = found.group(1) if found else "Jane Doe"
        else:
            text = " ".join(self.prompt.split())[:80] or "example"
        low, high = int(schema.get("minLength", 0)), schema.get("maxLength")
        if high is not None:
            text = text[: int(high)]
        return text.ljust(low, "x")

    def _number(self, schema: dict[str, Any], integral: bool) -> float:
        low = schema.get("minimum", schema.get("exclusiveMinimum"))
        high = schema.get("maximum", schema.get("exclusiveMaximum"))

        def fits(n: float) -> bool:
            if integral and n != int(n):
                return False
            if "minimum" in schema and n < schema["minimum"]:
                return False
            if "exclusiveMinimum" in schema and n <= schema["exclusiveMinimum"]:
                return False
            if "maximum" in schema and n > schema["maximum"]:
                return False
            return not ("exclusiveMaximum" in schema and n >= schema["exclusiveMaximum"])

        for n in self.numbers:
            if fits(n):
                return n
        for candidate in (0, low, high):
            if candidate is None:
                continue
            for n in (candidate, candidate + 1, candidate - 1):
                if fits(n):
                    return float(n)
        return float(low or 0)

    def fill_integer(self, schema: dict[str, Any], name: str, depth: int) -> int:
        return int(self._number(schema, integral=True))

    def fill_number(self, schema: dict[str, Any], name: str, depth: int) -> float:
        return self._number(schema, integral=False)

    def fill_boolean(self, schema: dict[str, Any], name: str, depth: int) -> bool:
        return True

    def fill_null(self, schema: dict[str, Any], name: str, depth: int) -> None:
        return None
