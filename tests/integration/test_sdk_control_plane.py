"""The admin SDK against the real server over real HTTP, on SQLite and PostgreSQL: changing and
removing what was created, a team's keys, and the audit log that records it all."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterator

import pytest
from support import live_server

from saas_litellm_client import (
    AuditEvent,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    NotFoundError,
    SaasLiteLLMAdminClient,
    SaasLiteLLMClient,
)
from saas_litellm_server import Settings, create_app

ADMIN_KEY = "adm-control-plane-test-key"
TEAM = "acme-corp"
ALIAS = "mock/chat"  # a '/' in an alias travels as one path segment


@pytest.fixture
def base_url(settings: Settings) -> Iterator[str]:
    with live_server(create_app(settings)) as url:
        yield url


@pytest.fixture
async def admin(base_url: str, admin_key: str | None) -> AsyncIterator[SaasLiteLLMAdminClient]:
    async with SaasLiteLLMAdminClient(base_url, admin_key) as client:
        yield client


async def _works(base_url: str, virtual_key: str, team_id: str = TEAM) -> bool:
    """Whether ``virtual_key`` authenticates the team (``False``: 401)."""
    async with SaasLiteLLMClient(base_url, team_id, virtual_key, max_retries=0) as client:
        try:
            await client.get_balance()
        except AuthenticationError:
            return False
    return True


async def _seed(admin: SaasLiteLLMAdminClient) -> str:
    """An organization, two groups, an alias and a team; the team's first virtual key."""
    await admin.create_organization("org_acme", "ACME", metadata={"region": "eu"})
    await admin.create_model_access_group("gpt-models", description="GPT models")
    await admin.create_model_access_group("extra")
    await admin.create_model_alias(
        ALIAS, deployments=[{"provider": "mock", "model": "m1"}], access_groups=["gpt-models"]
    )
    created = await admin.create_team(
        "org_acme",
        TEAM,
        team_alias="ACME Corp",
        access_groups=["gpt-models"],
        credits_allocated=5,
        metadata={"crm_id": 42},
    )
    assert [k.key_id for k in (await admin.list_keys(TEAM)).keys] == [created.key_id]
    return created.virtual_key


@pytest.mark.parametrize("admin_key", [ADMIN_KEY])
async def test_update_sends_only_what_changes(admin: SaasLiteLLMAdminClient) -> None:
    await _seed(admin)

    assert (await admin.get_team(TEAM)).metadata == {"crm_id": 42}
    team = await admin.update_team(TEAM, metadata={"tier": "gold"}, default_model=ALIAS)
    assert (team.team_alias, team.metadata, team.default_model) == (
        "ACME Corp",
        {"tier": "gold"},
        ALIAS,
    )
    team = await admin.update_team(TEAM, team_alias=None, access_groups=["gpt-models", "extra"])
    assert (team.team_alias, team.metadata, team.default_model) == (None, {"tier": "gold"}, ALIAS)
    assert sorted(team.access_groups) == ["extra", "gpt-models"]
    team = await admin.update_team(TEAM, default_model=None)
    assert team.default_model is None and team == await admin.get_team(TEAM)
    with pytest.raises(BadRequestError) as unknown:
        await admin.update_team(TEAM, access_groups=["no-such-group"])
    assert unknown.value.param == "access_groups"

    org = await admin.update_organization("org_acme", name="ACME Corporation")
    assert (org.name, org.metadata) == ("ACME Corporation", {"region": "eu"})
    org = await admin.update_organization("org_acme", metadata={})
    assert (org.name, org.metadata) == ("ACME Corporation", {})

    group = await admin.update_model_access_group("gpt-models", description=None)
    assert group.description is None
    group = await admin.update_model_access_group("extra", description="more")
    assert group.description == "more"

    alias = await admin.update_model_alias(
        ALIAS,
        deployments=[
            {"provider": "mock", "model": "m2", "input_cost_per_million": 1.5},
            {"provider": "mock", "model": "m3"},
        ],
    )
    assert [d.model for d in alias.deployments] == ["m2", "m3"]
    assert alias.deployments[0].input_cost_per_million == 1.5
    assert alias.access_groups == ["gpt-models"]  # not given: kept
    alias = await admin.update_model_alias(ALIAS, access_groups=["extra"])
    assert alias.access_groups == ["extra"] and len(alias.deployments) == 2
    assert alias == await admin.get_model_alias(ALIAS)

    with pytest.raises(NotFoundError):
        await admin.update_team("no-such-team", team_alias="x")


@pytest.mark.parametrize("admin_key", [ADMIN_KEY])
async def test_keys_create_list_revoke_and_rotate_with_grace(
    admin: SaasLiteLLMAdminClient, base_url: str
) -> None:
    first = await _seed(admin)
    in_an_hour = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)

    ci = await admin.create_key(TEAM, name="ci", expires_at=in_an_hour)
    plain = await admin.create_key(TEAM)
    assert (ci.name, plain.name, plain.expires_at) == ("ci", None, None)
    assert ci.expires_at is not None and abs(ci.expires_at - in_an_hour) < dt.timedelta(seconds=1)
    assert ci.virtual_key.startswith(ci.prefix)
    assert [await _works(base_url, k) for k in (first, ci.virtual_key, plain.virtual_key)] == [
        True,
        True,
        True,
    ]

    listed = (await admin.list_keys(TEAM)).keys
    assert [k.key_id for k in listed][:2] == [plain.key_id, ci.key_id]  # newest first
    assert [k.name for k in listed] == [None, "ci", "default"]
    assert all(k.revoked_at is None for k in listed)
    assert [k.last_used_at is not None for k in listed] == [True, True, True]

    revoked = await admin.revoke_key(TEAM, ci.key_id)
    assert revoked.key_id == ci.key_id and revoked.revoked_at is not None
    assert not await _works(base_url, ci.virtual_key)
    assert await _works(base_url, first) and await _works(base_url, plain.virtual_key)
    assert await admin.revoke_key(TEAM, ci.key_id) == revoked  # again: nothing changes
    with pytest.raises(NotFoundError):
        await admin.revoke_key(TEAM, "key_000000000000000000000000")
    with pytest.raises(BadRequestError) as past:
        await admin.create_key(TEAM, expires_at=dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc))
    assert past.value.param == "expires_at"

    # with a grace period, the keys it replaces keep working until it ends
    graceful = await admin.rotate_key(TEAM, grace_seconds=3600)
    assert graceful.previous_keys_expire_at is not None and graceful.key_id is not None
    assert graceful.virtual_key.startswith(graceful.prefix or "?")
    assert await _works(base_url, graceful.virtual_key)
    assert await _works(base_url, first) and await _works(base_url, plain.virtual_key)
    by_id = {k.key_id: k for k in (await admin.list_keys(TEAM)).keys}
    assert by_id[plain.key_id].expires_at == graceful.previous_keys_expire_at
    assert by_id[graceful.key_id].expires_at is None

    # without one, every other key stops at once
    abrupt = await admin.rotate_key(TEAM)
    assert abrupt.previous_keys_expire_at is not None
    assert abrupt.previous_keys_expire_at < graceful.previous_keys_expire_at
    assert await _works(base_url, abrupt.virtual_key)
    for old in (first, plain.virtual_key, graceful.virtual_key):
        assert not await _works(base_url, old)


@pytest.mark.parametrize("admin_key", [ADMIN_KEY])
async def test_a_replayed_create_key_replaces_the_lost_key(
    admin: SaasLiteLLMAdminClient, base_url: str
) -> None:
    await _seed(admin)

    lost = await admin.create_key(TEAM, name="deploy", idempotency_key="deploy-key-1")
    again = await admin.create_key(TEAM, name="deploy", idempotency_key="deploy-key-1")

    assert again.virtual_key != lost.virtual_key and again.name == "deploy"
    assert not await _works(base_url, lost.virtual_key)
    assert await _works(base_url, again.virtual_key)
    deploy_keys = [k for k in (await admin.list_keys(TEAM)).keys if k.name == "deploy"]
    assert [k.revoked_at is None for k in deploy_keys] == [True, False]


@pytest.mark.parametrize("admin_key", [ADMIN_KEY])
async def test_removals_refuse_while_in_use_and_keep_history(
    admin: SaasLiteLLMAdminClient, base_url: str
) -> None:
    key = await _seed(admin)
    await admin.update_team(TEAM, default_model=ALIAS)
    async with SaasLiteLLMClient(base_url, TEAM, key) as client:
        job = await client.create_job("before-removal")
        await client.llm_call(job_id=job.job_id, messages=[{"role": "user", "content": "hi"}])

        with pytest.raises(ConflictError, match="open job"):
            await admin.delete_team(TEAM)
        with pytest.raises(ConflictError, match=TEAM):
            await admin.delete_organization("org_acme")
        with pytest.raises(ConflictError, match=TEAM):
            await admin.delete_model_access_group("gpt-models")
        with pytest.raises(ConflictError, match=TEAM):
            await admin.delete_model_alias(ALIAS)
        with pytest.raises(ConflictError, match="built in"):
            await admin.delete_model_alias("default")

        await client.complete_job(job.job_id, "completed")

    deleted = await admin.delete_team(TEAM)
    assert (deleted.object, deleted.id, deleted.deleted) == ("team", TEAM, True)
    assert not await _works(base_url, key)
    with pytest.raises(NotFoundError):
        await admin.get_team(TEAM)
    with pytest.raises(NotFoundError):  # removing it again: it is gone
        await admin.delete_team(TEAM)
    with pytest.raises(ConflictError):  # its id is not reused
        await admin.create_team("org_acme", TEAM)
    # the team's job still counts in its organization's usage
    usage = await admin.get_organization_usage("org_acme")
    assert [(u.job_type, u.jobs, u.credits) for u in usage.by_job_type] == [
        ("before-removal", 1, 1)
    ]
    assert [j.job_id async for j in admin.list_jobs(team_id=TEAM)] == [job.job_id]

    removed = [
        await admin.delete_model_alias(ALIAS),
        await admin.delete_model_access_group("gpt-models"),
        await admin.delete_organization("org_acme"),
    ]
    assert [(d.object, d.id) for d in removed] == [
        ("model_alias", ALIAS),
        ("model_access_group", "gpt-models"),
        ("organization", "org_acme"),
    ]
    with pytest.raises(NotFoundError):
        await admin.get_model_alias(ALIAS)
    with pytest.raises(NotFoundError):
        await admin.get_organization("org_acme")
    assert "gpt-models" not in [g.group_name async for g in admin.list_model_access_groups()]


@pytest.mark.parametrize("admin_key", [ADMIN_KEY])
async def test_the_audit_log_records_every_change_newest_first(
    admin: SaasLiteLLMAdminClient,
) -> None:
    first_key = await _seed(admin)
    await admin.update_team(TEAM, team_alias=None)
    await admin.update_team(TEAM, team_alias=None)  # changes nothing: not recorded
    created = await admin.create_key(TEAM, name="ci")
    await admin.revoke_key(TEAM, created.key_id)
    rotated = await admin.rotate_key(TEAM, grace_seconds=60)
    await admin.delete_team(TEAM)

    on_team = [e async for e in admin.list_audit_log(target=f"team:{TEAM}", limit=2)]
    assert [e.action for e in on_team] == [
        "team.delete",
        "team.key_rotate",
        "team.key_revoke",
        "team.key_create",
        "team.update",
        "team.create",
    ]
    assert all(isinstance(e, AuditEvent) and e.actor == "admin-key" for e in on_team)
    ats = [e.at for e in on_team]
    assert ats == sorted(ats, reverse=True)
    update = on_team[4]
    assert (update.before, update.after) == ({"team_alias": "ACME Corp"}, {"team_alias": None})
    recorded = " ".join(e.model_dump_json() for e in on_team)
    for secret in (first_key, created.virtual_key, rotated.virtual_key):
        assert secret not in recorded

    # the same events a page at a time, by hand, and filtered by action, by time
    page = await admin.list_audit_log(target=f"team:{TEAM}", limit=4)
    assert page.items == on_team[:4] and page.next_cursor is not None
    rest = await admin.list_audit_log(target=f"team:{TEAM}", limit=4, cursor=page.next_cursor)
    assert rest.items == on_team[4:] and rest.next_cursor is None
    assert [e.event_id async for e in admin.list_audit_log(action="team.key_revoke")] == [
        on_team[2].event_id
    ]
    since_revoke = [e.action async for e in admin.list_audit_log(since=on_team[2].at)]
    assert since_revoke == ["team.delete", "team.key_rotate", "team.key_revoke"]
    everything = [e async for e in admin.list_audit_log(limit=3)]
    assert {e.target for e in everything} >= {
        "organization:org_acme",
        "model_access_group:gpt-models",
        f"model_alias:{ALIAS}",
        f"team:{TEAM}",
    }
    assert [e async for e in admin.list_audit_log(actor="local-dev")] == []
    with pytest.raises(BadRequestError):
        await admin.list_audit_log(cursor="forged")


async def test_in_local_dev_mode_the_actor_is_local_dev(admin: SaasLiteLLMAdminClient) -> None:
    await admin.create_organization("org_dev", "Dev")
    await admin.update_organization("org_dev", name="Development")

    events = (await admin.list_audit_log(target="organization:org_dev")).items

    assert [(e.action, e.actor) for e in events] == [
        ("organization.update", "local-dev"),
        ("organization.create", "local-dev"),
    ]
    assert (events[0].before, events[0].after) == ({"name": "Dev"}, {"name": "Development"})


@pytest.mark.parametrize("admin_key", [ADMIN_KEY])
async def test_the_control_plane_needs_the_admin_key(base_url: str) -> None:
    async with SaasLiteLLMAdminClient(base_url, "adm-wrong") as stranger:
        with pytest.raises(AuthenticationError):
            await stranger.list_audit_log()
        with pytest.raises(AuthenticationError):
            await stranger.delete_organization("org_acme")
        with pytest.raises(AuthenticationError):
            await stranger.create_key(TEAM)
