"""Error handling: every failure is a typed exception under ``SaasLiteLLMError``.

Run a server first (``saas-litellm-server serve``), then:

    python examples/error_handling.py
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid

from saas_litellm_client import (
    APIConnectionError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InsufficientCreditsError,
    NotFoundError,
    SaasLiteLLMAdminClient,
    SaasLiteLLMClient,
    SaasLiteLLMError,
    UnprocessableEntityError,
)

BASE_URL = os.environ.get("SAAS_LITELLM_BASE_URL", "http://localhost:8003")


async def main() -> None:
    team_id = f"errors-{uuid.uuid4().hex[:8]}"
    async with SaasLiteLLMAdminClient(base_url=BASE_URL) as admin:
        with contextlib.suppress(ConflictError):
            await admin.create_organization("org_acme", "ACME Corporation")
        team = await admin.create_team("org_acme", team_id, credits_allocated=1)

    async with SaasLiteLLMClient(
        base_url=BASE_URL, team_id=team_id, virtual_key=team.virtual_key
    ) as client:
        job = await client.create_job("demo")
        try:  # the one credit is reserved by the open job
            await client.create_job("second")
        except InsufficientCreditsError as exc:
            print(f"402 {exc.error_type}: {exc.message} (request {exc.request_id})")

        try:
            await client.llm_call(
                job_id=job.job_id,
                model="no-such-model",
                messages=[{"role": "user", "content": "hi"}],
            )
        except BadRequestError as exc:
            print(f"400 {exc.error_type} on {exc.param!r}: {exc.message}")

        try:
            await client.get_job(str(uuid.uuid4()))
        except NotFoundError as exc:
            print(f"404 {exc.error_type}: {exc.message}")

        await client.complete_job(job.job_id, "completed")
        try:
            await client.complete_job(job.job_id, "failed")
        except ConflictError as exc:
            print(f"409 {exc.error_type}: {exc.message}")

        try:  # invalid arguments never leave the process (and mypy flags this one already)
            wizard = [{"role": "wizard", "content": "x"}]
            await client.llm_call(job_id=job.job_id, messages=wizard)  # type: ignore[arg-type]
        except ValueError as exc:
            print(f"refused locally: {type(exc).__name__}")

    async with SaasLiteLLMClient(
        base_url=BASE_URL, team_id=team_id, virtual_key="sk-not-a-real-key"
    ) as stranger:
        try:
            await stranger.get_balance()
        except AuthenticationError as exc:
            print(f"401 {exc.error_type}: {exc.message}")

    async with SaasLiteLLMClient(
        base_url="http://127.0.0.1:9", team_id=team_id, virtual_key=team.virtual_key, max_retries=1
    ) as offline:
        try:
            await offline.get_balance()
        except APIConnectionError as exc:
            print(f"no server: {type(exc).__name__}")

    # One base class catches them all, when the kind does not matter.
    kinds = (
        InsufficientCreditsError,
        BadRequestError,
        NotFoundError,
        ConflictError,
        AuthenticationError,
        APIConnectionError,
        UnprocessableEntityError,
    )
    print(f"all are SaasLiteLLMError: {all(issubclass(k, SaasLiteLLMError) for k in kinds)}")


if __name__ == "__main__":
    asyncio.run(main())
