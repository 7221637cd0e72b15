"""The dashboard's organization pages (dashboard/organizations.py) over httpx, on SQLite and
PostgreSQL, in local-dev mode (the sign-in is tested in test_dashboard_security.py): each shows
what the admin API says, and each form changes what the admin API then reports."""

from __future__ import annotations

import httpx
from dashboard_client import Dash, call, cells, complete
from support import create_team, open_job


async def test_organizations_list_create_and_detail(http: httpx.AsyncClient) -> None:
    dash = Dash(http)
    r = await dash.post("/admin/organizations", {"organization_id": "org_a", "name": "Acme"})
    assert r.headers["location"] == "/admin/organizations/org_a?done=organization"
    page = await dash.get("/admin/organizations")
    assert cells(page, "organizations")[0][:2] == ["org_a", "Acme"]
    org = (await http.get("/api/organizations/org_a")).json()
    assert org["name"] == "Acme"
    key = await create_team(http, team_id="t1", organization_id="org_a")
    job = await open_job(http, key, team_id="t1", job_type="summary")
    await call(http, key, job)
    await complete(http, key, job)
    page = await dash.get("/admin/organizations/org_a?done=organization")
    assert "Organization created." in page
    assert cells(page, "org-teams")[0][:4] == ["t1", "", "active", "999"]
    assert "summary" in page
    # a duplicate is refused with the API's message
    r = await dash.post("/admin/organizations", {"organization_id": "org_a"}, status=409)
    assert "already exists" in r.text
    await dash.get("/admin/organizations/nope", status=404)
