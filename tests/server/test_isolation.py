"""No team key reaches the control plane: every admin operation, read or change, refuses a
team's virtual key (403) and, when an admin key is set, a missing or wrong key (401), and
changes nothing. Walked in-process and over real HTTP."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from support import GROUP, ORG, TEAM, bearer, create_team, open_job

from saas_litellm_models.endpoints import Endpoint
from saas_litellm_server import Settings, create_app
from saas_litellm_server.routes._operation import APIRoute

ADMIN_KEY = "adm-isolation-secret"
ADMIN = bearer(ADMIN_KEY)
OTHER = "other-team"
ALIAS = "Chat"


@pytest.fixture
def settings(database_url: str, admin_key: str | None) -> Settings:
    """Without the brute-force lockout: this module walks every operation with wrong keys from
    one address, which would be refused (429) after ten (``test_edges`` tests the lockout)."""
    return Settings(  # type: ignore[call-arg]
        database_url=database_url, admin_key=admin_key, auth_failures_per_minute=0, _env_file=None
    )


def _admin_operations() -> list[Endpoint[Any]]:
    """Every admin operation the app serves, reads included."""
    app = create_app(Settings(database_url="sqlite://", _env_file=None))
    ops = [r.declaration for r in app.routes if isinstance(r, APIRoute)]
    return sorted((op for op in ops if op.auth == "admin"), key=lambda op: (op.path, op.method))


OPERATIONS = _admin_operations()

BODIES: dict[tuple[str, str], dict[str, Any]] = {
    # a body each change would accept from the operator: refused all the same
    ("POST", "/api/organizations/create"): {"organization_id": "o-evil", "name": "evil"},
    ("POST", "/api/model-access-groups/create"): {"group_name": "g-evil"},
    ("POST", "/api/model-aliases/create"): {
        "model_alias": "evil",
        "access_groups": [GROUP],
        "deployments": [{"provider": "mock", "model": "evil"}],
    },
    ("POST", "/api/teams/create"): {
        "team_id": "t-evil",
        "organization_id": ORG,
        "access_groups": [GROUP],
        "credits_allocated": 1_000_000,
    },
    ("POST", "/api/teams/{team_id}/credits/add"): {"credits": 1_000_000, "reason": "mine"},
    ("POST", "/api/teams/{team_id}/credits/adjust"): {"credits": 1_000_000, "reason": "mine"},
    ("POST", "/api/teams/{team_id}/limits"): {"rpm_limit": None, "tpm_limit": None},
    ("PUT", "/api/teams/{team_id}/auto-refill"): {"amount": 1_000_000, "period": "daily"},
    ("POST", "/api/teams/{team_id}/keys"): {"name": "mine"},
    ("POST", "/api/teams/{team_id}/rotate-key"): {"grace_seconds": 3600},
    ("PATCH", "/api/teams/{team_id}"): {"team_alias": "evil", "access_groups": [GROUP, "g2"]},
    ("PATCH", "/api/organizations/{organization_id}"): {"name": "evil"},
    ("PATCH", "/api/model-access-groups/{group_name}"): {"description": "evil"},
    ("PATCH", "/api/model-aliases/{model_alias}"): {
        "deployments": [{"provider": "mock", "model": "evil"}]
    },
    ("POST", "/api/webhooks"): {"url": "https://93.184.215.14/evil", "events": ["job.completed"]},
    ("POST", "/api/operators"): {"name": "evil", "role": "owner"},
    ("PATCH", "/api/operators/{operator_id}"): {"role": "owner"},
}


def test_every_admin_change_with_a_body_has_one() -> None:
    """A new admin endpoint with a body cannot land without a body to refuse here."""
    needing = {(op.method, op.path) for op in OPERATIONS if op.body is not None}
    assert needing == set(BODIES), sorted(needing ^ set(BODIES))
    for op in OPERATIONS:
        if op.body is not None:
            try:
                op.body.model_validate(BODIES[op.method, op.path])
            except ValidationError as exc:  # pragma: no cover - the table is wrong
                pytest.fail(f"{op.method} {op.path}: the body is not valid: {exc}")
    assert len(OPERATIONS) >= 30  # reads and changes


async def _seed(http: httpx.AsyncClient, admin: dict[str, str]) -> dict[str, Any]:
    """Two teams in one organization sharing a group and an alias; the first has an open job
    and a second key."""
    r = await http.post("/api/model-access-groups/create", json={"group_name": "g2"}, headers=admin)
    assert r.status_code == 201, r.text
    key = await create_team(http, credits=10, admin=admin)
    other_key = await create_team(http, team_id=OTHER, credits=10, admin=admin)
    r = await http.post(
        "/api/model-aliases/create",
        json={
            "model_alias": ALIAS,
            "access_groups": [GROUP],
            "deployments": [{"provider": "mock", "model": "m"}],
        },
        headers=admin,
    )
    assert r.status_code == 201, r.text
    r = await http.post(f"/api/teams/{TEAM}/keys", json={"name": "ci"}, headers=admin)
    assert r.status_code == 201, r.text
    second = r.json()
    job = await open_job(http, key)
    keys = (await http.get(f"/api/teams/{TEAM}/keys", headers=admin)).json()["keys"]
    r = await http.post(
        "/api/webhooks",
        json={"url": "https://93.184.215.14/hooks", "events": ["team.suspended"]},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    hook = r.json()
    for change in ("suspend", "resume"):  # an event, so that a delivery exists
        r = await http.post(f"/api/teams/{OTHER}/{change}", headers=admin)
        assert r.status_code == 200, r.text
    deliveries = await http.get(f"/api/webhooks/{hook['webhook_id']}/deliveries", headers=admin)
    r = await http.post("/api/operators", json={"name": "Ann", "role": "viewer"}, headers=admin)
    assert r.status_code == 201, r.text
    return {
        "operator_id": r.json()["operator_id"],
        "operator_key": r.json()["api_key"],
        "webhook_id": hook["webhook_id"],
        "webhook_secret": hook["secret"],
        "delivery_id": deliveries.json()["deliveries"][0]["delivery_id"],
        "key": key,
        "second_key": second["virtual_key"],
        "other_key": other_key,
        "key_id": next(k["key_id"] for k in keys if k["name"] == "default"),
        "second_key_id": second["key_id"],
        "job": job,
    }


def _hook_ids(seeded: Mapping[str, Any]) -> dict[str, str]:
    return {
        "webhook_id": seeded["webhook_id"],
        "delivery_id": seeded["delivery_id"],
        "operator_id": seeded["operator_id"],
    }


def _fill(op: Endpoint[Any], ids: Mapping[str, str]) -> str:
    return op.path.format_map(ids)


OWN = {
    "team_id": TEAM,
    "organization_id": ORG,
    "group_name": GROUP,
    "model_alias": ALIAS,
}
UNKNOWN = {
    "team_id": "nope",
    "organization_id": "nope",
    "group_name": "nope",
    "model_alias": "nope",
    "key_id": "key_" + "0" * 24,
    "webhook_id": "wh_" + "0" * 24,
    "delivery_id": "msg_" + "0" * 24,
    "operator_id": "op_" + "0" * 24,
}


async def _state(http: httpx.AsyncClient, admin: dict[str, str], seeded: Mapping[str, Any]) -> Any:
    """Everything a request could have changed, as the operator and the team see it."""
    views = [
        "/api/audit-log?limit=500",
        "/api/organizations",
        "/api/model-access-groups",
        "/api/model-aliases",
        "/api/teams",
        f"/api/teams/{TEAM}",
        f"/api/teams/{OTHER}",
        f"/api/organizations/{ORG}",
        f"/api/model-aliases/{ALIAS}",
        f"/api/teams/{TEAM}/keys",
        f"/api/teams/{OTHER}/keys",
        "/api/jobs",
        "/api/webhooks",
        "/api/operators",
    ]
    state: dict[str, Any] = {}
    for view in views:
        r = await http.get(view, headers=admin)
        assert r.status_code == 200, f"{view}: {r.text}"
        state[view] = r.json()
    for listed in (state[f"/api/teams/{TEAM}/keys"], state[f"/api/teams/{OTHER}/keys"]):
        for key in listed["keys"]:
            key.pop("last_used_at")  # the refused requests did use the key
    for hook in state["/api/webhooks"]["webhooks"]:
        hook.pop("failing_since")  # the delivery worker tries to send the seeded event
    for key in ("key", "second_key", "other_key"):
        r = await http.get("/api/credits/balance", headers=bearer(seeded[key]))
        assert r.status_code == 200, r.text  # every team key still works
        state[key] = r.json()
    return state


def _secrets(seeded: Mapping[str, Any]) -> list[str]:
    keys = [seeded["key"], seeded["second_key"], seeded["other_key"]]
    hook = seeded["webhook_secret"]
    operator = seeded["operator_key"]
    return [ADMIN_KEY, *keys, *(k[3:] for k in keys), hook, hook[6:], operator, operator[6:]]


@pytest.mark.parametrize("admin_key", [ADMIN_KEY, None], ids=["admin-key", "local-dev"])
@pytest.mark.parametrize("ids", ["own", "other-team", "unknown"])
@pytest.mark.parametrize("which", ["key", "second_key"])
async def test_no_team_key_reaches_any_admin_operation(
    any_http: httpx.AsyncClient, admin_key: str | None, ids: str, which: str
) -> None:
    """With the team's own ids, another team's, or ids that exist nowhere: 403, never a 404
    that would tell what exists, and nothing changes."""
    admin = ADMIN if admin_key else {}
    seeded = await _seed(any_http, admin)
    path_ids = {
        "own": {**OWN, **_hook_ids(seeded), "key_id": seeded["key_id"]},
        "other-team": {
            **OWN,
            **_hook_ids(seeded),
            "team_id": OTHER,
            "key_id": seeded["second_key_id"],
        },
        "unknown": UNKNOWN,
    }[ids]
    before = await _state(any_http, admin, seeded)
    team_key = bearer(seeded[which])
    for op in OPERATIONS:
        body = BODIES.get((op.method, op.path))
        r = await any_http.request(op.method, _fill(op, path_ids), json=body, headers=team_key)
        where = f"{op.method} {op.path}"
        assert r.status_code == 403, f"{where}: {r.status_code} {r.text}"
        assert r.json()["error"]["type"] == "permission_denied", where
        for secret in _secrets(seeded):
            assert secret not in r.text, where
            assert secret not in str(r.headers), where
    assert await _state(any_http, admin, seeded) == before


def _wrong_keys(seeded: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    return {
        "no key": {},
        "a wrong key": bearer("adm-wrong"),
        "the admin key and more": bearer(ADMIN_KEY + "x"),
        "the admin key's start": bearer(ADMIN_KEY[:-1]),
        "the admin key in capitals": bearer(ADMIN_KEY.upper()),
        "an unknown virtual key": bearer("sk-" + "A" * 43),
        "an unknown operator key": bearer("sk-op-" + "A" * 43),
        "a revoked virtual key": bearer(seeded["revoked"]),
        "not a bearer token": {"Authorization": f"Basic {ADMIN_KEY}"},
        "an empty bearer token": {"Authorization": "Bearer"},
    }


@pytest.mark.parametrize("admin_key", [ADMIN_KEY])
async def test_without_the_admin_key_every_admin_operation_is_401(
    any_http: httpx.AsyncClient,
) -> None:
    seeded = await _seed(any_http, ADMIN)
    r = await any_http.post(f"/api/teams/{TEAM}/keys", json={"name": "old"}, headers=ADMIN)
    assert r.status_code == 201
    seeded["revoked"] = r.json()["virtual_key"]
    r = await any_http.delete(f"/api/teams/{TEAM}/keys/{r.json()['key_id']}", headers=ADMIN)
    assert r.status_code == 200
    before = await _state(any_http, ADMIN, seeded)
    path_ids = {**OWN, **_hook_ids(seeded), "key_id": seeded["key_id"]}
    for what, headers in _wrong_keys(seeded).items():
        for op in OPERATIONS:
            body = BODIES.get((op.method, op.path))
            r = await any_http.request(op.method, _fill(op, path_ids), json=body, headers=headers)
            where = f"{op.method} {op.path} with {what}"
            assert r.status_code == 401, f"{where}: {r.status_code} {r.text}"
            assert r.json()["error"]["type"] == "authentication_error", where
            for secret in [*_secrets(seeded), seeded["revoked"]]:
                assert secret not in r.text, where
    assert await _state(any_http, ADMIN, seeded) == before


@pytest.mark.parametrize("admin_key", [ADMIN_KEY])
async def test_a_removed_teams_key_reaches_nothing(any_http: httpx.AsyncClient) -> None:
    """A removed team's key is no key at all: 401 on the control plane as on its own
    endpoints."""
    seeded = await _seed(any_http, ADMIN)
    r = await any_http.post(
        f"/api/jobs/{seeded['job']}/complete",
        json={"status": "completed"},
        headers=bearer(seeded["key"]),
    )
    assert r.status_code == 200, r.text
    assert (await any_http.delete(f"/api/teams/{TEAM}", headers=ADMIN)).status_code == 200
    gone = bearer(seeded["key"])
    assert (await any_http.get("/api/credits/balance", headers=gone)).status_code == 401
    path_ids = {**OWN, **_hook_ids(seeded), "team_id": OTHER, "key_id": seeded["key_id"]}
    for op in OPERATIONS:
        body = BODIES.get((op.method, op.path))
        r = await any_http.request(op.method, _fill(op, path_ids), json=body, headers=gone)
        assert r.status_code == 401, f"{op.method} {op.path}: {r.text}"
