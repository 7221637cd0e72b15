# Generated from _jobs.py by scripts/unasync.py: edit that module and run
# `python scripts/unasync.py`, never this file.
"""``client.job(...)``: a job as a ``with`` block, completed or failed on the way out.

Generated from ``_jobs`` by ``scripts/unasync.py``: edit that module, not this one.
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
from ._utils import sync_shielded

if TYPE_CHECKING:
    from ._sync_client import SaasLiteLLMSyncClient
    from ._sync_streaming import SyncChatStream
    from ._sync_structured_calls import SyncStructuredStream

__all__ = ["MAX_ERROR_MESSAGE", "SyncJobContext", "SyncJobHandle"]

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


class SyncJobHandle:
    """The job of a ``client.job(...)`` block: its calls need no ``job_id``.

    ``job`` is the created :class:`Job`; ``result`` is the :class:`JobCompletion` once the job
    was completed or failed (by the end of the block, or by :meth:`complete`), else ``None``.
    The methods are the client's (same arguments, same errors) bound to this job.
    """

    job: Job
    result: JobCompletion | None

    def __init__(self, client: SaasLiteLLMSyncClient, job: Job) -> None:
        self._client = client
        self.job = job
        self.result = None

    def __repr__(self) -> str:
        status = self.result.status if self.result is not None else self.job.status
        return f"<{type(self).__name__} job_id={self.job_id!r} status={status!r}>"

    @property
    def job_id(self) -> str:
        return self.job.job_id

    def llm_call(self, **params: Unpack[CallParamsWithOptions]) -> LLMCallResponse:
        """:meth:`SaasLiteLLMSyncClient.llm_call` within this job."""
        return self._client.llm_call(job_id=self.job_id, **params)

    def embeddings(
        self,
        *,
        input: str | Sequence[str],
        model: str | None = None,
        dimensions: int | None = None,
        purpose: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        **options: Unpack[IdempotentRequestOptions],
    ) -> EmbeddingsResponse:
        """:meth:`SaasLiteLLMSyncClient.embeddings` within this job."""
        return self._client.embeddings(
            job_id=self.job_id,
            input=input,
            model=model,
            dimensions=dimensions,
            purpose=purpose,
            metadata=metadata,
            **options,
        )

    def stream(self, **params: Unpack[CallParamsWithOptions]) -> SyncChatStream:
        """:meth:`SaasLiteLLMSyncClient.stream` within this job."""
        return self._client.stream(job_id=self.job_id, **params)

    def structured_call(
        self,
        *,
        response_model: type[_ModelT],
        max_reasks: int = 2,
        strict: bool = True,
        **params: Unpack[StructuredCallParamsWithOptions],
    ) -> _ModelT:
        """:meth:`SaasLiteLLMSyncClient.structured_call` within this job."""
        return self._client.structured_call(
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
    ) -> SyncStructuredStream[_ModelT]:
        """:meth:`SaasLiteLLMSyncClient.stream_structured` within this job."""
        return self._client.stream_structured(
            job_id=self.job_id, response_model=response_model, strict=strict, **params
        )

    def get(self, **options: Unpack[RequestOptions]) -> JobDetail:
        """:meth:`SaasLiteLLMSyncClient.get_job`: the job with its calls and costs so far."""
        return self._client.get_job(self.job_id, **options)

    def complete(
        self,
        status: Literal["completed", "failed"] = "completed",
        *,
        metadata: Mapping[str, Any] | None = None,
        error_message: str | None = None,
        **options: Unpack[IdempotentRequestOptions],
    ) -> JobCompletion:
        """Complete (or fail) the job now, e.g. with ``metadata``; the end of the block then
        leaves it as it is. The result is also kept in :attr:`result`."""
        self.result = self._client.complete_job(
            self.job_id, status, metadata=metadata, error_message=error_message, **options
        )
        return self.result


class SyncJobContext:
    """What ``client.job(...)`` returns: ``with`` it to get a :class:`SyncJobHandle`."""

    def __init__(
        self,
        client: SaasLiteLLMSyncClient,
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
        self._handle: SyncJobHandle | None = None

    def __enter__(self) -> SyncJobHandle:
        if self._handle is not None:
            raise RuntimeError("This client.job(...) block was entered already; call it again.")
        job = self._client.create_job(
            self._job_type, metadata=self._metadata, user_id=self._user_id, limits=self._limits
        )
        self._handle = SyncJobHandle(self._client, job)
        return self._handle

    def __exit__(
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
            handle.complete("completed")
            return
        # Fail the job, then let ``exc`` propagate whatever happens here. Shielded: the block
        # may have ended because its task was cancelled, and the credit should still be freed.
        client_deadline = self._client.deadline
        deadline = min(client_deadline, FAIL_DEADLINE) if client_deadline else FAIL_DEADLINE
        try:
            with sync_shielded():
                handle.complete("failed", error_message=error_message_for(exc), deadline=deadline)
        except Exception as failure:
            log.warning(
                "Could not mark job %s as failed after %s: %s",
                handle.job_id,
                type(exc).__name__,
                failure,
                exc_info=failure,
            )
