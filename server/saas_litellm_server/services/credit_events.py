"""The credit events — ``credits.low``, ``credits.exhausted``, ``credits.refilled`` — all
raised here, from inside the transaction of the change that causes them.

Every credit movement calls :func:`after_change` (or :func:`refilled`) with the team's balance
after it; this module decides which event the change crossed into and hands it to
:func:`credits_event`, the one seam through which credit events leave: a line of the
``saas_litellm_server.credits`` log (with the event as structured fields) and an outbox row of
every webhook that takes it (``services.webhooks.emit``), written in the same transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Literal

from ..store import Database
from ..store.teams_sql import Balance
from . import webhooks

__all__ = ["CreditEvent", "after_change", "credits_event", "refilled"]

logger = logging.getLogger("saas_litellm_server.credits")

CreditEvent = Literal["credits.low", "credits.exhausted", "credits.refilled"]


async def credits_event(
    db: Database, kind: CreditEvent, team: Balance, data: Mapping[str, Any]
) -> None:
    """Emit one credit event for ``team`` (its balance after the change that causes it).
    Call it inside the transaction of the change, so that the event exists iff the change
    does."""
    payload = {"team_id": team["team_id"], **data}
    organization_id = team["organization_id"]
    await webhooks.emit(
        db, kind, {**payload, "organization_id": organization_id}, organization_id=organization_id
    )
    logger.info(
        "%s: team=%s %s",
        kind,
        team["team_id"],
        " ".join(f"{k}={v}" for k, v in data.items()),
        extra={"event_type": kind, "organization_id": team["organization_id"], **payload},
    )


async def after_change(db: Database, team: Balance, credits: int) -> None:
    """After ``credits`` (signed) changed ``team``'s credits_remaining (``team`` holds the
    balance after it): ``credits.low`` when the balance crossed the team's
    ``low_balance_threshold`` going down, ``credits.exhausted`` when it reached 0."""
    if credits >= 0:
        return
    after = int(team["credits_remaining"])
    before = after - credits
    threshold = team["low_balance_threshold"]
    if threshold is not None and before > threshold >= after:
        await credits_event(
            db,
            "credits.low",
            team,
            {"credits_remaining": after, "low_balance_threshold": int(threshold)},
        )
    if before > 0 >= after:
        await credits_event(db, "credits.exhausted", team, {"credits_remaining": after})


async def refilled(db: Database, team: Balance, credits: int, period: str) -> None:
    """An auto-refill added ``credits`` for ``period``."""
    await credits_event(
        db,
        "credits.refilled",
        team,
        {"credits": credits, "credits_remaining": int(team["credits_remaining"]), "period": period},
    )
