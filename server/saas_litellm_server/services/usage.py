"""The usage report of every team (``GET /api/usage``, the dashboard's usage export): grouped
by team, organization, job type, model or day, from the same sources as every other usage
figure (``store.usage_sql``: daily rollups and what is not rolled up yet, in one statement)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from saas_litellm_models import UsageReport, UsageReportQuery, UsageReportRow

from .._csv import Cell, Dollars, Export
from .._money import usd
from ..store import Database, usage_sql

__all__ = ["CSV_COLUMNS", "usage_csv", "usage_report"]

CSV_COLUMNS = tuple(UsageReportRow.model_fields)
"""The CSV's columns: the JSON row's fields, in order."""


def _row(r: usage_sql.ReportRow) -> UsageReportRow:
    return UsageReportRow(
        group=r["group"],
        calls=r["calls"],
        successful_calls=r["successes"],
        failed_calls=r["failures"],
        prompt_tokens=r["prompt_tokens"],
        completion_tokens=r["completion_tokens"],
        total_tokens=r["total_tokens"],
        provider_cost_usd=usd(r["provider_cost_micros"]),
        client_cost_usd=usd(r["client_cost_micros"]),
        jobs=r["jobs"],
        completed_jobs=r["completed"],
        failed_jobs=r["failed"],
        credits=r["credits"],
    )


def _cells(r: usage_sql.ReportRow) -> Sequence[Cell]:
    return (
        r["group"],
        r["calls"],
        r["successes"],
        r["failures"],
        r["prompt_tokens"],
        r["completion_tokens"],
        r["total_tokens"],
        Dollars(r["provider_cost_micros"]),
        Dollars(r["client_cost_micros"]),
        r["jobs"],
        r["completed"],
        r["failed"],
        r["credits"],
    )


async def _rows(db: Database, query: UsageReportQuery) -> list[usage_sql.ReportRow]:
    return await usage_sql.usage_report(db, query.group_by, since=query.since, until=query.until)


async def usage_report(db: Database, query: UsageReportQuery) -> UsageReport:
    rows = await _rows(db, query)
    return UsageReport(
        group_by=query.group_by,
        since=query.since,
        until=query.until,
        rows=[_row(r) for r in rows],
    )


async def usage_csv(db: Database, query: UsageReportQuery) -> Export:
    """The report as CSV (read whole first: one row per group, a few thousand at most)."""
    rows = await _rows(db, query)

    async def cells() -> AsyncIterator[Sequence[Cell]]:
        for r in rows:
            yield _cells(r)

    return Export(CSV_COLUMNS, cells(), f"usage-by-{query.group_by}.csv")
