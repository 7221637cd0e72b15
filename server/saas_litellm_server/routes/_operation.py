"""Routes that describe themselves: each API route carries an :class:`Operation` (auth, request
and response models, errors, query parameters) from which ``_openapi`` builds the OpenAPI
document. The models are those of ``saas_litellm_models``, so the document cannot drift from the
code that validates requests and the SDK that parses responses."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel
from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request
from starlette.routing import Route

__all__ = ["Auth", "Operation", "QueryParam", "api_route"]

Auth = Literal["admin", "team", "team_or_admin", "none"]


@dataclass(frozen=True)
class QueryParam:
    name: str
    schema: dict[str, Any]
    description: str


@dataclass(frozen=True)
class Operation:
    summary: str
    auth: Auth
    tag: str
    response: type[BaseModel] | None
    status: int = 200
    body: type[BaseModel] | None = None
    errors: tuple[int, ...] = ()
    query: tuple[QueryParam, ...] = ()
    sse: bool = False
    idempotent: bool = False
    description: str = ""
    extra_responses: dict[int, str] = field(default_factory=dict)


class _Segment(Convertor[str]):
    """A path parameter that is never one of the API's own action words (``create``,
    ``create-and-call``…): ``GET /api/jobs/create`` is then a wrong method on a known path (405
    with ``Allow``), not a look-up of a job called "create"."""

    regex = r"(?!create(?:-[a-z-]+)?(?:/|$))[^/]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("segment", _Segment())
_PARAM = re.compile(r"{(\w+)}")


def api_route(
    path: str, endpoint: Callable[[Request], Awaitable[Any]], method: str, operation: Operation
) -> Route:
    route = Route(_PARAM.sub(r"{\1:segment}", path), endpoint, methods=[method])
    route.operation = operation  # type: ignore[attr-defined]
    return route
