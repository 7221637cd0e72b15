"""Operators (``/api/operators``, owners only): keys shown once and stored as hashes, roles,
rotation and removal refused at once, every change audited without a key, hostile input a
clear 4xx. Every test runs on both backends."""

from __future__ import annotations

import hashlib
import logging
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from starlette.applications import Starlette
from support import TEAM, bearer, create_team

from saas_litellm_server.store.schema import operators

ADMIN_KEY = "adm-operators-secret-0123"
ADMIN = bearer(ADMIN_KEY)

pytestmark = pytest.mark.parametrize("admin_key", [ADMIN_KEY])


async def _create(http: httpx.AsyncClient, role: str, name: str = "Ann") -> dict[str, Any]:
    r = await http.post("/api/operators", json={"name": name, "role": role}, headers=ADMIN)
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()
    return created


async def _audit(http: httpx.AsyncClient, **params: str) -> list[dict[str, Any]]:
    r = await http.get("/api/audit-log", params={"limit": 500, **params}, headers=ADMIN)
    assert r.status_code == 200, r.text
    events: list[dict[str, Any]] = r.json()["events"]
    return events


async def test_an_operator_key_is_shown_once_and_stored_as_its_hash(
    app: Starlette, http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    created = await _create(http, "billing")
    key = created["api_key"]
    assert key.startswith("sk-op-") and len(key) > 40
    assert created["operator_id"].startswith("op_") and created["role"] == "billing"
    listed = (await http.get("/api/operators", headers=ADMIN)).json()
    assert [o["operator_id"] for o in listed["operators"]] == [created["operator_id"]]
    assert "api_key" not in listed["operators"][0] and key not in str(listed)
    stored = await app.state.runtime.db.fetch_one(sa.select(operators))
    assert stored["key_hash"] == hashlib.sha256(key.encode()).hexdigest()
    assert key not in str(dict(stored))
    events = await _audit(http, target=f"operator:{created['operator_id']}")
    assert [e["action"] for e in events] == ["operator.create"]
    assert events[0]["after"]["role"] == "billing" and events[0]["actor"] == "admin-key"
    assert key not in str(events) and key[6:] not in str(events)
    assert key not in caplog.text and key[6:] not in caplog.text


async def test_an_operator_acts_within_its_role_and_is_named_in_the_audit_log(
    http: httpx.AsyncClient,
) -> None:
    await create_team(http, admin=ADMIN)
    billing = await _create(http, "billing")
    as_billing = bearer(billing["api_key"])
    r = await http.post(f"/api/teams/{TEAM}/credits/add", json={"credits": 7}, headers=as_billing)
    assert r.status_code == 200, r.text
    r = await http.post(f"/api/teams/{TEAM}/suspend", headers=as_billing)
    assert r.status_code == 403 and r.json()["error"]["type"] == "permission_denied"
    assert "'admin' role" in r.json()["error"]["message"]
    assert (await http.get(f"/api/teams/{TEAM}", headers=ADMIN)).json()["status"] == "active"
    (grant,) = await _audit(http, actor=f"operator:{billing['operator_id']}")
    assert grant["target"] == f"team:{TEAM}"


async def test_a_role_change_applies_to_the_next_request(http: httpx.AsyncClient) -> None:
    viewer = await _create(http, "viewer")
    as_viewer = bearer(viewer["api_key"])
    body = {"organization_id": "o1", "name": "O1"}
    r = await http.post("/api/organizations/create", json=body, headers=as_viewer)
    assert r.status_code == 403
    r = await http.patch(
        f"/api/operators/{viewer['operator_id']}", json={"role": "admin"}, headers=ADMIN
    )
    assert r.status_code == 200 and r.json()["role"] == "admin" and "api_key" not in r.json()
    r = await http.post("/api/organizations/create", json=body, headers=as_viewer)
    assert r.status_code == 201, r.text
    (change,) = await _audit(http, action="operator.update")
    assert (change["before"], change["after"]) == ({"role": "viewer"}, {"role": "admin"})
    # a rename alone, then an empty change: the name is kept, and nothing is audited for it
    r = await http.patch(
        f"/api/operators/{viewer['operator_id']}", json={"name": "Bob"}, headers=ADMIN
    )
    assert (r.json()["name"], r.json()["role"]) == ("Bob", "admin")
    r = await http.patch(f"/api/operators/{viewer['operator_id']}", json={}, headers=ADMIN)
    assert r.status_code == 200 and r.json()["name"] == "Bob"
    assert len(await _audit(http, action="operator.update")) == 2


async def test_a_rotated_key_is_refused_at_once_and_the_new_one_works(
    http: httpx.AsyncClient,
) -> None:
    op = await _create(http, "viewer")
    old = bearer(op["api_key"])
    assert (await http.get("/api/teams", headers=old)).status_code == 200
    r = await http.post(f"/api/operators/{op['operator_id']}/rotate-key", headers=ADMIN)
    assert r.status_code == 200, r.text
    new = r.json()["api_key"]
    assert new.startswith("sk-op-") and new != op["api_key"]
    r = await http.get("/api/teams", headers=old)
    assert r.status_code == 401 and r.json()["error"]["type"] == "authentication_error"
    assert (await http.get("/api/teams", headers=bearer(new))).status_code == 200
    events = await _audit(http, action="operator.rotate_key")
    assert len(events) == 1 and new not in str(events)


async def test_a_removed_operator_is_refused_at_once_and_stays_named(
    http: httpx.AsyncClient,
) -> None:
    op = await _create(http, "admin")
    key = bearer(op["api_key"])
    r = await http.post(
        "/api/organizations/create", json={"organization_id": "o1", "name": "O1"}, headers=key
    )
    assert r.status_code == 201
    r = await http.delete(f"/api/operators/{op['operator_id']}", headers=ADMIN)
    assert r.json() == {"object": "operator", "id": op["operator_id"], "deleted": True}
    assert (await http.get("/api/teams", headers=key)).status_code == 401
    assert (await http.get("/api/operators", headers=ADMIN)).json()["operators"] == []
    # the audit log still names who made the change
    (made,) = await _audit(http, actor=f"operator:{op['operator_id']}")
    assert made["action"] == "organization.create"
    # gone: a second removal, a change or a rotation is a 404
    for method, path, body in [
        ("DELETE", f"/api/operators/{op['operator_id']}", None),
        ("PATCH", f"/api/operators/{op['operator_id']}", {"role": "viewer"}),
        ("POST", f"/api/operators/{op['operator_id']}/rotate-key", None),
    ]:
        r = await http.request(method, path, json=body, headers=ADMIN)
        assert r.status_code == 404 and r.json()["error"]["type"] == "not_found", path


async def test_only_owners_manage_operators(http: httpx.AsyncClient) -> None:
    owner = await _create(http, "owner", "Olga")
    admin = await _create(http, "admin", "Adam")
    r = await http.post(
        "/api/operators", json={"name": "x", "role": "owner"}, headers=bearer(admin["api_key"])
    )
    assert r.status_code == 403 and "'owner' role" in r.json()["error"]["message"]
    r = await http.patch(
        f"/api/operators/{admin['operator_id']}",
        json={"role": "owner"},
        headers=bearer(admin["api_key"]),
    )
    assert r.status_code == 403  # nobody raises their own role
    r = await http.post(
        "/api/operators", json={"name": "Vic", "role": "viewer"}, headers=bearer(owner["api_key"])
    )
    assert r.status_code == 201
    (made,) = await _audit(http, actor=f"operator:{owner['operator_id']}")
    assert made["action"] == "operator.create"
    roles = {
        o["name"]: o["role"]
        for o in (await http.get("/api/operators", headers=ADMIN)).json()["operators"]
    }
    assert roles == {"Olga": "owner", "Adam": "admin", "Vic": "viewer"}


async def test_an_operator_key_never_acts_as_a_team(http: httpx.AsyncClient) -> None:
    await create_team(http, admin=ADMIN)
    op = await _create(http, "owner")
    r = await http.get("/api/credits/balance", headers=bearer(op["api_key"]))
    assert r.status_code == 403 and "operator key" in r.json()["error"]["message"]
    r = await http.post(
        "/api/jobs/create", json={"team_id": TEAM, "job_type": "x"}, headers=bearer(op["api_key"])
    )
    assert r.status_code == 403
    # a team_or_admin read: any role may make it
    r = await http.get(f"/api/teams/{TEAM}/transactions", headers=bearer(op["api_key"]))
    assert r.status_code == 200


async def test_a_replayed_creation_hands_out_a_fresh_key(http: httpx.AsyncClient) -> None:
    headers = {**ADMIN, "Idempotency-Key": "op-1"}
    body = {"name": "Ann", "role": "viewer"}
    first = (await http.post("/api/operators", json=body, headers=headers)).json()
    r = await http.post("/api/operators", json=body, headers=headers)
    assert r.status_code == 201 and r.headers["idempotent-replayed"] == "true"
    again = r.json()
    assert again["operator_id"] == first["operator_id"] and again["api_key"] != first["api_key"]
    assert (await http.get("/api/teams", headers=bearer(first["api_key"]))).status_code == 401
    assert (await http.get("/api/teams", headers=bearer(again["api_key"]))).status_code == 200
    assert len((await http.get("/api/operators", headers=ADMIN)).json()["operators"]) == 1


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": "Ann"},
        {"name": "Ann", "role": "root"},
        {"name": "Ann", "role": "OWNER"},
        {"name": "", "role": "viewer"},
        {"name": "x" * 201, "role": "viewer"},
        {"name": "a\x00b", "role": "viewer"},
        {"name": 5, "role": "viewer"},
        {"name": "Ann", "role": "viewer", "api_key": "sk-op-mine"},
        {"name": "Ann", "role": ["owner"]},
    ],
)
async def test_a_bad_operator_body_is_a_422_and_creates_nothing(
    http: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    r = await http.post("/api/operators", json=body, headers=ADMIN)
    assert r.status_code == 422 and r.json()["error"]["type"] == "validation_error", r.text
    r = await http.patch(f"/api/operators/op_{'0' * 24}", json=body, headers=ADMIN)
    assert r.status_code in (404, 422), r.text
    assert (await http.get("/api/operators", headers=ADMIN)).json()["operators"] == []
    assert await _audit(http) == []


@pytest.mark.parametrize(
    "operator_id", ["nope", "op_123", "op_" + "g" * 24, "OP_" + "0" * 24, "op_" + "0" * 24]
)
async def test_a_bad_or_unknown_operator_id_is_a_404(
    http: httpx.AsyncClient, operator_id: str
) -> None:
    op = await _create(http, "viewer")
    for method, path, body in [
        ("PATCH", f"/api/operators/{operator_id}", {"role": "owner"}),
        ("DELETE", f"/api/operators/{operator_id}", None),
        ("POST", f"/api/operators/{operator_id}/rotate-key", None),
    ]:
        r = await http.request(method, path, json=body, headers=ADMIN)
        assert r.status_code == 404 and r.json()["error"]["type"] == "not_found", path
    listed = (await http.get("/api/operators", headers=ADMIN)).json()["operators"]
    assert [(o["operator_id"], o["role"]) for o in listed] == [(op["operator_id"], "viewer")]
    assert (await http.get("/api/teams", headers=bearer(op["api_key"]))).status_code == 200


async def test_operators_are_listed_a_page_at_a_time(http: httpx.AsyncClient) -> None:
    made = [(await _create(http, "viewer", f"op{i}"))["operator_id"] for i in range(3)]
    first = (await http.get("/api/operators", params={"limit": 2}, headers=ADMIN)).json()
    second = (
        await http.get(
            "/api/operators", params={"limit": 2, "cursor": first["next_cursor"]}, headers=ADMIN
        )
    ).json()
    seen = [o["operator_id"] for o in first["operators"] + second["operators"]]
    assert sorted(seen) == sorted(made) and second["next_cursor"] is None
    r = await http.get("/api/operators", params={"cursor": "forged"}, headers=ADMIN)
    assert r.status_code == 400
