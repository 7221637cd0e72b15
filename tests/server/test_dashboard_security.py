"""The dashboard's security (dashboard/): sign-in with the admin key, the session cookie, sign-out,
CSRF, escaping, security headers, and that no page shows anything without a session. Over httpx,
in-process and over real HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import re
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from starlette.routing import Mount, Route
from support import bearer, create_team, live_server, open_job

from saas_litellm_server import Settings, create_app

ADMIN_KEY = "adm-dashboard-secret"
ADMIN = bearer(ADMIN_KEY)
XSS = "<img src=x onerror=alert(1)>"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


async def sign_in(http: httpx.AsyncClient, key: str = ADMIN_KEY) -> str:
    """Sign in; the CSRF token of the new session."""
    r = await http.post("/admin/login", data={"admin_key": key})
    assert r.status_code == 303 and r.headers["location"] == "/admin", r.text
    page = await http.get("/admin/teams")
    assert page.status_code == 200
    return csrf_of(page.text)


async def seed(http: httpx.AsyncClient) -> dict[str, Any]:
    """An organization, a group, an alias, a team with an XSS alias, a job with a call."""
    key = await create_team(
        http,
        team_id="team-secret-1",
        organization_id="org-secret-1",
        groups=("group-secret-1",),
        admin=ADMIN,
        team_alias=XSS,
    )
    r = await http.post(
        "/api/model-aliases/create",
        json={
            "model_alias": "alias-secret-1",
            "access_groups": ["group-secret-1"],
            "deployments": [{"provider": "mock", "model": "m", "input_cost_per_million": 1.0}],
        },
        headers=ADMIN,
    )
    assert r.status_code == 201, r.text
    job = await open_job(http, key, team_id="team-secret-1", job_type="jobtype-secret-1")
    r = await http.post(
        f"/api/jobs/{job}/llm-call",
        json={"model": "alias-secret-1", "messages": [{"role": "user", "content": "hi"}]},
        headers=bearer(key),
    )
    assert r.status_code == 200, r.text
    return {"key": key, "job": job, "call": r.json()["call_id"]}


def pages(seeded: dict[str, Any]) -> list[str]:
    """Every dashboard page (GET) that shows data."""
    job = seeded["job"]
    return [
        "/admin",
        "/admin/",
        "/admin/organizations",
        "/admin/organizations/org-secret-1",
        "/admin/teams",
        "/admin/teams?status=active",
        "/admin/teams/team-secret-1",
        f"/admin/teams/team-secret-1/jobs/{job}",
        f"/admin/teams/team-secret-1/jobs/{job}/calls/{seeded['call']}",
        "/admin/jobs",
        "/admin/jobs?team_id=team-secret-1&has_errors=no",
        "/admin/usage",
        "/admin/usage?group_by=model",
        "/admin/operators",
        "/admin/models",
        "/admin/models/aliases/alias-secret-1",
        "/admin/audit",
        "/admin/webhooks",
    ]


ACTIONS = [
    # (path, form): every state-changing form of the dashboard
    ("/admin/organizations", {"organization_id": "org-new"}),
    ("/admin/models/groups", {"group_name": "group-new"}),
    ("/admin/models/groups/group-secret-1", {"description": "changed"}),
    (
        "/admin/models/aliases",
        {"model_alias": "alias-new", "provider": "mock", "model": "m"},
    ),
    ("/admin/models/aliases/alias-secret-1", {"provider": "mock", "model": "changed"}),
    ("/admin/teams", {"organization_id": "org-secret-1", "team_id": "team-new"}),
    ("/admin/teams/team-secret-1/credits", {"credits": "500"}),
    ("/admin/teams/team-secret-1/adjust", {"credits": "-1", "reason": "refund"}),
    ("/admin/teams/team-secret-1/billing", {"budget_mode": "job_based"}),
    ("/admin/teams/team-secret-1/auto-refill", {"amount": "10", "period": "daily"}),
    ("/admin/teams/team-secret-1/auto-refill/remove", {}),
    ("/admin/teams/team-secret-1/limits", {"rpm_limit": "7"}),
    ("/admin/teams/team-secret-1/suspend", {}),
    ("/admin/teams/team-secret-1/resume", {}),
    (f"/admin/teams/team-secret-1/keys/key_{'0' * 24}/revoke", {}),
    ("/admin/teams/team-secret-1/keys", {"name": "new"}),
    ("/admin/teams/team-secret-1/rotate", {}),
    ("/admin/teams/team-secret-1/settings", {"team_alias": "renamed"}),
    ("/admin/teams/team-secret-1/remove", {}),
    ("/admin/organizations/org-secret-1/remove", {}),
    ("/admin/models/groups/group-secret-1/remove", {}),
    ("/admin/models/remove/alias-secret-1", {}),
    ("/admin/webhooks", {"url": "https://93.184.215.14/h", "events": "job.completed"}),
    (f"/admin/webhooks/wh_{'0' * 24}/test", {}),
    (f"/admin/webhooks/wh_{'0' * 24}/remove", {}),
    ("/admin/operators", {"name": "op", "role": "viewer"}),
    (f"/admin/operators/op_{'0' * 24}", {"role": "admin"}),
    (f"/admin/operators/op_{'0' * 24}/rotate", {}),
    (f"/admin/operators/op_{'0' * 24}/remove", {}),
    (f"/admin/webhooks/wh_{'0' * 24}/deliveries/msg_{'0' * 24}/retry", {}),
]


async def state(http: httpx.AsyncClient) -> dict[str, Any]:
    """What any dashboard action could change, read through the admin API."""
    out = {}
    for path in (
        "/api/organizations",
        "/api/model-access-groups",
        "/api/model-aliases",
        "/api/teams",
        "/api/teams/team-secret-1/keys",
        "/api/teams/team-secret-1/transactions",
        "/api/webhooks",
        "/api/operators",
        "/api/audit-log",
    ):
        r = await http.get(path, headers=ADMIN)
        assert r.status_code == 200, r.text
        out[path] = r.json()
    return out


@pytest.mark.parametrize("admin_key", [ADMIN_KEY])
async def test_without_a_session_every_page_redirects_to_sign_in_and_shows_no_data(
    any_http: httpx.AsyncClient,
) -> None:
    seeded = await seed(any_http)
    before = await state(any_http)
    for path in pages(seeded):
        r = await any_http.get(path)
        assert r.status_code == 303, path
        assert r.headers["location"] == "/admin/login", path
        assert "secret" not in r.text and r.text == "", path
    for path, form in [*ACTIONS, ("/admin/logout", {})]:
        r = await any_http.post(path, data=form)
        assert r.status_code == 303 and r.headers["location"] == "/admin/login", path
        assert r.text == ""
    # a forged or tampered cookie is no session either
    for cookie in ["x", "e30.AAAA", "eyJzaWQiOiAiYSIsICJleHAiOiA5OTk5OTk5OTk5fQ.forged"]:
        any_http.cookies.set("saas_litellm_dashboard", cookie)
        r = await any_http.get("/admin/teams")
        assert r.status_code == 303 and r.text == ""
    assert await state(any_http) == before
    login = await any_http.get("/admin/login")
    assert login.status_code == 200 and "secret" not in login.text
    assert 'type="password"' in login.text


@pytest.mark.parametrize("admin_key", [ADMIN_KEY])
async def test_a_wrong_key_does_not_sign_in(any_http: httpx.AsyncClient) -> None:
    team_key = await create_team(any_http, admin=ADMIN)
    for wrong in ["", "nope", ADMIN_KEY + "x", ADMIN_KEY[:-1], team_key]:
        r = await any_http.post("/admin/login", data={"admin_key": wrong})
        assert r.status_code == 401, wrong
        assert "set-cookie" not in r.headers
        assert "not the admin key" in r.text
        assert (await any_http.get("/admin")).status_code == 303
    # a JSON body, or a form from another site, does not sign in either
    r = await any_http.post("/admin/login", json={"admin_key": ADMIN_KEY})
    assert r.status_code == 401 and "set-cookie" not in r.headers
    r = await any_http.post(
        "/admin/login", data={"admin_key": ADMIN_KEY}, headers={"Origin": "https://evil.example"}
    )
    assert r.status_code == 401 and "set-cookie" not in r.headers


@pytest.mark.parametrize("admin_key", [ADMIN_KEY])
async def test_sign_in_gives_a_strict_http_only_cookie_and_sign_out_ends_it(
    any_http: httpx.AsyncClient,
) -> None:
    r = await any_http.post("/admin/login", data={"admin_key": ADMIN_KEY})
    assert r.status_code == 303
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("saas_litellm_dashboard=")
    attributes = {a.strip().split("=")[0].lower(): a for a in cookie.split(";")}
    assert "httponly" in attributes
    assert attributes["samesite"].strip().lower() == "samesite=strict"
    assert attributes["path"].strip() == "Path=/admin"
    assert attributes["max-age"].strip() == "Max-Age=28800"  # eight hours by default
    assert "secure" not in attributes  # plain http here; see the https test
    assert ADMIN_KEY not in cookie
    value = cookie.split(";")[0].split("=", 1)[1]

    page = await any_http.get("/admin")
    assert page.status_code == 200 and "Sign out" in page.text
    r = await any_http.post("/admin/logout", data={"csrf": csrf_of(page.text)})
    assert r.status_code == 303 and r.headers["location"] == "/admin/login"
    assert "max-age=0" in r.headers["set-cookie"].lower()
    assert (await any_http.get("/admin")).status_code == 303
    # the old cookie, replayed, is signed out too
    any_http.cookies.set("saas_litellm_dashboard", value)
    r = await any_http.get("/admin/teams")
    assert r.status_code == 303 and r.headers["location"] == "/admin/login"


@pytest.mark.parametrize("admin_key", [ADMIN_KEY])
async def test_the_cookie_is_secure_over_https(app: Any) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="https://dash.example"
    ) as http:
        r = await http.post("/admin/login", data={"admin_key": ADMIN_KEY})
        assert r.status_code == 303
        assert "secure" in [a.strip().lower() for a in r.headers["set-cookie"].split(";")]


@pytest.mark.parametrize("admin_key", [ADMIN_KEY])
async def test_a_session_expires_and_a_new_admin_key_ends_every_session(
    settings: Settings, tmp_path: Any
) -> None:
    import datetime as dt

    now = [dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)]
    app = create_app(settings, clock=lambda: now[0])
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://localhost"
        ) as http,
    ):
        await sign_in(http)
        cookie = http.cookies["saas_litellm_dashboard"]
        now[0] += dt.timedelta(hours=7, minutes=59)
        assert (await http.get("/admin")).status_code == 200
        now[0] += dt.timedelta(minutes=2)
        assert (await http.get("/admin")).status_code == 303
    rotated = settings.model_copy(update={"admin_key": SecretStr("a-new-admin-key")})
    app = create_app(rotated)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://localhost"
        ) as http,
    ):
        http.cookies.set("saas_litellm_dashboard", cookie)
        assert (await http.get("/admin")).status_code == 303


def test_the_csrf_walk_covers_every_dashboard_form(settings: Settings) -> None:
    """A new form cannot land without its row in :data:`ACTIONS`."""
    app = create_app(settings)
    (mount,) = [r for r in app.routes if isinstance(r, Mount) and r.path == "/admin"]
    router = mount.app.app  # type: ignore[attr-defined]  # the router inside SecurityHeaders
    posted = {
        r.path
        for r in router.routes
        if isinstance(r, Route)
        and "POST" in (r.methods or ())
        and r.path not in ("/login", "/logout")
    }
    pattern = re.compile(r"{[^}]+}")
    walked = set()
    for path, _ in ACTIONS:
        path = path.removeprefix("/admin")
        matches = [
            p for p in posted if re.fullmatch(pattern.sub("[^/]+", p.replace(":path", "")), path)
        ]
        walked.update(matches)
    assert posted == walked


@pytest.mark.parametrize("admin_key", [ADMIN_KEY])
async def test_every_change_needs_the_session_csrf_token(any_http: httpx.AsyncClient) -> None:
    await seed(any_http)
    token = await sign_in(any_http)
    before = await state(any_http)
    for path, form in [*ACTIONS, ("/admin/logout", {})]:
        for bad in [{}, {"csrf": ""}, {"csrf": "wrong"}, {"csrf": token[:-2] + "xx"}]:
            r = await any_http.post(path, data={**form, **bad})
            assert r.status_code == 403, (path, bad)
            assert "CSRF" in r.text
        # the right token from another site's page (Origin) is refused too
        r = await any_http.post(
            path, data={**form, "csrf": token}, headers={"Origin": "https://evil.example"}
        )
        assert r.status_code == 403, path
        # a JSON body carries no form, so no token
        r = await any_http.post(path, json={**form, "csrf": token})
        assert r.status_code == 403, path
    for origin in ["null", "http://127.0.0.1.evil.example", "file://"]:
        r = await any_http.post(
            "/admin/teams/team-secret-1/suspend", data={"csrf": token}, headers={"Origin": origin}
        )
        assert r.status_code == 403, origin
    assert await state(any_http) == before
    assert (await any_http.get("/admin")).status_code == 200  # still signed in
    # the server's own host is accepted whatever the scheme (a TLS-terminating proxy)
    host = any_http.base_url.netloc.decode()
    r = await any_http.post(
        "/admin/teams/team-secret-1/limits",
        data={"csrf": token, "rpm_limit": "9"},
        headers={"Origin": f"https://{host}"},
    )
    assert r.status_code == 303

    # a token is bound to its session: another session's token does not work
    other = await sign_in(any_http)
    assert other != token
    r = await any_http.post("/admin/teams/team-secret-1/suspend", data={"csrf": token})
    assert r.status_code == 403, "another session's token"
    r = await any_http.post(
        "/admin/teams/team-secret-1/suspend", data={"csrf": other, "confirmed": "yes"}
    )
    assert r.status_code == 303
    team = (await any_http.get("/api/teams/team-secret-1", headers=ADMIN)).json()
    assert team["status"] == "suspended"


@pytest.mark.parametrize("admin_key", [ADMIN_KEY])
async def test_user_supplied_strings_are_shown_as_text(any_http: httpx.AsyncClient) -> None:
    seeded = await seed(any_http)
    token = await sign_in(any_http)
    r = await any_http.post(
        "/admin/organizations",
        data={"csrf": token, "organization_id": "org-x", "name": XSS},
    )
    assert r.status_code == 303
    r = await any_http.post(
        "/admin/teams/team-secret-1/keys", data={"csrf": token, "name": '"><script>x()</script>'}
    )
    assert r.status_code == 201
    shown = 0
    for path in [*pages(seeded), "/admin/organizations/org-x"]:
        r = await any_http.get(path)
        assert r.status_code == 200, path
        assert "<img" not in r.text and "<script>x()" not in r.text, path
        shown += "&lt;img src=x onerror=alert(1)&gt;" in r.text
    assert shown >= 4  # teams, team, organization(s), audit log
    # an error message that quotes the input is escaped too
    r = await any_http.post(
        "/admin/organizations", data={"csrf": token, "organization_id": "<b>bad</b>"}
    )
    assert r.status_code == 400 and "<b>" not in r.text


@pytest.mark.parametrize("admin_key", [ADMIN_KEY])
async def test_security_headers_on_every_dashboard_response(any_http: httpx.AsyncClient) -> None:
    seeded = await seed(any_http)
    responses = [await any_http.get(p) for p in ["/admin", "/admin/login", "/admin/nope"]]
    await sign_in(any_http)
    responses += [await any_http.get(p) for p in pages(seeded)]
    responses += [await any_http.get("/admin/static/app.js")]
    responses += [await any_http.post("/admin/teams/team-secret-1/suspend", data={})]
    for r in responses:
        csp = r.headers["content-security-policy"]
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, r.url
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "same-origin"
        assert r.headers["x-frame-options"] == "DENY"
    for r in responses[:-2]:
        if r.status_code == 200:
            assert "no-store" in r.headers["cache-control"], r.url
            assert "<script>" not in r.text and " on" + "click=" not in r.text
            assert re.findall(r"<script[^>]*>", r.text) == [
                '<script src="/admin/static/app.js" defer>'
            ]


@pytest.mark.parametrize("admin_key", [ADMIN_KEY])
async def test_no_key_in_any_url_or_log(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with live_server(create_app(settings)) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            seeded = await seed(http)
            token = await sign_in(http)
            created = await http.post(
                "/admin/teams",
                data={
                    "csrf": token,
                    "organization_id": "org-secret-1",
                    "team_id": "team-two",
                    "access_groups": "group-secret-1",
                },
            )
            new_key = re.search(r'id="virtual-key">([^<]+)<', created.text)
            assert created.status_code == 201 and new_key
            rotated = await http.post(
                "/admin/teams/team-two/rotate", data={"csrf": token, "confirmed": "yes"}
            )
            rotated_key = re.search(r'id="virtual-key">([^<]+)<', rotated.text)
            assert rotated_key
            secrets = [ADMIN_KEY, seeded["key"], new_key.group(1), rotated_key.group(1)]
            seen: list[str] = [str(created.url), str(rotated.url)]
            for path in [*pages(seeded), "/admin/teams/team-two"]:
                r = await http.get(path)
                seen.append(str(r.url))
                seen += re.findall(r'(?:href|action|src)="([^"]*)"', r.text)
                for secret in secrets:
                    assert secret not in r.text, path  # a key is shown once, on its own page
            r = await http.post("/admin/logout", data={"csrf": token})
            seen.append(r.headers["location"])
    logged = "\n".join(f"{rec.getMessage()} {rec.__dict__}" for rec in caplog.records)
    assert "/admin" in logged  # the access log did see the dashboard
    for secret in secrets:
        assert not any(secret in u for u in seen)
        assert secret not in logged


async def test_local_dev_mode_is_open(any_http: httpx.AsyncClient) -> None:
    r = await any_http.get("/admin")
    assert r.status_code == 200 and "local-dev mode" in r.text and "Sign out" not in r.text
    assert (await any_http.get("/admin/login")).status_code == 303
    token = csrf_of((await any_http.get("/admin/organizations")).text)
    r = await any_http.post("/admin/organizations", data={"csrf": token, "organization_id": "o1"})
    assert r.status_code == 303
    r = await any_http.post("/admin/organizations", data={"organization_id": "o2"})
    assert r.status_code == 403  # CSRF still applies
    events = (await any_http.get("/api/audit-log")).json()["events"]
    assert [e["actor"].split(":")[0] for e in events] == ["dashboard"]


async def test_the_dashboard_can_be_turned_off(settings: Settings) -> None:
    off = settings.model_copy(update={"dashboard": False})
    app = create_app(off)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://localhost"
        ) as http,
    ):
        for path in ["/admin", "/admin/login", "/admin/teams", "/admin/static/app.js"]:
            assert (await http.get(path)).status_code == 404
