"""The usage report of ``GET /api/usage``: every team's usage, grouped one way (admin)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from ._base import ResponseModel
from ._credits import UsageQuery

__all__ = ["UsageGroupBy", "UsageReport", "UsageReportQuery", "UsageReportRow"]

UsageGroupBy = Literal["team", "organization", "job_type", "model", "day"]
"""What a usage report's rows are: per team, organization, job type, model alias asked for, or
UTC day (``YYYY-MM-DD``)."""


class UsageReportQuery(UsageQuery):
    """Query of ``GET /api/usage``: the window (jobs created and calls started in it) and how
    to group."""

    group_by: UsageGroupBy = Field(
        default="team", description="team, organization, job_type, model or day."
    )


class UsageReportRow(ResponseModel):
    """One group's usage. Jobs and credits are per day, team, organization and job type, not
    per model: with ``group_by=model`` they are null."""

    group: str = Field(
        description="The team id, organization id, job type, model alias or UTC day."
    )
    calls: int
    successful_calls: int
    failed_calls: int
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    provider_cost_usd: float
    client_cost_usd: float
    jobs: int | None = None
    completed_jobs: int | None = None
    failed_jobs: int | None = None
    credits: int | None = Field(default=None, description="Credits charged for the jobs.")


class UsageReport(ResponseModel):
    """Response of ``GET /api/usage``: one row per group, in the group's order."""

    group_by: UsageGroupBy
    since: datetime | None = None
    until: datetime | None = None
    rows: list[UsageReportRow]
