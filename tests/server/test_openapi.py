"""The OpenAPI document (routes/_openapi.py) and fuzzing the server against it (schemathesis)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from openapi_spec_validator import validate
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.routing import Route
from support import TEAM, live_server

from saas_litellm_server import Settings, create_app

UNDOCUMENTED = {"/", "/openapi.json", "/docs", "/redoc", "/admin"}  # HTML pages


async def test_document_is_valid_and_lists_every_route(http: httpx.AsyncClient) -> None:
    document = (await http.get("/openapi.json")).json()
    validate(document)
    app = create_app(Settings(database_url="sqlite:///:memory:", _env_file=None))  # type: ignore[call-arg]
    served = {
        (route.path_format, method.lower())
        for route in app.routes
        if isinstance(route, Route) and route.path_format not in UNDOCUMENTED
        for method in route.methods or ()
        if method != "HEAD"
    }
    documented = {(path, method) for path, ops in document["paths"].items() for method in ops}
    assert served == documented
    stream = document["paths"]["/api/jobs/{job_id}/llm-call-stream"]["post"]
    assert "text/event-stream" in stream["responses"]["200"]["content"]
    create = document["paths"]["/api/jobs/create"]["post"]
    assert create["security"] == [{"VirtualKey": []}]
    assert {"401", "402", "403", "422"} <= set(create["responses"])


# --- fuzzing -----------------------------------------------------------------------------------

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


@pytest.mark.timeout(300)  # 25 requests per operation: about a minute alone, more under load
def test_fuzz_every_operation(database_url: str) -> None:
    """Generated requests for every documented operation: no 5xx, and every response matches
    what the document says (status, content type, headers, body schema)."""
    # No delivery worker: the webhook below exists to be fuzzed, not to reach the internet
    # (nor to run in the server's thread while Hypothesis works in this one).
    settings_ = Settings(database_url=database_url, webhooks_deliver=False, _env_file=None)  # type: ignore[call-arg]
    app = create_app(settings_)
    with live_server(app) as url, httpx.Client(base_url=url) as http:
        http.post("/api/organizations/create", json={"organization_id": "org_acme", "name": "ACME"})
        key = http.post(
            "/api/teams/create",
            json={"organization_id": "org_acme", "team_id": TEAM, "credits_allocated": 1_000_000},
        ).json()["virtual_key"]
        job = http.post(
            "/api/jobs/create",
            json={"team_id": TEAM, "job_type": "fuzz"},
            headers={"Authorization": f"Bearer {key}"},
        ).json()["job_id"]
        called = http.post(
            f"/api/jobs/{job}/llm-call",
            json={"model": "default", "messages": [{"role": "user", "content": "hi"}]},
            headers={"Authorization": f"Bearer {key}"},
        )
        assert called.status_code == 200, called.text
        # admin operations (rotate-key, suspend, PATCH, DELETE…) get things of their own to fuzz
        http.post("/api/model-access-groups/create", json={"group_name": "g-fuzz"})
        victim = http.post(
            "/api/teams/create", json={"organization_id": "org_acme", "team_id": "victim"}
        ).json()
        hook = http.post(
            "/api/webhooks",
            json={"url": "https://93.184.215.14/hooks", "events": ["team.suspended"]},
        ).json()
        http.post("/api/teams/victim/suspend")  # an event: a delivery to fuzz
        http.post("/api/teams/victim/resume")
        delivery = http.get(f"/api/webhooks/{hook['webhook_id']}/deliveries").json()
        operator = http.post("/api/operators", json={"name": "fuzz", "role": "viewer"}).json()
        schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) == sum(len(ops) for ops in schema.raw_schema["paths"].values())
        counted: list[str] = []
        for operation in operations:
            team_auth = {"VirtualKey": []} in (operation.definition.raw.get("security") or [])
            headers = {"Authorization": f"Bearer {key}"} if team_auth else {}
            real = {
                "job_id": job,
                "call_id": called.json()["call_id"],
                "team_id": TEAM if team_auth else "victim",
                "model_alias": "default",
                "organization_id": "org_acme",
                "group_name": "g-fuzz",
                "key_id": victim["key_id"],
                "webhook_id": hook["webhook_id"],
                "delivery_id": delivery["deliveries"][0]["delivery_id"],
                "operator_id": operator["operator_id"],
            }
            fuzz(operation, url, headers, real, counted)
        assert len(counted) >= 10 * len(operations)


def fuzz(
    operation: Any, url: str, headers: dict[str, str], real: dict[str, str], counted: list[str]
) -> None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    def run(case: Any) -> None:
        for name in case.path_parameters or {}:
            if len(counted) % 2:  # half of them name real resources, to get past the 404s
                case.path_parameters[name] = real[name]
        counted.append(operation.label)
        case.call_and_validate(base_url=url, headers=headers, checks=CHECKS)

    run()


async def test_every_tag_has_a_description(http: httpx.AsyncClient) -> None:
    """ReDoc and Swagger UI show a heading per tag: each should say what it groups."""
    document = (await http.get("/openapi.json")).json()
    used = {tag for ops in document["paths"].values() for op in ops.values() for tag in op["tags"]}
    described = {tag["name"]: tag.get("description", "") for tag in document["tags"]}
    assert used == set(described)
    assert all(len(text) > 20 for text in described.values()), described


async def test_health_and_ready_are_documented(http: httpx.AsyncClient) -> None:
    document = (await http.get("/openapi.json")).json()
    health = document["components"]["schemas"]["Health"]
    assert "version" in health["properties"]
    ready = document["paths"]["/ready"]["get"]["responses"]
    assert set(ready) == {"200", "503"}
    assert "Retry-After" in ready["503"]["headers"]
    assert set(document["paths"]["/health"]["get"]["responses"]) == {"200"}


async def test_each_operation_lists_its_own_errors_with_its_own_reasons(
    http: httpx.AsyncClient,
) -> None:
    """Issue 26, item 10: errors come from each operation's declaration (auth, body, query,
    path, idempotency, its own ``errors``), not one list for all."""
    paths = (await http.get("/openapi.json")).json()["paths"]

    def errors(path: str, method: str) -> dict[str, str]:
        responses = paths[path][method]["responses"]
        return {s: r["description"] for s, r in responses.items() if s[0] in "45"}

    org = errors("/api/organizations/create", "post")
    assert "402" not in org and "504" not in org
    assert "organization with this id exists" in org["409"]
    assert "job" not in org["409"] and "model" not in org["403"]
    assert "admin key" in org["403"] and "admin key" in org["401"]
    health = errors("/health", "get")
    assert health == {}
    balance = errors("/api/credits/balance", "get")
    assert set(balance) == {"401", "403", "429", "503"}  # no body, no query, no path
    call = errors("/api/jobs/{job_id}/llm-call", "post")
    assert {"402", "409", "415", "429", "502", "504"} <= set(call)
    assert "the job is closed" in call["409"] and "Idempotency-Key" in call["409"]
    assert "no such job" in call["404"]
    team = errors("/api/teams/{team_id}/usage", "get")
    assert "another team's virtual key" in team["403"] and "no such team" in team["404"]
    for path, methods in paths.items():
        for op in methods.values():
            for status, response in op["responses"].items():
                text = response["description"]
                if "the job is closed" in text:
                    assert "job" in path or "X-Job-Id" in text or path.startswith("/v1"), path
                if status == "402":
                    assert "job" in path or path.startswith("/v1"), path
