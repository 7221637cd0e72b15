"""``client.job(...)``: a job as an ``async with`` block, completed or failed on the way out.

``_sync_jobs`` is generated from this module by ``scripts/unasync.py``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from pydantic import BaseModel
from typing_extensions import Unpack

from saas_litellm_models import (
    EmbeddingsResponse,
    Job,
    JobCompletion,
    JobDetail,
    JobLimits,
    LLMCallResponse,
)

from ._logs import log
from ._params import CallParamsWithOptions, StructuredCallParamsWithOptions
from ._types import IdempotentRequestOptions, RequestOptions
from ._utils import shielded

if TYPE_CHECKING:
    from ._client import SaasLiteLLMClient
    from ._streaming import ChatStream
    from ._structured_calls import StructuredStream

__all__ = ["MAX_ERROR_MESSAGE", "JobContext", "JobHandle"]

_ModelT = TypeVar("_ModelT", bound=BaseModel)

MAX_ERROR_MESSAGE = 4000
"""The server's limit on ``error_message`` (``JobCompleteRequest``)."""

FAIL_DEADLINE = 30.0
"""The longest an exiting block waits to mark its job failed (the client's deadline if shorter):
the exception that ended the block, possibly a cancellation, is waiting to propagate."""


def error_message_for(exc: BaseException) -> str:
    """``"<ExceptionType>: <message>"``, cut to the server's 4000 characters (and without NUL
    characters, which the server refuses)."""
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    text = text.replace("\x00", "\\x00")
    if len(text) > MAX_ERROR_MESSAGE:
        text = text[: MAX_ERROR_MESSAGE - 1] + "…"
    return text


class JobHandle:
    """The job of a ``client.job(...)`` block: its calls need no ``job_id``.

    ``job`` is the created :class:`Job`; ``result`` is the :class:`JobCompletion` once the job
    was completed or failed (by the end of the block, or by :meth:`complete`), else ``None``.
    The methods are the client's (same arguments, same errors) bound to this job.
    """

    job: Job
    result: JobCompletion | None

    def __init__(self, client: SaasLiteLLMClient, job: Job) -> None:
        self._client = client
        self.job = job
        self.result = None

    def __repr__(self) -> str:
        status = self.result.status if self.result is not None else self.job.status
        return f"<{type(self).__name__} job_id={self.job_id!r} status={status!r}>"

    @property
    def job_id(self) -> str:
        return self.job.job_id

    async def llm_call(self, **params: Unpack[CallParamsWithOptions]) -> LLMCallResponse:
        """:meth:`SaasLiteLLMClient.llm_call` within this job."""
        return await self._client.llm_call(job_id=self.job_id, **params)

    async def embeddings(
        self,
        *,
        input: str | Sequence[str],
        model: str | None = None,
        dimensions: int | None = None,
        purpose: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        **options: Unpack[IdempotentRequestOptions],
    ) -> EmbeddingsResponse:
        """:meth:`SaasLiteLLMClient.embeddings` within this job."""
        return await self._client.embeddings(
            job_id=self.job_id,
            input=input,
            model=model,
            dimensions=dimensions,
            purpose=purpose,
            metadata=metadata,
            **options,
        )

    def stream(self, **params: Unpack[CallParamsWithOptions]) -> ChatStream:
        """:meth:`SaasLiteLLMClient.stream` within this job."""
        return self._client.stream(job_id=self.job_id, **params)

    async def structured_call(
        self,
        *,
        response_model: type[_ModelT],
        max_reasks: int = 2,
        strict: bool = True,
        **params: Unpack[StructuredCallParamsWithOptions],
    ) -> _ModelT:
        """:meth:`SaasLiteLLMClient.structured_call` within this job."""
        return await self._client.structured_call(
            job_id=self.job_id,
            response_model=response_model,
            max_reasks=max_reasks,
            strict=strict,
            **params,
        )

    def stream_structured(
        self,
        *,
        response_model: type[_ModelT],
        strict: bool = True,
        **params: Unpack[StructuredCallParamsWithOptions],
    ) -> StructuredStream[_ModelT]:
        """:meth:`SaasLiteLLMClient.stream_structured` within this job."""
        return self._client.stream_structured(
            job_id=self.job_id, response_model=response_model, strict=strict, **params
        )

    async def get(self, **options: Unpack[RequestOptions]) -> JobDetail:
        """:meth:`SaasLiteLLMClient.get_job`: the job with its calls and costs so far."""
        return await self._client.get_job(self.job_id, **options)

    async def complete(
        self,
        status: Literal["completed", "failed"] = "completed",
        *,
        metadata: Mapping[str, Any] | None = None,
        error_message: str | None = None,
        **options: Unpack[IdempotentRequestOptions],
    ) -> JobCompletion:
        """Complete (or fail) the job now, e.g. with ``metadata``; the end of the block then
        leaves it as it is. The result is also kept in :attr:`result`."""
        self.result = await self._client.complete_job(
            self.job_id, status, metadata=metadata, error_message=error_message, **options
        )
        return self.result


class JobContext:
    """What ``client.job(...)`` returns: ``async with`` it to get a :class:`JobHandle`."""

    def __init__(
        self,
        client: SaasLiteLLMClient,
        job_type: str,
        *,
        metadata: Mapping[str, Any] | None,
        user_id: str | None,
        limits: JobLimits | Mapping[str, Any] | None = None,
    ) -> None:
        self._client = client
        self._job_type = job_type
        self._metadata = metadata
        self._user_id = user_id
        self._limits = limits
        self._handle: JobHandle | None = None

    async def __aenter__(self) -> JobHandle:
        if self._handle is not None:
            raise RuntimeError("This client.job(...) block was entered already; call it again.")
        job = await self._client.create_job(
            self._job_type, metadata=self._metadata, user_id=self._user_id, limits=self._limits
        )
        self._handle = JobHandle(self._client, job)
        return self._handle

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        handle = self._handle
        assert handle is not None
        if handle.result is not None:  # completed (or failed) inside the block
            return
        if exc is None:
            await handle.complete("completed")
            return
        # Fail the job, then let ``exc`` propagate whatever happens here. Shielded: the block
        # may have ended because its task was cancelled, and the credit should still be freed.
        client_deadline = self._client.deadline
        deadline = min(client_deadline, FAIL_DEADLINE) if client_deadline else FAIL_DEADLINE
        try:
            with shielded():
                await handle.complete(
                    "failed", error_message=error_message_for(exc), deadline=deadline
                )
        except Exception as failure:
            log.warning(
                "Could not mark job %s as failed after %s: %s",
                handle.job_id,
                type(exc).__name__,
                failure,
                exc_info=failure,
            )
