"""Shapes of the job lifecycle: create, inspect, complete."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StringConstraints

from ._base import (
    FilterId,
    Identifier,
    Metadata,
    ModelName,
    NoNul,
    PageQuery,
    RequestModel,
    ResponseModel,
    UtcTime,
)
from ._billing import BudgetMode, JobLimits, JobLimitsInfo
from ._llm import LLMCallRequest, LLMCallResponse

__all__ = [
    "OPEN_JOB_STATUSES",
    "CallAttempt",
    "CallStatus",
    "CreateAndCallRequest",
    "CreateAndCallResponse",
    "Job",
    "JobCompleteRequest",
    "JobCompletion",
    "JobCosts",
    "JobCreateRequest",
    "JobDetail",
    "JobList",
    "JobListQuery",
    "JobSearchQuery",
    "JobStatus",
    "LLMCallDetail",
    "LLMCallRecord",
]

JobStatus = Literal["pending", "in_progress", "completed", "failed"]
CallStatus = Literal["success", "failed", "cancelled", "streaming"]
"""``cancelled``: a streamed call its client cut after content reached it — a used call, billed
for its tokens like a successful one. ``streaming``: a streamed call still under way, its tokens
counted up to its last checkpoint (a call whose server stopped mid-stream becomes ``failed``
with error type ``interrupted``)."""

_JobType = Annotated[
    str, StringConstraints(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:/-]*$")
]


class JobCreateRequest(RequestModel):
    """Body of ``POST /api/jobs/create``."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "team_id": "acme-corp",
                    "job_type": "document_analysis",
                    "metadata": {"document": "q3.pdf"},
                }
            ]
        },
    )

    team_id: Identifier
    job_type: _JobType
    metadata: Metadata | None = None
    user_id: Annotated[str, StringConstraints(min_length=1, max_length=256), NoNul] | None = None
    limits: JobLimits | None = Field(
        default=None,
        description="Caps over all the job's calls; a call whose worst case would pass one "
        "gets 402 job_budget_exceeded before it goes upstream.",
    )


class Job(ResponseModel):
    """A job as created: one business operation that groups LLM calls."""

    job_id: str
    team_id: str
    job_type: str
    status: JobStatus
    metadata: dict[str, object] = Field(default_factory=dict)
    user_id: str | None = None
    created_at: datetime
    budget_mode: BudgetMode = Field(
        default="job_based", description="The team's mode when the job was opened."
    )
    limits: JobLimitsInfo | None = None


class JobCosts(ResponseModel):
    """What a job's calls cost, and what the job did to the team's credits."""

    total_calls: int
    successful_calls: int
    failed_calls: int
    cancelled_calls: int = Field(
        default=0,
        description="Streamed calls cut by the client after content reached it (billed).",
    )
    calls_in_flight: int = Field(
        default=0,
        description="Calls still running. A job closed while calls run is settled (charged, "
        "its hold released) when the last of them ends, so that they are charged too.",
    )
    total_tokens: int
    total_cost_usd: float
    avg_latency_ms: float
    credit_applied: bool = Field(
        description=(
            "True once the job completed and its credit was spent: a job is charged only if it "
            "completed with at least one billable call (successful, or cut by the client after "
            "content reached it)."
        )
    )
    credit_reason: str | None = Field(
        default=None,
        description=(
            'Why a closed job spent no credit: "no successful call" (completed, but none of its '
            'calls was billable), "job failed", or "calls in flight: settled when they end". '
            "null while open or once the credit is spent."
        ),
    )
    credits_remaining: int = Field(description="The team's credits_remaining (after settlement).")
    credits_charged: int = Field(
        default=0,
        description="Credits this job cost: 1 for a charged job_based job, max(1, ceil(usage in "
        "credits)) in the consumption modes, 0 until it is settled or when it cost nothing.",
    )
    credits_reserved: int = Field(
        default=0,
        description="Credits the job holds until it is settled (its worst case so far).",
    )


class LLMCallRecord(ResponseModel):
    """One recorded call of a job, successful or not."""

    call_id: str
    model: str = Field(description="The model alias the call asked for.")
    deployment: str | None = Field(default=None, description="The upstream model that answered.")
    status: CallStatus
    streamed: bool = False
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cost_usd: float = Field(description="The team's cost of the call (= client_cost_usd).")
    latency_ms: float
    finish_reason: str | None = None
    purpose: str | None = None
    error_type: str | None = None
    error_message: str | None = None
    created_at: datetime
    provider_cost_usd: float | None = Field(
        default=None,
        description="Tokens times the answering deployment's prices: shown to the operator "
        "(admin key, dashboard), null for the team's own key.",
    )
    client_cost_usd: float | None = Field(
        default=None, description="The provider's cost plus the team's markup_percent."
    )


class CallAttempt(ResponseModel):
    """One deployment a call tried, in the order they were tried."""

    provider: str
    deployment: str = Field(description="The upstream model.")
    error: str | None = Field(
        default=None,
        description="The kind of failure that made the call try the next one (timeout, "
        "rate_limited, server…); null for the one that answered.",
    )


class LLMCallDetail(LLMCallRecord):
    """Response of ``GET /api/jobs/{job_id}/calls/{call_id}``: one call, all of it."""

    job_id: str
    team_id: str
    provider: str | None = Field(default=None, description="The provider of `deployment`.")
    attempts: list[CallAttempt] = Field(
        default_factory=list,
        description="Every deployment tried, in order (more than one: fallbacks); empty for a "
        "call recorded before the server kept them.",
    )
    request_content: str | None = Field(
        default=None,
        description="The request's messages as JSON (an embeddings call's input texts), kept "
        "only when the team has store_content on; cut past 65,536 characters.",
    )
    response_content: str | None = Field(
        default=None,
        description="The response's text (a stream's: what reached the client), kept only "
        "when the team has store_content on; cut past 65,536 characters.",
    )


class JobDetail(Job):
    """Response of ``GET /api/jobs/{job_id}``: the job with its calls and costs."""

    completed_at: datetime | None = None
    error_message: str | None = None
    calls: list[LLMCallRecord] = Field(default_factory=list)
    costs: JobCosts


OPEN_JOB_STATUSES: tuple[JobStatus, ...] = ("pending", "in_progress")
"""Statuses of a job that still takes calls and holds a reserved credit."""


class JobListQuery(PageQuery):
    """Query of the job lists (``GET /api/teams/{team_id}/jobs``)."""

    status: JobStatus | None = Field(default=None, description="Only jobs in this status.")


class JobSearchQuery(JobListQuery):
    """Query of ``GET /api/jobs`` (admin): jobs across teams."""

    team_id: FilterId | None = Field(default=None, description="Only this team's jobs.")
    organization_id: FilterId | None = Field(
        default=None, description="Only the jobs of this organization's teams."
    )
    job_type: _JobType | None = Field(default=None, description="Only jobs of this type.")
    since: UtcTime | None = Field(default=None, description="Only jobs created at or after this.")
    until: UtcTime | None = Field(default=None, description="Only jobs created before this time.")
    model: ModelName | None = Field(
        default=None, description="Only jobs with a call to this model alias."
    )
    has_errors: bool | None = Field(
        default=None,
        description="true: only failed jobs and jobs with a failed call; false: only the others.",
    )


class JobList(ResponseModel):
    """Response of ``GET /api/teams/{team_id}/jobs`` and ``GET /api/jobs``: newest first, one
    page at a time."""

    jobs: list[Job]
    next_cursor: str | None = Field(
        default=None, description="Pass as ``cursor`` for the next page; null on the last page."
    )


class JobCompleteRequest(RequestModel):
    """Body of ``POST /api/jobs/{job_id}/complete``."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, json_schema_extra={"examples": [{"status": "completed"}]}
    )

    status: Literal["completed", "failed"]
    metadata: Metadata | None = None
    error_message: Annotated[str, StringConstraints(max_length=4000), NoNul] | None = None


class JobCompletion(ResponseModel):
    """Response of ``POST /api/jobs/{job_id}/complete``."""

    job_id: str
    status: Literal["completed", "failed"]
    completed_at: datetime
    costs: JobCosts

    @property
    def credits_remaining(self) -> int:
        """The team's remaining credits right after this job settled."""
        return self.costs.credits_remaining

    @property
    def credit_applied(self) -> bool:
        return self.costs.credit_applied


class CreateAndCallRequest(LLMCallRequest):
    """Body of ``POST /api/jobs/create-and-call`` and ``…/create-and-call-stream``: a job of one
    call, created, called and settled in one request. The llm-call fields plus the job's
    ``team_id``, ``job_type`` and ``user_id``; ``metadata`` is recorded on the job and the call."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "team_id": "acme-corp",
                    "job_type": "chat",
                    "messages": [{"role": "user", "content": "Summarize this..."}],
                    "model": "ChatAgent",
                }
            ]
        },
    )

    team_id: Identifier
    job_type: _JobType
    user_id: Annotated[str, StringConstraints(min_length=1, max_length=256), NoNul] | None = None


class CreateAndCallResponse(LLMCallResponse):
    """Response of ``POST /api/jobs/create-and-call``: the call, and its job's settlement (the
    job is completed when the call succeeded; a failed call fails it and answers an error)."""

    costs: JobCosts
