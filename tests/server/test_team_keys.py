"""A team's virtual keys (routes/keys.py, services/keys.py): create, list, revoke, rotate with a
grace period, expiry and last use on a clock the test moves, idempotent replays, the limit of
working keys, and keys kept only as hashes."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from starlette.applications import Starlette
from support import TEAM, bearer, create_team, open_job

from saas_litellm_models import KeyCreated, KeyList, KeyRotation, TeamCreated, VirtualKeyInfo
from saas_litellm_server import Settings, create_app
from saas_litellm_server.services.keys import MAX_WORKING_KEYS, hash_key
from saas_litellm_server.store import Database
from saas_litellm_server.store.schema import metadata

ADMIN_KEY = "adm-keys-secret"
ADMIN = bearer(ADMIN_KEY)
KEYS = f"/api/teams/{TEAM}/keys"
ROTATE = f"/api/teams/{TEAM}/rotate-key"
LISTED_FIELDS = {
    "key_id",
    "name",
    "prefix",
    "created_at",
    "expires_at",
    "last_used_at",
    "revoked_at",
}


class Clock:
    """The server's clock, moved by the test (aware UTC)."""

    def __init__(self) -> None:
        self.now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> dt.datetime:
        self.now += dt.timedelta(seconds=seconds)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def app(settings: Settings, clock: Clock) -> AsyncIterator[Starlette]:
    """The app on the test's clock (``http`` talks to it)."""
    application = create_app(settings, clock=clock)
    async with application.router.lifespan_context(application):
        yield application


def when(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value is not None else None


async def works(http: httpx.AsyncClient, key: str) -> bool:
    """Whether ``key`` authenticates (a team read); any other answer than 200 or 401 fails."""
    r = await http.get("/api/credits/balance", headers=bearer(key))
    assert r.status_code in (200, 401), r.text
    return r.status_code == 200


async def listed(
    http: httpx.AsyncClient, team_id: str = TEAM, admin: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    r = await http.get(f"/api/teams/{team_id}/keys", headers=admin or {})
    assert r.status_code == 200, r.text
    KeyList.model_validate_json(r.content)
    keys: list[dict[str, Any]] = r.json()["keys"]
    return keys


async def new_key(http: httpx.AsyncClient, body: dict[str, Any] | None = None) -> KeyCreated:
    r = await http.post(KEYS, json=body or {})
    assert r.status_code == 201, r.text
    return KeyCreated.model_validate_json(r.content)


# --- create and list -------------------------------------------------------------------------


async def test_the_team_creation_key_is_listed_as_default(
    http: httpx.AsyncClient, clock: Clock
) -> None:
    r = await http.post("/api/organizations/create", json={"organization_id": "o1", "name": "O1"})
    assert r.status_code == 201
    r = await http.post("/api/teams/create", json={"organization_id": "o1", "team_id": TEAM})
    assert r.status_code == 201, r.text
    created = TeamCreated.model_validate_json(r.content)
    keys = await listed(http)
    assert keys == [
        {
            "key_id": created.key_id,
            "name": "default",
            "prefix": created.virtual_key[:10],
            "created_at": keys[0]["created_at"],
            "expires_at": None,
            "last_used_at": None,
            "revoked_at": None,
        }
    ]
    assert when(keys[0]["created_at"]) == clock.now
    assert await works(http, created.virtual_key)


async def test_a_named_key_with_an_expiry(http: httpx.AsyncClient, clock: Clock) -> None:
    first = await create_team(http)
    expires = clock.now + dt.timedelta(days=30)
    r = await http.post(KEYS, json={"name": "ci runner", "expires_at": expires.isoformat()})
    assert r.status_code == 201, r.text
    created = KeyCreated.model_validate_json(r.content)
    assert created.team_id == TEAM and created.name == "ci runner"
    assert created.expires_at == expires and created.created_at == clock.now
    assert created.virtual_key.startswith("sk-") and created.virtual_key != first
    assert created.prefix == created.virtual_key[:10]
    assert created.key_id.startswith("key_")
    assert await works(http, created.virtual_key) and await works(http, first)
    shown = next(k for k in await listed(http) if k["key_id"] == created.key_id)
    assert shown["name"] == "ci runner" and shown["revoked_at"] is None
    assert when(shown["expires_at"]) == expires


@pytest.mark.parametrize("body", [b"", b"{}", b"  "])
async def test_an_empty_body_makes_an_unnamed_key_that_never_expires(
    http: httpx.AsyncClient, body: bytes
) -> None:
    await create_team(http)
    r = await http.post(KEYS, content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 201, r.text
    created = KeyCreated.model_validate_json(r.content)
    assert created.name is None and created.expires_at is None
    assert await works(http, created.virtual_key)


async def test_the_list_shows_every_key_newest_first_but_never_a_key(
    http: httpx.AsyncClient, clock: Clock
) -> None:
    keys = [await create_team(http)]
    for name in ("a", "b", "c"):
        clock.advance(1)
        keys.append((await new_key(http, {"name": name})).virtual_key)
    revoked = (await listed(http))[1]["key_id"]  # b
    assert (await http.delete(f"{KEYS}/{revoked}")).status_code == 200

    r = await http.get(KEYS)
    shown = r.json()["keys"]
    assert [k["name"] for k in shown] == ["c", "b", "a", "default"]
    stamps = [when(k["created_at"]) for k in shown]
    assert stamps == sorted(stamps, reverse=True)  # type: ignore[type-var]
    for item in shown:
        assert set(item) == LISTED_FIELDS
    assert [k["revoked_at"] is not None for k in shown] == [False, True, False, False]
    assert [k["prefix"] for k in shown] == [key[:10] for key in reversed(keys)]
    for key in keys:
        assert key not in r.text and key[10:] not in r.text
        assert hash_key(key) not in r.text


async def test_each_team_lists_its_own_keys(http: httpx.AsyncClient, clock: Clock) -> None:
    await create_team(http)
    await create_team(http, team_id="t2")
    clock.advance(1)
    await new_key(http, {"name": "mine"})
    assert [k["name"] for k in await listed(http, "t2")] == ["default"]
    assert [k["name"] for k in await listed(http)] == ["mine", "default"]


# --- revoke ----------------------------------------------------------------------------------


async def test_a_revoked_key_stops_at_once(http: httpx.AsyncClient, clock: Clock) -> None:
    default = await create_team(http)
    spare = await new_key(http, {"name": "spare"})
    assert await works(http, spare.virtual_key)

    clock.advance(5)
    revoked = await http.delete(f"{KEYS}/{spare.key_id}")
    assert revoked.status_code == 200, revoked.text
    info = VirtualKeyInfo.model_validate_json(revoked.content)
    assert info.key_id == spare.key_id and info.revoked_at == clock.now
    assert set(revoked.json()) == LISTED_FIELDS
    r = await http.get("/api/credits/balance", headers=bearer(spare.virtual_key))
    assert r.status_code == 401 and r.json()["error"]["type"] == "authentication_error"
    assert await works(http, default)  # the other key carries on

    # revoking it again changes nothing
    clock.advance(5)
    again = await http.delete(f"{KEYS}/{spare.key_id}")
    assert again.status_code == 200 and again.json() == revoked.json()
    assert next(k for k in await listed(http) if k["key_id"] == spare.key_id) == revoked.json()
    assert not await works(http, spare.virtual_key)
    revoke_events = (await http.get("/api/audit-log", params={"action": "team.key_revoke"})).json()
    assert len(revoke_events["events"]) == 1


async def test_a_revoked_key_in_the_middle_of_a_job(http: httpx.AsyncClient) -> None:
    await create_team(http)
    spare = await new_key(http)
    job = await open_job(http, spare.virtual_key)
    assert (await http.delete(f"{KEYS}/{spare.key_id}")).status_code == 200
    r = await http.post(
        f"/api/jobs/{job}/llm-call",
        json={"messages": [{"role": "user", "content": "hi"}]},
        headers=bearer(spare.virtual_key),
    )
    assert r.status_code == 401, r.text


async def test_unknown_and_other_teams_key_ids_are_404(http: httpx.AsyncClient) -> None:
    await create_team(http)
    await create_team(http, team_id="t2")
    r = await http.post("/api/teams/t2/keys", json={"name": "theirs"})
    theirs = KeyCreated.model_validate_json(r.content)
    before = await listed(http, "t2")
    for key_id in ("key_" + "0" * 24, theirs.key_id, "key_zz", "nope", "KEY_" + "0" * 24):
        r = await http.delete(f"{KEYS}/{key_id}")
        assert r.status_code == 404, (key_id, r.text)
        assert r.json()["error"]["type"] == "not_found"
    assert await listed(http, "t2") == before
    assert await works(http, theirs.virtual_key)
    r = await http.delete(f"/api/teams/nope/keys/{theirs.key_id}")
    assert r.status_code == 404


# --- expiry ----------------------------------------------------------------------------------


async def test_a_key_works_until_it_expires(http: httpx.AsyncClient, clock: Clock) -> None:
    await create_team(http)
    expires = clock.now + dt.timedelta(hours=1)
    created = await new_key(http, {"expires_at": expires.isoformat()})
    key = created.virtual_key
    job = await open_job(http, key)
    clock.advance(3599)
    assert await works(http, key)
    clock.advance(1)
    r = await http.get("/api/credits/balance", headers=bearer(key))
    assert r.status_code == 401, r.text
    assert r.json()["error"]["type"] == "authentication_error"
    assert "expired" in r.json()["error"]["message"]
    r = await http.post(
        f"/api/jobs/{job}/complete", json={"status": "completed"}, headers=bearer(key)
    )
    assert r.status_code == 401 and "expired" in r.json()["error"]["message"]
    shown = next(k for k in await listed(http) if k["key_id"] == created.key_id)
    assert shown["revoked_at"] is None and when(shown["expires_at"]) == expires


@pytest.mark.parametrize("offset", [0, -1, -86_400 * 365])
async def test_an_expiry_that_is_not_in_the_future_is_400(
    http: httpx.AsyncClient, clock: Clock, offset: int
) -> None:
    await create_team(http)
    before = await listed(http)
    expires = clock.now + dt.timedelta(seconds=offset)
    r = await http.post(KEYS, json={"expires_at": expires.isoformat()})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["param"] == "expires_at"
    assert await listed(http) == before


async def test_a_naive_expiry_is_utc(http: httpx.AsyncClient, clock: Clock) -> None:
    await create_team(http)
    expires = clock.now + dt.timedelta(minutes=10)
    created = await new_key(http, {"expires_at": expires.replace(tzinfo=None).isoformat()})
    assert created.expires_at == expires
    clock.advance(600)
    assert not await works(http, created.virtual_key)


# --- rotate ----------------------------------------------------------------------------------


async def test_rotation_with_a_grace_period(http: httpx.AsyncClient, clock: Clock) -> None:
    old = [await create_team(http), (await new_key(http, {"name": "ci"})).virtual_key]
    rotated_at = clock.advance(1)
    r = await http.post(ROTATE, json={"grace_seconds": 600})
    assert r.status_code == 200, r.text
    rotation = KeyRotation.model_validate_json(r.content)
    assert rotation.team_id == TEAM
    assert rotation.previous_keys_expire_at == rotated_at + dt.timedelta(seconds=600)
    assert rotation.virtual_key not in old and rotation.prefix == rotation.virtual_key[:10]
    shown = await listed(http)
    assert shown[0]["key_id"] == rotation.key_id
    # named for its rotation (issue 26, item 13): not "default" beside the team's first key
    assert shown[0]["name"] == f"rotated {rotated_at:%Y-%m-%d %H:%M} UTC"
    assert shown[0]["expires_at"] is None
    assert [when(k["expires_at"]) for k in shown[1:]] == [rotation.previous_keys_expire_at] * 2

    clock.advance(599)
    assert [await works(http, key) for key in old] == [True, True]
    assert await works(http, rotation.virtual_key)
    clock.advance(1)
    for key in old:
        r = await http.get("/api/credits/balance", headers=bearer(key))
        assert r.status_code == 401 and "expired" in r.json()["error"]["message"]
    assert await works(http, rotation.virtual_key)
    clock.advance(86_400)
    assert await works(http, rotation.virtual_key)


@pytest.mark.parametrize("body", [None, {}, {"grace_seconds": 0}, {"grace_seconds": None}])
async def test_rotation_without_grace_stops_the_old_keys_at_once(
    http: httpx.AsyncClient, clock: Clock, body: dict[str, Any] | None
) -> None:
    old = [await create_team(http), (await new_key(http)).virtual_key]
    clock.advance(1)
    r = await http.post(ROTATE, json=body) if body is not None else await http.post(ROTATE)
    assert r.status_code == 200, r.text
    rotation = KeyRotation.model_validate_json(r.content)
    assert rotation.previous_keys_expire_at == clock.now
    assert [await works(http, key) for key in old] == [False, False]
    assert await works(http, rotation.virtual_key)
    shown = await listed(http)
    assert [when(k["revoked_at"]) for k in shown] == [None, clock.now, clock.now]


async def test_a_key_due_to_expire_within_the_grace_keeps_its_earlier_time(
    http: httpx.AsyncClient, clock: Clock
) -> None:
    await create_team(http)
    soon = clock.now + dt.timedelta(seconds=60)
    short = await new_key(http, {"name": "short", "expires_at": soon.isoformat()})
    r = await http.post(ROTATE, json={"grace_seconds": 3600})
    assert r.status_code == 200
    shown = {k["name"]: k for k in await listed(http) if k["key_id"] != r.json()["key_id"]}
    assert when(shown["short"]["expires_at"]) == soon
    assert when(shown["default"]["expires_at"]) == clock.now + dt.timedelta(hours=1)
    clock.advance(60)
    assert not await works(http, short.virtual_key)


async def test_a_second_rotation_ends_the_first_ones_grace(
    http: httpx.AsyncClient, clock: Clock
) -> None:
    first = await create_team(http)
    a = KeyRotation.model_validate_json(
        (await http.post(ROTATE, json={"grace_seconds": 600})).content
    )
    clock.advance(10)
    b = KeyRotation.model_validate_json((await http.post(ROTATE)).content)
    assert [await works(http, k) for k in (first, a.virtual_key, b.virtual_key)] == [
        False,
        False,
        True,
    ]


# --- last use --------------------------------------------------------------------------------


async def test_last_used_at_is_noted_at_most_once_a_minute(
    http: httpx.AsyncClient, clock: Clock
) -> None:
    default = await create_team(http)
    spare = await new_key(http)

    async def last_used() -> dict[str, dt.datetime | None]:
        return {k["key_id"]: when(k["last_used_at"]) for k in await listed(http)}

    assert set((await last_used()).values()) == {None}  # listing is not using
    first_use = clock.now
    assert await works(http, spare.virtual_key)
    assert (await last_used())[spare.key_id] == first_use
    clock.advance(30)
    assert await works(http, spare.virtual_key)
    clock.advance(29.5)
    job = await open_job(http, spare.virtual_key)
    assert (await last_used())[spare.key_id] == first_use  # within the minute: not written
    clock.advance(0.5)
    r = await http.get(f"/api/jobs/{job}", headers=bearer(spare.virtual_key))
    assert r.status_code == 200
    assert (await last_used())[spare.key_id] == first_use + dt.timedelta(seconds=60)
    clock.advance(3600)
    assert (await last_used())[spare.key_id] == first_use + dt.timedelta(seconds=60)
    other = [k for k in await listed(http) if k["key_id"] != spare.key_id]
    assert other[0]["last_used_at"] is None and await works(http, default)


async def test_a_refused_key_is_not_noted_as_used(http: httpx.AsyncClient, clock: Clock) -> None:
    await create_team(http)
    spare = await new_key(http, {"expires_at": (clock.now + dt.timedelta(seconds=10)).isoformat()})
    assert (await http.delete(f"{KEYS}/{spare.key_id}")).status_code == 200
    assert not await works(http, spare.virtual_key)
    shown = next(k for k in await listed(http) if k["key_id"] == spare.key_id)
    assert shown["last_used_at"] is None


# --- stored only as hashes --------------------------------------------------------------------


async def test_keys_are_stored_only_as_hashes(http: httpx.AsyncClient, settings: Settings) -> None:
    handed_out = [await create_team(http)]
    for idem in ("k-1", "k-1"):  # a creation and its replay
        r = await http.post(KEYS, json={"name": "x"}, headers={"Idempotency-Key": idem})
        handed_out.append(r.json()["virtual_key"])
    for idem in ("r-1", "r-1"):
        r = await http.post(ROTATE, json={"grace_seconds": 60}, headers={"Idempotency-Key": idem})
        handed_out.append(r.json()["virtual_key"])
    assert len(set(handed_out)) == 5
    job = await open_job(http, handed_out[-1])
    r = await http.post(
        f"/api/jobs/{job}/llm-call",
        json={"messages": [{"role": "user", "content": "hello"}]},
        headers=bearer(handed_out[-1]),
    )
    assert r.status_code == 200

    db = Database(settings.database_url)
    await db.connect()
    try:
        dumped = {
            table.name: repr(await db.fetch_all(sa.select(table)))
            for table in metadata.sorted_tables
        }
        hashes = {
            row["key_hash"] for row in await db.fetch_all(sa.text("SELECT key_hash FROM team_keys"))
        }
    finally:
        await db.disconnect()
    for key in handed_out:
        for table, text in dumped.items():
            assert key not in text and key[10:] not in text, table
        assert hash_key(key) in hashes
    assert "idempotency_keys" in dumped and "audit_events" in dumped
    assert "r-1" in dumped["idempotency_keys"]  # the replays' responses are kept…
    assert "k-1" in dumped["idempotency_keys"]  # …without their keys


# --- idempotent replays ----------------------------------------------------------------------


async def test_a_replayed_key_creation_hands_out_a_fresh_key_and_revokes_the_lost_one(
    http: httpx.AsyncClient, clock: Clock
) -> None:
    default = await create_team(http)
    expires = (clock.now + dt.timedelta(days=1)).isoformat()
    body = {"name": "worker", "expires_at": expires}
    headers = {"Idempotency-Key": "create-worker-key"}
    responses = []
    for _ in range(3):
        r = await http.post(KEYS, json=body, headers=headers)
        assert r.status_code == 201, r.text
        responses.append(r)
    assert "Idempotent-Replayed" not in responses[0].headers
    assert [r.headers.get("Idempotent-Replayed") for r in responses[1:]] == ["true", "true"]
    created = [KeyCreated.model_validate_json(r.content) for r in responses]
    assert len({c.virtual_key for c in created}) == 3
    assert len({c.key_id for c in created}) == 3
    for c in created:
        assert (c.name, c.expires_at, c.team_id) == (
            "worker",
            dt.datetime.fromisoformat(expires),
            TEAM,
        )
        assert c.prefix == c.virtual_key[:10]
    assert [await works(http, c.virtual_key) for c in created] == [False, False, True]
    assert await works(http, default)
    working = {k["name"]: k["key_id"] for k in await listed(http) if k["revoked_at"] is None}
    assert working == {"worker": created[2].key_id, "default": working["default"]}

    # the same key with another body is still refused
    r = await http.post(KEYS, json={"name": "other"}, headers=headers)
    assert r.status_code == 422 and r.json()["error"]["param"] == "Idempotency-Key"


async def test_a_replayed_rotation_hands_out_a_fresh_key_and_revokes_the_lost_one(
    http: httpx.AsyncClient,
) -> None:
    default = await create_team(http)
    headers = {"Idempotency-Key": "rotate-1"}
    rotations = []
    for _ in range(3):
        r = await http.post(ROTATE, json={"grace_seconds": 0}, headers=headers)
        assert r.status_code == 200, r.text
        rotations.append(KeyRotation.model_validate_json(r.content))
    assert len({r.virtual_key for r in rotations}) == 3
    assert [r.previous_keys_expire_at for r in rotations] == [
        rotations[0].previous_keys_expire_at
    ] * 3
    for rotation in rotations:
        assert rotation.prefix == rotation.virtual_key[:10]
    keys = [default, *(r.virtual_key for r in rotations)]
    assert [await works(http, k) for k in keys] == [False, False, False, True]
    working = [k["key_id"] for k in await listed(http) if k["revoked_at"] is None]
    assert working == [rotations[2].key_id]


@pytest.mark.parametrize("path", [KEYS, ROTATE])
async def test_a_replay_after_the_team_was_removed_is_404_and_hands_out_nothing(
    http: httpx.AsyncClient, path: str
) -> None:
    await create_team(http)
    headers = {"Idempotency-Key": "late"}
    first = await http.post(path, json={}, headers=headers)
    assert first.status_code in (200, 201), first.text
    assert (await http.delete(f"/api/teams/{TEAM}")).status_code == 200
    r = await http.post(path, json={}, headers=headers)
    assert r.status_code == 404, r.text
    assert r.json()["error"]["type"] == "not_found" and "removed" in r.json()["error"]["message"]
    assert not await works(http, first.json()["virtual_key"])


async def test_a_replay_does_not_bring_back_a_key_the_operator_revoked(
    http: httpx.AsyncClient,
) -> None:
    await create_team(http)
    headers = {"Idempotency-Key": "made-then-revoked"}
    first = KeyCreated.model_validate_json(
        (await http.post(KEYS, json={}, headers=headers)).content
    )
    assert (await http.delete(f"{KEYS}/{first.key_id}")).status_code == 200
    before = await listed(http)
    r = await http.post(KEYS, json={}, headers=headers)
    assert r.status_code == 409, r.text
    assert "revoked" in r.json()["error"]["message"]
    assert "virtual_key" not in r.text
    assert await listed(http) == before  # no key was made or changed


async def test_a_replayed_rotation_after_a_later_rotation_hands_out_nothing(
    http: httpx.AsyncClient,
) -> None:
    """The later rotation replaced every key: replaying the earlier one must not undo that."""
    await create_team(http)
    r = await http.post(ROTATE, json={}, headers={"Idempotency-Key": "rotate-a"})
    first = KeyRotation.model_validate_json(r.content)
    second = KeyRotation.model_validate_json((await http.post(ROTATE, json={})).content)
    r = await http.post(ROTATE, json={}, headers={"Idempotency-Key": "rotate-a"})
    assert r.status_code == 409, r.text
    assert not await works(http, first.virtual_key)
    assert await works(http, second.virtual_key)
    working = [k["key_id"] for k in await listed(http) if k["revoked_at"] is None]
    assert working == [second.key_id]


async def test_a_replay_within_a_later_rotations_grace_keeps_that_grace(
    http: httpx.AsyncClient, clock: Clock
) -> None:
    """A replacement is as the lost key is now: it stops when the grace period ends."""
    await create_team(http)
    headers = {"Idempotency-Key": "made-before-rotation"}
    assert (await http.post(KEYS, json={"name": "w"}, headers=headers)).status_code == 201
    rotation = KeyRotation.model_validate_json(
        (await http.post(ROTATE, json={"grace_seconds": 60})).content
    )
    replay = KeyCreated.model_validate_json(
        (await http.post(KEYS, json={"name": "w"}, headers=headers)).content
    )
    assert replay.expires_at == rotation.previous_keys_expire_at
    assert await works(http, replay.virtual_key)
    clock.advance(61)
    assert not await works(http, replay.virtual_key)
    assert await works(http, rotation.virtual_key)


# --- limits ----------------------------------------------------------------------------------


async def test_a_team_has_at_most_100_working_keys(http: httpx.AsyncClient, clock: Clock) -> None:
    await create_team(http)  # its first key
    soon = (clock.now + dt.timedelta(seconds=60)).isoformat()
    spares = [await new_key(http) for _ in range(MAX_WORKING_KEYS - 2)]
    await new_key(http, {"expires_at": soon})
    assert MAX_WORKING_KEYS == 100

    r = await http.post(KEYS, json={"name": "one too many"})
    assert r.status_code == 409, r.text
    assert "100" in r.json()["error"]["message"]
    assert len(await listed(http)) == 100

    assert (await http.delete(f"{KEYS}/{spares[0].key_id}")).status_code == 200
    await new_key(http)  # a revoked key does not count
    assert (await http.post(KEYS, json={})).status_code == 409
    clock.advance(60)
    await new_key(http)  # nor an expired one
    assert (await http.post(KEYS, json={})).status_code == 409
    # a rotation is always possible: it leaves one working key
    r = await http.post(ROTATE)
    assert r.status_code == 200
    await new_key(http)


async def test_concurrent_creations_never_pass_the_limit(http: httpx.AsyncClient) -> None:
    await create_team(http)
    for _ in range(MAX_WORKING_KEYS - 3):
        await new_key(http)
    answers = await asyncio.gather(*(http.post(KEYS, json={}) for _ in range(8)))
    assert sorted(r.status_code for r in answers) == [201, 201] + [409] * 6
    working = [k for k in await listed(http) if k["revoked_at"] is None]
    assert len(working) == MAX_WORKING_KEYS


async def test_concurrent_rotations_leave_one_working_key(http: httpx.AsyncClient) -> None:
    old = [await create_team(http), (await new_key(http)).virtual_key]
    answers = await asyncio.gather(*(http.post(ROTATE) for _ in range(6)))
    assert {r.status_code for r in answers} == {200}
    keys = [r.json()["virtual_key"] for r in answers]
    assert [await works(http, k) for k in old] == [False, False]
    assert sum([await works(http, k) for k in keys]) == 1
    assert len([k for k in await listed(http) if k["revoked_at"] is None]) == 1


# --- removed teams, auth, hostile input ------------------------------------------------------


async def test_a_removed_teams_keys_are_gone(http: httpx.AsyncClient) -> None:
    default = await create_team(http)
    spare = await new_key(http)
    assert (await http.delete(f"/api/teams/{TEAM}")).status_code == 200
    assert not await works(http, default) and not await works(http, spare.virtual_key)
    for method, path in [
        ("GET", KEYS),
        ("POST", KEYS),
        ("DELETE", f"{KEYS}/{spare.key_id}"),
        ("POST", ROTATE),
    ]:
        r = await http.request(method, path)
        assert r.status_code == 404, (method, path, r.text)


def unused(keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in key.items() if k != "last_used_at"} for key in keys]


KEY_ENDPOINTS = [
    ("POST", KEYS, {"name": "x"}),
    ("GET", KEYS, None),
    ("DELETE", KEYS + "/{key_id}", None),
    ("POST", ROTATE, {"grace_seconds": 0}),
]


@pytest.mark.parametrize("admin_key", [ADMIN_KEY])
@pytest.mark.parametrize(("method", "path", "body"), KEY_ENDPOINTS)
async def test_every_key_endpoint_needs_the_admin_key(
    http: httpx.AsyncClient, method: str, path: str, body: dict[str, Any] | None
) -> None:
    own = await create_team(http, admin=ADMIN)
    other = await create_team(http, team_id="t2", admin=ADMIN)
    r = await http.post(KEYS, json={"name": "spare"}, headers=ADMIN)
    spare = KeyCreated.model_validate_json(r.content)
    path = path.format(key_id=spare.key_id)
    before = await listed(http, admin=ADMIN)

    for headers, status in [
        ({}, 401),
        (bearer("adm-wrong"), 401),
        (bearer(own), 403),
        (bearer(other), 403),
        (bearer(spare.virtual_key), 403),
    ]:
        r = await http.request(method, path, json=body, headers=headers)
        assert r.status_code == status, (headers, r.text)
    assert unused(await listed(http, admin=ADMIN)) == unused(before)  # (refused keys were used)
    assert await works(http, own) and await works(http, spare.virtual_key)

    r = await http.request(method, path, json=body, headers=ADMIN)
    assert r.status_code in (200, 201), r.text


HOSTILE = [
    (KEYS, b"{"),
    (KEYS, [1]),
    (KEYS, {"name": ""}),
    (KEYS, {"name": "x" * 201}),
    (KEYS, {"name": "a\x00b"}),
    (KEYS, {"name": 5}),
    (KEYS, {"expires_at": "tomorrow"}),
    (KEYS, {"expires_at": 1}),
    (KEYS, {"key_id": "key_" + "0" * 24}),
    (KEYS, {"virtual_key": "sk-mine"}),
    (ROTATE, b"nope"),
    (ROTATE, {"grace_seconds": -1}),
    (ROTATE, {"grace_seconds": "60"}),
    (ROTATE, {"grace_seconds": 1.5}),
    (ROTATE, {"grace_seconds": True}),
    (ROTATE, {"grace_seconds": 30 * 86_400 + 1}),
    (ROTATE, {"grace_seconds": 10**30}),
    (ROTATE, {"grace": 60}),
]


@pytest.mark.parametrize(("path", "body"), HOSTILE)
async def test_hostile_bodies_are_refused_and_change_nothing(
    http: httpx.AsyncClient, path: str, body: bytes | dict[str, Any] | list[Any]
) -> None:
    key = await create_team(http)
    before = await listed(http)
    if isinstance(body, bytes):
        r = await http.post(path, content=body, headers={"Content-Type": "application/json"})
    else:
        r = await http.post(path, json=body)
    assert r.status_code in (400, 422), r.text
    assert await listed(http) == before
    assert await works(http, key)


@pytest.mark.parametrize(
    "path",
    [
        f"/api/teams/{TEAM}/keys/key_%00",
        f"/api/teams/{TEAM}/keys/key_" + "0" * 300,
        f"/api/teams/{TEAM}/keys/key_{'0' * 24}%0A",
        "/api/teams/-x/keys",
        "/api/teams/t%00/rotate-key",
    ],
)
async def test_ids_that_cannot_name_anything_are_404(http: httpx.AsyncClient, path: str) -> None:
    await create_team(http)
    before = await listed(http)
    method = "DELETE" if "/keys/" in path else "POST"
    r = await http.request(method, path)
    assert r.status_code == 404, r.text
    assert await listed(http) == before
