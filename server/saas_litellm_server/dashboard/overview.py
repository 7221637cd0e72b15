"""The overview page (``/admin``): today's and the period's figures, the top teams, and calls
and spend per day and by model as charts."""

from __future__ import annotations

from starlette.responses import Response

from ..services import stats
from ._context import Ctx

__all__ = ["overview"]


async def overview(ctx: Ctx) -> Response:
    figures = await stats.overview(ctx.db, ctx.runtime.clock())
    return ctx.render(
        "overview.html",
        o=figures,
        calls_per_day=[(d.label[5:], d.calls) for d in figures.days],  # MM-DD
        spend_per_day=[(d.label[5:], d.cost_usd) for d in figures.days],
        spend_by_model=[(m.label, m.cost_usd) for m in figures.by_model],
    )
