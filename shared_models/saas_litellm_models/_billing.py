"""Shapes of billing: budget modes, per-job limits, the credit ledger and auto-refill.

See ``docs/billing.md`` for what each mode charges, with worked examples.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, model_validator

from ._base import Count, PageQuery, RequestModel, ResponseModel

__all__ = [
    "AutoRefill",
    "AutoRefillRequest",
    "BudgetMode",
    "CreditTransaction",
    "CreditTransactionKind",
    "CreditTransactionList",
    "CreditTransactionListQuery",
    "CreditsPerDollar",
    "JobLimits",
    "JobLimitsInfo",
    "MarkupPercent",
    "MaxTokens",
    "RefillMode",
    "RefillPeriod",
    "Threshold",
    "TokensPerCredit",
]

BudgetMode = Literal["job_based", "consumption_tokens", "consumption_usd"]
"""``job_based``: one credit per completed job. ``consumption_tokens``: one credit per
``tokens_per_credit`` tokens (rounded up per job). ``consumption_usd``: ``credits_per_dollar``
credits per US dollar of the provider's cost plus ``markup_percent`` (rounded up per job)."""

CreditTransactionKind = Literal["grant", "charge", "refill", "adjustment"]
RefillPeriod = Literal["daily", "weekly", "monthly"]
RefillMode = Literal["add", "top_up"]

TokensPerCredit = Annotated[Count, Field(ge=1, le=1_000_000_000)]
CreditsPerDollar = Annotated[float, Field(gt=0, le=1_000_000_000)]
MarkupPercent = Annotated[float, Field(ge=0, le=10_000)]
Threshold = Annotated[Count, Field(ge=0, le=1_000_000_000_000)]
MaxTokens = Annotated[Count, Field(ge=1, le=1_000_000_000)]


class _JobLimitFields(BaseModel):
    max_tokens: MaxTokens | None = Field(
        default=None, description="Tokens (prompt + completion) over all the job's calls."
    )
    max_cost_usd: Annotated[float, Field(gt=0, le=1_000_000)] | None = Field(
        default=None, description="Client cost in USD (with the team's markup) over all calls."
    )
    max_credits: Annotated[Count, Field(ge=1, le=1_000_000_000_000)] | None = Field(
        default=None, description="Credits the job may cost."
    )


class JobLimits(_JobLimitFields, RequestModel):
    """Per-job caps, checked before every call against the call's worst case: a call that could
    pass one is refused (402 ``job_budget_exceeded``) before it goes upstream."""


class JobLimitsInfo(_JobLimitFields, ResponseModel):
    """A job's limits as the server reports them."""


class CreditTransaction(ResponseModel):
    """One change of a team's credits; ``credits`` is signed (a charge is negative)."""

    transaction_id: str
    at: datetime
    kind: CreditTransactionKind
    credits: int
    credits_remaining_after: int
    job_id: str | None = None
    reason: str | None = None


class CreditTransactionListQuery(PageQuery):
    """Query of ``GET /api/teams/{team_id}/transactions``."""

    kind: CreditTransactionKind | None = Field(
        default=None, description="Only transactions of this kind."
    )


class CreditTransactionList(ResponseModel):
    """Response of ``GET /api/teams/{team_id}/transactions``: newest first; the credits of all
    of a team's transactions add up to its ``credits_remaining``."""

    transactions: list[CreditTransaction]
    next_cursor: str | None = Field(
        default=None, description="Pass as ``cursor`` for the next page; null on the last page."
    )


class AutoRefillRequest(RequestModel):
    """Body of ``PUT /api/teams/{team_id}/auto-refill``."""

    amount: Annotated[Count, Field(ge=1, le=1_000_000_000)]
    period: RefillPeriod
    mode: RefillMode = Field(
        default="add",
        description="add: grant ``amount`` each period; top_up: raise credits_remaining to "
        "``amount`` (nothing if it is already there).",
    )


class AutoRefill(ResponseModel):
    """A team's auto-refill: applied once per UTC period (a missed period is caught up once)."""

    amount: int
    period: RefillPeriod
    mode: RefillMode
    last_refill_period: str | None = Field(
        default=None,
        description='The period last refilled: "2026-12-03" (daily), "2026-W49" (weekly), '
        '"2026-12" (monthly); null before the first refill.',
    )


class _BudgetFields(RequestModel):
    """Checks shared by team create: a consumption mode needs its rate."""

    @model_validator(mode="after")
    def _mode_has_rate(self) -> _BudgetFields:
        mode = getattr(self, "budget_mode", None)
        if mode == "consumption_tokens" and getattr(self, "tokens_per_credit", None) is None:
            raise ValueError("budget_mode consumption_tokens needs tokens_per_credit")
        if mode == "consumption_usd" and getattr(self, "credits_per_dollar", None) is None:
            raise ValueError("budget_mode consumption_usd needs credits_per_dollar")
        return self
