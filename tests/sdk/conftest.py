"""Fixtures for the SDK unit tests: clients pointed at a fake host that respx intercepts."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from saas_litellm_client import (
    SaasLiteLLMAdminClient,
    SaasLiteLLMClient,
    SaasLiteLLMSyncAdminClient,
    SaasLiteLLMSyncClient,
    _retry,
)

BASE_URL = "http://api.test"
TEAM_ID = "acme-corp"
VIRTUAL_KEY = "sk-test-team-key"
ADMIN_KEY = "sk-test-admin-key"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK reads SAAS_LITELLM_* variables: a developer's shell must not leak into tests."""
    for name in (
        "SAAS_LITELLM_BASE_URL",
        "SAAS_LITELLM_TEAM_ID",
        "SAAS_LITELLM_VIRTUAL_KEY",
        "SAAS_LITELLM_ADMIN_KEY",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
async def team_client() -> AsyncIterator[SaasLiteLLMClient]:
    async with SaasLiteLLMClient(BASE_URL, TEAM_ID, VIRTUAL_KEY) as client:
        yield client


@pytest.fixture
async def admin_client() -> AsyncIterator[SaasLiteLLMAdminClient]:
    async with SaasLiteLLMAdminClient(BASE_URL, ADMIN_KEY) as client:
        yield client


@pytest.fixture
def sync_client() -> Iterator[SaasLiteLLMSyncClient]:
    with SaasLiteLLMSyncClient(BASE_URL, TEAM_ID, VIRTUAL_KEY) as client:
        yield client


@pytest.fixture
def sync_admin_client() -> Iterator[SaasLiteLLMSyncAdminClient]:
    with SaasLiteLLMSyncAdminClient(BASE_URL, ADMIN_KEY) as client:
        yield client


@pytest.fixture(autouse=True)
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Retries do not really wait in unit tests: every client built during a test sleeps through
    this recorder (the delays it was asked to wait, in order)."""
    slept: list[float] = []

    async def record(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(_retry, "sleep", record)
    monkeypatch.setattr(_retry, "sync_sleep", slept.append)  # the synchronous clients'
    return slept
