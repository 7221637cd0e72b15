"""Billing from the browser: a team's billing settings (budget mode, rates, markup, low-balance
threshold), its auto-refill, credit adjustments, the ledger's CSV export, spend per virtual key
(on the team page, ``teams.py``), and the usage report of every team (``/admin/usage``, with its
CSV). Each calls the service its API endpoint calls."""

from __future__ import annotations

import datetime as dt

from starlette.responses import Response

from saas_litellm_models import (
    AutoRefillRequest,
    CreditsAdjustRequest,
    CreditTransactionListQuery,
    TeamUpdateRequest,
    UsageReportQuery,
)

from .._csv import csv_response
from ..errors import InvalidRequest
from ..services import ledger, refills, teams
from ..services import usage as reports
from ._context import Ctx
from ._forms import Form
from ._http import PREFIX, q, url
from .teams import back_to_team, team_id_of

__all__ = [
    "adjust_credits",
    "remove_auto_refill",
    "set_auto_refill",
    "transactions_csv",
    "update_billing",
    "usage",
    "usage_csv",
]

GROUPS = ("team", "organization", "job_type", "model", "day")


def _decimal(form: Form, name: str) -> float | None:
    """A decimal field (``12.5``; ``None``: left empty)."""
    text = form.get(name)
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise InvalidRequest(f"{name}: {text[:40]!r} is not a number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise InvalidRequest(f"{name}: {text[:40]!r} is not a number")
    return value


async def update_billing(ctx: Ctx, form: Form) -> Response:
    """The billing form: every field is sent, an empty rate or threshold clears it (a mode
    that needs its rate is then refused, and nothing changes)."""
    body = TeamUpdateRequest.model_validate(
        {
            "budget_mode": form.get("budget_mode") or None,
            "markup_percent": _decimal(form, "markup_percent") or 0.0,
            "tokens_per_credit": form.integer("tokens_per_credit"),
            "credits_per_dollar": _decimal(form, "credits_per_dollar"),
            "low_balance_threshold": form.integer("low_balance_threshold"),
        }
    )
    await teams.update_team(ctx.db, team_id_of(ctx), body, ctx.operator)
    return back_to_team(ctx, "billing")


async def set_auto_refill(ctx: Ctx, form: Form) -> Response:
    body = AutoRefillRequest.model_validate(
        {
            "amount": form.integer("amount"),
            "period": form.get("period"),
            "mode": form.get("mode") or "add",
        }
    )
    await refills.set_auto_refill(ctx.db, team_id_of(ctx), body, ctx.operator)
    return back_to_team(ctx, "refill")


async def remove_auto_refill(ctx: Ctx, form: Form) -> Response:
    await refills.delete_auto_refill(ctx.db, team_id_of(ctx), ctx.operator)
    return back_to_team(ctx, "refill-off")


async def adjust_credits(ctx: Ctx, form: Form) -> Response:
    """A signed adjustment with its reason; a negative one is confirmed first (with or without
    JavaScript: a page asks, its button posts the form again, confirmed)."""
    body = CreditsAdjustRequest.model_validate(
        {"credits": form.integer("credits"), "reason": form.get("reason")}
    )
    if body.credits < 0 and form.get("confirmed") != "yes":
        return ctx.render(
            "confirm.html",
            question=f"Take {-body.credits:,} credits from team {team_id_of(ctx)}?",
            action=ctx.request.url.path,
            fields=[("credits", str(body.credits)), ("reason", body.reason)],
            back=f"{PREFIX}/teams/{q(team_id_of(ctx))}",
        )
    await teams.adjust_credits(ctx.db, team_id_of(ctx), body, ctx.operator)
    return back_to_team(ctx, "adjusted")


async def transactions_csv(ctx: Ctx) -> Response:
    """The team's whole ledger as CSV (``?kind=`` narrows it), as the API's ``format=csv``."""
    query = CreditTransactionListQuery.model_validate({"kind": ctx.param("kind")})
    return csv_response(await ledger.transactions_csv(ctx.db, team_id_of(ctx), query.kind))


def _report_query(ctx: Ctx) -> tuple[UsageReportQuery, dict[str, str]]:
    """The usage report's query from the page's: ``group_by`` and UTC days (``since`` and
    ``until`` both included)."""
    filters = {n: ctx.param(n) for n in ("group_by", "since", "until") if ctx.param(n)}
    window: dict[str, str] = {}
    try:
        if filters.get("since"):
            window["since"] = dt.date.fromisoformat(filters["since"]).isoformat() + "T00:00:00Z"
        if filters.get("until"):
            day = dt.date.fromisoformat(filters["until"]) + dt.timedelta(days=1)
            window["until"] = day.isoformat() + "T00:00:00Z"
    except (ValueError, OverflowError):
        raise InvalidRequest("dates are YYYY-MM-DD") from None
    query = UsageReportQuery.model_validate(
        {"group_by": filters.get("group_by") or "team", **window}
    )
    return query, filters


async def usage(ctx: Ctx) -> Response:
    """Every team's usage, grouped as chosen, over UTC days; with its CSV export."""
    query, filters = _report_query(ctx)
    report = await reports.usage_report(ctx.db, query)
    return ctx.render(
        "usage.html",
        report=report,
        filters=filters,
        groups=GROUPS,
        csv_url=url(f"{PREFIX}/usage.csv", filters),
    )


async def usage_csv(ctx: Ctx) -> Response:
    query, _ = _report_query(ctx)
    return csv_response(await reports.usage_csv(ctx.db, query))
