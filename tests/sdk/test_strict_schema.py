"""``to_strict_json_schema``: Pydantic models → schemas that satisfy OpenAI's strict-mode rules.

Every model of the table goes through the same checker (which walks the whole schema and asserts
the rules), and a valid instance of the model must validate against the produced schema with
``jsonschema``.
"""

from __future__ import annotations

import copy
import datetime
import uuid
from enum import Enum, IntEnum
from typing import Annotated, Any, Generic, Literal, TypeVar

import jsonschema
import pytest
from pydantic import BaseModel, ConfigDict, Field, JsonValue, RootModel

from saas_litellm_client import StrictSchemaError, to_strict_json_schema

# -- the rules ---------------------------------------------------------------------------------

ALLOWED_KEYWORDS = {
    "type",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "enum",
    "const",
    "anyOf",
    "$ref",
    "$defs",
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
STRICT_FORMATS = {"date-time", "time", "date", "duration", "email", "hostname", "ipv4", "ipv6"}
STRICT_FORMATS |= {"uuid"}


def strict_violations(schema: dict[str, Any]) -> list[str]:
    """Every way ``schema`` breaks OpenAI's strict-mode rules (empty when it follows them)."""
    problems: list[str] = []
    defs = schema.get("$defs", {})
    if schema.get("type") != "object":
        problems.append("root: not an object")

    def walk(node: Any, path: str) -> None:
        if not isinstance(node, dict):
            problems.append(f"{path}: not a schema object")
            return
        for key in node:
            if key not in ALLOWED_KEYWORDS:
                problems.append(f"{path}: keyword {key!r}")
        if "$defs" in node and path != "#":
            problems.append(f"{path}: $defs below the root")
        if not any(key in node for key in ("type", "anyOf", "$ref", "enum", "const")):
            problems.append(f"{path}: no type")
        if "format" in node and node["format"] not in STRICT_FORMATS:
            problems.append(f"{path}: format {node['format']!r}")
        if "$ref" in node:
            ref = node["$ref"]
            if set(node) != {"$ref"}:
                problems.append(f"{path}: keywords beside $ref: {sorted(set(node) - {'$ref'})}")
            if not (isinstance(ref, str) and ref.startswith("#/$defs/")) or (
                ref.removeprefix("#/$defs/") not in defs
            ):
                problems.append(f"{path}: $ref {ref!r} does not resolve")
        kind = node.get("type")
        if kind == "object" or "properties" in node:
            if node.get("additionalProperties") is not False:
                problems.append(f"{path}: additionalProperties is not false")
            properties = node.get("properties")
            if not isinstance(properties, dict):
                problems.append(f"{path}: object without properties")
                properties = {}
            if node.get("required") != list(properties):
                problems.append(f"{path}: required {node.get('required')} != {list(properties)}")
            for name, sub in properties.items():
                walk(sub, f"{path}.{name}")
        if kind == "array" or "items" in node:
            if "items" not in node:
                problems.append(f"{path}: array without items")
            else:
                walk(node["items"], f"{path}[]")
        for index, sub in enumerate(node.get("anyOf", [])):
            walk(sub, f"{path}|{index}")

    walk(schema, "#")
    for name, sub in defs.items():
        walk(sub, f"$defs.{name}")
    return problems


def assert_validates(schema: dict[str, Any], instance: BaseModel) -> None:
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(
        instance.model_dump(mode="json", by_alias=True),
        schema,
        cls=jsonschema.Draft202012Validator,
    )


# -- the models --------------------------------------------------------------------------------


class Flat(BaseModel):
    """A flat model of scalars."""

    name: str
    age: int
    height: float
    active: bool


class Address(BaseModel):
    street: str
    city: str


class Nested(BaseModel):
    home: Address
    previous: list[Address]
    work: Address = Field(description="Where they work")  # $ref with a sibling description


class Color(str, Enum):
    RED = "red"
    GREEN = "green"


class Priority(IntEnum):
    LOW = 1
    HIGH = 2


class Enums(BaseModel):
    color: Color
    favourite: Color = Field(default=Color.RED, description="A favourite colour")
    priority: Priority
    mode: Literal["fast", "slow"]
    version: Literal[2]
    maybe: Literal["a", "b"] | None = None


class Optionals(BaseModel):
    nickname: str | None
    address: Address | None = None
    tags: list[str] | None = None


class Defaults(BaseModel):
    count: int = 0
    tags: list[str] = []
    label: str = "x"
    note: str | None = None


class Cat(BaseModel):
    kind: Literal["cat"] = "cat"
    lives: int


class Dog(BaseModel):
    kind: Literal["dog"] = "dog"
    good: bool


class Unions(BaseModel):
    value: int | str
    pet: Cat | Dog
    tagged: Annotated[Cat | Dog, Field(discriminator="kind")]
    pets: list[Annotated[Cat | Dog, Field(discriminator="kind")]]


class Node(BaseModel):
    name: str
    children: list[Node] = []


class Employee(BaseModel):
    name: str
    manager: Employee | None = None
    reports: list[Employee] = []
    team: Team | None = None


class Team(BaseModel):
    lead: Employee
    members: list[Employee]


class Constrained(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=3, max_length=5, pattern=r"^[A-Z]+$")
    score: int = Field(ge=0, le=100)
    ratio: float = Field(gt=0, lt=1)
    items: list[int] = Field(min_length=1, max_length=3)
    unique: set[str]
    when: datetime.datetime
    day: datetime.date
    ident: uuid.UUID
    duration: datetime.timedelta


class Aliased(BaseModel):
    full_name: str = Field(alias="fullName")
    birth_year: int = Field(alias="birthYear")


class Empty(BaseModel):
    pass


ItemT = TypeVar("ItemT")


class Page(BaseModel, Generic[ItemT]):
    items: list[ItemT]
    total: int


Employee.model_rebuild()

CASES: list[tuple[type[BaseModel], BaseModel]] = [
    (Flat, Flat(name="Ada", age=36, height=1.7, active=True)),
    (
        Nested,
        Nested(
            home=Address(street="1 Main St", city="Springfield"),
            previous=[Address(street="2 Elm St", city="Shelbyville")],
            work=Address(street="3 Oak St", city="Capital City"),
        ),
    ),
    (
        Enums,
        Enums(color=Color.GREEN, priority=Priority.HIGH, mode="slow", version=2, maybe="b"),
    ),
    (Optionals, Optionals(nickname=None, address=Address(street="s", city="c"))),
    (Defaults, Defaults()),
    (
        Unions,
        Unions(
            value="x",
            pet=Dog(good=True),
            tagged=Cat(lives=9),
            pets=[Cat(lives=1), Dog(good=False)],
        ),
    ),
    (Node, Node(name="root", children=[Node(name="a", children=[Node(name="b")])])),
    (
        Team,
        Team(
            lead=Employee(name="Lea", reports=[Employee(name="Bo")]),
            members=[Employee(name="Bo", manager=Employee(name="Lea"))],
        ),
    ),
    (
        Constrained,
        Constrained(
            code="ABC",
            score=50,
            ratio=0.5,
            items=[1, 2],
            unique={"x"},
            when=datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc),
            day=datetime.date(2026, 1, 2),
            ident=uuid.UUID(int=7),
            duration=datetime.timedelta(minutes=5),
        ),
    ),
    (Aliased, Aliased(fullName="Ada Lovelace", birthYear=1815)),
    (Empty, Empty()),
    (Page[Address], Page[Address](items=[Address(street="s", city="c")], total=1)),
]


@pytest.mark.parametrize(("model", "instance"), CASES, ids=[c[0].__name__ for c in CASES])
def test_the_schema_follows_the_strict_rules_and_accepts_a_valid_instance(
    model: type[BaseModel], instance: BaseModel
) -> None:
    schema = to_strict_json_schema(model)

    assert strict_violations(schema) == []
    assert_validates(schema, instance)


def test_the_checker_catches_what_pydantic_emits_unchanged() -> None:
    """The checker is not vacuous: pydantic's own schemas break the strict rules."""
    problems = strict_violations(Unions.model_json_schema())

    assert any("additionalProperties" in p for p in problems)
    assert any("'oneOf'" in p for p in problems)
    assert any("'discriminator'" in p for p in problems)
    assert any("required" in p for p in strict_violations(Defaults.model_json_schema()))
    assert any("'default'" in p for p in strict_violations(Defaults.model_json_schema()))
    assert any("root: not an object" in p for p in strict_violations(Node.model_json_schema()))


# -- what the transform does, case by case ----------------------------------------------------


def test_fields_with_defaults_are_required_with_their_own_type_and_no_default() -> None:
    schema = to_strict_json_schema(Defaults)

    assert schema["required"] == ["count", "tags", "label", "note"]
    assert schema["properties"]["count"] == {"title": "Count", "type": "integer"}
    assert schema["properties"]["tags"]["type"] == "array"
    assert schema["properties"]["note"]["anyOf"] == [{"type": "string"}, {"type": "null"}]
    with pytest.raises(jsonschema.ValidationError, match="'count' is a required property"):
        jsonschema.validate({"tags": [], "label": "x", "note": None}, schema)


def test_optional_fields_are_required_but_nullable() -> None:
    schema = to_strict_json_schema(Optionals)

    assert schema["required"] == ["nickname", "address", "tags"]
    assert {"type": "null"} in schema["properties"]["address"]["anyOf"]
    assert {"$ref": "#/$defs/Address"} in schema["properties"]["address"]["anyOf"]
    jsonschema.validate({"nickname": None, "address": None, "tags": None}, schema)


def test_objects_refuse_unknown_keys() -> None:
    schema = to_strict_json_schema(Nested)
    address = {"street": "s", "city": "c"}

    with pytest.raises(jsonschema.ValidationError, match="Additional properties"):
        jsonschema.validate(
            {"home": {**address, "zip": "1"}, "previous": [], "work": address}, schema
        )


def test_discriminated_unions_become_any_of_without_discriminator() -> None:
    schema = to_strict_json_schema(Unions)

    tagged = schema["properties"]["tagged"]
    assert "oneOf" not in tagged
    assert "discriminator" not in tagged
    assert tagged["anyOf"] == [{"$ref": "#/$defs/Cat"}, {"$ref": "#/$defs/Dog"}]
    assert schema["$defs"]["Cat"]["properties"]["kind"]["const"] == "cat"
    assert schema["$defs"]["Cat"]["required"] == ["kind", "lives"]


def test_a_ref_with_a_description_is_inlined_and_keeps_the_description() -> None:
    schema = to_strict_json_schema(Nested)

    work = schema["properties"]["work"]
    assert "$ref" not in work
    assert work["description"] == "Where they work"
    assert work["type"] == "object"
    assert work["required"] == ["street", "city"]
    assert work["additionalProperties"] is False
    assert schema["properties"]["home"] == {"$ref": "#/$defs/Address"}

    enum_field = to_strict_json_schema(Enums)["properties"]["favourite"]
    assert enum_field["enum"] == ["red", "green"]
    assert enum_field["description"] == "A favourite colour"
    assert "default" not in enum_field


def test_a_recursive_model_has_an_object_root_and_refs_into_defs() -> None:
    schema = to_strict_json_schema(Node)

    assert "$ref" not in schema
    assert schema["type"] == "object"
    assert schema["properties"]["children"]["items"] == {"$ref": "#/$defs/Node"}
    assert schema["$defs"]["Node"]["required"] == ["name", "children"]
    with pytest.raises(jsonschema.ValidationError):  # the recursion is checked all the way down
        jsonschema.validate(
            {"name": "a", "children": [{"name": "b", "children": [{"name": "c"}]}]}, schema
        )


def test_constraints_strict_mode_lacks_are_dropped_the_others_kept() -> None:
    props = to_strict_json_schema(Constrained)["properties"]

    assert props["code"] == {"title": "Code", "type": "string", "pattern": "^[A-Z]+$"}
    assert props["score"]["minimum"] == 0
    assert props["score"]["maximum"] == 100
    assert props["ratio"]["exclusiveMinimum"] == 0
    assert "maxItems" in props["items"]
    assert "uniqueItems" not in props["unique"]
    assert props["when"]["format"] == "date-time"
    assert props["ident"]["format"] == "uuid"


def test_unsupported_formats_are_dropped() -> None:
    from pydantic import AnyUrl

    class Link(BaseModel):
        url: AnyUrl
        data: bytes

    props = to_strict_json_schema(Link)["properties"]

    assert props["url"] == {"title": "Url", "type": "string"}
    assert "format" not in props["data"]


def test_aliases_are_the_property_names() -> None:
    schema = to_strict_json_schema(Aliased)

    assert schema["required"] == ["fullName", "birthYear"]


def test_the_transform_is_pure() -> None:
    before = copy.deepcopy(Nested.model_json_schema())
    first = to_strict_json_schema(Nested)
    first["properties"].clear()
    first["$defs"]["Address"]["required"].clear()

    second = to_strict_json_schema(Nested)

    assert second["required"] == ["home", "previous", "work"]
    assert second["$defs"]["Address"]["required"] == ["street", "city"]
    assert Nested.model_json_schema() == before


# -- what cannot be strict --------------------------------------------------------------------


class WithMap(BaseModel):
    scores: dict[str, int]


class WithAny(BaseModel):
    payload: Any


class WithJson(BaseModel):
    payload: JsonValue


class WithTuple(BaseModel):
    point: tuple[int, int]


class OpenModel(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str


class HasOpenChild(BaseModel):
    child: OpenModel


class Arbitrary:
    pass


class WithArbitrary(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    thing: Arbitrary


@pytest.mark.parametrize(
    ("model", "path", "reason"),
    [
        (WithMap, "WithMap.properties.scores", "map"),
        (WithAny, "WithAny.properties.payload", "any JSON value"),
        (WithJson, "$defs.JsonValue", "any JSON value"),
        (WithTuple, "WithTuple.properties.point", "tuples"),
        (OpenModel, "OpenModel", "map"),
        (HasOpenChild, "$defs.OpenModel", "map"),
        (RootModel[list[int]], "RootModel[list[int]]", "RootModel"),
        (WithArbitrary, "WithArbitrary", "no JSON Schema"),
    ],
)
def test_what_strict_mode_cannot_express_raises_a_clear_error(
    model: type[BaseModel], path: str, reason: str
) -> None:
    with pytest.raises(StrictSchemaError, match=reason) as caught:
        to_strict_json_schema(model)

    assert caught.value.path == path
    assert "strict=False" in str(caught.value) or reason in ("RootModel", "no JSON Schema")
    assert isinstance(caught.value, ValueError)


def test_something_else_than_a_model_class_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="BaseModel subclass"):
        to_strict_json_schema(Flat(name="a", age=1, height=1.0, active=True))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        to_strict_json_schema(dict)  # type: ignore[arg-type]
