"""The dashboard's edit forms (dashboard/_forms.py and the pages that serve them) over httpx, on
SQLite and PostgreSQL, in local-dev mode (the sign-in is tested in test_dashboard_security.py):
submitted as served, they change nothing."""

from __future__ import annotations

from typing import Any

import httpx
from dashboard_client import submitted_forms
from support import create_team


async def test_every_edit_form_submitted_unchanged_changes_nothing(
    http: httpx.AsyncClient,
) -> None:
    """Issue 26, item 6: an edit form keeps every field of what it edits — the shown ones as
    they are, and none lost for not being shown (saving an alias had wiped every deployment's
    timeout)."""
    await http.post(
        "/api/model-access-groups/create", json={"group_name": "g1", "description": "d1"}
    )
    await http.post("/api/model-access-groups/create", json={"group_name": "g2"})
    deployments = [
        {
            "provider": "openai",
            "model": "gpt-4o",
            "api_base": "http://10.0.0.9:4000/v1",
            "input_cost_per_million": 2.5,
            "output_cost_per_million": 10.0,
            "timeout": 2.0,
        },
        {"provider": "mock", "model": "fallback", "timeout": 0.5},
    ]
    r = await http.post(
        "/api/model-aliases/create",
        json={
            "model_alias": "vendor/Chat",
            "access_groups": ["g1", "g2"],
            "deployments": deployments,
        },
    )
    assert r.status_code == 201, r.text
    await create_team(
        http,
        team_id="t-edit",
        groups=("g1", "g2"),
        team_alias="Edit & Co",
        default_model="vendor/Chat",
    )
    await http.post("/api/teams/t-edit/limits", json={"rpm_limit": 7, "tpm_limit": 900})

    async def everything() -> list[Any]:
        return [
            (await http.get("/api/teams/t-edit")).json(),
            (await http.get("/api/model-aliases/vendor/Chat")).json(),
            (await http.get("/api/model-access-groups")).json(),
        ]

    before = await everything()
    audit = (await http.get("/api/audit-log")).json()["events"]
    edits = {
        "/admin/teams/t-edit": ["/admin/teams/t-edit/settings", "/admin/teams/t-edit/limits"],
        "/admin/models/aliases/vendor/Chat": ["/admin/models/aliases/vendor/Chat"],
        "/admin/models": ["/admin/models/groups/g1", "/admin/models/groups/g2"],
    }
    for page, actions in edits.items():
        r = await http.get(page)
        assert r.status_code == 200, page
        forms = submitted_forms(r.text)
        for action in actions:
            assert action in forms, (page, action, sorted(forms))
            data: dict[str, list[str]] = {}
            for name, value in forms[action]:
                data.setdefault(name, []).append(value)
            r = await http.post(action, data=data)
            assert r.status_code == 303, (action, r.text[:2000])
    assert await everything() == before
    assert (await http.get("/api/audit-log")).json()["events"] == audit  # no change recorded
