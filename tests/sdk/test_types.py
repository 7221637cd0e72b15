"""``messages`` are typed per role (``_types.MessageParam``): mypy --strict catches a wrong role
or a missing field in the caller's code, while right dicts and ``ChatMessage`` models pass."""

from __future__ import annotations

from pathlib import Path

from support import run_mypy

GOOD = """
from saas_litellm_client import ChatMessage, MessageParam, SaasLiteLLMClient


async def main(client: SaasLiteLLMClient, job_id: str) -> None:
    await client.llm_call(
        job_id=job_id,
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "developer", "content": "Answer in English."},
            {"role": "user", "content": "What is the weather?", "name": "ada"},
            {
                "role": "assistant",
                "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
                ],
            },
            {"role": "tool", "content": "sunny", "tool_call_id": "c1"},
            ChatMessage(role="user", content="a pydantic message is fine too"),
        ],
    )
    history: list[MessageParam] = [{"role": "user", "content": "hi"}]
    history.append({"role": "assistant", "content": "hello"})
    async with client.stream(job_id=job_id, messages=history) as stream:
        await stream.get_final_text()
"""

BAD = """
from saas_litellm_client import SaasLiteLLMClient


async def main(client: SaasLiteLLMClient, job_id: str) -> None:
    await client.llm_call(job_id=job_id, messages=[{"role": "wizard", "content": "hi"}])  # 6
    await client.llm_call(job_id=job_id, messages=[{"role": "tool", "content": "42"}])  # 7
    await client.llm_call(job_id=job_id, messages=[{"role": "user", "content": 42}])  # 8
    await client.llm_call(job_id=job_id, messages=[{"role": "user", "text": "hi"}])  # 9
"""


def test_mypy_catches_wrong_messages_and_passes_right_ones(tmp_path: Path) -> None:
    errors = run_mypy({"good": GOOD, "bad": BAD}, tmp_path)

    assert errors["good"] == []
    lines = {int(line.split(":")[1]) for line in errors["bad"]}
    assert lines == {6, 7, 8, 9}, errors["bad"]
