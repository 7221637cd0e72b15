"""The OpenAPI 3.1 document, built from the routes' rows of the endpoint table and the shared
models."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from starlette.routing import BaseRoute

from saas_litellm_models import (
    AnthropicErrorResponse,
    ChatCompletionChunk,
    ContentBlockDelta,
    ContentBlockStart,
    ContentBlockStop,
    ErrorResponse,
    MessageDelta,
    MessageStart,
    MessageStop,
    OpenAIErrorResponse,
    StreamChunk,
    StreamDone,
    StreamErrorEvent,
)
from saas_litellm_models.endpoints import EXPORT_ROLE, Endpoint

from ._operation import APIRoute, path_param_names, path_schema

__all__ = ["TAGS", "build_openapi"]

_REF = "#/components/schemas/{model}"
_401 = {
    "admin": "authentication_error: no admin key, or a wrong one (or an unknown, removed or "
    "rotated-away operator key)",
    "team": "authentication_error: no virtual key, or a wrong, revoked or expired one",
    "team_or_admin": "authentication_error: no key, or one that is neither the admin key, an "
    "operator's nor a team's",
}
_403 = {
    "admin": "permission_denied: a team's virtual key (the admin key is needed), or an "
    "operator key whose role is less than the operation's x-required-role",
    "team": "permission_denied: the admin key or an operator key (they never act as a team), "
    "or a suspended team",
    "team_or_admin": "permission_denied: another team's virtual key",
}
_OPENAI_BODY = " (OpenAI's shape; `code` is our error type)"
_ANTHROPIC_BODY = " (Anthropic's shape; `error.code` is our error type)"
_ANTHROPIC_EVENTS = (
    MessageStart,
    ContentBlockStart,
    ContentBlockDelta,
    ContentBlockStop,
    MessageDelta,
    MessageStop,
    AnthropicErrorResponse,
)


def _errors(op: Endpoint[Any], path_params: list[str]) -> dict[int, str]:
    """Every error ``op`` can answer with, each with the reasons it has for it: those its
    declaration implies, then its own (``Endpoint.errors``)."""
    reasons: dict[int, list[str]] = {}

    def add(status: int, text: str) -> None:
        reasons.setdefault(status, []).append(text)

    if op.auth != "none":
        add(401, _401[op.auth])
        add(403, _403[op.auth])
        add(429, "rate_limited: too many failed authentications from this address; see Retry-After")
        add(503, "service_unavailable: the database is unavailable; see Retry-After")
    if op.body is not None:
        add(400, "invalid_request: the body is not a JSON object")
        add(413, "request_too_large: the body exceeds the size limit")
        add(415, "unsupported_media_type: the body is not sent as application/json")
        add(422, "validation_error: the body does not match the schema")
    if op.query is not None:
        add(400, "invalid_request: a malformed cursor")
        add(422, "validation_error: a query parameter does not match the schema")
    for name in path_params:
        add(404, f"not_found: no such {path_param_names(name)}")
    if op.idempotent:
        add(409, "conflict: a request with this Idempotency-Key is still being processed")
        add(422, "validation_error: the Idempotency-Key was used with another request")
    for status, text in op.errors:
        add(status, text)
    if op.anthropic and 422 in reasons:  # Anthropic answers a body that does not validate 400
        reasons.setdefault(400, []).extend(reasons.pop(422))
    out = {}
    for status, texts in reasons.items():
        kind = texts[0].split(":", 1)[0]
        whys = [t.split(": ", 1)[1] if t.startswith(f"{kind}: ") else t for t in texts]
        out[status] = f"{kind}: " + "; or ".join(dict.fromkeys(whys))
    return out


TAGS = {
    "jobs": "A job groups the LLM calls of one business operation: create it (reserves a "
    "credit), make calls (plain or streamed), then complete it (spends the credit) or fail it "
    "(releases it).",
    "credits": "A team's credit balance and its usage analytics per job type.",
    "admin": "Organizations, teams and their keys and credits, model access groups and model "
    "aliases. Admin key (or an operator key of the role each operation needs) required.",
    "operators": "The people (or programs) that run the server, each with a role and a key of "
    "its own (`sk-op-…`): viewer, billing, admin, owner. Every admin operation says the least "
    "role it needs in `x-required-role`; the admin key acts as an owner. Owners only.",
    "webhooks": "Endpoints the server POSTs events to (job.completed, team.suspended, …), "
    "signed as Standard Webhooks says, with their delivery log and redelivery. Admin key "
    "required.",
    "meta": "Liveness and readiness probes, for load balancers and orchestrators.",
    "anthropic": "Anthropic's Messages API: point the anthropic SDK at the server's root URL "
    "with the team's virtual key as its API key. Calls are bound to jobs and billed as on the "
    "OpenAI-compatible surface. Errors take Anthropic's shape.",
    "openai": "OpenAI-compatible: point the openai SDK (or anything built on it) at `/v1` with "
    "the team's virtual key as its API key. Models are the team's aliases; calls are recorded "
    "in the job named by `X-Job-Id`, or in a single-call job of their own. Errors take "
    "OpenAI's shape.",
}
"""Every tag an operation uses, with the description ReDoc and Swagger UI show under it."""

_HEADERS: dict[str, dict[str, Any]] = {
    "x-job-id": {
        "schema": {"type": "string", "format": "uuid"},
        "description": "Record the call in this open job of the team's (404 if it is none, 409 "
        "if it is closed); without it, the call is a single-call job of its own.",
    },
    "x-job-type": {
        "schema": {
            "type": "string",
            "maxLength": 100,
            "pattern": r"^[A-Za-z0-9][A-Za-z0-9_.:/-]*$",
            "default": "chat",
        },
        "description": "The job_type of the single-call job made without X-Job-Id.",
    },
}
"""The request headers an operation may take (``Endpoint.vary``)."""

_SECURITY: dict[str, list[dict[str, list[str]]]] = {
    "admin": [{"AdminKey": []}],
    "team": [{"VirtualKey": []}],
    "team_or_admin": [{"VirtualKey": []}, {"AdminKey": []}],
    "none": [],
}


def _schemas(operations: list[Endpoint[Any]]) -> tuple[dict[Any, Any], dict[str, Any]]:
    inputs = {op.body for op in operations if op.body is not None}
    outputs = {op.response for op in operations if op.response is not None}
    outputs |= {ErrorResponse, StreamChunk, StreamDone, StreamErrorEvent}
    if any(op.openai for op in operations):
        outputs |= {OpenAIErrorResponse, ChatCompletionChunk}
    outputs |= {event for op in operations for event in op.stream_events}
    if any(op.anthropic for op in operations):
        outputs |= set(_ANTHROPIC_EVENTS)
    pairs: list[tuple[type[BaseModel], Any]] = [(m, "validation") for m in inputs]
    pairs += [(m, "serialization") for m in outputs]
    refs, document = models_json_schema(pairs, ref_template=_REF)
    return refs, document.get("$defs", {})


def _error(
    status: int, description: str, *, openai: bool = False, anthropic: bool = False
) -> dict[str, Any]:
    body = "OpenAIErrorResponse" if openai else "ErrorResponse"
    if openai:
        description = description.split("; the body says")[0] + _OPENAI_BODY
    if anthropic:
        body = "AnthropicErrorResponse"
        description = description.split("; the body says")[0] + _ANTHROPIC_BODY
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": _REF.format(model=body)}}},
        "headers": {
            "X-Request-ID": {"schema": {"type": "string"}},
            "x-should-retry": {
                "schema": {"type": "string", "enum": ["true", "false"]},
                "description": "Whether a retry can help.",
            },
        },
    }
    if status in (429, 503):
        response["headers"]["Retry-After"] = {
            "schema": {"type": "integer"},
            "description": "Seconds to wait.",
        }
    return response


def _query_params(model: type[BaseModel]) -> list[dict[str, Any]]:
    """One parameter per field of the operation's query model."""
    schema = model.model_json_schema()
    params = []
    for name, prop in schema.get("properties", {}).items():
        description = prop.pop("description", "")
        prop.pop("title", None)
        branches = [b for b in prop.pop("anyOf", []) if b.get("type") != "null"]
        if len(branches) == 1:  # optional: a parameter left out, never a null
            prop = {**branches[0], **prop}
        if "default" in prop and prop["default"] is None:
            del prop["default"]
        params.append(
            {
                "name": name,
                "in": "query",
                "required": name in schema.get("required", []),
                "schema": _inline(prop, schema.get("$defs", {})),
                "description": description,
            }
        )
    return params


def _inline(schema: Any, defs: dict[str, Any]) -> Any:
    """A query parameter's schema without ``$ref``s into the model's own ``$defs``."""
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline(defs[ref.removeprefix("#/$defs/")], defs)
        return {k: _inline(v, defs) for k, v in schema.items() if k != "title"}
    if isinstance(schema, list):
        return [_inline(v, defs) for v in schema]
    return schema


def _operation(path: str, method: str, op: Endpoint[Any], refs: dict[Any, Any]) -> dict[str, Any]:
    params: list[dict[str, Any]] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": path_schema(name),
        }
        for name in re.findall(r"{(\w+)}", path)
    ]
    params += _query_params(op.query) if op.query is not None else []
    if op.csv:
        params.append(
            {
                "name": "format",
                "in": "query",
                "required": False,
                "schema": {"type": "string", "enum": ["json", "csv"], "default": "json"},
                "description": "csv: every row the query selects (not one page) as text/csv "
                "with a header row, an attachment (an operator needs the "
                f"{EXPORT_ROLE!r} role or higher to export).",
            }
        )
    if op.idempotent:
        params.append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "schema": {"type": "string", "minLength": 1, "maxLength": 255},
                "description": "Repeats with the same key and body replay the first response.",
            }
        )
    params += [
        {"name": name, "in": "header", "required": False, **_HEADERS[name]} for name in op.vary
    ]
    headers: dict[str, Any] = {"X-Request-ID": {"schema": {"type": "string"}}}
    if op.names_job:
        headers["X-Job-Id"] = {
            "schema": {"type": "string", "format": "uuid"},
            "description": "The job the call was recorded in.",
        }
    if op.idempotent:
        headers["Idempotent-Replayed"] = {"schema": {"type": "string", "enum": ["true"]}}
    if op.stream and op.stream_events:
        assert op.response is not None
        events = [refs[(m, "serialization")] for m in op.stream_events]
        content = {
            "application/json": {"schema": refs[(op.response, "serialization")]},
            "text/event-stream": {
                "schema": {
                    "description": "With `stream: true`: Server-Sent Events, each an `event:` "
                    "line (the event's `type`) and a `data:` line of its JSON.",
                    "type": "object",
                    "properties": {
                        "event": {"type": "string"},
                        "data": {
                            "type": "string",
                            "contentMediaType": "application/json",
                            "contentSchema": {"oneOf": events},
                        },
                    },
                    "required": ["event", "data"],
                }
            },
        }
    elif op.stream and op.openai:
        assert op.response is not None
        content = {
            "application/json": {"schema": refs[(op.response, "serialization")]},
            "text/event-stream": {
                "schema": {
                    "description": "With `stream: true`: `data:` lines, each the JSON of a "
                    "ChatCompletionChunk (or, on a failure mid-way, an OpenAIErrorResponse), "
                    "then `data: [DONE]`.",
                    "type": "string",
                }
            },
        }
    elif op.stream and op.anthropic:
        assert op.response is not None
        named = [refs[(m, "serialization")] for m in _ANTHROPIC_EVENTS]
        content = {
            "application/json": {"schema": refs[(op.response, "serialization")]},
            "text/event-stream": {
                "schema": {
                    "description": "With `stream: true`: Anthropic's Messages events, each an "
                    "`event: <type>` line and a `data:` line with the JSON of the event (the "
                    "`error` event is an AnthropicErrorResponse).",
                    "type": "object",
                    "properties": {
                        "event": {"type": "string"},
                        "data": {
                            "type": "string",
                            "contentMediaType": "application/json",
                            "contentSchema": {"oneOf": named},
                        },
                    },
                    "required": ["event", "data"],
                }
            },
        }
    elif op.stream:
        events = [refs[(m, "serialization")] for m in (StreamChunk, StreamDone, StreamErrorEvent)]
        content = {
            "text/event-stream": {
                "schema": {
                    "description": "One Server-Sent Event: its `data` line is the JSON of a "
                    "StreamChunk, a StreamDone or a StreamErrorEvent.",
                    "type": "object",
                    "properties": {
                        "event": {"type": "string", "enum": ["chunk", "done", "error"]},
                        "id": {"type": "string", "pattern": "^[0-9]+$"},
                        "data": {
                            "type": "string",
                            "contentMediaType": "application/json",
                            "contentSchema": {"oneOf": events},
                        },
                    },
                    "required": ["event", "id", "data"],
                }
            }
        }
    elif op.response is not None:
        content = {"application/json": {"schema": refs[(op.response, "serialization")]}}
        if op.csv:
            content["text/csv"] = {
                "schema": {
                    "type": "string",
                    "description": "With `format=csv`: a header row (the JSON fields), then "
                    "one row each; a text cell that starts with =, +, -, @, tab or CR has a "
                    "leading ' (no spreadsheet formula).",
                }
            }
    else:
        content = {}
    responses: dict[str, Any] = {
        str(op.status): {"description": op.summary, "content": content, "headers": headers}
    }
    errors = _errors(op, re.findall(r"{(\w+)}", path))
    for status in sorted(errors):
        responses[str(status)] = _error(
            status, errors[status], openai=op.openai, anthropic=op.anthropic
        )
    operation: dict[str, Any] = {
        "operationId": f"{method.lower()}_{re.sub(r'[^a-z0-9]+', '_', path.lower()).strip('_')}",
        "summary": op.summary,
        "tags": [op.tag],
        "parameters": params,
        "responses": responses,
        "security": _SECURITY[op.auth] + ([{"ApiKeyHeader": []}] if op.anthropic else []),
    }
    if op.required_role is not None:
        # the least operator role that may call it (the admin key is an owner); a body that
        # sets more than ``x-role-fields`` needs ``admin``
        operation["x-required-role"] = op.required_role
        if op.role_fields:
            operation["x-role-fields"] = list(op.role_fields)
        if op.csv and op.role_for_format(csv=True) != op.required_role:
            operation["x-export-role"] = op.role_for_format(csv=True)
    if op.description:
        operation["description"] = op.description
    if op.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": refs[(op.body, "validation")]}},
        }
    return operation


def build_openapi(routes: list[BaseRoute], *, version: str) -> dict[str, Any]:
    described = [
        (route, route.declaration.method, route.declaration)
        for route in routes
        if isinstance(route, APIRoute)
    ]
    refs, schemas = _schemas([op for _, _, op in described])
    paths: dict[str, dict[str, Any]] = {}
    for route, method, op in described:
        path = route.path_format
        paths.setdefault(path, {})[method.lower()] = _operation(path, method, op, refs)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "saas-litellm",
            "version": version,
            "description": "A job-based, multi-tenant LLM API: teams get a virtual key and "
            "credits; a job groups the LLM calls of one business operation; a completed job "
            "costs one credit, a failed one nothing.",
        },
        "servers": [{"url": "/"}],
        "tags": [
            {"name": tag, "description": TAGS[tag]}
            for tag in TAGS
            if any(op.tag == tag for _, _, op in described)
        ],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "VirtualKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A team's virtual key (sk-…).",
                },
                "ApiKeyHeader": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "x-api-key",
                    "description": "A team's virtual key, as the anthropic SDK sends it "
                    "(`/v1/messages` only).",
                },
                "AdminKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "SAAS_LITELLM_ADMIN_KEY. Unset (local-dev mode), "
                    "admin endpoints are open on loopback.",
                },
            },
        },
    }
