"""The dashboard's models page (dashboard/model_aliases.py) over httpx, on SQLite and PostgreSQL,
in local-dev mode (the sign-in is tested in test_dashboard_security.py): access groups and model
aliases with their deployments, as the admin API reports them."""

from __future__ import annotations

import httpx
from dashboard_client import Dash, cells


async def test_models_groups_and_aliases(http: httpx.AsyncClient) -> None:
    dash = Dash(http)
    await dash.post("/admin/models/groups", {"group_name": "g1", "description": "first"})
    await dash.post("/admin/models/groups/g1", {"description": "changed"})
    groups = (await http.get("/api/model-access-groups")).json()["model_access_groups"]
    assert [(g["group_name"], g["description"]) for g in groups] == [("g1", "changed")]
    await dash.post(
        "/admin/models/aliases",
        {
            "model_alias": "openai/fast",
            "access_groups": "g1",
            "provider": ["mock", "mock", ""],
            "model": ["m1", "m2", ""],
            "api_base": ["", "", ""],
            "input_cost_per_million": ["1.5", "", ""],
            "output_cost_per_million": ["2", "", ""],
        },
    )
    alias = (await http.get("/api/model-aliases/openai/fast")).json()
    assert alias["access_groups"] == ["g1"]
    assert [(d["model"], d["input_cost_per_million"]) for d in alias["deployments"]] == [
        ("m1", 1.5),
        ("m2", 0.0),
    ]
    page = await dash.get("/admin/models")
    row = next(r for r in cells(page, "aliases") if r[0] == "openai/fast")
    assert row[1] == "g1" and "mock/m1: $1.5000 / $2.0000" in row[2]
    edit = await dash.get("/admin/models/aliases/openai/fast")
    assert 'value="m1"' in edit and 'value="1.5"' in edit and " checked" in edit
    await dash.post(
        "/admin/models/aliases/openai/fast",
        {
            "provider": ["mock", ""],
            "model": ["m3", ""],
            "input_cost_per_million": ["3", ""],
            "output_cost_per_million": ["4", ""],
        },
    )
    alias = (await http.get("/api/model-aliases/openai/fast")).json()
    assert alias["access_groups"] == []
    assert [(d["model"], d["output_cost_per_million"]) for d in alias["deployments"]] == [
        ("m3", 4.0)
    ]
    r = await dash.post(
        "/admin/models/aliases", {"model_alias": "x", "provider": [""], "model": [""]}, status=400
    )
    assert "deployments" in r.text
    r = await dash.post(
        "/admin/models/aliases",
        {"model_alias": "x", "provider": "mock", "model": "m", "input_cost_per_million": "lots"},
        status=400,
    )
    assert "not a number" in r.text
    await dash.get("/admin/models/aliases/nope", status=404)


async def test_an_alias_mode_is_chosen_shown_and_changed(http: httpx.AsyncClient) -> None:
    dash = Dash(http)
    deployment = {"provider": "mock", "model": "e1", "input_cost_per_million": "0.02"}
    await dash.post(
        "/admin/models/aliases", {"model_alias": "Embed", "mode": "embedding", **deployment}
    )
    await dash.post("/admin/models/aliases", {"model_alias": "Chat", **deployment})  # no mode: chat
    modes = {
        a["model_alias"]: a["mode"]
        for a in (await http.get("/api/model-aliases")).json()["model_aliases"]
    }
    assert modes == {"Embed": "embedding", "Chat": "chat", "default": "chat"}
    page = await dash.get("/admin/models")
    names = [r[0] for r in cells(page, "aliases")]
    assert "Embed (embeddings)" in names and "Chat" in names
    edit = await dash.get("/admin/models/aliases/Embed")
    assert '<option value="embedding" selected>' in edit
    await dash.post("/admin/models/aliases/Embed", {"mode": "chat", **deployment})
    assert (await http.get("/api/model-aliases/Embed")).json()["mode"] == "chat"
    await dash.post("/admin/models/aliases/Embed", deployment)  # no mode field: unchanged
    assert (await http.get("/api/model-aliases/Embed")).json()["mode"] == "chat"
    r = await dash.post(
        "/admin/models/aliases", {"model_alias": "X", "mode": "vision", **deployment}, status=400
    )
    assert "mode: Input should be" in r.text
