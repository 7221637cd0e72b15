"""``saas_litellm_models.endpoints``: the one table the server's routes and the SDK's methods
are built from. (That the server serves exactly it: ``tests/test_contract.py``; that the SDK's
generated methods are fresh: ``tests/test_generate_sdk.py``.)"""

from __future__ import annotations

import inspect

from saas_litellm_models import endpoints
from saas_litellm_models.endpoints import (
    ANTHROPIC_MESSAGES,
    CREATE_AND_CALL_STREAM,
    ENDPOINTS,
    LIST_TEAMS,
    LLM_CALL_STREAM,
    OPENAI_CHAT_COMPLETIONS,
    OPENAI_RESPONSES,
)


def test_the_table_has_each_endpoint_once_and_every_row_in_it() -> None:
    operations = [(e.method, e.path) for e in ENDPOINTS]
    rows = [v for v in vars(endpoints).values() if isinstance(v, endpoints.Endpoint)]

    assert len(operations) == len(set(operations))
    assert len(rows) == len(ENDPOINTS)


def test_the_rows_keep_the_apis_conventions() -> None:
    # the server de-duplicates only POSTs; only POSTs, PUTs and PATCHes take a body
    assert all(e.method == "POST" for e in ENDPOINTS if e.idempotent)
    assert all(e.method in ("POST", "PUT", "PATCH") for e in ENDPOINTS if e.body is not None)
    assert all(e.body is not None for e in ENDPOINTS if e.method in ("PUT", "PATCH"))
    assert all(e.partial for e in ENDPOINTS if e.method == "PATCH")
    assert [e for e in ENDPOINTS if e.stream] == [
        LLM_CALL_STREAM,
        CREATE_AND_CALL_STREAM,
        OPENAI_CHAT_COMPLETIONS,
        OPENAI_RESPONSES,
        ANTHROPIC_MESSAGES,
    ]
    # one wire format per surface
    assert not any(e.openai and e.anthropic for e in ENDPOINTS)
    # an OpenAI stream is chat.completion.chunks, or declares the events it sends instead
    assert [e for e in ENDPOINTS if e.stream_events] == [OPENAI_RESPONSES]
    assert all(e.stream and e.openai for e in ENDPOINTS if e.stream_events)
    # a field never kept for replays is a field of what the endpoint answers
    for e in ENDPOINTS:
        if e.unkept_field is not None:
            assert e.response is not None
            assert e.unkept_field in e.response.model_fields


def test_every_sdk_method_names_arguments_its_endpoint_has() -> None:
    names: dict[str, set[str]] = {"team": set(), "admin": set()}
    for e in ENDPOINTS:
        fields = set(e.path_params)
        for model in (e.body, e.query):
            if model is not None:
                fields |= set(model.model_fields)
        for method in e.sdk:
            assert method.name not in names[method.client], method.name
            names[method.client].add(method.name)
            assert set(method.positional) <= fields, method.name
            assert set(method.bind) <= fields, method.name
            assert set(method.defaults) <= fields, method.name
            assert inspect.cleandoc(method.doc) == method.docstring


def test_a_list_knows_the_field_holding_its_items() -> None:
    assert LIST_TEAMS.page_items == "teams"
    assert LLM_CALL_STREAM.page_items is None
    assert {e.page_items for e in ENDPOINTS if e.page_items} == {
        "organizations",
        "model_access_groups",
        "model_aliases",
        "teams",
        "jobs",
        "events",
        "webhooks",
        "deliveries",
        "transactions",
        "operators",
    }
