"""The SDK's endpoint methods are what ``scripts/generate_sdk.py`` makes of the endpoint table:
never edited by hand, never out of date, and typed as the table's models say."""

from __future__ import annotations

import importlib.util
import inspect
import sys
import typing
from pathlib import Path
from types import ModuleType

from saas_litellm_client import SaasLiteLLMAdminClient, SaasLiteLLMClient
from saas_litellm_models import Team, TeamUpdateRequest
from saas_litellm_models.endpoints import Endpoint, SDKMethod

ROOT = Path(__file__).resolve().parent.parent


def _script() -> ModuleType:
    path = ROOT / "scripts" / "generate_sdk.py"
    spec = importlib.util.spec_from_file_location("generate_sdk_script", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_the_endpoint_methods_are_generated_from_the_table() -> None:
    script = _script()

    assert script.TARGET.read_text() == script.generated(), (
        "run `python scripts/generate_sdk.py` (then scripts/unasync.py) and commit the result"
    )


def test_a_new_row_is_a_new_method_typed_by_its_models() -> None:
    """Adding an endpoint is one row: its method takes the path parameters positionally, the
    body's fields with their types, and the per-call options."""
    script = _script()
    row = Endpoint(
        "PATCH",
        "/api/teams/{team_id}/nickname",
        "Rename a team",
        "admin",
        "admin",
        Team,
        body=TeamUpdateRequest,
        partial=True,
        sdk=(SDKMethod("admin", "rename_team", positional=("team_id",), doc="Rename."),),
    )

    text = script._method("RENAME_TEAM", row, row.sdk[0], script._Imports())

    assert text.startswith("    async def rename_team(self, team_id: str, *, team_alias: ")
    assert "team_alias: str | NotGiven | None = NOT_GIVEN" in text
    assert "budget_mode: BudgetMode | NotGiven | None = NOT_GIVEN" in text
    assert "**options: Unpack[RequestOptions]) -> Team:" in text
    assert "path={'team_id': team_id}" in text  # (ruff formats the quotes afterwards)


def test_generated_signatures_follow_the_models() -> None:
    create_team = inspect.signature(SaasLiteLLMAdminClient.create_team)
    hints = typing.get_type_hints(SaasLiteLLMAdminClient.create_team)

    # positional as the table says, the rest keyword-only with the models' defaults
    kinds = {name: p.kind for name, p in create_team.parameters.items()}
    assert kinds["organization_id"] == kinds["team_id"] == inspect.Parameter.POSITIONAL_OR_KEYWORD
    assert kinds["credits_allocated"] == inspect.Parameter.KEYWORD_ONLY
    assert create_team.parameters["credits_allocated"].default == 0
    assert create_team.parameters["options"].kind == inspect.Parameter.VAR_KEYWORD
    assert hints["return"].__name__ == "TeamCreated"
    # the team client fills its own team id in
    assert "team_id" not in inspect.signature(SaasLiteLLMClient.create_job).parameters
    assert "team_id" not in inspect.signature(SaasLiteLLMClient.list_jobs).parameters
