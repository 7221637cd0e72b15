"""The dashboard by role: every form's action by every role (viewer, billing, admin, owner
operators and the admin key), allowed or refused (the 403 page, nothing changed) as the
hand-written :data:`LEAST_ROLE` says; pages show only the forms a role may use; the operators'
page is an owner's. Both backends."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from dashboard_client import submitted_forms
from starlette.applications import Starlette
from starlette.routing import Mount, Route
from support import GROUP, ORG, TEAM, bearer, create_team

from saas_litellm_server import Settings, create_app

ADMIN_KEY = "adm-dash-roles-secret-0123"
ADMIN = bearer(ADMIN_KEY)
ORIGIN = {"Origin": "http://localhost"}
ROLES = ["viewer", "billing", "admin", "owner"]
ALIAS = "Chat"

# Every form's action and the least role it needs, by hand (issue 30): credits, adjustments,
# billing settings and auto-refill need billing, operators need owner, signing out anyone,
# every other change admin.
LEAST_ROLE = {
    "/logout": "viewer",
    "/organizations": "admin",
    "/organizations/{organization_id}/remove": "admin",
    "/teams": "admin",
    "/teams/{team_id}/settings": "admin",
    "/teams/{team_id}/remove": "admin",
    "/teams/{team_id}/credits": "billing",
    "/teams/{team_id}/adjust": "billing",
    "/teams/{team_id}/billing": "billing",
    "/teams/{team_id}/auto-refill": "billing",
    "/teams/{team_id}/auto-refill/remove": "billing",
    "/teams/{team_id}/limits": "admin",
    "/teams/{team_id}/suspend": "admin",
    "/teams/{team_id}/resume": "admin",
    "/teams/{team_id}/keys": "admin",
    "/teams/{team_id}/keys/{key_id}/revoke": "admin",
    "/teams/{team_id}/rotate": "admin",
    "/models/groups": "admin",
    "/models/groups/{group_name}": "admin",
    "/models/groups/{group_name}/remove": "admin",
    "/models/remove/{model_alias:path}": "admin",
    "/models/aliases": "admin",
    "/models/aliases/{model_alias:path}": "admin",
    "/webhooks": "admin",
    "/webhooks/{webhook_id}/test": "admin",
    "/webhooks/{webhook_id}/remove": "admin",
    "/webhooks/{webhook_id}/deliveries/{delivery_id}/retry": "admin",
    "/operators": "owner",
    "/operators/{operator_id}": "owner",
    "/operators/{operator_id}/rotate": "owner",
    "/operators/{operator_id}/remove": "owner",
}
FORMS: dict[str, dict[str, str]] = {
    "/organizations": {"organization_id": "o2", "name": "O2"},
    "/teams": {"organization_id": ORG, "team_id": "t2"},
    "/teams/{team_id}/settings": {"team_alias": "x"},
    "/teams/{team_id}/credits": {"credits": "5"},
    "/teams/{team_id}/adjust": {"credits": "-1", "reason": "refund"},
    "/teams/{team_id}/billing": {"budget_mode": "job_based", "low_balance_threshold": "3"},
    "/teams/{team_id}/auto-refill": {"amount": "10", "period": "daily"},
    "/webhooks": {"url": "https://93.184.215.14/h2", "events": "job.completed"},
    "/teams/{team_id}/limits": {"rpm_limit": "100"},
    "/teams/{team_id}/keys": {"name": "ci"},
    "/models/groups": {"group_name": "g2"},
    "/models/groups/{group_name}": {"description": "d"},
    "/models/aliases": {"model_alias": "A2"},
    "/operators": {"name": "new", "role": "viewer"},
    "/operators/{operator_id}": {"role": "billing"},
}
EXPORTS = {  # the dashboard's CSV downloads (GET) and the least role each needs
    "/teams/{team_id}/transactions.csv": "billing",
    "/usage.csv": "billing",
}


def _allowed(role: str, need: str) -> bool:
    return role == "admin-key" or ROLES.index(role) >= ROLES.index(need)


@pytest.fixture
async def app(database_url: str) -> AsyncIterator[Starlette]:
    settings = Settings(  # type: ignore[call-arg]
        database_url=database_url,
        admin_key=ADMIN_KEY,
        webhooks_deliver=False,
        auth_failures_per_minute=0,
        _env_file=None,
    )
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


def _actions(app: Starlette) -> set[str]:
    """Every ``POST`` route of the dashboard but the sign-in form."""
    (mount,) = [r for r in app.routes if isinstance(r, Mount) and r.path == "/admin"]
    router = mount.app.app  # type: ignore[attr-defined]  # the router inside SecurityHeaders
    return {
        r.path
        for r in router.routes
        if isinstance(r, Route) and "POST" in (r.methods or ()) and r.path != "/login"
    }


async def test_the_table_names_every_dashboard_action(app: Starlette) -> None:
    assert _actions(app) == set(LEAST_ROLE)


async def _seed(http: httpx.AsyncClient) -> dict[str, str]:
    await create_team(http, admin=ADMIN)
    r = await http.post(
        "/api/model-aliases/create",
        json={"model_alias": ALIAS, "deployments": [{"provider": "mock", "model": "m"}]},
        headers=ADMIN,
    )
    assert r.status_code == 201, r.text
    key = (await http.post(f"/api/teams/{TEAM}/keys", json={}, headers=ADMIN)).json()
    hook = (
        await http.post(
            "/api/webhooks",
            json={"url": "https://93.184.215.14/hooks", "events": ["team.suspended"]},
            headers=ADMIN,
        )
    ).json()
    await http.post(f"/api/teams/{TEAM}/suspend", headers=ADMIN)
    await http.post(f"/api/teams/{TEAM}/resume", headers=ADMIN)
    deliveries = (
        await http.get(f"/api/webhooks/{hook['webhook_id']}/deliveries", headers=ADMIN)
    ).json()
    victim = (
        await http.post("/api/operators", json={"name": "victim", "role": "viewer"}, headers=ADMIN)
    ).json()
    return {
        "team_id": TEAM,
        "organization_id": ORG,
        "group_name": GROUP,
        "model_alias:path": ALIAS,
        "key_id": key["key_id"],
        "webhook_id": hook["webhook_id"],
        "delivery_id": deliveries["deliveries"][0]["delivery_id"],
        "operator_id": victim["operator_id"],
    }


async def _state(http: httpx.AsyncClient, hook: str) -> dict[str, Any]:
    views = [
        "/api/audit-log?limit=500",
        "/api/organizations",
        "/api/model-access-groups",
        "/api/model-aliases",
        f"/api/teams/{TEAM}",
        f"/api/teams/{TEAM}/keys",
        f"/api/teams/{TEAM}/transactions",
        "/api/webhooks",
        f"/api/webhooks/{hook}/deliveries",
        "/api/operators",
    ]
    state = {}
    for view in views:
        r = await http.get(view, headers=ADMIN)
        assert r.status_code == 200, r.text
        state[view] = r.json()
    return state


async def _sign_in(http: httpx.AsyncClient, key: str) -> str:
    r = await http.post("/admin/login", data={"admin_key": key}, headers=ORIGIN)
    assert r.status_code == 303, r.text
    page = await http.get("/admin/teams")
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found
    return found.group(1)


def _fill(path: str, ids: dict[str, str]) -> str:
    return "/admin" + re.sub(r"{([^}]+)}", lambda m: ids[m.group(1)], path)


@pytest.mark.parametrize("role", [*ROLES, "admin-key"])
async def test_every_dashboard_form_is_allowed_exactly_to_the_roles_it_should(
    app: Starlette, role: str
) -> None:
    transport = httpx.ASGITransport(app=app)
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://localhost") as api,
        httpx.AsyncClient(transport=transport, base_url="http://localhost") as browser,
    ):
        ids = await _seed(api)
        if role == "admin-key":
            key = ADMIN_KEY
        else:
            me = await api.post("/api/operators", json={"name": "me", "role": role}, headers=ADMIN)
            key = me.json()["api_key"]
        csrf = await _sign_in(browser, key)

        # pages show only the forms this role may use
        team_forms = set(submitted_forms((await browser.get(f"/admin/teams/{TEAM}")).text))
        shown = {f.removeprefix(f"/admin/teams/{TEAM}") for f in team_forms}
        expected = {"/admin/logout"}
        if _allowed(role, "billing"):
            expected |= {"/credits", "/adjust", "/billing", "/auto-refill"}
        if _allowed(role, "admin"):
            expected |= {"/limits", "/settings", "/suspend", "/remove", "/keys", "/rotate"}
            keys = (await api.get(f"/api/teams/{TEAM}/keys", headers=ADMIN)).json()["keys"]
            expected |= {f"/keys/{k['key_id']}/revoke" for k in keys}
            assert len(keys) == 2
        assert shown == expected, role
        hook_page = (await browser.get(f"/admin/webhooks/{ids['webhook_id']}")).text
        hook_forms = set(submitted_forms(hook_page)) - {"/admin/logout"}
        hooks_forms = set(submitted_forms((await browser.get("/admin/webhooks")).text))
        if _allowed(role, "admin"):
            assert f"/admin/webhooks/{ids['webhook_id']}/test" in hook_forms
            assert "/admin/webhooks" in hooks_forms
        else:
            assert hook_forms == set() and "/admin/webhooks" not in hooks_forms, role
        # the CSV downloads: linked and served to billing and above only
        team_page = (await browser.get(f"/admin/teams/{TEAM}")).text
        assert ('id="ledger-csv"' in team_page) == _allowed(role, "billing"), role
        usage_page = (await browser.get("/admin/usage")).text
        assert ('id="usage-csv"' in usage_page) == _allowed(role, "billing"), role
        for path, need in EXPORTS.items():
            r = await browser.get(_fill(path, ids))
            if _allowed(role, need):
                assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
            else:
                assert r.status_code == 403 and f"&#39;{need}&#39; role" in r.text, (role, path)
        page = (await browser.get("/admin/teams")).text
        assert ('href="/admin/operators"' in page) == _allowed(role, "owner")
        r = await browser.get("/admin/operators")
        assert r.status_code == (200 if _allowed(role, "owner") else 403)
        if r.status_code == 403:
            assert "&#39;owner&#39; role" in r.text and ids["operator_id"] not in r.text
        else:
            assert 'action="/admin/operators"' in r.text and ids["operator_id"] in r.text

        before = await _state(api, ids["webhook_id"])
        for path, need in LEAST_ROLE.items():
            if _allowed(role, need):
                continue
            form = {**FORMS.get(path, {}), "csrf": csrf, "confirmed": "yes"}
            r = await browser.post(_fill(path, ids), data=form, headers=ORIGIN)
            assert r.status_code == 403, (role, path, r.status_code)
            assert f"&#39;{need}&#39; role" in r.text, (role, path)
        assert await _state(api, ids["webhook_id"]) == before

        for path, need in LEAST_ROLE.items():
            if not _allowed(role, need) or path == "/logout":
                continue
            form = {**FORMS.get(path, {}), "csrf": csrf, "confirmed": "yes"}
            r = await browser.post(_fill(path, ids), data=form, headers=ORIGIN)
            assert r.status_code != 403 or "role" not in r.text, (role, path, r.text[:500])
            assert r.headers.get("location") != "/admin/login", (role, path)


async def test_the_owner_manages_operators_from_the_dashboard(app: Starlette) -> None:
    """Create (the key shown once, never in a URL), change the role, rotate (a new key shown
    once, the old one refused), remove (the key refused); each audited as the owner's session."""
    transport = httpx.ASGITransport(app=app)
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://localhost") as api,
        httpx.AsyncClient(transport=transport, base_url="http://localhost") as browser,
    ):
        owner = (
            await api.post("/api/operators", json={"name": "Olga", "role": "owner"}, headers=ADMIN)
        ).json()
        csrf = await _sign_in(browser, owner["api_key"])
        post = {"csrf": csrf, "confirmed": "yes"}
        r = await browser.post(
            "/admin/operators",
            data={**post, "name": "<b>Vic</b>", "role": "viewer"},
            headers=ORIGIN,
        )
        assert r.status_code == 201 and "<b>Vic</b>" not in r.text and "&lt;b&gt;Vic" in r.text
        key = re.search(r'id="virtual-key">(sk-op-[^<]+)<', r.text)
        assert key is not None
        (vic,) = [
            o
            for o in (await api.get("/api/operators", headers=ADMIN)).json()["operators"]
            if o["role"] == "viewer"
        ]
        assert (await api.get("/api/teams", headers=bearer(key.group(1)))).status_code == 200
        page = (await browser.get("/admin/operators")).text
        assert key.group(1) not in page and vic["operator_id"] in page
        r = await browser.post(
            f"/admin/operators/{vic['operator_id']}",
            data={**post, "role": "billing"},
            headers=ORIGIN,
        )
        assert r.status_code == 303 and r.headers["location"].endswith("done=operator-updated")
        r = await browser.post(
            f"/admin/operators/{vic['operator_id']}/rotate", data=post, headers=ORIGIN
        )
        assert r.status_code == 201 and "billing" in r.text
        new_key = re.search(r'id="virtual-key">(sk-op-[^<]+)<', r.text)
        assert new_key is not None and new_key.group(1) != key.group(1)
        assert (await api.get("/api/teams", headers=bearer(key.group(1)))).status_code == 401
        r = await browser.post(
            f"/admin/operators/{vic['operator_id']}/remove", data=post, headers=ORIGIN
        )
        assert r.status_code == 303
        assert (await api.get("/api/teams", headers=bearer(new_key.group(1)))).status_code == 401
        events = (await api.get("/api/audit-log", headers=ADMIN)).json()["events"]
        mine = [e["action"] for e in events if e["actor"] == f"operator:{owner['operator_id']}"]
        assert mine == [
            "operator.delete",
            "operator.rotate_key",
            "operator.update",
            "operator.create",
        ]
        assert key.group(1) not in str(events) and new_key.group(1) not in str(events)
