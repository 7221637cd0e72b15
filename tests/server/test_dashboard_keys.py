"""A team's keys in the dashboard (dashboard/keys.py) over httpx, on SQLite and PostgreSQL, in
local-dev mode (the sign-in is tested in test_dashboard_security.py): a new key works until it is
revoked; a rotation's key works and the old ones stop."""

from __future__ import annotations

import httpx
from dashboard_client import KEY, Dash, cells
from support import bearer, create_team


async def test_team_keys_create_revoke_rotate(http: httpx.AsyncClient) -> None:
    first = await create_team(http, team_id="t1")
    dash = Dash(http)
    r = await dash.post("/admin/teams/t1/keys", {"name": "ci"}, status=201)
    second = KEY.search(r.text)
    assert second
    assert (await http.get("/api/credits/balance", headers=bearer(second.group(1)))).is_success
    listed = (await http.get("/api/teams/t1/keys")).json()["keys"]
    assert [k["name"] for k in listed] == ["ci", "default"]
    page = await dash.get("/admin/teams/t1")
    assert [row[0] for row in cells(page, "keys")] == ["ci", "default"]
    ci = listed[0]["key_id"]
    await dash.post(f"/admin/teams/t1/keys/{ci}/revoke", {})
    r = await http.get("/api/credits/balance", headers=bearer(second.group(1)))
    assert r.status_code == 401
    assert cells(await dash.get("/admin/teams/t1"), "keys")[0][5] == "revoked"

    r = await dash.post("/admin/teams/t1/rotate", {"grace_seconds": "0"}, status=201)
    third = KEY.search(r.text)
    assert third
    assert (await http.get("/api/credits/balance", headers=bearer(first))).status_code == 401
    assert (await http.get("/api/credits/balance", headers=bearer(third.group(1)))).is_success
    await dash.post("/admin/teams/t1/keys/key_nope/revoke", {}, status=404)
