"""Dashboard sessions live in the database: two app instances sharing one database (two server
processes) see a sign-out, an operator's removal, its key's rotation and its role change made
on the other at once. Both backends."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import httpx
import pytest
import sqlalchemy as sa
from starlette.applications import Starlette
from support import TEAM, bearer, create_team

from saas_litellm_server import Settings, create_app
from saas_litellm_server.services.maintenance import tick
from saas_litellm_server.store.schema import dashboard_sessions

ADMIN_KEY = "adm-sessions-secret-01234"
ADMIN = bearer(ADMIN_KEY)
COOKIE = "saas_litellm_dashboard"
ORIGIN = {"Origin": "http://localhost"}


@pytest.fixture
async def apps(database_url: str) -> AsyncIterator[tuple[Starlette, Starlette]]:
    settings = Settings(database_url=database_url, admin_key=ADMIN_KEY, _env_file=None)  # type: ignore[call-arg]
    one, two = create_app(settings), create_app(settings)
    async with one.router.lifespan_context(one), two.router.lifespan_context(two):
        yield one, two


def _client(app: Starlette) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://localhost")


async def _sign_in(http: httpx.AsyncClient, key: str) -> str:
    r = await http.post("/admin/login", data={"admin_key": key}, headers=ORIGIN)
    assert r.status_code == 303, r.text
    cookie = r.cookies[COOKIE]
    assert key not in cookie
    return cookie


async def _page(app: Starlette, cookie: str, path: str = "/admin/teams") -> httpx.Response:
    async with _client(app) as http:
        http.cookies.set(COOKIE, cookie)
        return await http.get(path)


async def _operator(http: httpx.AsyncClient, role: str) -> dict[str, str]:
    r = await http.post("/api/operators", json={"name": "Ann", "role": role}, headers=ADMIN)
    assert r.status_code == 201, r.text
    created: dict[str, str] = r.json()
    return created


async def test_signing_out_on_one_process_ends_the_session_on_the_other(
    apps: tuple[Starlette, Starlette],
) -> None:
    one, two = apps
    async with _client(one) as http:
        cookie = await _sign_in(http, ADMIN_KEY)
        assert (await _page(two, cookie)).status_code == 200  # the other process knows it
        page = await http.get("/admin/teams")
        csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
        r = await http.post("/admin/logout", data={"csrf": csrf}, headers=ORIGIN)
        assert r.status_code == 303
    # the copied cookie is refused by the other process at once
    r = await _page(two, cookie)
    assert r.status_code == 303 and r.headers["location"] == "/admin/login"
    assert (await _page(one, cookie)).status_code == 303


async def test_removing_an_operator_ends_its_sessions_everywhere(
    apps: tuple[Starlette, Starlette],
) -> None:
    one, two = apps
    async with _client(one) as admin, _client(two) as http:
        op = await _operator(admin, "viewer")
        cookie = await _sign_in(http, op["api_key"])
        assert (await _page(two, cookie)).status_code == 200
        assert (await _page(one, cookie)).status_code == 200
        r = await admin.delete(f"/api/operators/{op['operator_id']}", headers=ADMIN)
        assert r.status_code == 200
        for app in (one, two):
            r = await _page(app, cookie)
            assert r.status_code == 303 and r.headers["location"] == "/admin/login"
        # nor can it sign in again
        r = await http.post("/admin/login", data={"admin_key": op["api_key"]}, headers=ORIGIN)
        assert r.status_code == 401 and COOKIE not in r.cookies


async def test_rotating_an_operators_key_ends_its_sessions_everywhere(
    apps: tuple[Starlette, Starlette],
) -> None:
    one, two = apps
    async with _client(one) as admin, _client(two) as http:
        op = await _operator(admin, "admin")
        cookie = await _sign_in(http, op["api_key"])
        r = await admin.post(f"/api/operators/{op['operator_id']}/rotate-key", headers=ADMIN)
        assert r.status_code == 200
        assert (await _page(two, cookie)).status_code == 303
        assert (await _page(one, cookie)).status_code == 303
        r = await http.post("/admin/login", data={"admin_key": op["api_key"]}, headers=ORIGIN)
        assert r.status_code == 401
        new_key = (
            await admin.post(f"/api/operators/{op['operator_id']}/rotate-key", headers=ADMIN)
        ).json()["api_key"]
        new_cookie = await _sign_in(http, new_key)
        assert (await _page(two, new_cookie)).status_code == 200


async def test_a_role_change_on_one_process_applies_to_the_next_request_on_the_other(
    apps: tuple[Starlette, Starlette],
) -> None:
    one, two = apps
    async with _client(one) as admin, _client(two) as http:
        await create_team(admin, admin=ADMIN)
        op = await _operator(admin, "viewer")
        await _sign_in(http, op["api_key"])
        page = await http.get(f"/admin/teams/{TEAM}")
        csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
        form = {"credits": "5", "csrf": csrf}
        r = await http.post(f"/admin/teams/{TEAM}/credits", data=form, headers=ORIGIN)
        assert r.status_code == 403 and "&#39;billing&#39; role" in r.text
        before = (await admin.get(f"/api/teams/{TEAM}", headers=ADMIN)).json()
        r = await admin.patch(
            f"/api/operators/{op['operator_id']}", json={"role": "billing"}, headers=ADMIN
        )
        assert r.status_code == 200
        r = await http.post(f"/admin/teams/{TEAM}/credits", data=form, headers=ORIGIN)
        assert r.status_code == 303, r.text
        after = (await admin.get(f"/api/teams/{TEAM}", headers=ADMIN)).json()
        assert after["credits_allocated"] == before["credits_allocated"] + 5
        events = (await admin.get("/api/audit-log", headers=ADMIN)).json()["events"]
        assert events[0]["actor"] == f"operator:{op['operator_id']}"


async def test_the_sweep_forgets_expired_sessions_and_a_stored_session_holds_no_id(
    apps: tuple[Starlette, Starlette],
) -> None:
    one, _ = apps
    async with _client(one) as http:
        cookie = await _sign_in(http, ADMIN_KEY)
    db = one.state.runtime.db
    (row,) = await db.fetch_all(sa.select(dashboard_sessions))
    assert row["operator_id"] is None and row["ended_at"] is None
    assert row["session_hash"] not in cookie  # a hash of the id, never the id itself
    await db.execute(
        dashboard_sessions.update().values(
            expires_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)
        )
    )
    await tick(one.state.runtime)
    assert await db.fetch_all(sa.select(dashboard_sessions)) == []
    assert (await _page(one, cookie)).status_code == 303


async def test_wrong_operator_keys_at_sign_in_lock_the_address_out(
    apps: tuple[Starlette, Starlette],
) -> None:
    one, two = apps
    async with _client(one) as admin:
        op = await _operator(admin, "viewer")
    attacker = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=two, client=("203.0.113.20", 40000)),
        base_url="http://localhost",
    )
    async with attacker:
        for i in range(10):
            r = await attacker.post(
                "/admin/login", data={"admin_key": f"sk-op-guess-{i}"}, headers=ORIGIN
            )
            assert r.status_code == 401 and COOKIE not in r.cookies
        # counted in the database: the other process refuses that address too, the right key
        # included (a guess must not tell)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=one, client=("203.0.113.20", 40000)),
            base_url="http://localhost",
        ) as same_address:
            r = await same_address.post(
                "/admin/login", data={"admin_key": op["api_key"]}, headers=ORIGIN
            )
            assert r.status_code == 429 and COOKIE not in r.cookies
    async with _client(one) as elsewhere:
        await _sign_in(elsewhere, op["api_key"])
