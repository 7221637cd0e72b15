"""Virtual keys (services/keys.py): random, prefixed, stored only as a hash."""

from __future__ import annotations

import base64

import httpx
import sqlalchemy as sa
from support import TEAM, create_team

from saas_litellm_server import Settings
from saas_litellm_server.services.keys import hash_key, new_virtual_key
from saas_litellm_server.store import Database
from saas_litellm_server.store.schema import teams


def test_keys_carry_at_least_128_random_bits() -> None:
    keys = {new_virtual_key() for _ in range(1000)}
    assert len(keys) == 1000
    for key in keys:
        assert key.startswith("sk-")
        raw = base64.urlsafe_b64decode(key[3:] + "=" * (-len(key[3:]) % 4))
        assert len(raw) * 8 >= 128


async def test_only_the_hash_is_stored(http: httpx.AsyncClient, settings: Settings) -> None:
    key = await create_team(http)
    db = Database(settings.database_url)
    await db.connect()
    try:
        rows = await db.fetch_all(sa.select(teams))
    finally:
        await db.disconnect()
    stored = repr(rows)
    assert key not in stored
    assert key[3:] not in stored
    assert any(row["key_hash"] == hash_key(key) for row in rows if row["team_id"] == TEAM)
