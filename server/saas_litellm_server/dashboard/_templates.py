"""The dashboard's Jinja2 templates: one environment (autoescaped, strict about undefined
names) with the formatting filters and the chart function, and the notices a page shows after
a change (the redirect's ``done=`` names one)."""

from __future__ import annotations

from pathlib import Path

import jinja2

from . import charts
from ._format import FILTERS, money, number

__all__ = ["DONE", "environment"]

DONE = {
    "organization": "Organization created.",
    "group": "Access group created.",
    "group-updated": "Access group updated.",
    "alias": "Model alias created.",
    "alias-updated": "Model alias updated.",
    "credits": "Credits added.",
    "limits": "Limits saved.",
    "suspended": "Team suspended: its keys get 403 on new jobs and calls.",
    "resumed": "Team resumed.",
    "revoked": "Key revoked.",
    "updated": "Team settings saved.",
    "billing": "Billing settings saved: a new budget mode applies to jobs opened from now on.",
    "refill": "Auto-refill saved.",
    "refill-off": "Auto-refill turned off.",
    "adjusted": "Credits adjusted: the ledger shows the adjustment.",
    "team-removed": "Team removed; its history stays in the usage figures and the audit log.",
    "organization-removed": "Organization removed.",
    "alias-removed": "Model alias removed.",
    "group-removed": "Access group removed.",
    "redelivered": "Delivery queued: it is sent again, with the same webhook-id, in a moment.",
    "webhook-removed": "Webhook removed: nothing more is sent to it.",
    "test-sent": "Test event queued: a webhook.test delivery is sent in a moment (listed below).",
    "operator-updated": "Operator's role saved: it applies from their next request.",
    "operator-removed": "Operator removed: their key stops working and they are signed out.",
}
"""A change's notice by its ``done=`` name (an unknown name shows none)."""


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).resolve().parent / "templates"),
        autoescape=True,  # every value is escaped unless a chart hands over Markup
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(FILTERS)
    env.globals.update(bar_chart=charts.bar_chart, money=money, number=number)
    return env
