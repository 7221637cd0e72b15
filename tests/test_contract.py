"""The SDK against the server's OpenAPI document: one contract, checked both ways.

Every endpoint is declared once, in ``saas_litellm_models.endpoints``: the server builds its
routes and document from that table, the SDK's endpoint methods are generated from it and its
request layer sends from it. This module checks that what each side built agrees:

- every public method of every client class calls exactly one declared endpoint (run through a
  recording ``_prepare``: nothing is sent), with the path, query, body and ``Idempotency-Key``
  its declaration says;
- every declared endpoint is an operation of the server's OpenAPI document, with the same
  method and path, the same request model (its fields a subset of the operation's body schema,
  the schema's required ones required by the model), the same response model, query parameters
  the operation takes, and an ``Idempotency-Key`` exactly when the operation honours one;
- every operation of the document has an SDK method, unless it is listed in
  :data:`SERVER_ONLY` with the reason.

The synchronous clients are checked with the same calls as the async ones (:data:`SURFACES`
holds both): a method of one that the other lacks, or that calls another endpoint, fails here.
To check another client class, add a :class:`Surface` to :data:`SURFACES`.
"""

from __future__ import annotations

import asyncio
import inspect
import re
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from saas_litellm_client import (
    JobHandle,
    SaasLiteLLMAdminClient,
    SaasLiteLLMClient,
    SaasLiteLLMSyncAdminClient,
    SaasLiteLLMSyncClient,
    SyncJobHandle,
)
from saas_litellm_client._core import ClientCore, _Call
from saas_litellm_models import (
    MAX_IDEMPOTENCY_KEY_LENGTH,
    TEAM_ID_PATTERN,
    Job,
    RequestModel,
)
from saas_litellm_models.endpoints import ENDPOINTS, STREAM_EVENTS, Endpoint
from saas_litellm_server._settings import Settings
from saas_litellm_server.app import create_app

SERVER_ONLY = {
    ("GET", "/health"): "liveness probe for load balancers and orchestrators, not an API call",
    ("GET", "/ready"): "readiness probe for load balancers and orchestrators, not an API call",
    ("GET", "/v1/models"): "called by the openai SDK, not ours",
    ("POST", "/v1/chat/completions"): "called by the openai SDK, not ours",
    ("POST", "/v1/embeddings"): "called by the openai SDK, not ours",
    ("POST", "/v1/messages"): "called by the anthropic SDK, not ours",
    ("POST", "/v1/responses"): "called by the openai SDK (its Responses API), not ours",
}
"""Operations of the OpenAPI document that no SDK method calls, and why. (``/openapi.json``,
``/docs`` and ``/redoc`` serve the document itself and are not operations in it.)"""

MESSAGES = [{"role": "user", "content": "hi"}]


class Person(BaseModel):
    name: str


def _job() -> Job:
    return Job.model_validate(
        {
            "job_id": "job_123",
            "team_id": "acme-corp",
            "job_type": "x",
            "status": "pending",
            "created_at": "2026-01-01T00:00:00Z",
        }
    )


async def _aenter(context: Any) -> None:
    async with context:
        pass


def _enter(context: Any) -> Awaitable[None] | None:
    """Enter and leave ``context``: an async one (a coroutine to await) or a synchronous one."""
    if hasattr(context, "__aenter__"):
        return _aenter(context)
    with context:
        return None


async def _run(run: Run, client: Any) -> None:
    """Run one method of an async client (awaited) or of a synchronous one."""
    result = run(client)
    if inspect.isawaitable(result):
        await result


Run = Callable[[Any], object]
WEBHOOK_ID = "wh_0123456789abcdef01234567"
OPERATOR_ID = "op_0123456789abcdef01234567"


@dataclass(frozen=True)
class Surface:
    """One client class: how to build one, and how to run each of its public methods."""

    cls: type
    make: Callable[[], Any]
    calls: dict[str, Run]
    """Every public method that calls the API, with arguments that make it do so."""
    not_calls: dict[str, str]
    """Public methods that call no endpoint, and why."""


def _team_client() -> SaasLiteLLMClient:
    return SaasLiteLLMClient("http://api.test", "acme-corp", "sk-test")


def _sync_team_client() -> SaasLiteLLMSyncClient:
    return SaasLiteLLMSyncClient("http://api.test", "acme-corp", "sk-test")


LLM_CALLS: dict[str, Run] = {
    "llm_call": lambda c: c.llm_call(job_id="job_123", messages=MESSAGES),
    "embeddings": lambda c: c.embeddings(job_id="job_123", input=["a", "b"], model="Embed"),
    "stream": lambda c: _enter(c.stream(job_id="job_123", messages=MESSAGES)),
    "structured_call": lambda c: c.structured_call(
        job_id="job_123", messages=MESSAGES, response_model=Person
    ),
    "stream_structured": lambda c: _enter(
        c.stream_structured(job_id="job_123", messages=MESSAGES, response_model=Person)
    ),
}
LIFECYCLE = {
    "close": "releases the connection pool",
    "with_options": "a copy of the client with other defaults",
}

SURFACES = [
    Surface(
        SaasLiteLLMClient,
        _team_client,
        {
            "create_job": lambda c: c.create_job("x", limits={"max_tokens": 100}),
            "job": lambda c: _enter(c.job("x", limits={"max_credits": 3})),
            "get_job": lambda c: c.get_job("job_123"),
            "get_call": lambda c: c.get_call("job_123", "call_1"),
            "complete_job": lambda c: c.complete_job("job_123"),
            **LLM_CALLS,
            "create_and_call": lambda c: c.create_and_call("chat", messages=MESSAGES),
            "create_and_call_stream": lambda c: _enter(
                c.create_and_call_stream("chat", messages=MESSAGES, metadata={"a": 1})
            ),
            "get_balance": lambda c: c.get_balance(),
            "get_usage": lambda c: c.get_usage(),
            "list_jobs": lambda c: c.list_jobs(status="completed", cursor="x"),
            "list_transactions": lambda c: c.list_transactions(kind="charge", cursor="x"),
        },
        LIFECYCLE,
    ),
    Surface(
        SaasLiteLLMAdminClient,
        lambda: SaasLiteLLMAdminClient("http://api.test", "sk-admin"),
        {
            "create_organization": lambda c: c.create_organization("org", "Org"),
            "create_model_access_group": lambda c: c.create_model_access_group("g"),
            "create_model_alias": lambda c: c.create_model_alias(
                "M", deployments=[{"provider": "mock", "model": "m"}]
            ),
            "get_model_alias": lambda c: c.get_model_alias("M"),
            "create_team": lambda c: c.create_team(
                "org", "acme-corp", budget_mode="consumption_tokens", tokens_per_credit=1000
            ),
            "get_team": lambda c: c.get_team("acme-corp"),
            "add_credits": lambda c: c.add_credits("acme-corp", 5),
            "adjust_credits": lambda c: c.adjust_credits("acme-corp", -5, reason="refund"),
            "rotate_key": lambda c: c.rotate_key("acme-corp", grace_seconds=60),
            "set_limits": lambda c: c.set_limits("acme-corp", rpm_limit=60),
            "set_auto_refill": lambda c: c.set_auto_refill("acme-corp", 100, "monthly"),
            "delete_auto_refill": lambda c: c.delete_auto_refill("acme-corp"),
            "list_transactions": lambda c: c.list_transactions("acme-corp", kind="refill"),
            "suspend_team": lambda c: c.suspend_team("acme-corp"),
            "resume_team": lambda c: c.resume_team("acme-corp"),
            "get_team_usage": lambda c: c.get_team_usage("acme-corp"),
            "list_team_jobs": lambda c: c.list_team_jobs("acme-corp", status="failed"),
            "list_organizations": lambda c: c.list_organizations(limit=5, cursor="x"),
            "get_organization": lambda c: c.get_organization("org"),
            "get_organization_usage": lambda c: c.get_organization_usage("org"),
            "get_usage_report": lambda c: c.get_usage_report(group_by="model"),
            "list_model_access_groups": lambda c: c.list_model_access_groups(cursor="x"),
            "list_model_aliases": lambda c: c.list_model_aliases(access_group="g"),
            "list_teams": lambda c: c.list_teams(organization_id="org", status="active"),
            "list_jobs": lambda c: c.list_jobs(
                team_id="t", job_type="x", status="failed", model="M", has_errors=True
            ),
            "get_call": lambda c: c.get_call("job_123", "call_1"),
            "update_team": lambda c: c.update_team(
                "acme-corp",
                team_alias=None,
                access_groups=["g"],
                metadata={"a": 1},
                budget_mode="consumption_usd",
                credits_per_dollar=100.0,
                low_balance_threshold=None,
            ),
            "delete_team": lambda c: c.delete_team("acme-corp"),
            "update_organization": lambda c: c.update_organization("org", name="Org"),
            "delete_organization": lambda c: c.delete_organization("org"),
            "update_model_access_group": lambda c: c.update_model_access_group(
                "g", description=None
            ),
            "delete_model_access_group": lambda c: c.delete_model_access_group("g"),
            "update_model_alias": lambda c: c.update_model_alias(
                "openai/gpt-4o", deployments=[{"provider": "mock", "model": "m"}]
            ),
            "delete_model_alias": lambda c: c.delete_model_alias("openai/gpt-4o"),
            "create_key": lambda c: c.create_key("acme-corp", name="ci"),
            "list_keys": lambda c: c.list_keys("acme-corp"),
            "revoke_key": lambda c: c.revoke_key("acme-corp", "key_0123456789abcdef01234567"),
            "list_audit_log": lambda c: c.list_audit_log(actor="admin-key", cursor="x"),
            "create_webhook": lambda c: c.create_webhook(
                "https://hooks.example.com/x", ["job.completed"], organization_id="org"
            ),
            "list_webhooks": lambda c: c.list_webhooks(limit=5, cursor="x"),
            "delete_webhook": lambda c: c.delete_webhook(WEBHOOK_ID),
            "list_webhook_deliveries": lambda c: c.list_webhook_deliveries(
                WEBHOOK_ID, status="failed", cursor="x"
            ),
            "retry_webhook_delivery": lambda c: c.retry_webhook_delivery(
                WEBHOOK_ID, "msg_0123456789abcdef01234567"
            ),
            "test_webhook": lambda c: c.test_webhook(WEBHOOK_ID),
            "create_operator": lambda c: c.create_operator("Ann", "billing"),
            "list_operators": lambda c: c.list_operators(limit=5, cursor="x"),
            "update_operator": lambda c: c.update_operator(OPERATOR_ID, role="viewer"),
            "delete_operator": lambda c: c.delete_operator(OPERATOR_ID),
            "rotate_operator_key": lambda c: c.rotate_operator_key(OPERATOR_ID),
        },
        LIFECYCLE,
    ),
    Surface(
        JobHandle,
        lambda: JobHandle(_team_client(), _job()),
        {
            "llm_call": lambda h: h.llm_call(messages=MESSAGES),
            "embeddings": lambda h: h.embeddings(input="a", dimensions=4),
            "stream": lambda h: _enter(h.stream(messages=MESSAGES)),
            "structured_call": lambda h: h.structured_call(
                messages=MESSAGES, response_model=Person
            ),
            "stream_structured": lambda h: _enter(
                h.stream_structured(messages=MESSAGES, response_model=Person)
            ),
            "get": lambda h: h.get(),
            "complete": lambda h: h.complete(),
        },
        {},
    ),
]
SURFACES += [
    replace(SURFACES[0], cls=SaasLiteLLMSyncClient, make=_sync_team_client),
    replace(
        SURFACES[1],
        cls=SaasLiteLLMSyncAdminClient,
        make=lambda: SaasLiteLLMSyncAdminClient("http://api.test", "sk-admin"),
    ),
    replace(
        SURFACES[2], cls=SyncJobHandle, make=lambda: SyncJobHandle(_sync_team_client(), _job())
    ),
]


# -- the server's document ------------------------------------------------------------------


@pytest.fixture(scope="module")
def openapi() -> dict[str, Any]:
    async def fetch() -> dict[str, Any]:
        app = create_app(Settings(database_url="sqlite:///:memory:", _env_file=None))
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://localhost"
            ) as client:
                response = await client.get("/openapi.json")
        response.raise_for_status()
        document: dict[str, Any] = response.json()
        return document

    return asyncio.run(fetch())


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield method.upper(), path, operation


def _operation(document: dict[str, Any], endpoint: Endpoint[Any]) -> dict[str, Any]:
    operation: dict[str, Any] | None = (
        document["paths"].get(endpoint.path, {}).get(endpoint.method.lower())
    )
    assert operation is not None, f"{endpoint}: no such operation in the server's OpenAPI"
    return operation


def _ref_name(schema: dict[str, Any]) -> str:
    ref: str = schema["$ref"]
    return ref.rsplit("/", 1)[-1]


def _honours_idempotency_key(operation: dict[str, Any]) -> bool:
    header = any(
        p["in"] == "header" and p["name"] == "Idempotency-Key" for p in operation["parameters"]
    )
    replayed = any(
        "Idempotent-Replayed" in response.get("headers", {})
        for status, response in operation["responses"].items()
        if status.startswith("2")
    )
    assert header == replayed, "Idempotency-Key documented without Idempotent-Replayed"
    return header


def _success(operation: dict[str, Any]) -> dict[str, Any]:
    statuses = [s for s in operation["responses"] if s.startswith("2")]
    assert len(statuses) == 1, statuses
    content: dict[str, Any] = operation["responses"][statuses[0]]["content"]
    return content


# -- the SDK's side: which endpoint each method calls ----------------------------------------


class _Recorded(Exception):
    """Raised instead of sending: the call was resolved and recorded."""


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Endpoint[Any], _Call]]:
    recorded: list[tuple[Endpoint[Any], _Call]] = []
    prepare = ClientCore._prepare

    def record(self: ClientCore, endpoint: Endpoint[Any], *args: Any, **kwargs: Any) -> _Call:
        call = prepare(self, endpoint, *args, **kwargs)
        recorded.append((endpoint, call))
        raise _Recorded

    monkeypatch.setattr(ClientCore, "_prepare", record)
    return recorded


def _public_methods(cls: type) -> set[str]:
    return {
        name
        for name, member in inspect.getmembers(cls)
        if not name.startswith("_") and inspect.isfunction(member)
    }


def _template(endpoint: Endpoint[Any]) -> re.Pattern[str]:
    """The paths ``endpoint`` stands for: each ``{param}`` one non-empty segment."""
    return re.compile(re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(endpoint.path)))


@pytest.mark.parametrize("surface", SURFACES, ids=[s.cls.__name__ for s in SURFACES])
def test_every_public_method_is_accounted_for(surface: Surface) -> None:
    listed = set(surface.calls) | set(surface.not_calls)
    assert _public_methods(surface.cls) == listed, (
        "a public method without an entry in SURFACES (add it to calls, or to not_calls with "
        "the reason), or an entry for a method that is gone"
    )


def _cases() -> Iterator[Any]:
    for surface in SURFACES:
        for name, run in surface.calls.items():
            yield pytest.param(surface, run, id=f"{surface.cls.__name__}.{name}")


@pytest.mark.parametrize(("surface", "run"), list(_cases()))
async def test_each_method_calls_one_declared_endpoint_as_declared(
    surface: Surface, run: Run, recorder: list[tuple[Endpoint[Any], _Call]]
) -> None:
    with pytest.raises(_Recorded):
        await _run(run, surface.make())

    assert len(recorder) == 1
    endpoint, call = recorder[0]
    assert any(endpoint is declared for declared in ENDPOINTS), f"{endpoint} not in ENDPOINTS"
    assert call.method == endpoint.method
    raw_path = httpx.URL(call.url).raw_path.decode().partition("?")[0]
    assert _template(endpoint).fullmatch(raw_path), call.url
    query = set(httpx.URL(call.url).params)
    assert query <= _query_names(endpoint)
    assert ("Idempotency-Key" in call.headers) == endpoint.idempotent
    if endpoint.body is None:
        assert call.json is None
    else:
        fields = {f.alias or name for name, f in endpoint.body.model_fields.items()}
        assert set(call.json) <= fields


def test_every_declared_endpoint_is_called_by_some_method(
    recorder: list[tuple[Endpoint[Any], _Call]],
) -> None:
    async def run_all() -> None:
        for surface in SURFACES:
            for run in surface.calls.values():
                with pytest.raises(_Recorded):
                    await _run(run, surface.make())

    asyncio.run(run_all())
    used = {id(endpoint) for endpoint, _ in recorder}
    unused = [
        str(e) for e in ENDPOINTS if id(e) not in used and (e.method, e.path) not in SERVER_ONLY
    ]
    assert unused == [], "declared endpoints no SDK method calls"
    assert {(e.method, e.path) for e in ENDPOINTS if not e.sdk} == set(SERVER_ONLY)


def test_every_method_the_table_names_is_on_its_clients() -> None:
    clients = {
        "team": (SaasLiteLLMClient, SaasLiteLLMSyncClient),
        "admin": (SaasLiteLLMAdminClient, SaasLiteLLMSyncAdminClient),
    }
    for endpoint in ENDPOINTS:
        for method in endpoint.sdk:
            for cls in clients[method.client]:
                assert method.name in _public_methods(cls), f"{cls.__name__}.{method.name}"


# -- the table against the document ---------------------------------------------------------


def test_the_document_has_exactly_the_tables_endpoints(openapi: dict[str, Any]) -> None:
    assert {(m, p) for m, p, _ in _operations(openapi)} == {(e.method, e.path) for e in ENDPOINTS}


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_endpoint_matches_the_operation(endpoint: Endpoint[Any], openapi: dict[str, Any]) -> None:
    operation = _operation(openapi, endpoint)
    schemas = openapi["components"]["schemas"]

    # Idempotency-Key: sent exactly where honoured
    assert endpoint.idempotent == _honours_idempotency_key(operation)

    # path and query parameters
    params = {p["name"]: p for p in operation["parameters"]}
    in_path = {name for name, p in params.items() if p["in"] == "path"}
    assert set(endpoint.path_params) == in_path
    in_query = {name for name, p in params.items() if p["in"] == "query"}
    assert _query_names(endpoint) == in_query

    # request body
    body = operation.get("requestBody")
    if endpoint.body is None:
        assert body is None
    else:
        assert body is not None, f"{endpoint} sends a body the operation does not take"
        schema_ref = body["content"]["application/json"]["schema"]
        assert _ref_name(schema_ref) == endpoint.body.__name__
        _check_request_fields(endpoint.body, schemas[_ref_name(schema_ref)])

    # response
    content = _success(operation)
    if endpoint.openai or endpoint.anthropic:
        assert endpoint.response is not None
        assert _ref_name(content["application/json"]["schema"]) == endpoint.response.__name__
    elif endpoint.stream:
        events = content["text/event-stream"]["schema"]["properties"]["data"]["contentSchema"]
        assert {_ref_name(s) for s in events["oneOf"]} == {m.__name__ for m in STREAM_EVENTS}
        assert endpoint.response is None
    else:
        assert endpoint.response is not None
        assert _ref_name(content["application/json"]["schema"]) == endpoint.response.__name__


def _query_names(endpoint: Endpoint[Any]) -> set[str]:
    names = set() if endpoint.query is None else set(endpoint.query.model_fields)
    return names | {"format"} if endpoint.csv else names  # CSV: for browsers, not the SDK


def _check_request_fields(model: type[RequestModel], schema: dict[str, Any]) -> None:
    fields = {f.alias or name: f for name, f in model.model_fields.items()}
    assert set(fields) <= set(schema["properties"]), "fields the server does not take"
    for name in schema.get("required", []):
        assert name in fields and fields[name].is_required(), f"{name} is required by the server"


def test_shared_patterns_are_what_the_document_says(openapi: dict[str, Any]) -> None:
    for _, path, operation in _operations(openapi):
        for param in operation["parameters"]:
            if param["name"] == "team_id":
                assert param["schema"]["pattern"] == TEAM_ID_PATTERN, path
            if param["name"] == "Idempotency-Key":
                assert param["schema"]["maxLength"] == MAX_IDEMPOTENCY_KEY_LENGTH, path
