"""The audit log (services/audit.py, routes/audit.py): every admin change, exactly once, with
who made it, when, and the fields before and after; never a key; written in the change's own
transaction."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from pydantic import TypeAdapter
from support import GROUP, ORG, TEAM, bearer, create_team, open_job

from saas_litellm_models import AuditLog
from saas_litellm_server import Settings, create_app
from saas_litellm_server.routes._operation import APIRoute
from saas_litellm_server.services.keys import hash_key
from saas_litellm_server.store import Database
from saas_litellm_server.store.schema import audit_events

ADMIN_KEY = "adm-audit-secret"
START = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.timezone.utc)
_TIME = TypeAdapter(dt.datetime)


class Clock:
    """The server's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float = 1) -> dt.datetime:
        self.now += dt.timedelta(seconds=seconds)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@contextlib.asynccontextmanager
async def _client(settings: Settings, clock: Clock) -> AsyncIterator[httpx.AsyncClient]:
    """The app on ``clock``, with the admin key (when one is set) on every request."""
    app = create_app(settings, clock=clock)
    headers = bearer(settings.admin_key.get_secret_value()) if settings.admin_key else {}
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://localhost", headers=headers
        ) as client,
    ):
        yield client


@pytest.fixture
async def admin(settings: Settings, clock: Clock) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(settings, clock) as client:
        yield client


async def _log(http: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    """Every event matching ``params``, newest first (one page)."""
    r = await http.get("/api/audit-log", params={"limit": 500, **params})
    assert r.status_code == 200, r.text
    log = AuditLog.model_validate_json(r.content)
    assert log.next_cursor is None
    events: list[dict[str, Any]] = r.json()["events"]
    return events


def _at(event: Mapping[str, Any]) -> dt.datetime:
    return _TIME.validate_python(event["at"])


def _admin_operations(*, changes: bool) -> set[tuple[str, str]]:
    """(method, path) of every admin operation that changes something (or only reads)."""
    app = create_app(Settings(database_url="sqlite://", _env_file=None))
    return {
        (r.declaration.method, r.declaration.path)
        for r in app.routes
        if isinstance(r, APIRoute)
        and r.declaration.auth == "admin"
        and (r.declaration.method != "GET") == changes
    }


# --- the walk: every admin change, one event each ---------------------------------------------


@dataclass(frozen=True)
class Ref:
    """A value the walk learned from an earlier response (a key id)."""

    name: str


@dataclass(frozen=True)
class Later:
    """The clock's time at this step, plus ``seconds``."""

    seconds: float = 0


@dataclass(frozen=True)
class Step:
    """One admin change: how to make it, and the event it must leave."""

    method: str
    path: str
    """The operation's declared path (what the table is keyed by)."""
    url: str
    """The concrete path; ``{name}`` is filled from what earlier steps learned."""
    action: str
    target: str
    body: dict[str, Any] | None = None
    status: int = 200
    before: Mapping[str, Any] | None = None
    after: Mapping[str, Any] | None = None
    exact: bool = True
    """``before``/``after`` are all the fields (an update); else a subset (a creation or a
    removal holds the whole object)."""
    learns: Mapping[str, str] = field(default_factory=dict)
    """Names for response fields later steps refer to."""
    looks_up: Mapping[str, tuple[str, str, str]] = field(default_factory=dict)
    """Names learned before the step from a list: ``(url, list field, item field)`` of its
    first item (a webhook delivery's id)."""


ALIAS = "walk/model"
HOOK_URL = "https://93.184.215.14/hooks"  # a public address (the delivery fails: no matter)
DEPLOYMENT = {"provider": "mock", "model": "m1", "input_cost_per_million": 1.0}

WALK = [
    Step(
        "POST",
        "/api/organizations/create",
        "/api/organizations/create",
        "organization.create",
        "organization:o-walk",
        body={"organization_id": "o-walk", "name": "Walk", "metadata": {"tier": "gold"}},
        status=201,
        after={"organization_id": "o-walk", "name": "Walk", "metadata": {"tier": "gold"}},
        exact=False,
    ),
    Step(
        "POST",
        "/api/model-access-groups/create",
        "/api/model-access-groups/create",
        "model_access_group.create",
        "model_access_group:g-walk",
        body={"group_name": "g-walk", "description": "walkers"},
        status=201,
        after={"group_name": "g-walk", "description": "walkers"},
        exact=False,
    ),
    Step(
        "POST",
        "/api/model-aliases/create",
        "/api/model-aliases/create",
        "model_alias.create",
        f"model_alias:{ALIAS}",
        body={"model_alias": ALIAS, "access_groups": ["g-walk"], "deployments": [DEPLOYMENT]},
        status=201,
        after={"model_alias": ALIAS, "access_groups": ["g-walk"], "deployments": [DEPLOYMENT]},
        exact=False,
    ),
    Step(
        "POST",
        "/api/teams/create",
        "/api/teams/create",
        "team.create",
        "team:t-walk",
        body={
            "team_id": "t-walk",
            "organization_id": "o-walk",
            "access_groups": ["g-walk"],
            "credits_allocated": 100,
        },
        status=201,
        after={
            "team_id": "t-walk",
            "organization_id": "o-walk",
            "access_groups": ["g-walk"],
            "credits_allocated": 100,
            "status": "active",
            "team_alias": None,
        },
        exact=False,
        learns={"first_key": "key_id"},
    ),
    Step(
        "POST",
        "/api/teams/{team_id}/credits/add",
        "/api/teams/t-walk/credits/add",
        "team.credits_add",
        "team:t-walk",
        body={"credits": 50, "reason": "top-up"},
        before={"credits_allocated": 100},
        after={"credits_allocated": 150, "reason": "top-up"},
    ),
    Step(
        "POST",
        "/api/teams/{team_id}/credits/adjust",
        "/api/teams/t-walk/credits/adjust",
        "team.credits_adjust",
        "team:t-walk",
        body={"credits": -30, "reason": "duplicate grant"},
        before={"credits_remaining": 150},
        after={"credits_remaining": 120, "reason": "duplicate grant"},
    ),
    Step(
        "POST",
        "/api/teams/{team_id}/limits",
        "/api/teams/t-walk/limits",
        "team.limits_set",
        "team:t-walk",
        body={"rpm_limit": 60},
        before={"rpm_limit": None},
        after={"rpm_limit": 60},
    ),
    Step(
        "PUT",
        "/api/teams/{team_id}/auto-refill",
        "/api/teams/t-walk/auto-refill",
        "team.auto_refill_set",
        "team:t-walk",
        body={"amount": 100, "period": "monthly", "mode": "top_up"},
        before={"auto_refill": None},
        after={
            "auto_refill": {
                "amount": 100,
                "period": "monthly",
                "mode": "top_up",
                "last_refill_period": None,
            }
        },
    ),
    Step(
        "DELETE",
        "/api/teams/{team_id}/auto-refill",
        "/api/teams/t-walk/auto-refill",
        "team.auto_refill_delete",
        "team:t-walk",
        before={
            "auto_refill": {
                "amount": 100,
                "period": "monthly",
                "mode": "top_up",
                "last_refill_period": None,
            }
        },
        after={"auto_refill": None},
    ),
    Step(
        "POST",
        "/api/webhooks",
        "/api/webhooks",
        "webhook.create",
        "webhook:{webhook}",
        body={"url": HOOK_URL, "events": ["team.suspended"], "organization_id": "o-walk"},
        status=201,
        after={
            "webhook_id": Ref("webhook"),
            "url": HOOK_URL,
            "events": ["team.suspended"],
            "organization_id": "o-walk",
            "status": "active",
        },
        exact=False,
        learns={"webhook": "webhook_id"},
    ),
    Step(
        "POST",
        "/api/teams/{team_id}/suspend",
        "/api/teams/t-walk/suspend",
        "team.suspend",
        "team:t-walk",
        before={"status": "active"},
        after={"status": "suspended"},
    ),
    Step(
        "POST",
        "/api/webhooks/{webhook_id}/deliveries/{delivery_id}/retry",
        "/api/webhooks/{webhook}/deliveries/{delivery}/retry",
        "webhook.delivery_retry",
        "webhook:{webhook}",
        # the suspension's event
        after={"delivery_id": Ref("delivery"), "event_type": "team.suspended"},
        looks_up={"delivery": ("/api/webhooks/{webhook}/deliveries", "deliveries", "delivery_id")},
    ),
    Step(
        "POST",
        "/api/webhooks/{webhook_id}/test",
        "/api/webhooks/{webhook}/test",
        "webhook.test",
        "webhook:{webhook}",
        status=201,
        after={"delivery_id": Ref("test_delivery"), "event_type": "webhook.test"},
        learns={"test_delivery": "delivery_id"},
    ),
    Step(
        "DELETE",
        "/api/webhooks/{webhook_id}",
        "/api/webhooks/{webhook}",
        "webhook.delete",
        "webhook:{webhook}",
        before={"webhook_id": Ref("webhook"), "url": HOOK_URL, "status": "active"},
        exact=False,
    ),
    Step(
        "POST",
        "/api/operators",
        "/api/operators",
        "operator.create",
        "operator:{operator}",
        body={"name": "Ann", "role": "viewer"},
        status=201,
        after={"operator_id": Ref("operator"), "name": "Ann", "role": "viewer"},
        exact=False,
        learns={"operator": "operator_id"},
    ),
    Step(
        "PATCH",
        "/api/operators/{operator_id}",
        "/api/operators/{operator}",
        "operator.update",
        "operator:{operator}",
        body={"role": "billing"},
        before={"role": "viewer"},
        after={"role": "billing"},
    ),
    Step(
        "POST",
        "/api/operators/{operator_id}/rotate-key",
        "/api/operators/{operator}/rotate-key",
        "operator.rotate_key",
        "operator:{operator}",
        after={"key_created_at": Later()},
    ),
    Step(
        "DELETE",
        "/api/operators/{operator_id}",
        "/api/operators/{operator}",
        "operator.delete",
        "operator:{operator}",
        before={"operator_id": Ref("operator"), "name": "Ann", "role": "billing"},
        exact=False,
    ),
    Step(
        "POST",
        "/api/teams/{team_id}/resume",
        "/api/teams/t-walk/resume",
        "team.resume",
        "team:t-walk",
        before={"status": "suspended"},
        after={"status": "active"},
    ),
    Step(
        "POST",
        "/api/teams/{team_id}/keys",
        "/api/teams/t-walk/keys",
        "team.key_create",
        "team:t-walk",
        body={"name": "ci"},
        status=201,
        after={"key_id": Ref("ci_key"), "name": "ci", "revoked_at": None, "expires_at": None},
        exact=False,
        learns={"ci_key": "key_id"},
    ),
    Step(
        "DELETE",
        "/api/teams/{team_id}/keys/{key_id}",
        "/api/teams/t-walk/keys/{ci_key}",
        "team.key_revoke",
        "team:t-walk",
        before={"key_id": Ref("ci_key"), "name": "ci", "revoked_at": None},
        after={"key_id": Ref("ci_key"), "name": "ci", "revoked_at": Later()},
        exact=False,
    ),
    Step(
        "POST",
        "/api/teams/{team_id}/rotate-key",
        "/api/teams/t-walk/rotate-key",
        "team.key_rotate",
        "team:t-walk",
        body={"grace_seconds": 90},
        # the revoked "ci" key is not retired again: only the working first key
        before={"keys": [Ref("first_key")]},
        after={"key_id": Ref("rotated_key"), "previous_keys_expire_at": Later(90)},
        learns={"rotated_key": "key_id"},
    ),
    Step(
        "PATCH",
        "/api/teams/{team_id}",
        "/api/teams/t-walk",
        "team.update",
        "team:t-walk",
        body={"team_alias": "Walkers", "default_model": ALIAS, "access_groups": ["g-walk"]},
        # access_groups did not change: it is not in the event
        before={"team_alias": None, "default_model": None},
        after={"team_alias": "Walkers", "default_model": ALIAS},
    ),
    Step(
        "PATCH",
        "/api/organizations/{organization_id}",
        "/api/organizations/o-walk",
        "organization.update",
        "organization:o-walk",
        body={"name": "Walk Inc", "metadata": {"tier": "gold"}},
        before={"name": "Walk"},
        after={"name": "Walk Inc"},
    ),
    Step(
        "PATCH",
        "/api/model-access-groups/{group_name}",
        "/api/model-access-groups/g-walk",
        "model_access_group.update",
        "model_access_group:g-walk",
        body={"description": None},
        before={"description": "walkers"},
        after={"description": None},
    ),
    Step(
        "PATCH",
        "/api/model-aliases/{model_alias}",
        f"/api/model-aliases/{ALIAS}",
        "model_alias.update",
        f"model_alias:{ALIAS}",
        body={"deployments": [{"provider": "mock", "model": "m2"}]},
        before={"deployments": [DEPLOYMENT]},
        after={"deployments": [{"provider": "mock", "model": "m2", "input_cost_per_million": 0}]},
    ),
    Step(
        "PATCH",
        "/api/teams/{team_id}",
        "/api/teams/t-walk",
        "team.update",
        "team:t-walk",
        body={"default_model": None},
        before={"default_model": ALIAS},
        after={"default_model": None},
    ),
    Step(
        "DELETE",
        "/api/teams/{team_id}",
        "/api/teams/t-walk",
        "team.delete",
        "team:t-walk",
        before={
            "team_id": "t-walk",
            "team_alias": "Walkers",
            "credits_allocated": 120,  # 150 granted, 30 taken back
            "rpm_limit": 60,
            "status": "active",
        },
        exact=False,
    ),
    Step(
        "DELETE",
        "/api/model-access-groups/{group_name}",
        "/api/model-access-groups/g-walk",
        "model_access_group.delete",
        "model_access_group:g-walk",
        before={"group_name": "g-walk", "model_aliases": [ALIAS]},
        exact=False,
    ),
    Step(
        "DELETE",
        "/api/model-aliases/{model_alias}",
        f"/api/model-aliases/{ALIAS}",
        "model_alias.delete",
        f"model_alias:{ALIAS}",
        before={"model_alias": ALIAS, "access_groups": [], "deployments": [{"model": "m2"}]},
        exact=False,
    ),
    Step(
        "DELETE",
        "/api/organizations/{organization_id}",
        "/api/organizations/o-walk",
        "organization.delete",
        "organization:o-walk",
        before={"organization_id": "o-walk", "name": "Walk Inc"},
        exact=False,
    ),
]


def _check(
    actual: Any, expected: Any, learned: Mapping[str, str], now: dt.datetime, where: str
) -> None:
    """``actual`` (from the log) is ``expected``; nested objects need only hold the fields
    named."""
    if isinstance(expected, Ref):
        assert actual == learned[expected.name], where
    elif isinstance(expected, Later):
        assert actual is not None, where
        assert _TIME.validate_python(actual) == now + dt.timedelta(seconds=expected.seconds), where
    elif isinstance(expected, Mapping):
        assert isinstance(actual, dict), where
        for name, value in expected.items():
            assert name in actual, f"{where}.{name} missing from {actual}"
            _check(actual[name], value, learned, now, f"{where}.{name}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), f"{where}: {actual}"
        for i, (a, e) in enumerate(zip(actual, expected)):
            _check(a, e, learned, now, f"{where}[{i}]")
    else:
        assert actual == expected, f"{where}: {actual!r} != {expected!r}"


def _check_side(
    actual: Any,
    expected: Mapping[str, Any] | None,
    exact: bool,
    learned: Mapping[str, str],
    now: dt.datetime,
    where: str,
) -> None:
    if expected is None:
        assert actual is None, f"{where} should be null: {actual}"
        return
    assert isinstance(actual, dict), where
    if exact:
        assert set(actual) == set(expected), f"{where} holds {sorted(actual)}"
    _check(actual, expected, learned, now, where)


def test_the_walk_covers_every_admin_change() -> None:
    """A new admin endpoint that changes something cannot land without a step here."""
    walked = {(step.method, step.path) for step in WALK}
    missing = _admin_operations(changes=True) - walked
    assert not missing, f"admin changes without an audit step: {sorted(missing)}"
    assert walked <= _admin_operations(changes=True)


@pytest.mark.parametrize(("admin_key", "actor"), [(None, "local-dev"), (ADMIN_KEY, "admin-key")])
async def test_every_admin_change_records_exactly_one_event(
    admin: httpx.AsyncClient, clock: Clock, settings: Settings, actor: str
) -> None:
    learned: dict[str, str] = {}
    handed_out: list[str] = []
    webhook_secrets: list[str] = []
    operator_keys: list[str] = []
    seen = {e["event_id"] for e in await _log(admin)}
    for step in WALK:
        now = clock.advance(60)
        for name, (url, items, item_field) in step.looks_up.items():
            listed = await admin.get(url.format_map(learned))
            assert listed.status_code == 200, listed.text
            learned[name] = listed.json()[items][0][item_field]
        r = await admin.request(
            step.method,
            step.url.format_map(learned),
            json=step.body,
        )
        assert r.status_code == step.status, f"{step.method} {step.path}: {r.text}"
        for name, response_field in step.learns.items():
            learned[name] = r.json()[response_field]
        if "virtual_key" in r.json():
            handed_out.append(r.json()["virtual_key"])
        if "secret" in r.json():
            webhook_secrets.append(r.json()["secret"])
        if "api_key" in r.json():
            operator_keys.append(r.json()["api_key"])

        events = await _log(admin)
        new = [e for e in events if e["event_id"] not in seen]
        assert len(new) == 1, f"{step.method} {step.path} recorded {new}"
        event = new[0]
        assert events[0] == event  # the newest
        where = f"{step.method} {step.path}"
        assert (event["action"], event["target"], event["actor"]) == (
            step.action,
            step.target.format_map(learned),
            actor,
        ), where
        assert _at(event) == now, where
        _check_side(event["before"], step.before, step.exact, learned, now, f"{where} before")
        _check_side(event["after"], step.after, step.exact, learned, now, f"{where} after")
        seen.add(event["event_id"])

    # never a key: not the virtual keys handed out, not their hashes, not the admin key
    assert len(handed_out) == 3
    secrets = [*handed_out, *(k[3:] for k in handed_out), *map(hash_key, handed_out)]
    assert len(webhook_secrets) == 1
    secrets += [*webhook_secrets, *(s[6:] for s in webhook_secrets)]
    assert len(operator_keys) == 2  # created, rotated
    secrets += [*operator_keys, *(k[6:] for k in operator_keys), *map(hash_key, operator_keys)]
    if settings.admin_key:
        secrets.append(ADMIN_KEY)
    shown = (await admin.get("/api/audit-log", params={"limit": 500})).text
    stored = repr(await _stored_events(settings))
    assert len(json.loads(shown)["events"]) >= len(WALK)
    for secret in secrets:
        assert secret not in shown
        assert secret not in stored


async def _stored_events(settings: Settings) -> list[dict[str, Any]]:
    """The audit_events table as stored."""
    db = Database(settings.database_url)
    await db.connect()
    try:
        return [dict(r) for r in await db.fetch_all(sa.select(audit_events))]
    finally:
        await db.disconnect()


# --- what records nothing ----------------------------------------------------------------------


async def _seed(http: httpx.AsyncClient) -> dict[str, str]:
    """An organization, a group, an alias in it, a team defaulting to it with an open job."""
    r = await http.post(
        "/api/model-access-groups/create", json={"group_name": GROUP, "description": "d"}
    )
    assert r.status_code == 201, r.text
    r = await http.post(
        "/api/model-aliases/create",
        json={"model_alias": "Chat", "access_groups": [GROUP], "deployments": [DEPLOYMENT]},
    )
    assert r.status_code == 201, r.text
    key = await create_team(http, credits=10, default_model="Chat")
    keys = (await http.get(f"/api/teams/{TEAM}/keys")).json()["keys"]
    job = await open_job(http, key)
    r = await http.post("/api/webhooks", json={"url": HOOK_URL, "events": ["job.failed"]})
    assert r.status_code == 201, r.text
    return {
        "key": key,
        "key_id": keys[0]["key_id"],
        "job": job,
        "webhook_id": r.json()["webhook_id"],
    }


PATH_VALUES = {
    "team_id": TEAM,
    "organization_id": ORG,
    "group_name": GROUP,
    "model_alias": "Chat",
}


async def test_reading_records_nothing(admin: httpx.AsyncClient) -> None:
    seeded = await _seed(admin)
    before = await _log(admin)
    reads = sorted(_admin_operations(changes=False))
    assert ("GET", "/api/audit-log") in reads
    for _, path in reads:
        r = await admin.get(path.format_map({**PATH_VALUES, "webhook_id": seeded["webhook_id"]}))
        assert r.status_code == 200, f"{path}: {r.text}"
    assert await _log(admin) == before


REFUSED: list[tuple[str, str, dict[str, Any] | None, int]] = [
    # (method, url, body, status)
    ("POST", "/api/organizations/create", {"organization_id": ORG, "name": "again"}, 409),
    ("POST", "/api/model-access-groups/create", {"group_name": GROUP}, 409),
    (
        "POST",
        "/api/model-aliases/create",
        {"model_alias": "Chat", "deployments": [{"provider": "mock", "model": "x"}]},
        409,
    ),
    # the organization and group it names would be created first (local-dev mode): refused
    # halfway, they must not be
    (
        "POST",
        "/api/teams/create",
        {"team_id": TEAM, "organization_id": "o-new", "access_groups": ["g-new"]},
        409,
    ),
    ("DELETE", f"/api/organizations/{ORG}", None, 409),
    ("DELETE", f"/api/model-access-groups/{GROUP}", None, 409),
    ("DELETE", "/api/model-aliases/Chat", None, 409),
    ("DELETE", "/api/model-aliases/default", None, 409),
    ("DELETE", f"/api/teams/{TEAM}", None, 409),
    ("POST", "/api/teams/nope/credits/add", {"credits": 5}, 404),
    ("POST", "/api/teams/nope/limits", {"rpm_limit": 5}, 404),
    ("PUT", "/api/teams/nope/auto-refill", {"amount": 5, "period": "daily"}, 404),
    ("DELETE", "/api/teams/nope/auto-refill", None, 404),
    ("PUT", f"/api/teams/{TEAM}/auto-refill", {"amount": 0, "period": "daily"}, 422),
    ("PUT", f"/api/teams/{TEAM}/auto-refill", {"amount": 5, "period": "hourly"}, 422),
    ("PATCH", f"/api/teams/{TEAM}", {"budget_mode": "consumption_usd"}, 422),
    ("POST", "/api/teams/nope/suspend", None, 404),
    ("POST", "/api/teams/nope/resume", None, 404),
    ("POST", "/api/teams/nope/keys", {"name": "x"}, 404),
    ("POST", "/api/teams/nope/rotate-key", None, 404),
    ("DELETE", f"/api/teams/{TEAM}/keys/key_{'0' * 24}", None, 404),
    ("PATCH", "/api/teams/nope", {"team_alias": "x"}, 404),
    ("PATCH", "/api/organizations/nope", {"name": "x"}, 404),
    ("PATCH", "/api/model-access-groups/nope", {"description": "x"}, 404),
    ("PATCH", "/api/model-aliases/nope", {"access_groups": []}, 404),
    ("DELETE", "/api/teams/nope", None, 404),
    ("DELETE", "/api/organizations/nope", None, 404),
    ("DELETE", "/api/model-access-groups/nope", None, 404),
    ("DELETE", "/api/model-aliases/nope", None, 404),
    ("POST", f"/api/teams/{TEAM}/credits/add", {"credits": -5}, 422),
    ("POST", f"/api/teams/{TEAM}/limits", {"rpm_limit": -1}, 422),
    ("PATCH", f"/api/teams/{TEAM}", {"team_alias": "x", "access_groups": None}, 422),
    ("PATCH", f"/api/organizations/{ORG}", {"name": None}, 422),
    ("PATCH", "/api/model-aliases/Chat", {"deployments": []}, 422),
    ("PATCH", f"/api/teams/{TEAM}", {"team_alias": "x", "access_groups": ["nope"]}, 400),
    ("PATCH", f"/api/teams/{TEAM}", {"team_alias": "x", "default_model": "nope"}, 400),
    ("PATCH", "/api/model-aliases/Chat", {"access_groups": ["nope"]}, 400),
    ("POST", f"/api/teams/{TEAM}/keys", {"expires_at": "2001-01-01T00:00:00Z"}, 400),
    ("POST", "/api/webhooks", {"url": "http://127.0.0.1/", "events": ["job.failed"]}, 422),
    ("POST", "/api/webhooks", {"url": HOOK_URL, "events": ["x"]}, 422),
    (
        "POST",
        "/api/webhooks",
        {"url": HOOK_URL, "events": ["job.failed"], "organization_id": "no"},
        400,
    ),
    ("DELETE", f"/api/webhooks/wh_{'0' * 24}", None, 404),
    ("POST", f"/api/webhooks/wh_{'0' * 24}/deliveries/msg_{'0' * 24}/retry", None, 404),
]


async def _state(http: httpx.AsyncClient) -> dict[str, Any]:
    """Everything the refused changes could have touched."""
    views = [
        f"/api/teams/{TEAM}",
        f"/api/teams/{TEAM}/keys",
        f"/api/organizations/{ORG}",
        "/api/organizations",
        "/api/model-access-groups",
        "/api/model-aliases",
        "/api/teams",
        "/api/webhooks",
    ]
    state = {}
    for view in views:
        r = await http.get(view)
        assert r.status_code == 200, r.text
        state[view] = r.json()
    return state


async def test_a_refused_change_records_nothing_and_changes_nothing(
    admin: httpx.AsyncClient,
) -> None:
    await _seed(admin)
    before, log = await _state(admin), await _log(admin)
    for method, url, body, status in REFUSED:
        r = await admin.request(method, url, json=body)
        assert r.status_code == status, f"{method} {url}: {r.text}"
        assert await _log(admin) == log, f"{method} {url} left an event"
        assert await _state(admin) == before, f"{method} {url} changed something"


async def test_a_change_that_changes_nothing_records_nothing(admin: httpx.AsyncClient) -> None:
    seeded = await _seed(admin)
    r = await admin.delete(f"/api/teams/{TEAM}/keys/{seeded['key_id']}")
    assert r.status_code == 200
    r = await admin.post(f"/api/teams/{TEAM}/limits", json={"rpm_limit": 5})
    assert r.status_code == 200
    log = await _log(admin)
    for method, url, body in [
        ("PATCH", f"/api/teams/{TEAM}", {}),
        ("PATCH", f"/api/teams/{TEAM}", {"access_groups": [GROUP], "default_model": "Chat"}),
        ("PATCH", f"/api/organizations/{ORG}", {"name": ORG}),
        ("PATCH", f"/api/model-access-groups/{GROUP}", {"description": "d"}),
        ("PATCH", "/api/model-aliases/Chat", {"access_groups": [GROUP]}),
        ("POST", f"/api/teams/{TEAM}/limits", {}),
        ("POST", f"/api/teams/{TEAM}/limits", {"rpm_limit": 5}),
        ("POST", f"/api/teams/{TEAM}/resume", None),
        ("DELETE", f"/api/teams/{TEAM}/keys/{seeded['key_id']}", None),
    ]:
        r = await admin.request(method, url, json=body)
        assert r.status_code == 200, f"{method} {url}: {r.text}"
        assert await _log(admin) == log, f"{method} {url} {body} recorded a change it did not make"

    r = await admin.post(f"/api/teams/{TEAM}/suspend")
    assert r.status_code == 200
    assert len(await _log(admin, action="team.suspend")) == 1
    log = await _log(admin)
    r = await admin.post(f"/api/teams/{TEAM}/suspend")  # already suspended
    assert r.status_code == 200 and r.json()["status"] == "suspended"
    assert await _log(admin) == log


# --- before and after ----------------------------------------------------------------------------


async def test_team_update_records_only_the_fields_that_changed(
    admin: httpx.AsyncClient, clock: Clock
) -> None:
    await _seed(admin)
    r = await admin.post("/api/model-access-groups/create", json={"group_name": "g2"})
    assert r.status_code == 201
    r = await admin.patch(
        f"/api/teams/{TEAM}",
        json={
            "team_alias": "Acme",
            "access_groups": [GROUP, "g2"],
            "metadata": {"plan": "pro"},
            "default_model": "Chat",  # unchanged
        },
    )
    assert r.status_code == 200, r.text
    [event] = await _log(admin, action="team.update")
    assert event["before"] == {"team_alias": None, "access_groups": [GROUP], "metadata": {}}
    assert event["after"] == {
        "team_alias": "Acme",
        "access_groups": sorted([GROUP, "g2"]),
        "metadata": {"plan": "pro"},
    }
    assert event["target"] == f"team:{TEAM}" and _at(event) == clock.now


async def test_credit_grants_record_the_allocation_before_and_after(
    admin: httpx.AsyncClient, clock: Clock
) -> None:
    await _seed(admin)  # 10 credits, one reserved by the open job
    for credits, reason in [(5, None), (7, "refund")]:
        clock.advance()
        r = await admin.post(
            f"/api/teams/{TEAM}/credits/add", json={"credits": credits, "reason": reason}
        )
        assert r.status_code == 200, r.text
    grants = await _log(admin, action="team.credits_add")
    assert [(e["before"], e["after"]) for e in grants] == [
        ({"credits_allocated": 15}, {"credits_allocated": 22, "reason": "refund"}),
        ({"credits_allocated": 10}, {"credits_allocated": 15, "reason": None}),
    ]


async def test_key_rotation_names_the_keys_it_retires_and_when(
    admin: httpx.AsyncClient, clock: Clock
) -> None:
    seeded = await _seed(admin)
    r = await admin.post(f"/api/teams/{TEAM}/keys", json={"name": "ci"})
    assert r.status_code == 201
    ci = r.json()["key_id"]
    now = clock.advance(30)
    r = await admin.post(f"/api/teams/{TEAM}/rotate-key")  # no grace: at once
    assert r.status_code == 200, r.text
    [event] = await _log(admin, action="team.key_rotate")
    assert sorted(event["before"]["keys"]) == sorted([seeded["key_id"], ci])
    assert event["after"]["key_id"] == r.json()["key_id"]
    assert _TIME.validate_python(event["after"]["previous_keys_expire_at"]) == now
    assert r.json()["virtual_key"] not in json.dumps(event)
    # the old key stopped at once, the new one works
    assert (
        await admin.get("/api/credits/balance", headers=bearer(seeded["key"]))
    ).status_code == 401
    assert (
        await admin.get("/api/credits/balance", headers=bearer(r.json()["virtual_key"]))
    ).status_code == 200


async def test_a_removal_holds_the_object_as_it_was(admin: httpx.AsyncClient) -> None:
    seeded = await _seed(admin)
    r = await admin.post(
        f"/api/jobs/{seeded['job']}/complete",
        json={"status": "failed"},
        headers=bearer(seeded["key"]),
    )
    assert r.status_code == 200, r.text
    team = (await admin.get(f"/api/teams/{TEAM}")).json()
    alias = (await admin.get("/api/model-aliases/Chat")).json()
    organization = (await admin.get(f"/api/organizations/{ORG}")).json()
    for url in [
        f"/api/teams/{TEAM}",
        "/api/model-aliases/Chat",
        f"/api/model-access-groups/{GROUP}",
        f"/api/organizations/{ORG}",
    ]:
        r = await admin.delete(url)
        assert r.status_code == 200, f"{url}: {r.text}"
    removed = {e["action"]: e for e in await _log(admin) if e["action"].endswith(".delete")}
    assert removed["team.delete"]["before"] == team
    assert removed["model_alias.delete"]["before"] == alias
    assert removed["organization.delete"]["before"] == organization
    # the group's aliases left it when the alias went
    assert removed["model_access_group.delete"]["before"]["model_aliases"] == []
    assert all(e["after"] is None for e in removed.values())


# --- the same transaction ----------------------------------------------------------------------


CREATES = [
    # (url, body, the create's action)
    ("/api/organizations/create", {"organization_id": "o9", "name": "o9"}, "organization.create"),
    ("/api/model-access-groups/create", {"group_name": "g9"}, "model_access_group.create"),
    (
        "/api/model-aliases/create",
        {"model_alias": "A9", "deployments": [{"provider": "mock", "model": "m"}]},
        "model_alias.create",
    ),
    (
        "/api/teams/create",
        {"team_id": "t9", "organization_id": ORG, "access_groups": [GROUP]},
        "team.create",
    ),
    (f"/api/teams/{TEAM}/keys", {"name": "k9"}, "team.key_create"),
    (f"/api/teams/{TEAM}/rotate-key", {"grace_seconds": 10}, "team.key_rotate"),
    (f"/api/teams/{TEAM}/credits/add", {"credits": 9}, "team.credits_add"),
]


@pytest.mark.parametrize(("url", "body", "action"), CREATES)
async def test_an_idempotent_replay_records_no_second_change(
    admin: httpx.AsyncClient, clock: Clock, url: str, body: dict[str, Any], action: str
) -> None:
    await _seed(admin)
    seeded = await _log(admin)
    headers = {"Idempotency-Key": "replay-me"}
    first = await admin.post(url, json=body, headers=headers)
    assert first.status_code in (200, 201), first.text
    clock.advance()
    replay = await admin.post(url, json=body, headers=headers)
    assert replay.status_code == first.status_code
    assert replay.headers.get("Idempotent-Replayed") == "true"
    new = [e for e in await _log(admin) if e not in seeded]
    if "virtual_key" not in first.json():
        assert [e["action"] for e in new] == [action]
    else:
        # the key the lost response held is replaced: its own event, holding no key
        assert [e["action"] for e in new] == ["team.key_reissue", action]
        assert new[0]["before"] == {"key_id": first.json()["key_id"]}
        assert new[0]["after"] == {"key_id": replay.json()["key_id"]}
        text = json.dumps(await _log(admin))
        assert first.json()["virtual_key"] not in text
        assert replay.json()["virtual_key"] not in text
    if action == "team.credits_add":
        team = (await admin.get(f"/api/teams/{TEAM}")).json()
        assert team["credits_allocated"] == 19  # granted once


async def test_a_team_create_that_creates_its_organization_and_groups_records_them(
    admin: httpx.AsyncClient,
) -> None:
    """Local-dev mode creates what a new team names but that does not exist yet: those are
    changes too."""
    r = await admin.post(
        "/api/teams/create",
        json={"team_id": "solo", "organization_id": "o-solo", "access_groups": ["g-a", "g-b"]},
    )
    assert r.status_code == 201, r.text
    events = await _log(admin)
    assert sorted((e["action"], e["target"]) for e in events) == [
        ("model_access_group.create", "model_access_group:g-a"),
        ("model_access_group.create", "model_access_group:g-b"),
        ("organization.create", "organization:o-solo"),
        ("team.create", "team:solo"),
    ]
    assert all(e["actor"] == "local-dev" for e in events)


# --- the actor ------------------------------------------------------------------------------------


async def test_the_actor_is_the_admin_key_or_local_dev(settings: Settings, clock: Clock) -> None:
    """Two servers on one database: one with an admin key, one in local-dev mode."""
    with_key = Settings(database_url=settings.database_url, admin_key=ADMIN_KEY, _env_file=None)
    async with _client(settings, clock) as dev, _client(with_key, clock) as operator:
        r = await dev.post("/api/organizations/create", json={"organization_id": "o1", "name": "a"})
        assert r.status_code == 201
        clock.advance()
        r = await operator.patch("/api/organizations/o1", json={"name": "b"})
        assert r.status_code == 200
        r = await operator.get("/api/audit-log")
        assert [(e["actor"], e["action"]) for e in r.json()["events"]] == [
            ("admin-key", "organization.update"),
            ("local-dev", "organization.create"),
        ]
        assert ADMIN_KEY not in r.text


# --- filters and pages -------------------------------------------------------------------------


HISTORY = [
    # (actor, method, url, body, action, target)
    (
        "local-dev",
        "POST",
        "/api/organizations/create",
        {"organization_id": "o1", "name": "o1"},
        "organization.create",
        "organization:o1",
    ),
    (
        "local-dev",
        "POST",
        "/api/model-access-groups/create",
        {"group_name": "g1"},
        "model_access_group.create",
        "model_access_group:g1",
    ),
    (
        "local-dev",
        "POST",
        "/api/teams/create",
        {"team_id": "t1", "organization_id": "o1", "access_groups": ["g1"]},
        "team.create",
        "team:t1",
    ),
    ("admin-key", "PATCH", "/api/teams/t1", {"team_alias": "T"}, "team.update", "team:t1"),
    (
        "admin-key",
        "POST",
        "/api/teams/t1/credits/add",
        {"credits": 3},
        "team.credits_add",
        "team:t1",
    ),
    (
        "admin-key",
        "PATCH",
        "/api/organizations/o1",
        {"name": "O"},
        "organization.update",
        "organization:o1",
    ),
    ("local-dev", "PATCH", "/api/teams/t1", {"team_alias": "U"}, "team.update", "team:t1"),
]


async def _history(settings: Settings, clock: Clock) -> list[tuple[dt.datetime, str, str, str]]:
    """:data:`HISTORY`, made by two servers on one database (one with an admin key, one in
    local-dev mode) a minute apart: (at, actor, action, target), oldest first."""
    with_key = Settings(database_url=settings.database_url, admin_key=ADMIN_KEY, _env_file=None)
    done: list[tuple[dt.datetime, str, str, str]] = []
    async with _client(settings, clock) as dev, _client(with_key, clock) as operator:
        for actor, method, url, body, action, target in HISTORY:
            at = clock.advance(60)
            http = operator if actor == "admin-key" else dev
            r = await http.request(method, url, json=body)
            assert r.status_code in (200, 201), r.text
            done.append((at, actor, action, target))
    return done


@pytest.mark.parametrize(
    "filters",
    [
        {},
        {"actor": "local-dev"},
        {"actor": "admin-key"},
        {"actor": "nobody"},
        {"actor": "admin"},  # a prefix: admin-key's changes (item 12 of issue 26)
        {"actor": "local"},
        {"actor": "%"},  # not a pattern: no actor starts with it
        {"actor": "_ocal-dev"},
        {"action": "team.update"},
        {"action": "team.update", "actor": "admin-key"},
        {"target": "team:t1"},
        {"target": "organization:o1"},
        {"target": "team:t"},  # a whole target, not a prefix
        {"since": 3},
        {"since": 3.5},
        {"since": 3, "target": "team:t1"},
        {"since": 99},
    ],
)
async def test_filters(settings: Settings, clock: Clock, filters: dict[str, Any]) -> None:
    done = await _history(settings, clock)
    params = dict(filters)
    if "since" in params:  # that many minutes after the first change
        params["since"] = (done[0][0] + dt.timedelta(minutes=params["since"])).isoformat()
    async with _client(settings, clock) as dev:
        listed = await _log(dev, **params)

    def wanted(at: dt.datetime, actor: str, action: str, target: str) -> bool:
        return (
            actor.startswith(filters.get("actor", actor))
            and filters.get("action", action) == action
            and filters.get("target", target) == target
            and ("since" not in filters or at >= dt.datetime.fromisoformat(params["since"]))
        )

    expected = [row for row in reversed(done) if wanted(*row)]
    assert [(_at(e), e["actor"], e["action"], e["target"]) for e in listed] == expected


async def test_since_accepts_any_offset_and_naive_means_utc(
    settings: Settings, clock: Clock
) -> None:
    done = await _history(settings, clock)
    fourth = done[3][0]
    async with _client(settings, clock) as dev:
        for since in [
            fourth.isoformat(),
            fourth.astimezone(dt.timezone(dt.timedelta(hours=-5))).isoformat(),
            fourth.replace(tzinfo=None).isoformat(),
        ]:
            assert len(await _log(dev, since=since)) == 4, since


async def test_pages_are_newest_first_and_show_every_event_once(
    settings: Settings, clock: Clock
) -> None:
    await _history(settings, clock)
    async with _client(settings, clock) as dev:
        for _ in range(3):  # changes at the same instant too
            r = await dev.post("/api/teams/t1/credits/add", json={"credits": 1})
            assert r.status_code == 200
        everything = await _log(dev)
        assert len(everything) == 10
        stamps = [(_at(e), e["event_id"]) for e in everything]
        assert stamps == sorted(stamps, reverse=True)
        for limit, params in [(1, {}), (3, {}), (4, {}), (2, {"target": "team:t1"})]:
            paged: list[dict[str, Any]] = []
            cursor: str | None = None
            for _ in range(20):
                query: dict[str, str | int] = {**params, "limit": limit}
                if cursor is not None:
                    query["cursor"] = cursor
                r = await dev.get("/api/audit-log", params=query)
                assert r.status_code == 200, r.text
                page = r.json()
                assert len(page["events"]) <= limit
                paged += page["events"]
                cursor = page["next_cursor"]
                if cursor is None:
                    break
                assert len(page["events"]) == limit
            assert paged == await _log(dev, **params), (limit, params)


@pytest.mark.parametrize(
    "cursor",
    [
        "not-a-cursor",
        "WyIyMDI2LTAxLTAxVDAwOjAwOjAwIiwieCJd",  # a naive date
        "WyIyMDI2LTAxLTAxVDAwOjAwOjAwKzAwOjAwIiwieCIsInkiXQ",  # three items
        "x" * 600,
    ],
)
async def test_a_forged_cursor_is_400(admin: httpx.AsyncClient, cursor: str) -> None:
    r = await admin.get("/api/audit-log", params={"cursor": cursor})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["param"] == "cursor"


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "0"},
        {"limit": "501"},
        {"limit": "ten"},
        {"limit": "-1"},
        {"since": "yesterday"},
        {"actor": "a\x00b"},
        {"action": "team.update\x00"},
        {"target": "team:\x00"},
        {"action": "x" * 65},
        {"target": "t" * 301},
    ],
)
async def test_bad_query_parameters_are_422(
    admin: httpx.AsyncClient, params: dict[str, str]
) -> None:
    r = await admin.get("/api/audit-log", params=params)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["param"] == next(iter(params))


async def test_a_team_create_naming_a_removed_organization_is_refused(
    admin: httpx.AsyncClient,
) -> None:
    """Local-dev mode creates a missing organization, but does not bring back a removed one
    (its id is not reused) nor put a team in it."""
    r = await admin.post("/api/organizations/create", json={"organization_id": "gone", "name": "g"})
    assert r.status_code == 201
    assert (await admin.delete("/api/organizations/gone")).status_code == 200
    log = await _log(admin)
    r = await admin.post("/api/teams/create", json={"team_id": "t-gone", "organization_id": "gone"})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["param"] == "organization_id"
    assert (await admin.get("/api/teams/t-gone")).status_code == 404
    assert await _log(admin) == log
