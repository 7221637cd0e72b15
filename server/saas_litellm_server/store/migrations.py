"""Versioned schema migrations, run at start-up.

``schema_migrations`` records applied versions. A fresh database gets the current schema of
:mod:`.schema` in one go and is stamped with every version; an older database gets the upgrade
steps of the versions it lacks, in order. Versions already applied are never rewritten: a change
of :mod:`.schema` comes with a new entry in :data:`UPGRADES`.

Several processes may start at once, so the check-and-apply step runs in one transaction under a
lock: a transaction-scoped advisory lock on PostgreSQL (whose DDL is transactional), and on
SQLite a write as the transaction's first statement, which takes the database's write lock (the
others wait on SQLite's busy timeout).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Sequence

import sqlalchemy as sa
from sqlalchemy.engine.interfaces import Dialect
from sqlalchemy.schema import CreateIndex, CreateTable

from . import retention_sql, schema
from ._database import Database
from ._sqlalchemy_compat import copy_column

__all__ = ["LATEST_VERSION", "UPGRADES", "migrate"]

_ADVISORY_LOCK_KEY = 0x5AA5_117E  # any constant shared by every process of this app


def _create_tables(dialect: Dialect, *tables: sa.Table) -> list[str]:
    statements: list[str] = []
    for table in tables:
        statements.append(str(CreateTable(table).compile(dialect=dialect)))
        statements.extend(
            str(CreateIndex(index).compile(dialect=dialect)) for index in table.indexes
        )
    return statements


def _as_of(table: sa.Table, *, without: set[str]) -> sa.Table:
    """``table`` as an older version created it: without the columns added since."""
    columns = [copy_column(c) for c in table.columns if c.name not in without]
    indexes = [sa.Index(i.name, *[c.name for c in i.columns]) for i in table.indexes]
    return sa.Table(table.name, sa.MetaData(), *columns, *indexes)


def _index(table: sa.Table, name: str) -> sa.Index:
    return next(index for index in table.indexes if index.name == name)


def _random_hex(dialect: Dialect) -> str:
    """SQL for 24 random hex digits (an id made by a migration)."""
    if dialect.name == "sqlite":
        return "lower(hex(randomblob(12)))"
    return "substr(md5(random()::text || clock_timestamp()::text), 1, 24)"


def _timestamp(dialect: Dialect) -> str:
    return str(sa.DateTime(timezone=True).compile(dialect=dialect))


def _create_all(dialect: Dialect) -> list[str]:
    return _create_tables(dialect, *schema.metadata.sorted_tables)


def _billing(dialect: Dialect) -> list[str]:
    """Budget modes, per-job limits, the ledger and auto-refill (self-contained, so that it can
    be renumbered). Every team gets an opening ledger row, so that the credits of its
    transactions add up to its credits_remaining from the start; open jobs hold one credit each
    (what they reserved), charged jobs were charged one; a call's costs are its old cost_usd."""
    return [
        "ALTER TABLE teams ADD COLUMN budget_mode VARCHAR(32) NOT NULL DEFAULT 'job_based'",
        "ALTER TABLE teams ADD COLUMN tokens_per_credit BIGINT",
        "ALTER TABLE teams ADD COLUMN credits_per_dollar FLOAT",
        "ALTER TABLE teams ADD COLUMN markup_percent FLOAT NOT NULL DEFAULT 0",
        "ALTER TABLE teams ADD COLUMN low_balance_threshold BIGINT",
        "ALTER TABLE teams ADD COLUMN refill_amount BIGINT",
        "ALTER TABLE teams ADD COLUMN refill_period VARCHAR(16)",
        "ALTER TABLE teams ADD COLUMN refill_mode VARCHAR(16)",
        "ALTER TABLE teams ADD COLUMN refill_last_period VARCHAR(16)",
        "ALTER TABLE jobs ADD COLUMN budget_mode VARCHAR(32) NOT NULL DEFAULT 'job_based'",
        "ALTER TABLE jobs ADD COLUMN tokens_per_credit BIGINT",
        "ALTER TABLE jobs ADD COLUMN credits_per_dollar FLOAT",
        "ALTER TABLE jobs ADD COLUMN markup_percent FLOAT NOT NULL DEFAULT 0",
        "ALTER TABLE jobs ADD COLUMN limit_max_tokens BIGINT",
        "ALTER TABLE jobs ADD COLUMN limit_max_cost_usd FLOAT",
        "ALTER TABLE jobs ADD COLUMN limit_max_credits BIGINT",
        "ALTER TABLE jobs ADD COLUMN credits_held BIGINT NOT NULL DEFAULT 0",
        "ALTER TABLE jobs ADD COLUMN inflight_tokens BIGINT NOT NULL DEFAULT 0",
        "ALTER TABLE jobs ADD COLUMN inflight_cost_usd FLOAT NOT NULL DEFAULT 0",
        "ALTER TABLE jobs ADD COLUMN credits_charged BIGINT NOT NULL DEFAULT 0",
        "ALTER TABLE llm_calls ADD COLUMN provider_cost_usd FLOAT NOT NULL DEFAULT 0",
        "ALTER TABLE llm_calls ADD COLUMN client_cost_usd FLOAT NOT NULL DEFAULT 0",
        "UPDATE llm_calls SET provider_cost_usd = cost_usd, client_cost_usd = cost_usd",
        "UPDATE jobs SET credits_held = 1 WHERE status IN ('pending', 'in_progress')",
        "UPDATE jobs SET credits_charged = 1 WHERE credit_applied",
        *_create_tables(dialect, schema.credit_transactions),
        "INSERT INTO credit_transactions (transaction_id, team_id, at, kind, credits, "  # noqa: S608
        "credits_remaining_after, reason, dedupe_key) "
        f"SELECT 'ctx_' || {_random_hex(dialect)}, team_id, CURRENT_TIMESTAMP, "
        "'adjustment', credits_allocated - credits_used, credits_allocated - credits_used, "
        "'opening balance (schema version 7)', 'opening:' || team_id FROM teams",
    ]


def _micros(column: str) -> str:
    """SQL for a float USD column as whole micro-dollars."""
    return f"CAST(ROUND({column} * 1000000) AS BIGINT)"


def _exact_billing(dialect: Dialect) -> list[str]:
    """Money as whole micro-dollars instead of floats (prices, call costs, job limits and
    worst cases); a job's running totals, calls in flight, caps and settlement time. Existing
    jobs get their totals from their calls; closed ones count as settled when they closed."""
    ts = _timestamp(dialect)
    return [
        "ALTER TABLE deployments ADD COLUMN input_micros_per_million BIGINT NOT NULL DEFAULT 0",
        "ALTER TABLE deployments ADD COLUMN output_micros_per_million BIGINT NOT NULL DEFAULT 0",
        f"UPDATE deployments SET input_micros_per_million = {_micros('input_cost_per_million')}, "  # noqa: S608
        f"output_micros_per_million = {_micros('output_cost_per_million')}",
        "ALTER TABLE deployments DROP COLUMN input_cost_per_million",
        "ALTER TABLE deployments DROP COLUMN output_cost_per_million",
        "ALTER TABLE llm_calls ADD COLUMN provider_cost_micros BIGINT NOT NULL DEFAULT 0",
        "ALTER TABLE llm_calls ADD COLUMN client_cost_micros BIGINT NOT NULL DEFAULT 0",
        f"UPDATE llm_calls SET provider_cost_micros = {_micros('provider_cost_usd')}, "  # noqa: S608
        f"client_cost_micros = {_micros('client_cost_usd')}",
        "ALTER TABLE llm_calls DROP COLUMN cost_usd",
        "ALTER TABLE llm_calls DROP COLUMN provider_cost_usd",
        "ALTER TABLE llm_calls DROP COLUMN client_cost_usd",
        "ALTER TABLE jobs ADD COLUMN limit_max_cost_micros BIGINT",
        "ALTER TABLE jobs ADD COLUMN inflight_cost_micros BIGINT NOT NULL DEFAULT 0",
        "ALTER TABLE jobs ADD COLUMN inflight_calls INTEGER NOT NULL DEFAULT 0",
        f"ALTER TABLE jobs ADD COLUMN inflight_until {ts}",
        "ALTER TABLE jobs ADD COLUMN used_tokens BIGINT NOT NULL DEFAULT 0",
        "ALTER TABLE jobs ADD COLUMN used_cost_micros BIGINT NOT NULL DEFAULT 0",
        "ALTER TABLE jobs ADD COLUMN used_calls INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE jobs ADD COLUMN cap_tokens BIGINT",
        "ALTER TABLE jobs ADD COLUMN cap_cost_micros BIGINT",
        f"ALTER TABLE jobs ADD COLUMN settled_at {ts}",
        f"UPDATE jobs SET limit_max_cost_micros = {_micros('limit_max_cost_usd')}",  # noqa: S608
        f"UPDATE jobs SET inflight_cost_micros = {_micros('inflight_cost_usd')}",  # noqa: S608
        "ALTER TABLE jobs DROP COLUMN limit_max_cost_usd",
        "ALTER TABLE jobs DROP COLUMN inflight_cost_usd",
        "UPDATE jobs SET "
        "used_tokens = (SELECT COALESCE(SUM(c.total_tokens), 0) FROM llm_calls c "
        "WHERE c.job_id = jobs.job_id), "
        "used_cost_micros = (SELECT COALESCE(SUM(c.client_cost_micros), 0) FROM llm_calls c "
        "WHERE c.job_id = jobs.job_id), "
        "used_calls = (SELECT COUNT(*) FROM llm_calls c "
        "WHERE c.job_id = jobs.job_id AND c.status = 'success')",
        "UPDATE jobs SET settled_at = completed_at WHERE status IN ('completed', 'failed')",
        # The calls in flight of open jobs were not counted before: their worst case goes; a
        # job that held more than one credit keeps it (released at settlement).
        "UPDATE jobs SET inflight_tokens = 0, inflight_cost_micros = 0",
        # Caps of 0 send the next call of an open metered or limited job through the checked
        # path, which computes its caps.
        "UPDATE jobs SET cap_tokens = 0, cap_cost_micros = 0 WHERE settled_at IS NULL AND "
        "(budget_mode <> 'job_based' OR limit_max_tokens IS NOT NULL OR "
        "limit_max_cost_micros IS NOT NULL OR limit_max_credits IS NOT NULL)",
        str(CreateIndex(_index(schema.jobs, "ix_jobs_unsettled")).compile(dialect=dialect)),
    ]


Step = str | Callable[[Database], Awaitable[None]]
"""A statement, or a step that needs to look at the database first."""


def _calls_columns(table: sa.Table) -> str:
    """The columns version 12 copies from a version-11 call log (all but ``rolled_up``)."""
    return ", ".join(c.name for c in table.columns if c.name != "rolled_up")


_CALLS_SINCE_12 = {"attempts", "request_content", "response_content", "key_id"}
"""The columns ``llm_calls`` gained after version 12 rebuilt it (each added by its version)."""


def _calls_v12() -> sa.Table:
    """``llm_calls`` as version 12 created it: today's table without the columns added since,
    with its keys, indexes and (PostgreSQL) partitioning."""
    metadata = sa.MetaData()
    schema.jobs.to_metadata(metadata)  # what its foreign key names
    table = schema.calls
    return sa.Table(
        table.name,
        metadata,
        *[copy_column(c) for c in table.columns if c.name not in _CALLS_SINCE_12],
        *[
            sa.Index(i.name, *[c.name for c in i.columns], **i.dialect_kwargs)
            for i in table.indexes
        ],
        **table.dialect_kwargs,
    )


def _rollups(dialect: Dialect) -> list[Step]:
    """Version 12: the call log keyed by id and start (partitioned by month on PostgreSQL),
    daily rollups of calls and jobs. The calls are copied into the new table (rows that ended
    rolled up at once, with their sums), settled jobs rolled up."""
    from .rollups_sql import day_sql

    name = dialect.name
    old = "llm_calls_v11"
    calls_v12 = _calls_v12()
    columns = _calls_columns(calls_v12)
    call_day = day_sql(name, "c.created_at")
    job_day = day_sql(name, "j.created_at")
    create_calls = _create_tables(dialect, calls_v12)
    steps: list[Step] = [f"ALTER TABLE llm_calls RENAME TO {old}", "DROP INDEX ix_llm_calls_job"]
    if name == "postgresql":
        steps.append(f"ALTER TABLE {old} DROP CONSTRAINT llm_calls_pkey")
    steps += [create_calls[0]]

    async def partitions(db: Database) -> None:
        first = await db.fetch_val(f"SELECT MIN(created_at) FROM {old}")  # noqa: S608
        now = dt.datetime.now(dt.timezone.utc)
        await retention_sql.ensure_partitions(db, now=now, start=first or now)

    if name == "postgresql":
        steps.append(partitions)
    ended = "status <> 'streaming'"
    steps += [
        f"INSERT INTO llm_calls ({columns}, rolled_up) "  # noqa: S608
        f"SELECT {columns}, {ended} FROM {old}",
        *_create_tables(dialect, schema.call_rollups, schema.job_rollups),
        "INSERT INTO call_rollups (day, team_id, organization_id, job_type, model_alias, "  # noqa: S608
        "calls, successes, failures, prompt_tokens, completion_tokens, total_tokens, "
        "provider_cost_micros, client_cost_micros) "
        f"SELECT {call_day}, c.team_id, t.organization_id, j.job_type, c.model_alias, count(*), "
        "sum(CASE WHEN c.status = 'success' THEN 1 ELSE 0 END), "
        "sum(CASE WHEN c.status = 'failed' THEN 1 ELSE 0 END), sum(c.prompt_tokens), "
        "sum(c.completion_tokens), sum(c.total_tokens), sum(c.provider_cost_micros), "
        f"sum(c.client_cost_micros) FROM {old} c JOIN jobs j ON j.job_id = c.job_id "
        f"JOIN teams t ON t.team_id = c.team_id WHERE c.{ended} GROUP BY 1, 2, 3, 4, 5",
        f"DROP TABLE {old}",
        *create_calls[1:],
        "ALTER TABLE jobs ADD COLUMN rolled_up BOOLEAN NOT NULL DEFAULT false",
        "INSERT INTO job_rollups (day, team_id, organization_id, job_type, jobs, completed, "  # noqa: S608
        f"failed, credits) SELECT {job_day}, j.team_id, t.organization_id, j.job_type, count(*), "
        "sum(CASE WHEN j.status = 'completed' THEN 1 ELSE 0 END), "
        "sum(CASE WHEN j.status = 'failed' THEN 1 ELSE 0 END), sum(j.credits_charged) "
        "FROM jobs j JOIN teams t ON t.team_id = j.team_id WHERE j.settled_at IS NOT NULL "
        "GROUP BY 1, 2, 3, 4",
        "UPDATE jobs SET rolled_up = true WHERE settled_at IS NOT NULL",
        str(CreateIndex(_index(schema.jobs, "ix_jobs_unrolled")).compile(dialect=dialect)),
    ]
    return steps


def _key_spend(dialect: Dialect) -> list[Step]:
    """Version 16: which virtual key made a call, and spend per key and day. What was rolled up
    before has no key: it is kept per day and team under the key ``''`` ("before keys were
    recorded"), so per-key figures add up to the team's."""
    return [
        "ALTER TABLE llm_calls ADD COLUMN key_id VARCHAR(40)",
        *_create_tables(dialect, schema.key_rollups),
        "INSERT INTO key_rollups (day, team_id, key_id, calls, total_tokens, "
        "client_cost_micros) SELECT day, team_id, '', sum(calls), sum(total_tokens), "
        "sum(client_cost_micros) FROM call_rollups GROUP BY day, team_id",
    ]


UPGRADES: list[tuple[int, Callable[[Dialect], Sequence[Step]]]] = [
    # Version 1 is the first schema; a database is never upgraded *to* it, only created whole.
    (1, lambda dialect: []),
    (2, lambda dialect: ["ALTER TABLE deployments ADD COLUMN timeout FLOAT"]),
    (
        3,
        lambda dialect: _create_tables(
            dialect, _as_of(schema.idempotency_keys, without={"token", "lease_until"})
        ),
    ),
    (
        4,
        lambda dialect: [
            "ALTER TABLE teams ADD COLUMN rpm_limit INTEGER",
            "ALTER TABLE teams ADD COLUMN tpm_limit INTEGER",
            *_create_tables(dialect, schema.rate_windows),
        ],
    ),
    (
        5,
        lambda dialect: [
            "ALTER TABLE idempotency_keys ADD COLUMN token VARCHAR(32)",
            f"ALTER TABLE idempotency_keys ADD COLUMN lease_until {_timestamp(dialect)}",
            f"ALTER TABLE llm_calls ADD COLUMN alive_until {_timestamp(dialect)}",
        ],
    ),
    (
        6,
        lambda dialect: [
            "ALTER TABLE teams ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}'",
            f"ALTER TABLE teams ADD COLUMN deleted_at {_timestamp(dialect)}",
            f"ALTER TABLE organizations ADD COLUMN deleted_at {_timestamp(dialect)}",
            *_create_tables(dialect, schema.team_keys, schema.audit_events),
            # every team's one key becomes its first key, named "default"
            "INSERT INTO team_keys (key_id, team_id, name, prefix, key_hash, created_at) "  # noqa: S608
            f"SELECT 'key_' || {_random_hex(dialect)}, team_id, 'default', 'sk-', key_hash, "
            "created_at FROM teams",
            str(CreateIndex(_index(schema.jobs, "ix_jobs_created")).compile(dialect=dialect)),
        ],
    ),
    (7, _billing),
    (8, lambda dialect: _create_tables(dialect, schema.webhooks, schema.webhook_deliveries)),
    (9, lambda dialect: _create_tables(dialect, schema.deployment_cooldowns)),
    (10, _exact_billing),
    (11, lambda dialect: _create_tables(dialect, schema.auth_failures, schema.config_managed)),
    (12, _rollups),
    # Version 13: what an alias serves (chat or embeddings); every alias so far served chat.
    (
        13,
        lambda dialect: [
            "ALTER TABLE model_aliases ADD COLUMN mode VARCHAR(16) NOT NULL DEFAULT 'chat'"
        ],
    ),
    # Version 14: operators, each with a role and a key of its own; dashboard sessions that
    # every process shares.
    (14, lambda dialect: _create_tables(dialect, schema.operators, schema.dashboard_sessions)),
    # Version 15: a team may keep its calls' content; a call keeps the deployments it tried.
    (
        15,
        lambda dialect: [
            "ALTER TABLE teams ADD COLUMN store_content BOOLEAN NOT NULL DEFAULT false",
            "ALTER TABLE llm_calls ADD COLUMN attempts TEXT",
            "ALTER TABLE llm_calls ADD COLUMN request_content TEXT",
            "ALTER TABLE llm_calls ADD COLUMN response_content TEXT",
        ],
    ),
    (16, _key_spend),
]
"""``(version, DDL that upgrades a database at version - 1 to it)``."""

LATEST_VERSION = UPGRADES[-1][0]

_CREATE_VERSIONS = (
    "CREATE TABLE IF NOT EXISTS schema_migrations "
    "(version INTEGER PRIMARY KEY, applied_at VARCHAR(40) NOT NULL)"
)


async def migrate(db: Database) -> int:
    """Bring the schema to :data:`LATEST_VERSION`; returns the number of versions applied."""
    now = dt.datetime.now(dt.timezone.utc).isoformat()
    if db.backend == "sqlite":
        await db.execute(_CREATE_VERSIONS)
    async with db.transaction():
        if db.backend == "postgresql":
            await db.execute(f"SELECT pg_advisory_xact_lock({_ADVISORY_LOCK_KEY})")
            await db.execute(_CREATE_VERSIONS)
        else:
            # Version 0 is a lock row: writing it first takes SQLite's write lock.
            await db.execute(
                "INSERT OR REPLACE INTO schema_migrations (version, applied_at) VALUES (0, :now)",
                {"now": now},
            )
        current = await db.fetch_val(sa.text("SELECT MAX(version) FROM schema_migrations")) or 0
        steps: list[Step]
        if current == 0:
            steps = list(_create_all(db.dialect))
        else:
            steps = [
                step
                for version, build in UPGRADES
                if version > current
                for step in build(db.dialect)
            ]
        for step in steps:
            if isinstance(step, str):
                await db.execute(step)
            else:
                await step(db)
        # this month's partition of the call log and the next ones' (PostgreSQL)
        await retention_sql.ensure_partitions(db, now=dt.datetime.now(dt.timezone.utc))
        for version, _ in UPGRADES:
            if version > current:
                await db.execute(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES (:v, :now)",
                    {"v": version, "now": now},
                )
    return max(0, LATEST_VERSION - current)
