"""What every dashboard page and action shares (dashboard/_context.py) over httpx, on SQLite and
PostgreSQL, in local-dev mode (the sign-in is tested in test_dashboard_security.py): a change
that asks first does so on a page of its own without JavaScript, and an unknown page is the
dashboard's own 404."""

from __future__ import annotations

import html
import re

import httpx
from dashboard_client import Dash, submitted_forms
from support import create_team, open_job


async def test_confirmations_without_javascript_are_a_page_of_their_own(
    http: httpx.AsyncClient,
) -> None:
    """Issue 26, item 13: rotate, suspend and remove ask first even without the page's script:
    the first post changes nothing and answers a page that asks; its button does it; cancel
    leads back."""
    await create_team(http, team_id="t-sure")
    dash = Dash(http)
    await dash.get("/admin/teams/t-sure")
    for action, question in [
        ("/admin/teams/t-sure/suspend", "Suspend this team?"),
        ("/admin/teams/t-sure/rotate", "Rotate the keys?"),
        ("/admin/teams/t-sure/remove", "Remove this team?"),
    ]:
        r = await http.post(action, data={"csrf": dash.csrf, "grace_seconds": "60"})
        assert r.status_code == 200 and question in html.unescape(r.text), action
        forms = submitted_forms(r.text)
        assert set(forms) - {"/admin/logout"} == {action}
        assert ("confirmed", "yes") in forms[action] and ("grace_seconds", "60") in forms[action]
        assert 'id="cancel"' in r.text
    team = (await http.get("/api/teams/t-sure")).json()
    assert team["status"] == "active"  # nothing happened yet
    assert len((await http.get("/api/teams/t-sure/keys")).json()["keys"]) == 1
    page = (await http.post("/admin/teams/t-sure/suspend", data={"csrf": dash.csrf})).text
    data: dict[str, list[str]] = {}
    for name, value in submitted_forms(page)["/admin/teams/t-sure/suspend"]:
        data.setdefault(name, []).append(value)
    assert (await http.post("/admin/teams/t-sure/suspend", data=data)).status_code == 303
    assert (await http.get("/api/teams/t-sure")).json()["status"] == "suspended"


async def test_polish_404_heading_and_identifiers(http: httpx.AsyncClient) -> None:
    """Issue 26, item 13: an unknown dashboard page is the dashboard's own 404; a team without
    a display name shows its id once; identifiers wrap at their separators only."""
    r = await http.get("/admin/no-such-page")
    assert r.status_code == 404 and "text/html" in r.headers["content-type"]
    assert (
        "/admin/static/app.css" in r.text and "no dashboard page at /admin/no-such-page" in r.text
    )
    await create_team(http, team_id="plain-team")
    heading = re.search(
        r'<h1 id="team-heading">(.*?)</h1>', (await http.get("/admin/teams/plain-team")).text
    )
    assert heading is not None
    assert heading.group(1) == "plain-<wbr>team"  # once, no <small> repeat
    key = await create_team(http, team_id="t-ident")
    job = await open_job(http, key, team_id="t-ident", job_type="invoice_parse")
    page = (await http.get(f"/admin/teams/t-ident/jobs/{job}")).text
    assert "invoice_<wbr>parse" in page
