"""Budget modes: what a job costs in credits, what a call reserves before it goes upstream, and
how a job's reservation follows its calls until it is settled.

A job holds credits from its creation (1) until it closes. In the consumption modes, before
each call the job's hold grows to ``ceil(used so far + worst case of the calls in flight,
this one included)`` credits, with one conditional update of the team's row (so a call goes
upstream only if its worst case fits in what the team has left); after the call it shrinks to
``ceil(used so far + still in flight)``, never below 1. Completion charges ``max(1,
ceil(used))`` and gives the rest back; failure gives everything back. The per-job limits are
checked against the same worst case. Each step is one transaction whose first write locks the
job's row (calls of one job reserve one after the other), then the team's: the same order as
completion, so that they never deadlock, on any number of processes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .._runtime import Runtime
from ..errors import Conflict, InsufficientCredits, JobBudgetExceeded
from ..providers._tokens import count_message_tokens, count_text_tokens
from ..store import Database, jobs, ledger, teams
from . import credit_events, routing

__all__ = [
    "JOB_BASED",
    "Budget",
    "WorstCase",
    "end_call",
    "reserve_call",
    "settle_job",
    "worst_case",
]

_EPSILON = 1e-9
"""Below this a USD amount in credits is float noise, not a fraction of a credit to round up
(0.1 + 0.2 dollars at 10 credits per dollar are 3 credits, not 4)."""


@dataclass(frozen=True)
class Budget:
    """The billing settings a job was opened with (the team's at that moment) and its limits."""

    mode: str = "job_based"
    tokens_per_credit: int | None = None
    credits_per_dollar: float | None = None
    markup_percent: float = 0.0
    limits: Mapping[str, Any] | None = None

    @classmethod
    def of(cls, job: Mapping[str, Any]) -> Budget:
        return cls(
            mode=job.get("budget_mode") or "job_based",
            tokens_per_credit=job.get("tokens_per_credit"),
            credits_per_dollar=job.get("credits_per_dollar"),
            markup_percent=float(job.get("markup_percent") or 0.0),
            limits=job.get("limits"),
        )

    @property
    def metered(self) -> bool:
        """Whether the job's calls decide what it costs (a consumption mode)."""
        return self.mode != "job_based"

    @property
    def checked(self) -> bool:
        """Whether each call must reserve its worst case first (metered, or limited)."""
        return self.metered or bool(self.limits)

    def client_cost(self, provider_cost_usd: float) -> float:
        """What a call costs the team in USD: the provider's cost plus the markup."""
        return provider_cost_usd * (1 + self.markup_percent / 100)

    def credits(self, tokens: int, client_cost_usd: float) -> int:
        """What a job that used this much costs in credits: at least 1."""
        if self.mode == "consumption_tokens" and self.tokens_per_credit:
            return max(1, -(-tokens // self.tokens_per_credit))
        if self.mode == "consumption_usd" and self.credits_per_dollar:
            return max(1, math.ceil(client_cost_usd * self.credits_per_dollar - _EPSILON))
        return 1


JOB_BASED = Budget()
"""Today's rule: one credit per completed job, no per-call reservation."""


@dataclass(frozen=True)
class WorstCase:
    """The most one call can use: its prompt (as estimated) plus ``completion_tokens``, at the
    highest prices of the deployments it may fall back to."""

    tokens: int
    cost_usd: float
    """Client cost (with the job's markup)."""
    completion_tokens: int


def worst_case(
    runtime: Runtime,
    budget: Budget,
    route: routing.Route,
    messages: list[dict[str, Any]],
    params: Mapping[str, Any],
) -> WorstCase:
    """The call's worst case: the prompt's tokens as estimated (messages, plus the tools and
    response format the upstream also reads), and ``max_tokens`` — or
    ``SAAS_LITELLM_BILLING_DEFAULT_MAX_TOKENS`` when the call sets none — for the answer."""
    extra = {k: params[k] for k in ("tools", "response_format") if params.get(k) is not None}
    prompt = count_message_tokens(messages)
    if extra:
        prompt += count_text_tokens(json.dumps(extra, separators=(",", ":")))
    completion = int(params.get("max_tokens") or runtime.settings.billing_default_max_tokens)
    cost = max((routing.cost_usd(d, prompt, completion) for d in route.deployments), default=0.0)
    return WorstCase(
        tokens=prompt + completion,
        cost_usd=budget.client_cost(cost),
        completion_tokens=completion,
    )


def _check_limits(budget: Budget, job_id: str, tokens: int, cost_usd: float, credits: int) -> None:
    limits = budget.limits or {}
    for name, value, unit in (
        ("max_tokens", tokens, "tokens"),
        ("max_cost_usd", cost_usd, "USD"),
        ("max_credits", credits, "credits"),
    ):
        limit = limits.get(name)
        if limit is not None and value > limit + (_EPSILON if unit == "USD" else 0):
            shown = f"{value:.6f}" if unit == "USD" else str(value)
            raise JobBudgetExceeded(
                f"job {job_id!r} has {name}={limit}; with this call's worst case it could "
                f"reach {shown} {unit} (set a lower max_tokens, or open a job with more room)",
                param=f"limits.{name}",
            )


async def reserve_call(
    db: Database, team_id: str, job_id: str, budget: Budget, worst: WorstCase
) -> None:
    """Before a call goes upstream: count its worst case in flight on the job, check the job's
    limits, and grow the job's hold to cover it — or refuse (402 ``job_budget_exceeded`` or
    ``insufficient_credits``) with nothing changed."""
    async with db.transaction():
        row = await jobs.begin_call(db, job_id, worst.tokens, worst.cost_usd)
        if row is None:
            raise Conflict(f"job {job_id!r} was closed; it takes no more calls")
        tokens, cost, _ = await jobs.spent(db, job_id)
        tokens += int(row["inflight_tokens"])
        cost += float(row["inflight_cost_usd"])
        need = budget.credits(tokens, cost)
        _check_limits(budget, job_id, tokens, cost, need)
        held = int(row["credits_held"])
        if need > held:
            if not await teams.hold_credits(db, team_id, need - held):
                balance = await teams.get_team(db, team_id)
                raise InsufficientCredits(
                    team_id,
                    credits_remaining=0 if balance is None else balance["credits_remaining"],
                    credits_reserved=0 if balance is None else balance["credits_reserved"],
                    needed=need - held,
                )
            await jobs.set_held(db, job_id, need)


async def end_call(
    db: Database, team_id: str, job_id: str, budget: Budget, worst: WorstCase
) -> None:
    """After a call was recorded: its worst case is no longer in flight, and the job's hold
    follows what it really used (it shrinks; it grows only if the upstream reported more than
    the worst case, and then only as far as the team's credits go)."""
    async with db.transaction():
        row = await jobs.end_call(db, job_id, worst.tokens, worst.cost_usd)
        if row is None:
            return  # closed meanwhile: completion settled the job's whole hold
        tokens, cost, _ = await jobs.spent(db, job_id)
        need = budget.credits(
            tokens + int(row["inflight_tokens"]), cost + float(row["inflight_cost_usd"])
        )
        held = int(row["credits_held"])
        if need < held:
            await teams.release_held(db, team_id, held - need)
            await jobs.set_held(db, job_id, need)
        elif need > held:
            balance = await teams.get_team(db, team_id)
            available = (
                0
                if balance is None
                else balance["credits_remaining"] - (balance["credits_reserved"])
            )
            more = min(need - held, max(0, available))
            if more and await teams.hold_credits(db, team_id, more):
                await jobs.set_held(db, job_id, held + more)


async def settle_job(
    db: Database, team_id: str, job: Mapping[str, Any], *, completed: bool, now: Any
) -> tuple[int, int]:
    """Settle a job just closed (inside its transaction): charge it (a completed job with a
    successful call: 1 credit, or in a consumption mode ``max(1, ceil(used))``; anything else:
    nothing), give back the rest of its hold, and write the charge to the ledger. Returns
    ``(credits charged, the team's credits_remaining after)``."""
    budget = Budget.of(job)
    tokens, cost, succeeded = await jobs.spent(db, job["job_id"])
    charge = budget.credits(tokens, cost) if completed and succeeded else 0
    held = int(job["credits_held"])
    after = await teams.settle_job(db, team_id, held=held, charge=charge)
    while after is None:
        # The job used more than it held and the team cannot pay all of it (an upstream that
        # reported more than the worst case): it pays what it has, never more; a charge of 0
        # (a release of what the job holds) always applies.
        balance = await teams.get_team(db, team_id)
        available = (
            0 if balance is None else balance["credits_remaining"] - (balance["credits_reserved"])
        )
        charge = max(0, min(charge - 1, available + held))
        after = await teams.settle_job(db, team_id, held=held, charge=charge)
    remaining = int(after["credits_remaining"])
    if charge:
        await ledger.append(
            db,
            team_id=team_id,
            kind="charge",
            credits=-charge,
            credits_remaining_after=remaining,
            at=now,
            job_id=job["job_id"],
            reason=f"job {job['job_type']}" if job.get("job_type") else None,
            dedupe_key=f"charge:{job['job_id']}",
        )
        await credit_events.after_change(db, after, -charge)
    return charge, remaining
