"""Structured outputs: answers parsed into your own Pydantic models.

Run a server first (``saas-litellm-server serve``: the built-in mock model answers schema
requests with valid JSON filled from the prompt), then:

    python examples/structured_outputs.py
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from enum import Enum

from pydantic import BaseModel

from saas_litellm_client import (
    ConflictError,
    SaasLiteLLMAdminClient,
    SaasLiteLLMClient,
    StructuredOutputError,
)

BASE_URL = os.environ.get("SAAS_LITELLM_BASE_URL", "http://localhost:8003")


class Person(BaseModel):
    name: str
    age: int
    email: str


class Sentiment(str, Enum):
    positive = "positive"
    neutral = "neutral"
    negative = "negative"


class Review(BaseModel):
    sentiment: Sentiment
    topics: list[str]
    reviewer: Person | None


async def main() -> None:
    team_id = f"structured-{uuid.uuid4().hex[:8]}"
    async with SaasLiteLLMAdminClient(base_url=BASE_URL) as admin:
        with contextlib.suppress(ConflictError):
            await admin.create_organization("org_acme", "ACME Corporation")
        team = await admin.create_team("org_acme", team_id, credits_allocated=5)

    async with SaasLiteLLMClient(
        base_url=BASE_URL, team_id=team_id, virtual_key=team.virtual_key
    ) as client:
        job = await client.create_job("extraction")

        # The guide's example: one call, validated into Person (re-asked if the JSON is invalid).
        person = await client.structured_call(
            job_id=job.job_id,
            messages=[
                {
                    "role": "user",
                    "content": "Extract person info: Margaret Hamilton, 33, margaret@mit.edu",
                }
            ],
            response_model=Person,
        )
        print(f"Name: {person.name}, Age: {person.age}, Email: {person.email}")

        # Nested models, enums, lists and optional fields.
        review = await client.structured_call(
            job_id=job.job_id,
            messages=[
                {
                    "role": "user",
                    "content": "A positive review by Linus Torvalds, 54: fast builds, good docs.",
                }
            ],
            response_model=Review,
        )
        print(f"Review: {review.sentiment.value}, topics {review.topics}")

        # Streamed: partial objects while the JSON arrives, then the validated model.
        async with client.stream_structured(
            job_id=job.job_id,
            messages=[{"role": "user", "content": "Grace Hopper, 85, grace@navy.mil"}],
            response_model=Person,
        ) as stream:
            async for snapshot in stream:
                kind = "final  " if isinstance(snapshot, Person) else "partial"
                print(f"{kind} {snapshot!r}")

        try:
            await client.structured_call(
                job_id=job.job_id,
                messages=[{"role": "user", "content": "Anything"}],
                response_model=Person,
                max_tokens=3,  # far too short for the JSON: the answer is cut off
            )
        except StructuredOutputError as exc:
            print(
                f"{type(exc).__name__}: {exc.attempts} attempt(s), "
                f"{exc.usage.total_tokens} tokens spent"
            )

        result = await client.complete_job(job.job_id, "completed")
        print(
            f"{result.costs.total_calls} calls, one job: credits remaining "
            f"{result.credits_remaining}"
        )


if __name__ == "__main__":
    asyncio.run(main())
