"""``to_strict_json_schema(Model)``: a Pydantic model's JSON Schema in OpenAI's *strict* dialect.

``structured_call`` and ``stream_structured`` send it as
``response_format={"type": "json_schema", "json_schema": {"name", "schema", "strict": true}}``;
call it yourself to send the same schema some other way (a tool's ``parameters``, say).

Strict mode constrains decoding to the schema, and accepts only a subset of JSON Schema:

- the root is an object; every object has ``"additionalProperties": false`` and lists *all* of
  its ``properties`` in ``required``;
- the keywords are ``type``, ``properties``, ``required``, ``additionalProperties``, ``items``,
  ``enum``, ``const``, ``anyOf``, ``$ref``/``$defs`` (recursion allowed), ``description``,
  ``title``, and the constraints ``pattern``, ``format`` (``date-time``, ``date``, ``time``,
  ``duration``, ``email``, ``hostname``, ``ipv4``, ``ipv6``, ``uuid``), ``minimum``,
  ``maximum``, ``exclusiveMinimum``, ``exclusiveMaximum``, ``multipleOf``, ``minItems``,
  ``maxItems``.

What the transform does with Pydantic's output:

==============================================  ===============================================
Pydantic                                        strict schema
==============================================  ===============================================
nested models, ``list[X]``, enums, ``Literal``  kept as they are (``$defs``/``$ref``, ``items``,
                                                ``enum``, ``const``)
``Optional[X]`` / ``X | None``                  ``anyOf`` with ``{"type": "null"}`` (unchanged)
unions; discriminated unions                    ``anyOf``; ``oneOf`` becomes ``anyOf`` and
                                                ``discriminator`` is dropped (the tag fields
                                                are ``const``, so the variants stay distinct)
a field with a default                          **required**, same type: the model must send
                                                it (``x: int | None = None`` is sent as
                                                ``null``); ``default`` is dropped
recursive models (root ``$ref``)                the root definition is inlined at the root,
                                                the inner ``$ref`` stay
``$ref`` with a sibling ``description``, or a   inlined: the referenced schema is copied in
single-element ``allOf``                        (strict mode allows no keyword beside ``$ref``)
``min_length``/``max_length``, ``set``'s        dropped from the schema but still checked when
``uniqueItems``, other ``format`` values        the answer is validated (a violation is
(``uri``, ``binary``…), ``examples``            re-asked by ``structured_call``)
==============================================  ===============================================

What cannot be expressed strictly raises :class:`StrictSchemaError` (a ``ValueError``) before
anything is sent, naming the offending field:

- maps — ``dict[str, X]``, ``Mapping``, a model with ``extra="allow"`` (``additionalProperties``
  other than ``false``), ``patternProperties``;
- ``Any``, ``object``, ``JsonValue`` — a schema that accepts any JSON value;
- fixed-length tuples (``prefixItems``), ``allOf`` with several schemas, ``not``,
  ``if``/``then``/``else`` and the other applicators OpenAI does not support;
- a ``RootModel``, or a root that is not an object; types without a JSON Schema at all
  (``arbitrary_types_allowed``).

For those, pass ``strict=False`` to ``structured_call``/``stream_structured``: Pydantic's own
schema is then sent with ``"strict": false``, the provider treats it as a hint, and the answer is
still validated with your model (and re-asked when invalid). OpenAI's size limits (nesting depth,
number of properties, enum values) are not checked here: the provider's ``400`` reports them.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from pydantic import BaseModel, RootModel
from pydantic.errors import PydanticUserError

__all__ = ["StrictSchemaError", "to_strict_json_schema"]


class StrictSchemaError(ValueError):
    """The model uses a feature that OpenAI's strict structured outputs cannot express.

    A ``ValueError``, like every other invalid argument: it is raised before any request is
    sent. ``path`` is where in the model's JSON Schema the problem is, e.g.
    ``Person.properties.tags`` or ``$defs.Address.properties.extra``.
    """

    path: str

    def __init__(self, message: str, *, path: str = "") -> None:
        super().__init__(message)
        self.path = path


_KEPT_KEYWORDS = frozenset(
    {
        "type",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "enum",
        "const",
        "anyOf",
        "$ref",
        "description",
        "title",
        "pattern",
        "format",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "minItems",
        "maxItems",
    }
)
"""Copied through; any other keyword (``default``, ``examples``, ``minLength``, ``uniqueItems``,
``discriminator``, ``readOnly``…) is dropped: it only narrows what the model may answer, and
validation with the model still enforces it."""

_STRICT_FORMATS = frozenset(
    {"date-time", "time", "date", "duration", "email", "hostname", "ipv4", "ipv6", "uuid"}
)

_UNSUPPORTED_KEYWORDS = {
    "patternProperties": "maps with key patterns",
    "propertyNames": "maps with constrained keys",
    "prefixItems": "fixed-length tuples (use a list or a nested model)",
    "additionalItems": "fixed-length tuples (use a list or a nested model)",
    "not": "'not'",
    "if": "'if'/'then'/'else'",
    "then": "'if'/'then'/'else'",
    "else": "'if'/'then'/'else'",
    "dependentSchemas": "'dependentSchemas'",
    "dependentRequired": "'dependentRequired'",
    "unevaluatedProperties": "'unevaluatedProperties'",
    "unevaluatedItems": "'unevaluatedItems'",
    "contains": "'contains'",
}

_TYPED_KEYWORDS = ("type", "anyOf", "$ref", "enum", "const")
_MAX_REF_CHAIN = 32
_HINT = "; pass strict=False to send the schema non-strictly, or change the model"


def to_strict_json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON Schema of ``model`` rewritten to satisfy OpenAI's strict structured outputs.

    A pure function: it returns a new dict each time and changes nothing. Raises
    :class:`StrictSchemaError` for a model that strict mode cannot express (see the module
    documentation), ``TypeError`` for something that is not a Pydantic model class.
    """
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise TypeError(f"expected a pydantic BaseModel subclass, got {model!r}")
    name = model.__name__
    if issubclass(model, RootModel):
        raise StrictSchemaError(
            f"{name} is a RootModel; structured outputs need a JSON object at the root: "
            "use a model with fields",
            path=name,
        )
    try:
        raw = model.model_json_schema()
    except PydanticUserError as exc:
        raise StrictSchemaError(f"{name} has no JSON Schema ({exc.message})", path=name) from exc
    return _Transform(raw, name).run()


def schema_name(model: type[BaseModel]) -> str:
    """The ``json_schema.name`` for ``model``: its class name, reduced to ``[A-Za-z0-9_-]``."""
    name = re.sub(r"[^A-Za-z0-9_-]+", "_", model.__name__).strip("_")
    return name[:64] or "response"


class _Transform:
    def __init__(self, raw: dict[str, Any], name: str) -> None:
        self.raw = copy.deepcopy(raw)
        self.name = name

    def run(self) -> dict[str, Any]:
        raw_defs = self.raw.pop("$defs", {})
        if not isinstance(raw_defs, dict):
            raise self.error("'$defs' is not an object", "$defs")
        self.defs = raw_defs
        root = self.raw
        if "$ref" in root:  # a recursive model: pydantic refers to its own definition
            root = self.inline_ref(root, self.name)
        out = self.node(root, self.name)
        if out.get("type") != "object":
            raise self.error("the root of the schema must be an object", self.name)
        defs = {key: self.node(value, f"$defs.{key}") for key, value in raw_defs.items()}
        used = _referenced_defs(out, defs)
        if used:  # definitions inlined everywhere they were used are left out
            out["$defs"] = {key: value for key, value in defs.items() if key in used}
        return out

    def error(self, problem: str, path: str) -> StrictSchemaError:
        return StrictSchemaError(
            f"{self.name} cannot be sent as a strict JSON Schema: {path}: {problem}{_HINT}",
            path=path,
        )

    def resolve(self, ref: object, path: str) -> dict[str, Any]:
        prefix = "#/$defs/"
        if not isinstance(ref, str) or not ref.startswith(prefix):
            raise self.error(f"unsupported $ref {ref!r}", path)
        target = self.defs.get(ref[len(prefix) :].replace("~1", "/").replace("~0", "~"))
        if not isinstance(target, dict):
            raise self.error(f"$ref {ref!r} does not resolve", path)
        return target

    def inline_ref(self, schema: dict[str, Any], path: str) -> dict[str, Any]:
        """Replace ``$ref`` by a copy of its target; the siblings (a description) win."""
        for _ in range(_MAX_REF_CHAIN):
            if "$ref" not in schema:
                return schema
            siblings = {key: value for key, value in schema.items() if key != "$ref"}
            schema = {**copy.deepcopy(self.resolve(schema["$ref"], path)), **siblings}
        raise self.error("$ref chain too long", path)

    def node(self, schema: object, path: str) -> dict[str, Any]:
        if not isinstance(schema, dict):
            raise self.error(f"schema {schema!r} is not an object", path)
        for keyword, what in _UNSUPPORTED_KEYWORDS.items():
            if keyword in schema:
                raise self.error(f"{what} cannot be expressed in strict mode", path)
        schema = dict(schema)
        if "allOf" in schema:
            parts = schema.pop("allOf")
            if not isinstance(parts, list) or len(parts) != 1:
                raise self.error("'allOf' with several schemas is not supported", path)
            schema = {**parts[0], **schema}
        if "oneOf" in schema:
            if "anyOf" in schema:
                raise self.error("both 'oneOf' and 'anyOf'", path)
            schema["anyOf"] = schema.pop("oneOf")
        if "$ref" in schema:
            schema.pop("title", None)  # pure decoration: not worth a copy of the definition
            if any(key in _KEPT_KEYWORDS for key in schema if key != "$ref"):
                schema = self.inline_ref(schema, path)
            else:
                self.resolve(schema["$ref"], path)  # a dangling $ref fails here, not upstream

        out: dict[str, Any] = {}
        for key, value in schema.items():
            if key == "properties":
                if not isinstance(value, dict):
                    raise self.error("'properties' is not an object", path)
                out[key] = {
                    prop: self.node(sub, f"{path}.properties.{prop}") for prop, sub in value.items()
                }
            elif key == "items":
                out[key] = self.node(value, f"{path}.items")
            elif key == "anyOf":
                if not isinstance(value, list) or not value:
                    raise self.error("'anyOf' is not a non-empty list", path)
                out[key] = [self.node(sub, f"{path}.anyOf[{i}]") for i, sub in enumerate(value)]
            elif key in ("required", "additionalProperties"):
                continue  # rebuilt below
            elif key == "format":
                if value in _STRICT_FORMATS:
                    out[key] = value
            elif key in _KEPT_KEYWORDS:
                out[key] = copy.deepcopy(value)

        kind = schema.get("type")
        is_object = kind == "object" or (isinstance(kind, list) and "object" in kind)
        if is_object or "properties" in schema:
            self.make_object_strict(schema, out, path)
        if not any(key in out for key in _TYPED_KEYWORDS):
            raise self.error(
                "accepts any JSON value (Any, object, JsonValue); strict mode needs a type",
                path,
            )
        return out

    def make_object_strict(self, schema: dict[str, Any], out: dict[str, Any], path: str) -> None:
        extra = schema.get("additionalProperties", "properties" not in schema)
        if extra is not False:
            raise self.error(
                "a map (dict[str, X], Mapping, extra='allow') cannot be expressed in strict "
                "mode, which needs every key named in advance (use a list of key/value models)",
                path,
            )
        properties = out.setdefault("properties", {})
        if isinstance(out.get("type"), list):
            if "object" not in out["type"]:  # "properties" without "type": object
                out["type"] = [*out["type"], "object"]
        else:
            out["type"] = "object"
        out["required"] = list(properties)
        out["additionalProperties"] = False


def _refs(schema: object) -> set[str]:
    """The names of the ``$defs`` that ``schema`` refers to directly."""
    found: set[str] = set()
    stack = [schema]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            ref = item.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                found.add(ref[len("#/$defs/") :])
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def _referenced_defs(root: dict[str, Any], defs: dict[str, Any]) -> set[str]:
    """The definitions reachable from ``root`` (which has no ``$defs`` yet)."""
    used: set[str] = set()
    pending = _refs(root)
    while pending:
        name = pending.pop()
        if name in used:
            continue
        used.add(name)
        pending |= _refs(defs[name])
    return used
