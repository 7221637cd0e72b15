"""The dashboard's audit log page (dashboard/audit.py) over httpx, on SQLite and PostgreSQL, in
local-dev mode (the sign-in is tested in test_dashboard_security.py)."""

from __future__ import annotations

import httpx
from dashboard_client import Dash, cells
from support import create_team


async def test_audit_log_page_and_filters(http: httpx.AsyncClient) -> None:
    await create_team(http, team_id="t1")  # by the API: actor local-dev
    dash = Dash(http)
    await dash.post("/admin/teams/t1/credits", {"credits": "5"})
    page = await dash.get("/admin/audit")
    rows = cells(page, "audit")
    assert rows[0][1].startswith("dashboard:") and rows[0][2] == "team.credits_add"
    assert any(r[1] == "local-dev" for r in rows)
    filtered = cells(await dash.get("/admin/audit?actor=local-dev"), "audit")
    assert filtered and all(r[1] == "local-dev" for r in filtered)
    assert cells(await dash.get("/admin/audit?target=team:nobody"), "audit") == [
        ["No changes match."]
    ]
    await dash.get("/admin/audit?actor=a%00b", status=400)  # a NUL never reaches the database
