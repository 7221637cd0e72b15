"""The ``gateway`` fixture of ``tests/clients``: a live server (uvicorn on a loopback port) whose
aliases answer with the built-in mock provider, and a team with its virtual key."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from clients_gateway import CHAT, CREDITS, EMBED, Gateway
from support import GROUP, TEAM, live_server

from saas_litellm_server import Settings, create_app


@pytest.fixture
def gateway(settings: Settings) -> Iterator[Gateway]:
    """The server with the chat alias ``Mock`` and the embedding alias ``Embed`` (both the mock
    provider), and the team ``acme-corp`` with 100 credits."""
    with live_server(create_app(settings)) as url, httpx.Client(base_url=url) as http:
        r = http.post(
            "/api/organizations/create", json={"organization_id": "org_acme", "name": "A"}
        )
        assert r.status_code == 201, r.text
        r = http.post("/api/model-access-groups/create", json={"group_name": GROUP})
        assert r.status_code == 201, r.text
        for alias, mode in ((CHAT, "chat"), (EMBED, "embedding")):
            r = http.post(
                "/api/model-aliases/create",
                json={
                    "model_alias": alias,
                    "access_groups": [GROUP],
                    "mode": mode,
                    "deployments": [
                        {
                            "provider": "mock",
                            "model": "mock",
                            "input_cost_per_million": 1.0,
                            "output_cost_per_million": 2.0,
                        }
                    ],
                },
            )
            assert r.status_code == 201, r.text
        r = http.post(
            "/api/teams/create",
            json={
                "organization_id": "org_acme",
                "team_id": TEAM,
                "access_groups": [GROUP],
                "credits_allocated": CREDITS,
            },
        )
        assert r.status_code == 201, r.text
        yield Gateway(url, r.json()["virtual_key"], http)
