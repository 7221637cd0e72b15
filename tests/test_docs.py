"""The documentation cannot drift: the API reference is generated, and every example in the
OpenAPI document validates against its schema and round-trips through its model."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import jsonschema
import pytest

import saas_litellm_models
from saas_litellm_server import Settings, create_app
from saas_litellm_server._version import __version__
from saas_litellm_server.routes._openapi import build_openapi

ROOT = Path(__file__).resolve().parents[1]


def _generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(
        "generate_reference", ROOT / "docs" / "generate_reference.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_api_reference_is_up_to_date() -> None:
    committed = (ROOT / "docs" / "api-reference.md").read_text()
    assert committed == _generator().render(), "run: python docs/generate_reference.py"


DOCUMENT = build_openapi(
    create_app(Settings(database_url="sqlite:///:memory:", _env_file=None)).routes,  # type: ignore[call-arg]
    version=__version__,
)
EXAMPLES = [
    (name, example)
    for name, schema in DOCUMENT["components"]["schemas"].items()
    for example in schema.get("examples", [])
]


def test_the_document_has_examples() -> None:
    assert {name for name, _ in EXAMPLES} >= {
        "JobCreateRequest",
        "LLMCallRequest",
        "TeamCreateRequest",
        "ModelAliasCreateRequest",
    }


@pytest.mark.parametrize(("name", "example"), EXAMPLES, ids=[n for n, _ in EXAMPLES])
def test_each_example_validates_and_round_trips(name: str, example: dict[str, object]) -> None:
    # "#/components/schemas/…" references resolve against the schema's own root
    schema = {**DOCUMENT["components"]["schemas"][name], "components": DOCUMENT["components"]}
    jsonschema.Draft202012Validator(schema).validate(example)
    model = getattr(saas_litellm_models, name)
    parsed = model.model_validate(example)
    assert model.model_validate_json(parsed.model_dump_json()) == parsed
    dumped = parsed.model_dump(mode="json", exclude_unset=True, by_alias=True)
    assert dumped == example
