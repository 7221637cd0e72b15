"""Property-based round trips of the shared models (hypothesis)."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from saas_litellm_models import (
    CreditBalance,
    JobCreateRequest,
    LLMCallRequest,
    StreamChunk,
    parse_stream_event,
)

identifiers = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9_.:@-]{0,40}\Z")
job_types = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9_.:/-]{0,40}\Z")
text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=200)
json_scalars = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | text
metadata = st.dictionaries(
    st.text(max_size=20),
    st.recursive(
        json_scalars,
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3)
        ),
        max_leaves=10,
    ),
    max_size=5,
)


@given(team_id=identifiers, job_type=job_types, meta=st.none() | metadata)
def test_job_create_round_trips(team_id: str, job_type: str, meta: dict | None) -> None:  # type: ignore[type-arg]
    request = JobCreateRequest(team_id=team_id, job_type=job_type, metadata=meta)
    assert JobCreateRequest.model_validate_json(request.model_dump_json()) == request


@given(
    messages=st.lists(
        st.fixed_dictionaries(
            {"role": st.sampled_from(["system", "user", "assistant"]), "content": text}
        ),
        min_size=1,
        max_size=5,
    ),
    temperature=st.none() | st.floats(0, 2),
    max_tokens=st.none() | st.integers(1, 1_000_000),
)
def test_llm_call_request_round_trips(
    messages: list[dict[str, str]], temperature: float | None, max_tokens: int | None
) -> None:
    request = LLMCallRequest.model_validate(
        {"messages": messages, "temperature": temperature, "max_tokens": max_tokens}
    )
    wire = request.model_dump_json(exclude_none=True)
    assert LLMCallRequest.model_validate_json(wire) == request
    assert json.loads(wire)["messages"] == messages


@given(allocated=st.integers(0, 10**12), used=st.integers(0, 10**6), reserved=st.integers(0, 10**6))
def test_balance_round_trips_with_its_derived_field(
    allocated: int, used: int, reserved: int
) -> None:
    balance = CreditBalance(
        team_id="t",
        credits_allocated=allocated,
        credits_used=used,
        credits_reserved=reserved,
        credits_remaining=allocated - used,
    )
    again = CreditBalance.model_validate_json(balance.model_dump_json())
    assert again == balance
    assert again.credits_available == allocated - used - reserved


@given(content=text)
def test_stream_chunks_survive_any_text(content: str) -> None:
    """Newlines, quotes, unicode: one SSE data line always carries one chunk intact."""
    line = StreamChunk(content=content).model_dump_json()
    assert "\n" not in line
    assert parse_stream_event(line) == StreamChunk(content=content)
