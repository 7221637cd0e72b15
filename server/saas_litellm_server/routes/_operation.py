"""Routes built from the endpoint table.

Each endpoint is declared once, in ``saas_litellm_models.endpoints`` (path, method, auth,
idempotency, query, body and response models, errors). :func:`api_route` turns a row and a
handler into a Starlette route that authorizes, validates the path, parses the query and the
body, applies the Idempotency-Key and renders the result, all from the row; ``_openapi`` builds
the OpenAPI document from the same rows. A handler gets an :class:`APIRequest` and returns a
shared model (or, for an event stream, an async generator of events): it re-declares nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import BaseModel
from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from saas_litellm_models import (
    DELIVERY_ID_PATTERN,
    IDENTIFIER_PATTERN,
    JOB_ID_PATTERN,
    KEY_ID_PATTERN,
    MAX_ID_LENGTH,
    OPERATOR_ID_PATTERN,
    RESERVED_NAME_PATTERN,
    TEAM_ID_PATTERN,
    WEBHOOK_ID_PATTERN,
)
from saas_litellm_models.endpoints import Endpoint

from .._responses import json_response
from .._runtime import Runtime, TeamContext
from ..errors import NotFound, ValidationFailed
from ..services import idempotency
from ..services.audit import Operator
from ..store import DatabaseUnavailable
from ._auth import Auth, Principal, authorize, require_role
from ._http import parse_body, parse_query, runtime
from ._idempotency import idempotent
from ._sse import EventStreamResponse

if TYPE_CHECKING:  # the handle handlers pass to services; routes run no SQL themselves
    from ..store import Database

__all__ = [
    "APIRequest",
    "APIRoute",
    "Auth",
    "Handler",
    "Reissue",
    "api_route",
    "path_param_names",
    "path_schema",
]

B = TypeVar("B")
Q = TypeVar("Q")

_PATH_PARAMS: dict[str, tuple[re.Pattern[str], str, dict[str, Any]]] = {
    # name: (what a value must match, what it names, its OpenAPI schema)
    "job_id": (re.compile(JOB_ID_PATTERN), "job", {"type": "string", "format": "uuid"}),
    "call_id": (re.compile(JOB_ID_PATTERN), "call", {"type": "string", "format": "uuid"}),
    "team_id": (
        re.compile(TEAM_ID_PATTERN),
        "team",
        {"type": "string", "pattern": TEAM_ID_PATTERN, "maxLength": MAX_ID_LENGTH},
    ),
    "model_alias": (
        re.compile(r"[^\x00-\x1f\x7f]{1,200}"),  # no control character: none can be stored
        "model alias",
        {"type": "string", "maxLength": 200},
    ),
    "organization_id": (
        re.compile(IDENTIFIER_PATTERN),
        "organization",
        {"type": "string", "pattern": IDENTIFIER_PATTERN, "maxLength": MAX_ID_LENGTH},
    ),
    "group_name": (
        re.compile(IDENTIFIER_PATTERN),
        "model access group",
        {"type": "string", "pattern": IDENTIFIER_PATTERN, "maxLength": MAX_ID_LENGTH},
    ),
    "key_id": (
        re.compile(KEY_ID_PATTERN),
        "key",
        {"type": "string", "pattern": KEY_ID_PATTERN},
    ),
    "webhook_id": (
        re.compile(WEBHOOK_ID_PATTERN),
        "webhook",
        {"type": "string", "pattern": WEBHOOK_ID_PATTERN},
    ),
    "operator_id": (
        re.compile(OPERATOR_ID_PATTERN),
        "operator",
        {"type": "string", "pattern": OPERATOR_ID_PATTERN},
    ),
    "delivery_id": (
        re.compile(DELIVERY_ID_PATTERN),
        "delivery",
        {"type": "string", "pattern": DELIVERY_ID_PATTERN},
    ),
}


def path_schema(name: str) -> dict[str, Any]:
    return _PATH_PARAMS[name][2] if name in _PATH_PARAMS else {"type": "string"}


def path_param_names(name: str) -> str:
    """What a path parameter names (``job_id`` → ``job``), for error descriptions."""
    return _PATH_PARAMS[name][1] if name in _PATH_PARAMS else name.removesuffix("_id")


@dataclass(frozen=True)
class APIRequest(Generic[B, Q]):
    """What a handler gets: the request, parsed as its endpoint declares — runtime,
    principal, path, query and body — and its hold on its Idempotency-Key (``claim``: for the
    handlers that keep their response themselves, ``keeps_own_response``)."""

    request: Request
    runtime: Runtime
    principal: Principal
    path: dict[str, str]
    query: Q
    body: B
    claim: idempotency.Claim | None = None
    replica: Database | None = None
    """The endpoint reads the replica (``api_route(…, replica=True)``): the database its reads
    go to (``runtime.reads()``: the replica, or the primary while the replica is down)."""
    csv: bool = False
    """``?format=csv`` on an endpoint declared ``csv``: the handler answers a CSV
    :class:`~starlette.responses.Response` (``routes._csv``) instead of its model."""

    @property
    def team(self) -> TeamContext:
        """The calling team (only for ``team`` operations)."""
        assert self.principal.team is not None
        return self.principal.team

    @property
    def db(self) -> Database:
        """The primary; on a ``replica=True`` endpoint, the replica (``read_db``)."""
        return self.replica if self.replica is not None else self.runtime.db

    @property
    def operator(self) -> Operator:
        """Who makes an admin change, and when (for the audit log)."""
        return Operator(self.principal.actor, self.runtime.clock())


Handler = Callable[[APIRequest[Any, Any]], Awaitable[Any]]
Reissue = Callable[["Database", str, Operator], Awaitable[str]]
"""Gives a replay the field its endpoint never keeps (``unkept_field``: a new virtual key)."""


class _Segment(Convertor[str]):
    """A path parameter that is never one of the API's own action words (``create``,
    ``create-and-call``…; ids cannot be one, see ``RESERVED_NAME_PATTERN``): ``GET
    /api/jobs/create`` is then a wrong method on a known path (405 with ``Allow``), not a
    look-up of a job called "create"."""

    regex = rf"(?!{RESERVED_NAME_PATTERN}(?:/|$))[^/]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


class _Name(_Segment):
    """A last path parameter that may hold ``/`` (a model alias such as ``openai/gpt-4o``)."""

    # ``(?s:…)``: a trailing newline is part of the value (and refused by its pattern), not
    # dropped by the route's ``$``, which would otherwise match "A1\n" as "A1"
    regex = rf"(?!{RESERVED_NAME_PATTERN}$)(?s:.+)"


register_url_convertor("segment", _Segment())
register_url_convertor("name", _Name())
_CONVERTORS = {"model_alias": "name"}
_PARAM = re.compile(r"{(\w+)}")


def _path(request: Request) -> dict[str, str]:
    """The path parameters; one that cannot name anything is a 404 (nobody learns more)."""
    path = {name: str(value) for name, value in request.path_params.items()}
    for name, value in path.items():
        pattern, what, _ = _PATH_PARAMS.get(name, (None, name, {}))
        if pattern is not None and (len(value) > 256 or not pattern.fullmatch(value)):
            raise NotFound(f"{what} {value[:64]!r} not found")
    return path


def _wants_csv(request: Request, op: Endpoint[Any]) -> bool:
    """Whether the request asks for CSV (``?format=csv``, on an endpoint declared ``csv``)."""
    if not op.csv:
        return False
    value = request.query_params.get("format", "").strip()
    if value not in ("", "json", "csv"):
        raise ValidationFailed(f"format: {value[:40]!r} is not json or csv", param="format")
    return value == "csv"


def _without(field: str) -> Callable[[bytes], str]:
    def keep(body: bytes) -> str:
        data = json.loads(body)
        data.pop(field, None)
        return json.dumps(data)

    return keep


def api_route(
    declaration: Endpoint[Any],
    handler: Handler,
    *,
    reissue: Reissue | None = None,
    replica: bool = False,
) -> APIRoute:
    """The route of ``declaration`` (a row of the endpoint table), answered by ``handler``.

    ``replica``: the handler's ``req.db`` is the read replica (``SAAS_LITELLM_READ_DATABASE_URL``,
    the primary when unset), for reads that may lag a little: lists and usage. Authentication
    always reads the primary, and so does every other endpoint: calls, balances, changes, and
    look-ups by id that a client makes right after a write (``GET /api/jobs/{job_id}``)."""
    op = declaration
    if (reissue is None) != (op.unkept_field is None):
        raise TypeError(f"{op}: an unkept_field needs a reissue, and only one does")
    if replica and op.method != "GET":
        raise TypeError(f"{op}: only a GET endpoint may read the replica")

    async def endpoint(request: Request) -> Response | EventStreamResponse:
        raw_path = {name: str(value) for name, value in request.path_params.items()}
        principal = await authorize(request, op.auth, raw_path)
        csv = _wants_csv(request, op)
        need = op.role_for_format(csv)
        if need is not None:
            require_role(principal, need)
        path = _path(request)
        query = parse_query(request, op.query) if op.query is not None else None
        rt = runtime(request)

        async def run(claim: idempotency.Claim | None) -> Any:
            body = (
                await parse_body(request, op.body, optional=op.body_optional)
                if op.body is not None
                else None
            )
            if op.role_fields and isinstance(body, BaseModel):
                # what this body changes may need more than the endpoint's least role
                role = op.role_for(body.model_fields_set)
                if role is not None:
                    require_role(principal, role)
            if not replica:
                result = await handler(
                    APIRequest(request, rt, principal, path, query, body, claim, csv=csv)
                )
            else:
                reads = rt.reads()
                try:
                    result = await handler(
                        APIRequest(request, rt, principal, path, query, body, claim, reads, csv)
                    )
                except DatabaseUnavailable:
                    if not rt.replica_failed(reads):
                        raise
                    # the replica is away: the same read from the primary (a GET: safe)
                    result = await handler(
                        APIRequest(request, rt, principal, path, query, body, claim, rt.db, csv)
                    )
            if op.auth == "admin" and op.method != "GET":
                rt.forget_catalog()  # this process sees an admin change at once
            if isinstance(result, (Response, EventStreamResponse)):
                return result
            if isinstance(result, AsyncIterator):
                return EventStreamResponse(result)  # type: ignore[arg-type]  # closable
            return json_response(result, op.status)

        if not op.idempotent:
            return await run(None)  # type: ignore[no-any-return]
        return await idempotent(
            request,
            principal.scope,
            run,
            store=_without(op.unkept_field) if op.unkept_field else bytes.decode,
            replay=(
                (lambda kept: reissue(rt.db, kept, Operator(principal.actor, rt.clock())))
                if reissue is not None
                else None
            ),
            transaction=not (op.keeps_own_response or op.stream),
            vary=op.vary,
        )

    return APIRoute(declaration, endpoint, replica=replica)


class APIRoute(Route):
    """A route that carries its row of the endpoint table (read by ``_openapi``) and whether it
    reads the replica."""

    def __init__(
        self,
        declaration: Endpoint[Any],
        endpoint: Callable[[Request], Awaitable[Any]],
        *,
        replica: bool = False,
    ) -> None:
        super().__init__(
            _PARAM.sub(
                lambda m: f"{{{m[1]}:{_CONVERTORS.get(m[1], 'segment')}}}", declaration.path
            ),
            endpoint,
            methods=[declaration.method],
        )
        self.declaration = declaration
        self.replica = replica
