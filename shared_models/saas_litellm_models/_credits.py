"""Shapes of credit balances and usage analytics."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field, computed_field

from ._base import QueryModel, ResponseModel, UtcTime

__all__ = ["CreditBalance", "JobTypeUsage", "OrganizationUsage", "TeamUsage", "UsageQuery"]


class UsageQuery(QueryModel):
    """Query of ``GET /api/teams/{team_id}/usage``: a window over time — the jobs created in it
    and the calls started in it (from daily rollups: see docs/operations.md, "A year of
    calls")."""

    since: UtcTime | None = Field(
        default=None, description="Only jobs created, and calls started, at or after this time."
    )
    until: UtcTime | None = Field(
        default=None, description="Only jobs created, and calls started, before this time."
    )


class CreditBalance(ResponseModel):
    """A team's credits. ``credits_remaining = allocated - used``; reservations are open jobs."""

    team_id: str
    credits_allocated: int
    credits_used: int
    credits_reserved: int
    credits_remaining: int

    @computed_field  # type: ignore[prop-decorator]
    @property
    def credits_available(self) -> int:
        """``credits_remaining - credits_reserved``: how many more jobs can be opened now."""
        return self.credits_remaining - self.credits_reserved


class JobTypeUsage(ResponseModel):
    job_type: str
    jobs: int
    completed: int
    failed: int
    calls: int
    tokens: int
    cost_usd: float
    credits: int


class TeamUsage(ResponseModel):
    """Response of ``GET /api/teams/{team_id}/usage``: one row per job type."""

    team_id: str
    since: datetime | None = None
    until: datetime | None = None
    by_job_type: list[JobTypeUsage]


class OrganizationUsage(ResponseModel):
    """Response of ``GET /api/organizations/{organization_id}/usage``: one row per job type,
    over all the organization's teams."""

    organization_id: str
    since: datetime | None = None
    until: datetime | None = None
    by_job_type: list[JobTypeUsage]
