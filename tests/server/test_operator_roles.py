"""The role matrix: every admin and team-or-admin endpoint of the table by every role (viewer,
billing, admin, owner operators and the admin key), allowed or refused as the hand-written
:data:`LEAST_ROLE` says — not as ``Endpoint.required_role`` says, so that a wrong declaration
fails here. A refused request is a 403 naming the role it needs and changes nothing; an allowed
one gets past authorization (a 2xx, or a 409 of the endpoint's own). Then the lockout for
operator keys. Both backends."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from support import GROUP, ORG, TEAM, bearer, create_team, open_job

from saas_litellm_models.endpoints import ENDPOINTS, Endpoint
from saas_litellm_server import Settings, create_app

ADMIN_KEY = "adm-roles-secret-0123456"
ADMIN = bearer(ADMIN_KEY)
OTHER = "other-team"
ALIAS = "Chat"
ROLES = ["viewer", "billing", "admin", "owner"]

# The least role each endpoint needs, written out from the contract (API.md, issue 30): reads
# need viewer; credits, adjustments, auto-refill and billing-only team changes need billing;
# other changes need admin; the operators need owner. Keep it by hand.
LEAST_ROLE: dict[tuple[str, str], str] = {
    # reads
    ("GET", "/api/model-aliases/{model_alias}"): "viewer",
    ("GET", "/api/teams/{team_id}"): "viewer",
    ("GET", "/api/teams/{team_id}/keys"): "viewer",
    ("GET", "/api/organizations"): "viewer",
    ("GET", "/api/organizations/{organization_id}"): "viewer",
    ("GET", "/api/organizations/{organization_id}/usage"): "viewer",
    ("GET", "/api/model-access-groups"): "viewer",
    ("GET", "/api/model-aliases"): "viewer",
    ("GET", "/api/teams"): "viewer",
    ("GET", "/api/jobs"): "viewer",
    ("GET", "/api/audit-log"): "viewer",
    ("GET", "/api/webhooks"): "viewer",
    ("GET", "/api/webhooks/{webhook_id}/deliveries"): "viewer",
    ("GET", "/api/teams/{team_id}/usage"): "viewer",
    ("GET", "/api/teams/{team_id}/jobs"): "viewer",
    ("GET", "/api/teams/{team_id}/transactions"): "viewer",
    ("GET", "/api/jobs/{job_id}/calls/{call_id}"): "viewer",
    ("GET", "/api/usage"): "viewer",
    # billing
    ("POST", "/api/teams/{team_id}/credits/add"): "billing",
    ("POST", "/api/teams/{team_id}/credits/adjust"): "billing",
    ("PUT", "/api/teams/{team_id}/auto-refill"): "billing",
    ("DELETE", "/api/teams/{team_id}/auto-refill"): "billing",
    ("PATCH", "/api/teams/{team_id}"): "billing",  # with billing fields only (see below)
    # admin
    ("POST", "/api/organizations/create"): "admin",
    ("POST", "/api/model-access-groups/create"): "admin",
    ("POST", "/api/model-aliases/create"): "admin",
    ("POST", "/api/teams/create"): "admin",
    ("POST", "/api/teams/{team_id}/limits"): "admin",
    ("POST", "/api/teams/{team_id}/suspend"): "admin",
    ("POST", "/api/teams/{team_id}/resume"): "admin",
    ("POST", "/api/teams/{team_id}/keys"): "admin",
    ("DELETE", "/api/teams/{team_id}/keys/{key_id}"): "admin",
    ("POST", "/api/teams/{team_id}/rotate-key"): "admin",
    ("DELETE", "/api/teams/{team_id}"): "admin",
    ("PATCH", "/api/organizations/{organization_id}"): "admin",
    ("DELETE", "/api/organizations/{organization_id}"): "admin",
    ("PATCH", "/api/model-access-groups/{group_name}"): "admin",
    ("DELETE", "/api/model-access-groups/{group_name}"): "admin",
    ("PATCH", "/api/model-aliases/{model_alias}"): "admin",
    ("DELETE", "/api/model-aliases/{model_alias}"): "admin",
    ("POST", "/api/webhooks"): "admin",
    ("DELETE", "/api/webhooks/{webhook_id}"): "admin",
    ("POST", "/api/webhooks/{webhook_id}/deliveries/{delivery_id}/retry"): "admin",
    ("POST", "/api/webhooks/{webhook_id}/test"): "admin",
    # owner
    ("POST", "/api/operators"): "owner",
    ("GET", "/api/operators"): "owner",
    ("PATCH", "/api/operators/{operator_id}"): "owner",
    ("DELETE", "/api/operators/{operator_id}"): "owner",
    ("POST", "/api/operators/{operator_id}/rotate-key"): "owner",
}

# The endpoints that also answer CSV (``?format=csv``): exports need billing (API.md: "billing:
# reads + credits, adjustments, billing settings, auto-refill, exports").
EXPORTS = {"/api/teams/{team_id}/transactions": "billing", "/api/usage": "billing"}

BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/api/organizations/create"): {"organization_id": "o2", "name": "O2"},
    ("POST", "/api/model-access-groups/create"): {"group_name": "g2"},
    ("POST", "/api/model-aliases/create"): {
        "model_alias": "A2",
        "deployments": [{"provider": "mock", "model": "m"}],
    },
    ("POST", "/api/teams/create"): {"organization_id": ORG, "team_id": "t2"},
    ("POST", "/api/teams/{team_id}/credits/add"): {"credits": 5},
    ("POST", "/api/teams/{team_id}/credits/adjust"): {"credits": -1, "reason": "refund"},
    ("PUT", "/api/teams/{team_id}/auto-refill"): {"amount": 10, "period": "daily"},
    ("PATCH", "/api/teams/{team_id}"): {"low_balance_threshold": 3},
    ("POST", "/api/teams/{team_id}/limits"): {"rpm_limit": 100},
    ("POST", "/api/teams/{team_id}/keys"): {"name": "ci"},
    ("POST", "/api/teams/{team_id}/rotate-key"): {"grace_seconds": 60},
    ("PATCH", "/api/organizations/{organization_id}"): {"name": "renamed"},
    ("PATCH", "/api/model-access-groups/{group_name}"): {"description": "d"},
    ("PATCH", "/api/model-aliases/{model_alias}"): {
        "deployments": [{"provider": "mock", "model": "m2"}]
    },
    ("POST", "/api/webhooks"): {"url": "https://93.184.215.14/h2", "events": ["job.completed"]},
    ("POST", "/api/operators"): {"name": "new", "role": "viewer"},
    ("PATCH", "/api/operators/{operator_id}"): {"name": "renamed"},
}

_DELETE_ORDER = [  # the allowed pass removes things last, the team after its key and refill
    "/api/teams/{team_id}/keys/{key_id}",
    "/api/teams/{team_id}/auto-refill",
    "/api/webhooks/{webhook_id}",
    "/api/model-aliases/{model_alias}",
    "/api/model-access-groups/{group_name}",
    "/api/teams/{team_id}",
    "/api/organizations/{organization_id}",
    "/api/operators/{operator_id}",
]


def _rows() -> list[Endpoint[Any]]:
    return [op for op in ENDPOINTS if op.auth in ("admin", "team_or_admin")]


def test_the_table_names_every_admin_endpoint() -> None:
    """A new admin endpoint cannot land without its row here."""
    assert {(op.method, op.path) for op in _rows()} == set(LEAST_ROLE)
    writes = {(op.method, op.path) for op in _rows() if op.body is not None}
    assert writes == set(BODIES)


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


async def _ok(r: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body: dict[str, Any] = r.json()
    return body


async def _seed(http: httpx.AsyncClient) -> dict[str, str]:
    """Two teams, an alias, a second key, a webhook with a delivery and an operator to change;
    returns every path id."""
    key = await create_team(http, admin=ADMIN)
    await create_team(http, team_id=OTHER, admin=ADMIN)
    await _ok(
        await http.post(
            "/api/model-aliases/create",
            json={
                "model_alias": ALIAS,
                "access_groups": [GROUP],
                "deployments": [{"provider": "mock", "model": "m"}],
            },
            headers=ADMIN,
        ),
        201,
    )
    second = await _ok(
        await http.post(f"/api/teams/{TEAM}/keys", json={"name": "two"}, headers=ADMIN), 201
    )
    hook = await _ok(
        await http.post(
            "/api/webhooks",
            json={"url": "https://93.184.215.14/hooks", "events": ["team.suspended"]},
            headers=ADMIN,
        ),
        201,
    )
    job = await open_job(http, key)
    call = await _ok(
        await http.post(
            f"/api/jobs/{job}/llm-call",
            json={"model": ALIAS, "messages": [{"role": "user", "content": "hi"}]},
            headers=bearer(key),
        )
    )
    await _ok(await http.post(f"/api/teams/{OTHER}/suspend", headers=ADMIN))
    await _ok(await http.post(f"/api/teams/{OTHER}/resume", headers=ADMIN))
    deliveries = await _ok(
        await http.get(f"/api/webhooks/{hook['webhook_id']}/deliveries", headers=ADMIN)
    )
    victim = await _ok(
        await http.post("/api/operators", json={"name": "victim", "role": "viewer"}, headers=ADMIN),
        201,
    )
    return {
        "team_id": TEAM,
        "organization_id": ORG,
        "group_name": GROUP,
        "model_alias": ALIAS,
        "key_id": second["key_id"],
        "webhook_id": hook["webhook_id"],
        "delivery_id": deliveries["deliveries"][0]["delivery_id"],
        "operator_id": victim["operator_id"],
        "victim_key": victim["api_key"],
        "job_id": job,
        "call_id": call["call_id"],
    }


_VIEWS = [
    "/api/audit-log?limit=500",
    "/api/organizations",
    "/api/model-access-groups",
    "/api/model-aliases",
    "/api/teams",
    f"/api/teams/{TEAM}",
    f"/api/teams/{TEAM}/keys",
    f"/api/teams/{TEAM}/transactions",
    "/api/webhooks",
    "/api/operators",
]


async def _state(http: httpx.AsyncClient) -> dict[str, Any]:
    state = {view: await _ok(await http.get(view, headers=ADMIN)) for view in _VIEWS}
    for key in state[f"/api/teams/{TEAM}/keys"]["keys"]:
        key.pop("last_used_at")
    return state


@pytest.mark.parametrize("role", [*ROLES, "admin-key"])
async def test_every_admin_endpoint_allows_exactly_the_roles_it_should(
    http: httpx.AsyncClient, role: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    ids = await _seed(http)
    if role == "admin-key":
        headers, secret = ADMIN, ADMIN_KEY
    else:
        me = await _ok(
            await http.post("/api/operators", json={"name": "me", "role": role}, headers=ADMIN),
            201,
        )
        headers, secret = bearer(me["api_key"]), me["api_key"]
    rows = _rows()
    refused = [op for op in rows if not _allowed(role, LEAST_ROLE[op.method, op.path])]

    before = await _state(http)
    for op in refused:
        need = LEAST_ROLE[op.method, op.path]
        r = await http.request(
            op.method,
            op.path.format_map(ids),
            json=BODIES.get((op.method, op.path)),
            headers=headers,
        )
        where = f"{role}: {op}"
        assert r.status_code == 403, f"{where}: {r.status_code} {r.text}"
        assert r.json()["error"]["type"] == "permission_denied", where
        assert f"'{need}' role" in r.json()["error"]["message"], where
        assert secret not in r.text and ids["victim_key"] not in r.text, where
    assert await _state(http) == before

    # a team's billing settings alone need billing; anything more needs admin
    r = await http.patch(
        f"/api/teams/{TEAM}",
        json={"low_balance_threshold": 3, "team_alias": "x"},
        headers=headers,
    )
    assert r.status_code == (200 if _allowed(role, "admin") else 403), r.text
    if r.status_code == 403:  # the endpoint's least role first, then what the body asks
        need = "admin" if role == "billing" else "billing"
        assert f"'{need}' role" in r.json()["error"]["message"]
        assert await _state(http) == before

    allowed = [op for op in rows if _allowed(role, LEAST_ROLE[op.method, op.path])]
    allowed.sort(key=lambda op: _DELETE_ORDER.index(op.path) if op.method == "DELETE" else -1)
    for op in allowed:
        r = await http.request(
            op.method,
            op.path.format_map(ids),
            json=BODIES.get((op.method, op.path)),
            headers=headers,
        )
        where = f"{role}: {op}"
        assert r.status_code in (200, 201, 409), f"{where}: {r.status_code} {r.text}"
        assert secret not in r.text, where
    assert len(allowed) + len(refused) == len(LEAST_ROLE)
    assert secret not in caplog.text and secret[6:] not in caplog.text


def test_the_exports_are_the_csv_endpoints() -> None:
    assert {op.path for op in _rows() if op.csv} == set(EXPORTS)


@pytest.mark.parametrize("role", [*ROLES, "admin-key"])
async def test_a_csv_export_needs_the_billing_role(http: httpx.AsyncClient, role: str) -> None:
    """Reading the JSON is a viewer's; exporting the same rows as CSV is billing's."""
    ids = await _seed(http)
    if role == "admin-key":
        headers = ADMIN
    else:
        me = await _ok(
            await http.post("/api/operators", json={"name": "me", "role": role}, headers=ADMIN),
            201,
        )
        headers = bearer(me["api_key"])
    for path, need in EXPORTS.items():
        url = path.format_map(ids)
        assert (await http.get(url, headers=headers)).status_code == 200, (role, url)
        r = await http.get(url, params={"format": "csv"}, headers=headers)
        if _allowed(role, need):
            assert r.status_code == 200, (role, url, r.text)
            assert r.headers["content-type"].startswith("text/csv")
        else:
            assert r.status_code == 403, (role, url, r.text)
            assert r.json()["error"]["type"] == "permission_denied"
            assert f"'{need}' role" in r.json()["error"]["message"]


def _from(app: Starlette, address: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(address, 40000)),
        base_url="http://localhost",
    )


@pytest.fixture
async def locked_app(database_url: str) -> AsyncIterator[Starlette]:
    settings = Settings(database_url=database_url, admin_key=ADMIN_KEY, _env_file=None)  # type: ignore[call-arg]
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


async def test_wrong_operator_keys_lock_the_address_out(locked_app: Starlette) -> None:
    async with (
        _from(locked_app, "203.0.113.7") as attacker,
        _from(locked_app, "198.51.100.1") as owner,
    ):
        op = await _ok(
            await owner.post("/api/operators", json={"name": "a", "role": "admin"}, headers=ADMIN),
            201,
        )
        rotated = await _ok(
            await owner.post(f"/api/operators/{op['operator_id']}/rotate-key", headers=ADMIN)
        )
        gone = await _ok(
            await owner.post("/api/operators", json={"name": "b", "role": "owner"}, headers=ADMIN),
            201,
        )
        await _ok(await owner.delete(f"/api/operators/{gone['operator_id']}", headers=ADMIN))
        # a rotated-away key and a removed operator's key count as guesses, like any other
        guesses = [op["api_key"], gone["api_key"]] + [f"sk-op-guess-{i}" for i in range(8)]
        for guess in guesses:
            r = await attacker.get("/api/teams", headers=bearer(guess))
            assert r.status_code == 401 and r.json()["error"]["type"] == "authentication_error"
        r = await attacker.get("/api/teams", headers=bearer("sk-op-guess-10"))
        assert r.status_code == 429
        # the right operator key from that address is refused alike: a guess must not tell
        r = await attacker.get("/api/teams", headers=bearer(rotated["api_key"]))
        assert r.status_code == 429
        r = await attacker.get(
            f"/api/teams/{TEAM}/transactions", headers=bearer(rotated["api_key"])
        )
        assert r.status_code == 429
        # from elsewhere it works at once
        assert (
            await owner.get("/api/teams", headers=bearer(rotated["api_key"]))
        ).status_code == 200


async def test_the_openapi_document_says_the_role_each_operation_needs(
    http: httpx.AsyncClient,
) -> None:
    document = (await http.get("/openapi.json")).json()
    said = {
        (method.upper(), path): op.get("x-required-role")
        for path, ops in document["paths"].items()
        for method, op in ops.items()
        if (method.upper(), path) in LEAST_ROLE or "x-required-role" in op
    }
    assert said == LEAST_ROLE
    exports = {
        path: ops["get"].get("x-export-role")
        for path, ops in document["paths"].items()
        if "x-export-role" in ops.get("get", {})
    }
    assert exports == EXPORTS
    patch_team = document["paths"]["/api/teams/{team_id}"]["patch"]
    assert set(patch_team["x-role-fields"]) == {
        "budget_mode",
        "tokens_per_credit",
        "credits_per_dollar",
        "markup_percent",
        "low_balance_threshold",
    }
