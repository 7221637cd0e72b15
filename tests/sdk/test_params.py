"""``_params``: the LLM-call parameters, declared once, stay the fields of ``LLMCallRequest``;
and the methods taking them as ``**params: Unpack[...]`` are still typed for their callers."""

from __future__ import annotations

from pathlib import Path
from typing import get_type_hints

from support import run_mypy

from saas_litellm_client._params import STRUCTURED_OWN_FIELDS, CallParams, StructuredCallParams
from saas_litellm_models import LLMCallRequest


def _keys(params: type) -> set[str]:
    return set(get_type_hints(params))


def test_call_params_are_the_fields_of_llm_call_request() -> None:
    fields = LLMCallRequest.model_fields

    assert _keys(CallParams) == set(fields)
    required = {name for name, field in fields.items() if field.is_required()}
    assert CallParams.__required_keys__ == required  # messages


def test_structured_call_params_are_those_less_what_a_structured_call_sets_itself() -> None:
    assert set(LLMCallRequest.model_fields) >= STRUCTURED_OWN_FIELDS
    assert _keys(StructuredCallParams) == _keys(CallParams) - STRUCTURED_OWN_FIELDS
    assert StructuredCallParams.__required_keys__ == CallParams.__required_keys__


GOOD = """
from pydantic import BaseModel

from saas_litellm_client import SaasLiteLLMClient


class Person(BaseModel):
    name: str


async def main(client: SaasLiteLLMClient, job_id: str) -> None:
    messages = [{"role": "user", "content": "hi"}]
    await client.llm_call(
        job_id=job_id, messages=[{"role": "user", "content": "hi"}], model="ChatAgent",
        temperature=0.2, max_tokens=10, top_p=1.0, stop=["\\n"], purpose="p", metadata={"a": 1},
        tool_choice="auto", idempotency_key="k", timeout=5.0, max_retries=1, deadline=9.0,
    )
    async with client.stream(job_id=job_id, messages=[{"role": "user", "content": "hi"}]) as s:
        await s.get_final_text()
    person: Person = await client.structured_call(
        job_id=job_id, messages=[{"role": "user", "content": "hi"}], response_model=Person,
        max_retries=1, temperature=0,
    )
    async with client.job("x") as job:
        await job.llm_call(messages=[{"role": "user", "content": "hi"}], seed_is_not=None)  # 27
        await job.llm_call(messages=[{"role": "user", "content": "hi"}], temperature="hot")  # 26
        await job.structured_call(  # 27
            messages=[{"role": "user", "content": "hi"}], response_model=Person, tools=[]
        )
        await job.llm_call(model="ChatAgent")  # 30
"""


def test_mypy_still_checks_the_unpacked_parameters(tmp_path: Path) -> None:
    errors = run_mypy({"user": GOOD}, tmp_path)

    lines = {int(line.split(":")[1]) for line in errors["user"]}
    assert lines == {25, 26, 27, 30}, errors["user"]
