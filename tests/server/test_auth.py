"""Who may call what (routes/_http.py): admin key, virtual keys, local-dev mode."""

from __future__ import annotations

import httpx
import pytest
from support import ORG, TEAM, bearer, create_team

ADMIN = "adm-test-secret-0123456789"
ADMIN_H = bearer(ADMIN)

ADMIN_ENDPOINTS = [
    ("POST", "/api/organizations/create", {"organization_id": "o2", "name": "O2"}),
    ("POST", "/api/model-access-groups/create", {"group_name": "g2"}),
    (
        "POST",
        "/api/model-aliases/create",
        {"model_alias": "A2", "deployments": [{"provider": "mock", "model": "m"}]},
    ),
    ("POST", "/api/teams/create", {"organization_id": ORG, "team_id": "t2"}),
    ("GET", f"/api/teams/{TEAM}", None),
    ("POST", f"/api/teams/{TEAM}/credits/add", {"credits": 5}),
    ("POST", f"/api/teams/{TEAM}/credits/adjust", {"credits": -5, "reason": "refund"}),
    ("POST", f"/api/teams/{TEAM}/rotate-key", None),
    ("POST", f"/api/teams/{TEAM}/suspend", None),
    ("POST", f"/api/teams/{TEAM}/resume", None),
]


@pytest.mark.parametrize("admin_key", [ADMIN])
@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ENDPOINTS)
async def test_admin_endpoints_need_the_admin_key(
    http: httpx.AsyncClient, method: str, path: str, body: object
) -> None:
    key = await create_team(http, admin=ADMIN_H)
    before = (await http.get(f"/api/teams/{TEAM}", headers=ADMIN_H)).json()

    r = await http.request(method, path, json=body)
    assert r.status_code == 401 and r.json()["error"]["type"] == "authentication_error"
    r = await http.request(method, path, json=body, headers=bearer("adm-wrong"))
    assert r.status_code == 401
    r = await http.request(method, path, json=body, headers=bearer(key))
    assert r.status_code == 403 and r.json()["error"]["type"] == "permission_denied"
    assert (await http.get(f"/api/teams/{TEAM}", headers=ADMIN_H)).json() == before
    # the old key still works: nothing was rotated by the refused calls
    assert (await http.get("/api/credits/balance", headers=bearer(key))).status_code == 200

    r = await http.request(method, path, json=body, headers=ADMIN_H)
    assert r.status_code in (200, 201), r.text


@pytest.mark.parametrize("admin_key", [ADMIN])
async def test_admin_key_is_not_a_team_key(http: httpx.AsyncClient) -> None:
    await create_team(http, admin=ADMIN_H)
    r = await http.post(
        "/api/jobs/create", json={"team_id": TEAM, "job_type": "x"}, headers=ADMIN_H
    )
    assert r.status_code == 403 and r.json()["error"]["type"] == "permission_denied"
    r = await http.get("/api/credits/balance", headers=ADMIN_H)
    assert r.status_code == 403
    # …but an admin may read a team's usage analytics
    assert (await http.get(f"/api/teams/{TEAM}/usage", headers=ADMIN_H)).status_code == 200


async def test_local_dev_mode_opens_admin_but_not_to_team_keys(http: httpx.AsyncClient) -> None:
    key = await create_team(http)  # no admin key configured, no Authorization sent
    r = await http.post(f"/api/teams/{TEAM}/credits/add", json={"credits": 1}, headers=bearer(key))
    assert r.status_code == 403
    assert (await http.get(f"/api/teams/{TEAM}")).json()["credits_allocated"] == 1000


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "Bearer sk-not-a-key",
        "sk-raw-key",
        "Bearer " + "x" * 10_000,
    ],
)
async def test_team_endpoints_refuse_missing_or_bad_keys(
    http: httpx.AsyncClient, header: str | None
) -> None:
    await create_team(http)
    headers = {} if header is None else {"Authorization": header}
    r = await http.get("/api/credits/balance", headers=headers)
    assert r.status_code == 401
    assert r.json()["error"]["type"] == "authentication_error"


async def test_rotated_key_replaces_the_old_one_at_once(http: httpx.AsyncClient) -> None:
    old = await create_team(http)
    r = await http.post(f"/api/teams/{TEAM}/rotate-key")
    new = r.json()["virtual_key"]
    assert new != old and new.startswith("sk-")
    assert (await http.get("/api/credits/balance", headers=bearer(old))).status_code == 401
    assert (await http.get("/api/credits/balance", headers=bearer(new))).status_code == 200


async def test_usage_of_another_team_is_forbidden(http: httpx.AsyncClient) -> None:
    key = await create_team(http)
    await create_team(http, team_id="globex")
    r = await http.get("/api/teams/globex/usage", headers=bearer(key))
    assert r.status_code == 403
