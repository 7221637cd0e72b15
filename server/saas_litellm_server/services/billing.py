"""Budget modes: what a job costs in credits, what a call reserves before it goes upstream, and
when a job is settled.

A job holds credits from its creation (1) until it is settled. In the consumption modes, before
each call the job's hold grows to ``ceil(used so far + worst cases of the calls in flight, this
one included)`` credits, with one conditional update of the team's row, so a call goes upstream
only if its worst case fits in what the team has left; the hold does not shrink while the job is
open (it is released at settlement). The per-job limits are checked against the same worst case.

The hot path is one statement per call at each end (``jobs_sql.begin_call``,
``calls_sql.finish_call``): a job row carries *caps* — the usage its hold covers and its limits,
in tokens and micro-dollars — and a call whose worst case fits them begins without reading
anything else. Only a call that would pass a cap takes the checked path (:func:`begin_call`'s
transaction), which grows the hold or refuses.

**Settlement.** A job is settled — charged and its hold released, in one transaction with its
ledger row — once it is closed *and* no call of it is in flight: by the completion itself when
none is, otherwise by the end of its last call (so the calls still streaming when ``complete``
arrives are charged with the rest, from the credits the job held for them). Each settling step
first claims the job (``jobs_sql.claim_settlement``): one of them settles it, once. Every step locks
the job's row, then the team's: the same order everywhere, so they never deadlock.

Money is exact: costs are whole micro-dollars (``_money``), rates the decimals they were set as.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from .. import _metrics
from .._money import MICROS, ceil_div, exact, pico_to_micros
from .._runtime import Runtime
from ..errors import Conflict, InsufficientCredits, JobBudgetExceeded, NotFound
from ..providers import input_bound, prompt_bound
from ..store import Database, calls_sql, jobs_sql, ledger_sql, teams_sql
from ..store._util import utcnow
from . import credit_events, routing, webhooks

logger = logging.getLogger("saas_litellm_server")

__all__ = [
    "JOB_BASED",
    "Budget",
    "WorstCase",
    "after_call",
    "begin_call",
    "charge_late",
    "output_limit",
    "settle",
    "settle_closed",
    "worst_case",
]

Caps = tuple[int | None, int | None]
"""The most a job may have used and have in flight, in tokens and in micro-dollars (``None``:
no cap)."""


@dataclass(frozen=True)
class Budget:
    """The billing settings a job was opened with (the team's at that moment) and its limits."""

    mode: str = "job_based"
    tokens_per_credit: int | None = None
    credits_per_dollar: Fraction | None = None
    markup_percent: Fraction = Fraction(0)
    max_tokens: int | None = None
    max_cost_micros: int | None = None
    max_credits: int | None = None

    @classmethod
    def of(cls, job: jobs_sql.JobStart) -> Budget:
        """From a job's row: the settings it was opened with, and its limits."""
        return _budget(
            job["budget_mode"] or "job_based",
            job["tokens_per_credit"],
            job["credits_per_dollar"],
            job["markup_percent"] or 0,
            job["limit_max_tokens"],
            job["limit_max_cost_micros"],
            job["limit_max_credits"],
        )

    @classmethod
    def of_team(cls, team: teams_sql.BudgetSettings) -> Budget:
        """From a team's settings, for a job about to be opened (no limits yet)."""
        return _budget(
            team["budget_mode"] or "job_based",
            team["tokens_per_credit"],
            team["credits_per_dollar"],
            team["markup_percent"] or 0,
            None,
            None,
            None,
        )

    def limited(self, **limits: int | None) -> Budget:
        """The same budget with per-job limits."""
        return Budget(
            self.mode,
            self.tokens_per_credit,
            self.credits_per_dollar,
            self.markup_percent,
            limits.get("max_tokens"),
            limits.get("max_cost_micros"),
            limits.get("max_credits"),
        )

    @property
    def metered(self) -> bool:
        """Whether the job's calls decide what it costs (a consumption mode)."""
        return self.mode != "job_based"

    @property
    def checked(self) -> bool:
        """Whether each call must reserve its worst case (metered, or limited)."""
        return self.metered or any(
            v is not None for v in (self.max_tokens, self.max_cost_micros, self.max_credits)
        )

    def client_micros(self, provider_pico: int) -> int:
        """What a call costs the team: the provider's cost plus the markup, rounded up."""
        if not self.markup_percent:
            return pico_to_micros(provider_pico)
        return pico_to_micros(provider_pico * (1 + self.markup_percent / 100))

    def credits(self, tokens: int, cost_micros: int) -> int:
        """What a job that used this much costs in credits: at least 1."""
        if self.mode == "consumption_tokens" and self.tokens_per_credit:
            return max(1, ceil_div(tokens, self.tokens_per_credit))
        if self.mode == "consumption_usd" and self.credits_per_dollar:
            return max(1, math.ceil(cost_micros * self.credits_per_dollar / MICROS))
        return 1

    def _covered(self, credits: int) -> Caps:
        """The most usage ``credits`` pay for, in the unit of the mode (``None``: any)."""
        if self.mode == "consumption_tokens" and self.tokens_per_credit:
            return credits * self.tokens_per_credit, None
        if self.mode == "consumption_usd" and self.credits_per_dollar:
            return None, math.floor(credits * MICROS / self.credits_per_dollar)
        return None, None

    def caps(self, held: int) -> Caps:
        """What a job holding ``held`` credits may reach before a call must take the checked
        path: the smallest of what the hold pays for and the limits."""
        if not self.checked:
            return None, None
        tokens, cost = [self.max_tokens], [self.max_cost_micros]
        for credits in (self.max_credits, held if self.metered else None):
            if credits is not None:
                covered_tokens, covered_cost = self._covered(credits)
                tokens.append(covered_tokens)
                cost.append(covered_cost)
        return _least(tokens), _least(cost)


def _least(values: list[int | None]) -> int | None:
    present = [v for v in values if v is not None]
    return min(present) if present else None


@functools.lru_cache(maxsize=4096)
def _budget(
    mode: str,
    tokens_per_credit: int | None,
    credits_per_dollar: float | None,
    markup_percent: float,
    max_tokens: int | None,
    max_cost_micros: int | None,
    max_credits: int | None,
) -> Budget:
    """Budgets by their settings (a call reads its job's on every call: they repeat)."""
    return Budget(
        mode=mode,
        tokens_per_credit=tokens_per_credit,
        credits_per_dollar=exact(credits_per_dollar) if credits_per_dollar else None,
        markup_percent=exact(markup_percent),
        max_tokens=max_tokens,
        max_cost_micros=max_cost_micros,
        max_credits=max_credits,
    )


JOB_BASED = Budget()
"""One credit per completed job, no per-call reservation."""


@dataclass(frozen=True)
class WorstCase:
    """The most one call can use: its prompt (bounded) plus ``completion_tokens``, at the
    highest prices of the deployments it may fall back to."""

    tokens: int
    cost_micros: int
    """Client cost (with the job's markup)."""
    completion_tokens: int | None
    """The output limit sent upstream (``None``: the call reserves nothing, sends its own)."""


NOTHING = WorstCase(0, 0, None)
"""What a call of a job_based job without limits reserves."""


def output_limit(params: Mapping[str, Any]) -> int | None:
    """The call's output limit: ``max_tokens`` or ``max_completion_tokens`` (one limit, under
    whichever name the client used)."""
    value = params.get("max_tokens") or params.get("max_completion_tokens")
    return int(value) if value else None


def set_output_limit(params: dict[str, Any], limit: int) -> None:
    """Send ``limit`` upstream under the one name the client used (``max_tokens`` if none)."""
    name = "max_completion_tokens" if "max_completion_tokens" in params else "max_tokens"
    params.pop("max_tokens", None)
    params.pop("max_completion_tokens", None)
    params[name] = limit


def worst_case(
    runtime: Runtime,
    budget: Budget,
    route: routing.ResolvedAlias,
    messages: list[dict[str, Any]],
    params: Mapping[str, Any],
    *,
    texts: list[str] | None = None,
) -> WorstCase:
    """The call's worst case: its prompt's upper bound (messages, plus the tools and response
    format the upstream also reads: ``providers._tokens``) and its output limit — or
    ``SAAS_LITELLM_BILLING_DEFAULT_MAX_TOKENS`` when it sets none — for the answer. An
    embeddings call (``texts``) has no answer to bound: its worst case is its input's bound."""
    if not budget.checked:
        return NOTHING
    if texts is not None:
        prompt, completion, limit = input_bound(texts), 0, None
    else:
        prompt = prompt_bound(messages, params)
        completion = output_limit(params) or runtime.settings.billing_default_max_tokens
        limit = completion
    cost = max(
        (budget.client_micros(routing.cost_pico(d, prompt, completion)) for d in route.deployments),
        default=0,
    )
    return WorstCase(tokens=prompt + completion, cost_micros=cost, completion_tokens=limit)


def _check_limits(budget: Budget, job_id: str, tokens: int, cost_micros: int, credits: int) -> None:
    for name, value, limit, shown in (
        ("max_tokens", tokens, budget.max_tokens, f"{tokens} tokens"),
        ("max_cost_usd", cost_micros, budget.max_cost_micros, f"{cost_micros / MICROS:.6f} USD"),
        ("max_credits", credits, budget.max_credits, f"{credits} credits"),
    ):
        if limit is not None and value > limit:
            limit_shown = f"{limit / MICROS:g}" if name == "max_cost_usd" else str(limit)
            raise JobBudgetExceeded(
                f"job {job_id!r} has {name}={limit_shown}; with this call's worst case it could "
                f"reach {shown} (set a lower max_tokens, or open a job with more room)",
                param=f"limits.{name}",
            )


async def begin_call(
    db: Database,
    team_id: str,
    job_id: str,
    budget: Budget,
    worst: WorstCase,
    until: dt.datetime,
) -> None:
    """Before a call goes upstream: count it in flight on its open job with its worst case —
    one statement when that fits the job's caps; otherwise, in one transaction, check the
    limits and grow the job's hold to cover it, or refuse (409 closed, 402
    ``job_budget_exceeded`` or ``insufficient_credits``) with nothing changed."""
    tokens, cost = worst.tokens, worst.cost_micros
    if await jobs_sql.begin_call(db, job_id, team_id, tokens=tokens, cost_micros=cost, until=until):
        return
    checks = _checks.get(job_id)
    if checks is None:
        checks = _checks[job_id] = _Checks()
    checks.users += 1
    try:
        waited = checks.lock.locked()
        async with checks.lock:
            # Another call of the job took the checked path meanwhile: it grew the hold, which
            # may cover this call too (one statement, rather than a transaction on its lock)
            if waited and await jobs_sql.begin_call(
                db, job_id, team_id, tokens=tokens, cost_micros=cost, until=until
            ):
                return
            await _begin_checked(db, team_id, job_id, budget, worst, until)
    finally:
        checks.users -= 1
        if not checks.users:
            del _checks[job_id]


class _Checks:
    """The calls of one job taking the checked path in this process, one at a time."""

    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0


_checks: dict[str, _Checks] = {}
"""By job: when a job's caps are reached, many of its concurrent calls fail the one-statement
path together; queued here, each retries it after the one before grew the hold, and only those
still left out lock the job's row (without this, a quarter to a half of the calls of a busy
job took the checked path, each a transaction queued on the job's row)."""


async def _begin_checked(
    db: Database,
    team_id: str,
    job_id: str,
    budget: Budget,
    worst: WorstCase,
    until: dt.datetime,
) -> None:
    tokens, cost = worst.tokens, worst.cost_micros
    async with db.transaction():
        row = await jobs_sql.lock(db, job_id, team_id)
        if row is None:
            raise NotFound(f"job {job_id!r} not found")
        if row["status"] not in jobs_sql.OPEN_STATUSES:
            raise Conflict(f"job {job_id!r} is already {row['status']}; it takes no more calls")
        tokens += row["used_tokens"] + row["inflight_tokens"]
        cost += row["used_cost_micros"] + row["inflight_cost_micros"]
        need = budget.credits(tokens, cost)
        _check_limits(budget, job_id, tokens, cost, need)
        held = row["credits_held"]
        if need > held and not await teams_sql.hold_credits(db, team_id, need - held):
            balance = await teams_sql.get_team(db, team_id)
            raise InsufficientCredits(
                team_id,
                credits_remaining=0 if balance is None else balance["credits_remaining"],
                credits_reserved=0 if balance is None else balance["credits_reserved"],
                needed=need - held,
            )
        held = max(held, need)
        await jobs_sql.admit_call(
            db,
            job_id,
            tokens=worst.tokens,
            cost_micros=worst.cost_micros,
            until=until,
            held=held,
            caps=budget.caps(held),
        )


async def after_call(
    db: Database,
    team_id: str,
    job_id: str,
    budget: Budget,
    job: calls_sql.JobTotals,
    call_id: str | None = None,
) -> None:
    """After a call's end was applied to its job (``job``: its totals then): settle the job if
    that was the last call in flight of a closed job; for an open one, if the call used more
    than its worst case (an upstream beyond the bound), grow the hold as far as the team's
    credits go, so that settlement can charge it. A call that ends after its job was settled
    without it (the sweep took it for dead) is charged then (:func:`charge_late`)."""
    if job["settled_at"] is not None:
        if call_id is not None and int(job["used_calls"]) > 0:
            await charge_late(db, team_id, job_id, call_id)
        return
    if job["status"] not in jobs_sql.OPEN_STATUSES:
        if int(job["inflight_calls"]) == 0:
            await settle(db, team_id, job_id)
        return
    if budget.metered and _past_caps(job):
        async with db.transaction():
            row = await jobs_sql.lock(db, job_id, team_id)
            if row is None or row["settled_at"] is not None:
                return
            need = budget.credits(
                row["used_tokens"] + row["inflight_tokens"],
                row["used_cost_micros"] + row["inflight_cost_micros"],
            )
            held = row["credits_held"]
            balance = await teams_sql.get_team(db, team_id)
            available = (
                0 if balance is None else balance["credits_remaining"] - balance["credits_reserved"]
            )
            more = min(need - held, max(0, available))
            if more > 0 and await teams_sql.hold_credits(db, team_id, more):
                await jobs_sql.set_hold(db, job_id, held + more, budget.caps(held + more))


def _past_caps(job: calls_sql.JobTotals) -> bool:
    """Whether what the job used and has in flight passed its caps (what its hold pays for,
    and its limits): only when a call used more than its worst case. Integers only: this runs
    after every call."""
    cap_tokens, cap_cost = job["cap_tokens"], job["cap_cost_micros"]
    used_tokens = int(job["used_tokens"]) + int(job["inflight_tokens"])
    used_cost = int(job["used_cost_micros"]) + int(job["inflight_cost_micros"])
    return (cap_tokens is not None and used_tokens > cap_tokens) or (
        cap_cost is not None and used_cost > cap_cost
    )


async def charge_late(db: Database, team_id: str, job_id: str, call_id: str) -> int:
    """Charge a completed, settled job what a call that ended after its settlement adds to it,
    as far as the team's credits go (its hold was released: nothing was kept for it). Only
    calls the sweep took for dead get here — their server stopped checkpointing them for longer
    than they could live — so this is the exception. The credits charged."""
    async with db.transaction():
        row = await jobs_sql.lock(db, job_id, team_id)
        if row is None or row["status"] != "completed" or row["used_calls"] == 0:
            return 0
        budget = Budget.of(row)
        extra = budget.credits(row["used_tokens"], row["used_cost_micros"])
        extra -= row["credits_charged"]
        balance = await teams_sql.get_team(db, team_id)
        if balance is None or extra <= 0:
            return 0
        extra = min(extra, balance["credits_remaining"] - balance["credits_reserved"])
        if extra <= 0:
            logger.warning("job %s: call %s ended after settlement, unpaid", job_id, call_id)
            return 0
        after = await teams_sql.settle_job(db, team_id, held=0, charge=extra)
        assert after is not None  # within what is available
        remaining = await _write_charge(
            db,
            after,
            job_id,
            extra,
            at=utcnow(),
            reason=f"job {row['job_type']}: call {call_id} ended after settlement",
            dedupe_key=f"charge:{job_id}:{call_id}",
        )
        await jobs_sql.record_settlement(
            db,
            job_id,
            credits_charged=row["credits_charged"] + extra,
            credits_remaining=remaining,
            late=row,
        )
    return extra


async def _write_charge(
    db: Database,
    after: teams_sql.Balance,
    job_id: str,
    credits: int,
    *,
    at: dt.datetime,
    reason: str,
    dedupe_key: str,
) -> int:
    """The ledger row of a charge the team's row just took (``after``: its balance then) and
    the credit events it crossed, in the same transaction; the balance after it."""
    remaining = int(after["credits_remaining"])
    await ledger_sql.append(
        db,
        team_id=str(after["team_id"]),
        kind="charge",
        credits=-credits,
        credits_remaining_after=remaining,
        at=at,
        job_id=job_id,
        reason=reason,
        dedupe_key=dedupe_key,
    )
    await credit_events.after_change(db, after, -credits)
    return remaining


async def settle(
    db: Database, team_id: str, job_id: str
) -> tuple[jobs_sql.JobRow, int, int] | None:
    """Settle a closed job with no call in flight, in a transaction of its own (see
    :func:`settle_closed`); ``None`` when it is not such a job or is settled already."""
    async with db.transaction():
        return await settle_closed(db, team_id, job_id, now=utcnow())


async def settle_closed(
    db: Database, team_id: str, job_id: str, *, now: dt.datetime
) -> tuple[jobs_sql.JobRow, int, int] | None:
    """Inside a transaction: claim the settlement of a closed job with no call in flight, charge
    it (a completed job with a billable call: 1 credit, or in a consumption mode ``max(1,
    ceil(used))``; anything else: nothing), give back the rest of its hold, write the charge to
    the ledger and the job's event to the outbox. The job as settled, the credits charged and
    the team's credits_remaining after; ``None`` when someone else settles it (or it still has
    calls in flight)."""
    row = await jobs_sql.claim_settlement(db, job_id, now)
    if row is None:
        return None
    budget = Budget.of(row)
    completed = row["status"] == "completed" and row["used_calls"] > 0
    charge = budget.credits(row["used_tokens"], row["used_cost_micros"]) if completed else 0
    held = row["credits_held"]
    after = await teams_sql.settle_job(db, team_id, held=held, charge=charge)
    while after is None:
        # The job used more than it held and the team cannot pay all of it (an upstream that
        # reported more than the worst case): it pays what it has, never more; a charge of 0
        # (a release of what the job holds) always applies.
        balance = await teams_sql.get_team(db, team_id)
        available = (
            0 if balance is None else balance["credits_remaining"] - (balance["credits_reserved"])
        )
        charge = max(0, min(charge - 1, available + held))
        after = await teams_sql.settle_job(db, team_id, held=held, charge=charge)
    remaining = int(after["credits_remaining"])
    if charge:
        await _write_charge(
            db,
            after,
            job_id,
            charge,
            at=now,
            reason=f"job {row['job_type']}",
            dedupe_key=f"charge:{job_id}",
        )
    await jobs_sql.record_settlement(
        db, job_id, credits_charged=charge, credits_remaining=remaining
    )
    settled = jobs_sql.JobRow(
        **{
            **row,
            "credit_applied": charge > 0,
            "credits_charged": charge,
            "credits_held": 0,
            "credits_remaining_after": remaining,
        }
    )
    await webhooks.job_settled(db, settled, credits_charged=charge, credits_remaining=remaining)
    metrics = _metrics.current()
    if metrics is not None and charge:
        db.after_commit(lambda: metrics.charged(team_id, charge))
    return settled, charge, remaining
