"""The SDK against the real server: in-process and over real HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest
from support import live_server

from saas_litellm_client import (
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InsufficientCreditsError,
    NotFoundError,
    PermissionDeniedError,
    SaasLiteLLMAdminClient,
    SaasLiteLLMClient,
)
from saas_litellm_server import Settings, create_app

Clients = tuple[SaasLiteLLMAdminClient, str, httpx.AsyncClient | None]


@pytest.fixture(params=["in-process", "live"])
async def server(
    request: pytest.FixtureRequest, settings: Settings
) -> AsyncIterator[tuple[str, httpx.AsyncClient | None]]:
    """(base_url, http_client to pass to the SDK or None to let it open its own)."""
    app = create_app(settings)
    if request.param == "in-process":
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://localhost"
            ) as http,
        ):
            yield "http://localhost", http
    else:
        with live_server(app) as url:
            yield url, None


@contextlib.asynccontextmanager
async def team_client(
    base_url: str,
    http: httpx.AsyncClient | None,
    *,
    credits: int = 1000,
    team_id: str = "acme-corp",
) -> AsyncIterator[SaasLiteLLMClient]:
    async with SaasLiteLLMAdminClient(base_url=base_url, http_client=http) as admin:
        with contextlib.suppress(ConflictError):
            await admin.create_organization("org_acme", "ACME Corporation")
        with contextlib.suppress(ConflictError):
            await admin.create_model_access_group("gpt-models", description="GPT models")
        team = await admin.create_team(
            "org_acme", team_id, access_groups=["gpt-models"], credits_allocated=credits
        )
    async with SaasLiteLLMClient(
        base_url=base_url, team_id=team_id, virtual_key=team.virtual_key, http_client=http
    ) as client:
        yield client


async def test_guide_typed_client_flow(server: tuple[str, httpx.AsyncClient | None]) -> None:
    base_url, http = server
    async with team_client(base_url, http) as client:
        job = await client.create_job("document_analysis")
        response = await client.llm_call(
            job_id=job.job_id, messages=[{"role": "user", "content": "Analyze..."}]
        )
        assert response.content.startswith('You said: "Analyze..."')
        assert response.usage.total_tokens == (
            response.usage.prompt_tokens + response.usage.completion_tokens
        )
        result = await client.complete_job(job.job_id, "completed")
        assert result.credits_remaining == 999
        detail = await client.get_job(job.job_id)
        assert detail.status == "completed"
        assert [c.call_id for c in detail.calls] == [response.call_id]
        usage = await client.get_usage()
        assert usage.by_job_type[0].job_type == "document_analysis"


async def test_sdk_raises_typed_errors_from_the_server(
    server: tuple[str, httpx.AsyncClient | None],
) -> None:
    base_url, http = server
    async with team_client(base_url, http, credits=1) as client:
        job = await client.create_job("only")
        with pytest.raises(InsufficientCreditsError) as info:
            await client.create_job("one-too-many")
        assert info.value.status_code == 402 and info.value.request_id
        # the balance shows one credit left: the error says it is reserved by the open job
        assert (info.value.credits_remaining, info.value.credits_reserved) == (1, 1)
        assert info.value.credits_available == 0
        with pytest.raises(NotFoundError):
            await client.get_job("00000000-0000-4000-8000-000000000000")
        with pytest.raises(BadRequestError) as bad:
            await client.llm_call(
                job_id=job.job_id,
                model="no-such-model",
                messages=[{"role": "user", "content": "x"}],
            )
        assert bad.value.param == "model"
        async with SaasLiteLLMAdminClient(base_url=base_url, http_client=http) as admin:
            await admin.create_model_access_group("claude-models")
            await admin.create_model_alias(
                "Claude",
                access_groups=["claude-models"],
                deployments=[{"provider": "mock", "model": "c"}],
            )
        with pytest.raises(PermissionDeniedError) as denied:
            await client.llm_call(
                job_id=job.job_id, model="Claude", messages=[{"role": "user", "content": "x"}]
            )
        assert denied.value.error_type == "permission_denied"
        await client.complete_job(job.job_id, "failed")
        with pytest.raises(ConflictError):
            await client.complete_job(job.job_id, "completed")
        with pytest.raises(ConflictError):
            await client.llm_call(job_id=job.job_id, messages=[{"role": "user", "content": "x"}])
    async with SaasLiteLLMClient(
        base_url=base_url, team_id="acme-corp", virtual_key="sk-wrong", http_client=http
    ) as stranger:
        with pytest.raises(AuthenticationError):
            await stranger.get_balance()


async def test_admin_client_manages_teams(server: tuple[str, httpx.AsyncClient | None]) -> None:
    base_url, http = server
    async with (
        team_client(base_url, http, credits=2) as client,
        SaasLiteLLMAdminClient(base_url=base_url, http_client=http) as admin,
    ):
        balance = await admin.add_credits("acme-corp", 3, reason="top-up")
        assert balance.credits_allocated == 5
        suspended = await admin.suspend_team("acme-corp")
        assert suspended.status == "suspended"
        with pytest.raises(PermissionDeniedError):
            await client.create_job("blocked")
        await admin.resume_team("acme-corp")
        rotated = await admin.rotate_key("acme-corp")
        with pytest.raises(AuthenticationError):
            await client.get_balance()
        async with SaasLiteLLMClient(
            base_url=base_url,
            team_id="acme-corp",
            virtual_key=rotated.virtual_key,
            http_client=http,
        ) as fresh:
            assert (await fresh.get_balance()).credits_remaining == 5
        team = await admin.get_team("acme-corp")
        assert (team.status, team.credits_allocated) == ("active", 5)
        alias = await admin.create_model_alias(
            "ChatAgent",
            access_groups=["gpt-models"],
            deployments=[{"provider": "mock", "model": "gpt-4o-mini"}],
        )
        assert alias.deployments[0].model == "gpt-4o-mini"


async def test_sdk_concurrent_jobs_are_exact(server: tuple[str, httpx.AsyncClient | None]) -> None:
    base_url, http = server
    async with team_client(base_url, http, credits=5) as client:
        results = await asyncio.gather(
            *[client.create_job("race") for _ in range(12)], return_exceptions=True
        )
        jobs = [r for r in results if not isinstance(r, BaseException)]
        assert len(jobs) == 5
        assert all(isinstance(r, InsufficientCreditsError) for r in results if r not in jobs)
        hello = [{"role": "user", "content": "hello"}]
        await asyncio.gather(*[client.llm_call(job_id=j.job_id, messages=hello) for j in jobs])
        await asyncio.gather(*[client.complete_job(j.job_id) for j in jobs for _ in range(3)])
        balance = await client.get_balance()
        assert (balance.credits_used, balance.credits_reserved, balance.credits_remaining) == (
            5,
            0,
            0,
        )


async def test_sdk_lists_jobs_usage_aliases_and_limits(
    server: tuple[str, httpx.AsyncClient | None],
) -> None:
    import datetime as dt

    base_url, http = server
    async with (
        team_client(base_url, http, credits=20) as client,
        SaasLiteLLMAdminClient(base_url=base_url, http_client=http) as admin,
    ):
        ids = [(await client.create_job("listing")).job_id for _ in range(5)]
        await client.llm_call(job_id=ids[0], messages=[{"role": "user", "content": "hi"}])
        await client.complete_job(ids[0], "completed")
        page = await client.list_jobs(limit=2)
        assert [j.job_id for j in page.items] == ids[:-3:-1] and page.next_cursor
        assert [j.job_id async for j in client.list_jobs(limit=2)] == ids[::-1]
        done = await client.list_jobs(status="completed")
        assert [j.job_id for j in done.items] == [ids[0]]
        assert (await admin.list_team_jobs("acme-corp", limit=10)).items[0].job_id == ids[-1]
        future = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)
        assert (await client.get_usage(since=future)).by_job_type == []
        assert (await client.get_usage()).by_job_type[0].jobs == 5
        assert (await admin.get_team_usage("acme-corp", until=future)).by_job_type[0].credits == 1
        alias = await admin.get_model_alias("default")
        assert alias.public and alias.deployments[0].provider == "mock"
        team = await admin.set_limits("acme-corp", rpm_limit=100, tpm_limit=5000)
        assert (team.rpm_limit, team.tpm_limit) == (100, 5000)
        team = await admin.set_limits("acme-corp", rpm_limit=7)  # tpm_limit stays
        assert (team.rpm_limit, team.tpm_limit) == (7, 5000)
        team = await admin.set_limits("acme-corp", tpm_limit=None)  # None removes it
        assert (team.rpm_limit, team.tpm_limit) == (7, None)
        created = await admin.create_team(
            "org_acme", "limited", access_groups=["gpt-models"], rpm_limit=3, tpm_limit=900
        )
        team = await admin.get_team(created.team_id)
        assert (team.rpm_limit, team.tpm_limit) == (3, 900)


async def test_sdk_walks_the_control_plane(server: tuple[str, httpx.AsyncClient | None]) -> None:
    import datetime as dt

    base_url, http = server
    async with (
        team_client(base_url, http, credits=20) as client,
        SaasLiteLLMAdminClient(base_url=base_url, http_client=http) as admin,
    ):
        await admin.create_organization("org_other", "Other")
        other = await admin.create_team("org_other", "other-team", access_groups=["gpt-models"])
        await admin.create_model_alias(
            "Other", deployments=[{"provider": "mock", "model": "m"}], access_groups=["gpt-models"]
        )
        ids = [(await client.create_job(kind)).job_id for kind in ("a", "b", "a")]
        await client.complete_job(ids[0], "failed")
        await admin.suspend_team(other.team_id)

        orgs = [o.organization_id async for o in admin.list_organizations(limit=1)]
        assert orgs[:2] == ["org_other", "org_acme"]
        assert (await admin.get_organization("org_acme")).name == "ACME Corporation"
        with pytest.raises(NotFoundError):
            await admin.get_organization("org_nope")
        usage = await admin.get_organization_usage("org_acme")
        assert {u.job_type: (u.jobs, u.failed) for u in usage.by_job_type} == {
            "a": (2, 1),
            "b": (1, 0),
        }
        assert (await admin.get_organization_usage("org_other")).by_job_type == []

        groups = [g.group_name async for g in admin.list_model_access_groups(limit=1)]
        assert "gpt-models" in groups
        aliases = [a.model_alias async for a in admin.list_model_aliases(access_group="gpt-models")]
        assert aliases[0] == "Other"

        teams = [t.team_id async for t in admin.list_teams(limit=1)]
        assert teams[:2] == ["other-team", "acme-corp"]
        suspended = [t.team_id async for t in admin.list_teams(status="suspended")]
        assert suspended == ["other-team"]
        in_acme = [t.team_id async for t in admin.list_teams(organization_id="org_acme")]
        assert in_acme == ["acme-corp"]

        jobs = [j.job_id async for j in admin.list_jobs(limit=2)]
        assert jobs[:3] == ids[::-1]
        assert [j.job_id async for j in admin.list_jobs(job_type="a", status="pending")] == [ids[2]]
        assert [j.job_id async for j in admin.list_jobs(organization_id="org_other")] == []
        future = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)
        assert (await admin.list_jobs(since=future)).items == []
        page = await admin.list_jobs(team_id="acme-corp", limit=2)
        assert [j.job_id for j in page.items] == ids[:0:-1] and page.next_cursor
        with pytest.raises(BadRequestError):
            await admin.list_teams(cursor="forged")
