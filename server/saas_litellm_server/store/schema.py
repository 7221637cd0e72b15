"""The database schema, defined once with SQLAlchemy Core.

Money lives in ``teams``: ``credits_allocated`` (granted: grants, refills, adjustments),
``credits_used`` (what settled jobs were charged) and ``credits_reserved`` (what unsettled jobs
hold). A CHECK keeps ``used + reserved <= allocated`` so that not even a bug can overspend. US
dollars are stored as whole micro-dollars (``BIGINT``), never as binary floats. JSON is stored
as text and decoded by the store, which behaves the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import sqlalchemy as sa

__all__ = [
    "alias_groups",
    "audit_events",
    "auth_failures",
    "call_rollups",
    "calls",
    "config_managed",
    "credit_grants",
    "credit_transactions",
    "dashboard_sessions",
    "deployment_cooldowns",
    "deployments",
    "idempotency_keys",
    "job_rollups",
    "jobs",
    "key_rollups",
    "metadata",
    "model_access_groups",
    "model_aliases",
    "operators",
    "organizations",
    "rate_windows",
    "team_groups",
    "team_keys",
    "teams",
    "webhook_deliveries",
    "webhooks",
]

metadata = sa.MetaData()

_ID = 128
_ts = sa.DateTime(timezone=True)

organizations = sa.Table(
    "organizations",
    metadata,
    sa.Column("organization_id", sa.String(_ID), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("metadata", sa.Text, nullable=False, server_default="{}"),
    sa.Column("created_at", _ts, nullable=False),
    sa.Column("deleted_at", _ts),  # since schema version 6: removed, its history kept
)

model_access_groups = sa.Table(
    "model_access_groups",
    metadata,
    sa.Column("group_name", sa.String(_ID), primary_key=True),
    sa.Column("description", sa.Text),
    sa.Column("created_at", _ts, nullable=False),
)

model_aliases = sa.Table(
    "model_aliases",
    metadata,
    sa.Column("model_alias", sa.String(_ID), primary_key=True),
    sa.Column("public", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", _ts, nullable=False),
    sa.Column("mode", sa.String(16), nullable=False, server_default="chat"),  # since version 13
)

alias_groups = sa.Table(
    "model_alias_groups",
    metadata,
    sa.Column(
        "model_alias",
        sa.String(_ID),
        sa.ForeignKey("model_aliases.model_alias", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "group_name",
        sa.String(_ID),
        sa.ForeignKey("model_access_groups.group_name"),
        primary_key=True,
    ),
)

deployments = sa.Table(
    "deployments",
    metadata,
    sa.Column(
        "model_alias",
        sa.String(_ID),
        sa.ForeignKey("model_aliases.model_alias", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("position", sa.Integer, primary_key=True),
    sa.Column("provider", sa.String(32), nullable=False),
    sa.Column("model", sa.String(_ID), nullable=False),
    sa.Column("api_base", sa.String(2048)),
    sa.Column("timeout", sa.Float),  # since schema version 2
    # Since schema version 10: prices in whole micro-dollars per million tokens (= pico-dollars
    # per token), so that a call's cost is an exact integer (they were floats in USD).
    sa.Column("input_micros_per_million", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("output_micros_per_million", sa.BigInteger, nullable=False, server_default="0"),
)

teams = sa.Table(
    "teams",
    metadata,
    sa.Column("team_id", sa.String(_ID), primary_key=True),
    sa.Column(
        "organization_id",
        sa.String(_ID),
        sa.ForeignKey("organizations.organization_id"),
        nullable=False,
    ),
    sa.Column("team_alias", sa.String(200)),
    sa.Column("default_model", sa.String(_ID)),
    sa.Column("status", sa.String(16), nullable=False, server_default="active"),
    # The hash of the key the team was created with. Since schema version 6 keys live in
    # team_keys and authentication never reads this column; it stays because SQLite cannot
    # drop a UNIQUE column in place.
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("credits_allocated", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("credits_used", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("credits_reserved", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("created_at", _ts, nullable=False),
    sa.Column("rpm_limit", sa.Integer),  # since schema version 4
    sa.Column("tpm_limit", sa.Integer),  # since schema version 4
    sa.Column("metadata", sa.Text, nullable=False, server_default="{}"),  # since version 6
    sa.Column("deleted_at", _ts),  # since schema version 6: removed, its history kept
    # Since schema version 7 (billing): the budget mode and its rates, copied onto each job
    # at its creation; the low-balance threshold; the auto-refill and the period it last ran.
    sa.Column("budget_mode", sa.String(32), nullable=False, server_default="job_based"),
    sa.Column("tokens_per_credit", sa.BigInteger),
    sa.Column("credits_per_dollar", sa.Float),
    sa.Column("markup_percent", sa.Float, nullable=False, server_default="0"),
    sa.Column("low_balance_threshold", sa.BigInteger),
    sa.Column("refill_amount", sa.BigInteger),
    sa.Column("refill_period", sa.String(16)),
    sa.Column("refill_mode", sa.String(16)),
    sa.Column("refill_last_period", sa.String(16)),
    # Since schema version 15: whether its calls' content (request messages, response text)
    # is kept on their rows of ``llm_calls``; off unless the operator turns it on.
    sa.Column("store_content", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.CheckConstraint("credits_used >= 0", name="ck_teams_used_nonneg"),
    sa.CheckConstraint("credits_reserved >= 0", name="ck_teams_reserved_nonneg"),
    sa.CheckConstraint(
        "credits_used + credits_reserved <= credits_allocated", name="ck_teams_no_overspend"
    ),
)

team_groups = sa.Table(
    "team_access_groups",
    metadata,
    sa.Column(
        "team_id",
        sa.String(_ID),
        sa.ForeignKey("teams.team_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "group_name",
        sa.String(_ID),
        sa.ForeignKey("model_access_groups.group_name"),
        primary_key=True,
    ),
)

credit_grants = sa.Table(
    "credit_grants",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("team_id", sa.String(_ID), sa.ForeignKey("teams.team_id"), nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("created_at", _ts, nullable=False),
    sa.Index("ix_credit_grants_team", "team_id"),
)

jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("job_id", sa.String(36), primary_key=True),
    sa.Column("team_id", sa.String(_ID), sa.ForeignKey("teams.team_id"), nullable=False),
    sa.Column("job_type", sa.String(100), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("metadata", sa.Text, nullable=False, server_default="{}"),
    sa.Column("user_id", sa.String(256)),
    sa.Column("error_message", sa.Text),
    sa.Column("credit_applied", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("credits_remaining_after", sa.BigInteger),
    sa.Column("created_at", _ts, nullable=False),
    sa.Column("completed_at", _ts),
    # Since schema version 7 (billing): the team's settings when the job opened, its limits,
    # the credits it holds now (its worst case so far: 1 at creation) and the worst case of
    # its calls in flight, and what it was charged.
    sa.Column("budget_mode", sa.String(32), nullable=False, server_default="job_based"),
    sa.Column("tokens_per_credit", sa.BigInteger),
    sa.Column("credits_per_dollar", sa.Float),
    sa.Column("markup_percent", sa.Float, nullable=False, server_default="0"),
    sa.Column("limit_max_tokens", sa.BigInteger),
    sa.Column("limit_max_credits", sa.BigInteger),
    sa.Column("credits_held", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("inflight_tokens", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("credits_charged", sa.BigInteger, nullable=False, server_default="0"),
    # Since schema version 10 (exact billing): money in whole micro-dollars; the running totals
    # of the job's recorded calls (used_*: tokens, client cost, billable calls) and of its calls
    # in flight (their worst cases, and until when they are alive), so that a call costs the
    # same at any depth of its job; the caps the next call's worst case must fit (what the hold
    # covers and the limits, in tokens and micro-dollars: one comparison in SQL); and when the
    # job was settled (a job closed with calls in flight is settled by the last one's end).
    sa.Column("limit_max_cost_micros", sa.BigInteger),
    sa.Column("inflight_cost_micros", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("inflight_calls", sa.Integer, nullable=False, server_default="0"),
    sa.Column("inflight_until", _ts),
    sa.Column("used_tokens", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("used_cost_micros", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("used_calls", sa.Integer, nullable=False, server_default="0"),
    sa.Column("cap_tokens", sa.BigInteger),
    sa.Column("cap_cost_micros", sa.BigInteger),
    sa.Column("settled_at", _ts),
    # Since schema version 12: whether the (settled) job is counted in ``job_rollups``.
    sa.Column("rolled_up", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Index("ix_jobs_team_created", "team_id", "created_at"),
    sa.Index("ix_jobs_created", "created_at", "job_id"),  # since schema version 6
    # since schema version 10: the jobs the maintenance sweep may have to settle. On columns
    # a call's statements never change, so that they stay heap-only updates on PostgreSQL.
    sa.Index(
        "ix_jobs_unsettled",
        "status",
        postgresql_where=sa.text("settled_at IS NULL"),
        sqlite_where=sa.text("settled_at IS NULL"),
    ),
    # since schema version 12: the jobs usage figures still read raw (see ``job_rollups``)
    sa.Index(
        "ix_jobs_unrolled",
        "created_at",
        postgresql_where=sa.text("NOT rolled_up"),
        sqlite_where=sa.text("NOT rolled_up"),
    ),
)

# The call log. Since schema version 12 a call's key is its id *and* its start
# (``created_at``, fixed when it starts and the same in each of its writes), because on
# PostgreSQL the table is partitioned by month on it (``store.retention_sql`` keeps the
# partitions: old months are detached and dropped whole, never deleted row by row), and a
# partitioned table's keys must hold the partition key.
calls = sa.Table(
    "llm_calls",
    metadata,
    sa.Column("call_id", sa.String(36), primary_key=True),
    sa.Column("job_id", sa.String(36), sa.ForeignKey("jobs.job_id"), nullable=False),
    sa.Column("team_id", sa.String(_ID), nullable=False),
    sa.Column("model_alias", sa.String(_ID), nullable=False),
    sa.Column("deployment", sa.String(_ID)),
    sa.Column("provider", sa.String(32)),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("streamed", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("prompt_tokens", sa.Integer, nullable=False, server_default="0"),
    sa.Column("completion_tokens", sa.Integer, nullable=False, server_default="0"),
    sa.Column("total_tokens", sa.Integer, nullable=False, server_default="0"),
    sa.Column("latency_ms", sa.Float, nullable=False, server_default="0"),
    sa.Column("finish_reason", sa.String(32)),
    sa.Column("purpose", sa.String(200)),
    sa.Column("error_type", sa.String(32)),
    sa.Column("error_message", sa.Text),
    sa.Column("metadata", sa.Text, nullable=False, server_default="{}"),
    sa.Column("created_at", _ts, primary_key=True),
    # Since schema version 5: a call still streaming (status "streaming") saves its progress
    # and is alive until then; past it, the server that ran it is gone (see calls.interrupt).
    sa.Column("alive_until", _ts),
    # Since schema version 10, in whole micro-dollars (floats in USD before): the provider's
    # cost (tokens x the answering deployment's prices) and the client's (with the markup the
    # job was opened with), each rounded up once.
    sa.Column("provider_cost_micros", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("client_cost_micros", sa.BigInteger, nullable=False, server_default="0"),
    # Since schema version 12: whether the (ended) call is counted in ``call_rollups``.
    sa.Column("rolled_up", sa.Boolean, nullable=False, server_default=sa.false()),
    # Since schema version 15: the deployments tried, in order (a JSON list of
    # ``{provider, deployment, error_type}``, the last one the answering or last failing), and
    # for a team with ``store_content`` the call's content, each bounded
    # (``services.calls.CONTENT_LIMIT``): the request's messages (JSON; an embeddings call's
    # input texts) and the response's text (a stream's: what reached the client). On the
    # call's row, so that retention removes them with it.
    sa.Column("attempts", sa.Text),
    sa.Column("request_content", sa.Text),
    sa.Column("response_content", sa.Text),
    # Since schema version 16: the virtual key that made the call (null before it, and for
    # calls no key made).
    sa.Column("key_id", sa.String(40)),
    sa.Index("ix_llm_calls_job", "job_id"),
    # the calls of a time range (retention's batches, a window's hours at its ends): a BRIN
    # index on PostgreSQL, whose calls arrive in time order (a few bytes per 128 pages, next to
    # nothing per insert), a B-tree on SQLite
    sa.Index("ix_llm_calls_created", "created_at", postgresql_using="brin"),
    # the calls usage figures still read raw: few, the maintenance sweep rolls them up
    sa.Index(
        "ix_llm_calls_unrolled",
        "created_at",
        postgresql_where=sa.text("NOT rolled_up"),
        sqlite_where=sa.text("NOT rolled_up"),
    ),
    postgresql_partition_by="RANGE (created_at)",
)

# Daily rollups (since schema version 12): what usage figures are made of, so that they stay
# when old calls are removed (``SAAS_LITELLM_CALL_RETENTION_DAYS``) and cost the same at any
# size of the call log. The maintenance sweep moves ended calls and settled jobs into them, each
# exactly once (``rolled_up`` on the row, set in the same transaction as the sums it joins);
# usage queries add what is not rolled up yet, read raw (``store.usage_sql``). ``day`` is the
# UTC day a call started or a job was created, as ``YYYY-MM-DD``.
call_rollups = sa.Table(
    "call_rollups",
    metadata,
    sa.Column("day", sa.String(10), primary_key=True),
    sa.Column("team_id", sa.String(_ID), primary_key=True),
    sa.Column("organization_id", sa.String(_ID), primary_key=True),
    sa.Column("job_type", sa.String(100), primary_key=True),
    sa.Column("model_alias", sa.String(_ID), primary_key=True),
    sa.Column("calls", sa.BigInteger, nullable=False),
    sa.Column("successes", sa.BigInteger, nullable=False),
    sa.Column("failures", sa.BigInteger, nullable=False),
    sa.Column("prompt_tokens", sa.BigInteger, nullable=False),
    sa.Column("completion_tokens", sa.BigInteger, nullable=False),
    sa.Column("total_tokens", sa.BigInteger, nullable=False),
    sa.Column("provider_cost_micros", sa.BigInteger, nullable=False),
    sa.Column("client_cost_micros", sa.BigInteger, nullable=False),
    sa.Index("ix_call_rollups_team_day", "team_id", "day"),
    sa.Index("ix_call_rollups_organization_day", "organization_id", "day"),
)

job_rollups = sa.Table(
    "job_rollups",
    metadata,
    sa.Column("day", sa.String(10), primary_key=True),
    sa.Column("team_id", sa.String(_ID), primary_key=True),
    sa.Column("organization_id", sa.String(_ID), primary_key=True),
    sa.Column("job_type", sa.String(100), primary_key=True),
    sa.Column("jobs", sa.BigInteger, nullable=False),
    sa.Column("completed", sa.BigInteger, nullable=False),
    sa.Column("failed", sa.BigInteger, nullable=False),
    sa.Column("credits", sa.BigInteger, nullable=False),
    sa.Index("ix_job_rollups_team_day", "team_id", "day"),
    sa.Index("ix_job_rollups_organization_day", "organization_id", "day"),
)

# Since schema version 16: spend per virtual key and day, filled by the same sweep transaction
# that rolls a call into ``call_rollups`` (``key_id`` is ``''`` for calls recorded before keys
# were: a key column cannot be null).
key_rollups = sa.Table(
    "key_rollups",
    metadata,
    sa.Column("day", sa.String(10), primary_key=True),
    sa.Column("team_id", sa.String(_ID), primary_key=True),
    sa.Column("key_id", sa.String(40), primary_key=True),
    sa.Column("calls", sa.BigInteger, nullable=False),
    sa.Column("total_tokens", sa.BigInteger, nullable=False),
    sa.Column("client_cost_micros", sa.BigInteger, nullable=False),
    sa.Index("ix_key_rollups_team_day", "team_id", "day"),
)

idempotency_keys = sa.Table(  # since schema version 3
    "idempotency_keys",
    metadata,
    sa.Column("scope", sa.String(_ID + 8), primary_key=True),
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),  # running | done
    sa.Column("status_code", sa.Integer),
    sa.Column("body", sa.Text),
    sa.Column("created_at", _ts, nullable=False),
    sa.Column("expires_at", _ts, nullable=False),
    # Since schema version 5: a running claim is a lease held by the request with this token.
    sa.Column("token", sa.String(32)),
    sa.Column("lease_until", _ts),
    sa.Index("ix_idempotency_keys_expires", "expires_at"),
)

rate_windows = sa.Table(  # since schema version 4
    "rate_windows",
    metadata,
    sa.Column("team_id", sa.String(_ID), primary_key=True),
    sa.Column("window_id", sa.BigInteger, primary_key=True),  # window number since the epoch
    sa.Column("requests", sa.Integer, nullable=False),
    sa.Column("tokens", sa.BigInteger, nullable=False),
)

auth_failures = sa.Table(  # since schema version 11
    "auth_failures",
    metadata,
    sa.Column("address", sa.String(64), primary_key=True),  # the client's IP address
    sa.Column("window_id", sa.BigInteger, primary_key=True),  # minute number since the epoch
    sa.Column("failures", sa.Integer, nullable=False),
)

config_managed = sa.Table(  # since schema version 11: what the --config file declares
    "config_managed",
    metadata,
    sa.Column("kind", sa.String(32), primary_key=True),  # model_alias, model_access_group
    sa.Column("name", sa.String(_ID), primary_key=True),
    sa.Column("source", sa.Text, nullable=False),  # the file, as the server was given it
)

team_keys = sa.Table(  # since schema version 6: a team's virtual keys, stored as hashes
    "team_keys",
    metadata,
    sa.Column("key_id", sa.String(40), primary_key=True),
    sa.Column("team_id", sa.String(_ID), sa.ForeignKey("teams.team_id"), nullable=False),
    sa.Column("name", sa.String(200)),
    sa.Column("prefix", sa.String(16), nullable=False),
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", _ts, nullable=False),
    sa.Column("expires_at", _ts),
    sa.Column("last_used_at", _ts),
    sa.Column("revoked_at", _ts),
    # a key handed out by an idempotent replay in place of a lost one: the lost key's id
    sa.Column("replaces", sa.String(40)),
    sa.Index("ix_team_keys_team", "team_id", "created_at"),
)

audit_events = sa.Table(  # since schema version 6: every admin change
    "audit_events",
    metadata,
    sa.Column("event_id", sa.String(40), primary_key=True),
    sa.Column("at", _ts, nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("target", sa.String(300), nullable=False),
    sa.Column("before", sa.Text),
    sa.Column("after", sa.Text),
    sa.Index("ix_audit_events_at", "at", "event_id"),
    sa.Index("ix_audit_events_target", "target", "at"),
)

credit_transactions = sa.Table(  # since schema version 7: the ledger, append-only
    "credit_transactions",
    metadata,
    sa.Column("transaction_id", sa.String(40), primary_key=True),
    sa.Column("team_id", sa.String(_ID), sa.ForeignKey("teams.team_id"), nullable=False),
    sa.Column("at", _ts, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # grant | charge | refill | adjustment
    sa.Column("credits", sa.BigInteger, nullable=False),  # signed
    sa.Column("credits_remaining_after", sa.BigInteger, nullable=False),
    sa.Column("job_id", sa.String(36)),
    sa.Column("reason", sa.Text),
    # What makes a transaction happen once ("charge:<job_id>", "refill:<period>"…): a replay
    # of the same cause cannot write a second row.
    sa.Column("dedupe_key", sa.String(200), unique=True),
    sa.Index("ix_credit_transactions_team_at", "team_id", "at", "transaction_id"),
)

webhooks = sa.Table(  # since schema version 8: endpoints events are POSTed to
    "webhooks",
    metadata,
    sa.Column("webhook_id", sa.String(40), primary_key=True),
    sa.Column("url", sa.String(2048), nullable=False),
    sa.Column("events", sa.Text, nullable=False),  # a JSON list of event types
    sa.Column("organization_id", sa.String(_ID)),  # only this organization's events
    # The signing key, ``whsec_`` + base64. Stored as is: signing needs it (HMAC), so a hash
    # would not do; it is never shown again after creation, nor logged, nor audited.
    sa.Column("secret", sa.String(100), nullable=False),
    sa.Column("status", sa.String(16), nullable=False, server_default="active"),
    sa.Column("created_at", _ts, nullable=False),
    sa.Column("failing_since", _ts),  # the start of its current run of failed attempts
    sa.Column("disabled_at", _ts),
    sa.Column("deleted_at", _ts),
    sa.Index("ix_webhooks_created", "created_at", "webhook_id"),
)

webhook_deliveries = sa.Table(  # since schema version 8: the outbox and the delivery log
    "webhook_deliveries",
    metadata,
    sa.Column("delivery_id", sa.String(40), primary_key=True),  # the ``webhook-id`` header
    sa.Column("webhook_id", sa.String(40), sa.ForeignKey("webhooks.webhook_id"), nullable=False),
    sa.Column("event_type", sa.String(40), nullable=False),
    sa.Column("payload", sa.Text, nullable=False),  # the body, exactly as sent (and signed)
    sa.Column("status", sa.String(16), nullable=False),  # pending | succeeded | failed
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", _ts, nullable=False),
    sa.Column("next_attempt_at", _ts),
    # a worker's claim: until then no other process takes the delivery
    sa.Column("lease_until", _ts),
    sa.Column("lease_token", sa.String(32)),
    sa.Column("last_attempt_at", _ts),
    sa.Column("last_status_code", sa.Integer),
    sa.Column("last_error", sa.Text),
    sa.Column("last_response", sa.Text),
    sa.Column("delivered_at", _ts),
    sa.Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    sa.Index("ix_webhook_deliveries_webhook", "webhook_id", "created_at", "delivery_id"),
)

deployment_cooldowns = sa.Table(  # since schema version 9: cooldowns every process sees
    "deployment_cooldowns",
    metadata,
    sa.Column("deployment_key", sa.String(64), primary_key=True),  # sha256 of its identity
    sa.Column("cooling_until", sa.Float, nullable=False),  # seconds since the epoch
)

operators = sa.Table(  # since schema version 14: who runs the server, each with a role and key
    "operators",
    metadata,
    sa.Column("operator_id", sa.String(40), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),  # viewer | billing | admin | owner
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),  # sha256 of its key
    sa.Column("created_at", _ts, nullable=False),
    sa.Column("key_created_at", _ts, nullable=False),
    sa.Column("deleted_at", _ts),  # removed: its key refused, its id still in the audit log
    sa.Index("ix_operators_created", "created_at", "operator_id"),
)

dashboard_sessions = sa.Table(  # since schema version 14: every process sees sign-outs at once
    "dashboard_sessions",
    metadata,
    sa.Column("session_hash", sa.String(64), primary_key=True),  # sha256 of the session id
    sa.Column("operator_id", sa.String(40)),  # whose session; null: signed in with the admin key
    sa.Column("created_at", _ts, nullable=False),
    sa.Column("expires_at", _ts, nullable=False),
    sa.Column("ended_at", _ts),  # signed out, or its operator removed or its key rotated
    sa.Index("ix_dashboard_sessions_operator", "operator_id"),
    sa.Index("ix_dashboard_sessions_expires", "expires_at"),
)
