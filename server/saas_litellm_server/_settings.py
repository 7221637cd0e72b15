"""Server settings: environment variables prefixed ``SAAS_LITELLM_``, overridable by CLI flags."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

__all__ = ["BUILTIN_MODEL_ALIAS", "Settings"]

BUILTIN_MODEL_ALIAS = "default"
"""The alias the server creates on start: served by the mock provider and open to every team."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SAAS_LITELLM_", frozen=True, extra="ignore")

    database_url: str = Field(
        default="sqlite:///./saas_litellm.db",
        description="sqlite:///path.db (zero set-up) or postgresql://user@host/db (asyncpg).",
    )
    read_database_url: str | None = Field(
        default=None,
        description="postgresql://… of a streaming replica of database_url: the list, usage "
        "and dashboard pages read it (they may lag by its replay delay); authentication, calls, "
        "balances and every change stay on database_url. Unset: everything reads database_url.",
    )
    admin_key: SecretStr | None = Field(
        default=None,
        description="Bearer token for admin endpoints. Unset: local-dev mode (loopback only).",
    )
    upstream_base_url: str | None = Field(
        default=None, description="Default api_base of 'openai' deployments, e.g. a LiteLLM proxy."
    )
    upstream_api_key: SecretStr | None = None
    upstream_timeout: float = Field(default=60.0, gt=0, description="Seconds per upstream call.")
    cooldown_failures: int = Field(
        default=3, ge=1, description="Consecutive failures that put a deployment in cooldown."
    )
    cooldown_seconds: float = Field(
        default=30.0, ge=0, description="How long a failing deployment is skipped."
    )
    catalog_cache_seconds: float = Field(
        default=5.0,
        ge=0,
        description="How long a process may reuse a model alias or a team's access groups "
        "it read (0: read them on every call). The process that makes an admin change sees it "
        "at once; other processes within this time.",
    )
    default_model: str = Field(
        default=BUILTIN_MODEL_ALIAS,
        description="Alias used when neither the request nor the team names a model.",
    )
    idempotency_ttl_seconds: float = Field(
        default=24 * 3600, gt=0, description="How long a response is kept for replays."
    )
    idempotency_lease_seconds: float = Field(
        default=10.0,
        gt=0,
        description="A running request's hold on its Idempotency-Key, renewed while it runs; "
        "a request that died (crash, database outage) frees its key this long after.",
    )
    rate_limit_window_seconds: float = Field(
        default=60.0, gt=0, description="Length of a rate-limit window (limits are per minute)."
    )
    auth_failures_per_minute: int = Field(
        default=10,
        ge=0,
        description="Failed authentications (wrong keys) one client address may make in a "
        "minute; after that it is refused (429) until the minute has passed. 0: no limit.",
    )
    job_ttl_seconds: float = Field(
        default=3600,
        gt=0,
        description="Jobs with no activity (created, or a call made) for this long are settled "
        "by the server: completed if a call succeeded, else failed (their credit released).",
    )
    call_retention_days: int | None = Field(
        default=None,
        ge=1,
        le=36_500,
        description="Calls that started longer ago than this many days are removed by the "
        "maintenance sweep (on PostgreSQL whole monthly partitions are dropped); usage figures "
        "keep their totals from the daily rollups. Unset: calls are kept.",
    )
    stream_checkpoint_seconds: float = Field(
        default=5.0,
        gt=0,
        description="How often a streamed call saves its progress; a crash loses at most the "
        "tokens streamed since.",
    )
    maintenance_interval_seconds: float = Field(
        default=60.0, gt=0, description="How often abandoned jobs and expired keys are swept."
    )
    billing_default_max_tokens: int = Field(
        default=4096,
        ge=1,
        le=1_000_000,
        description="The completion tokens a call's worst case assumes when it sets no "
        "max_tokens (consumption modes and jobs with limits; sent upstream as its max_tokens).",
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Origins allowed by CORS, comma-separated (or a JSON list); empty: CORS off.",
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Addresses or networks (CIDR) of the reverse proxies in front of the "
        "server, comma-separated: only from them are X-Forwarded-For (the client's address, in "
        "logs and brute-force counts) and X-Forwarded-Proto (https: a Secure dashboard cookie) "
        "honoured. Empty: from nobody.",
    )
    ssl_certfile: Path | None = Field(
        default=None, description="Serve TLS with this certificate (PEM), with ssl_keyfile."
    )
    ssl_keyfile: Path | None = Field(default=None, description="The certificate's private key.")
    log_format: Literal["text", "json"] = Field(
        default="text", description="Server log lines: text, or one JSON object per line."
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8003, ge=0, le=65535)
    db_pool_size: int = Field(
        default=20, ge=1, le=1000, description="PostgreSQL connections per server process."
    )
    database_transaction_pooling: bool = Field(
        default=False,
        description="PostgreSQL is reached through a pooler in transaction mode (PgBouncer "
        "pool_mode = transaction, before 1.21): no cached prepared statements (each query "
        "costs about twice the time on the database connection).",
    )
    workers: int = Field(
        default=1,
        ge=1,
        le=64,
        description="Server processes sharing the port (PostgreSQL only above 1); "
        "`serve --workers N`.",
    )
    config: Path | None = Field(
        default=None, description="TOML or YAML file declaring access groups and model aliases."
    )
    shutdown_grace_seconds: float = Field(
        default=30.0,
        ge=0,
        description="On SIGTERM `serve` drains: /ready answers 503 at once, requests and streams "
        "in flight get this long to finish (those still running then are cut), then it exits 0.",
    )
    max_body_bytes: int = Field(default=4 * 1024 * 1024, gt=0)
    header_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        description="Seconds a request may take to send its headers (slow clients get 408).",
    )
    body_timeout_seconds: float = Field(
        default=60.0,
        gt=0,
        description="Seconds a request may take to send its body once its headers arrived.",
    )
    mock_chunk_delay: float = Field(
        default=0.0, ge=0, description="Seconds between the mock provider's streamed chunks."
    )
    dashboard: bool = Field(
        default=True, description="Serve the operator's web dashboard under /admin."
    )
    metrics: bool = Field(
        default=False,
        description="Serve Prometheus metrics at GET /metrics (admin key required when set).",
    )
    otel: bool = Field(
        default=False,
        description="OpenTelemetry traces (extra saas-litellm[otel]): a span per request, "
        "database statement and upstream call, exported by the OTEL_EXPORTER_OTLP_* settings.",
    )
    dashboard_session_hours: float = Field(
        default=8.0, gt=0, le=24 * 30, description="How long a dashboard sign-in lasts."
    )

    webhooks_allow_private: bool = Field(
        default=False,
        description="Allow webhook URLs on loopback, private, link-local and other non-public "
        "addresses (off: such URLs are refused when registered and when delivered).",
    )
    webhooks_deliver: bool = Field(
        default=True,
        description="Run the webhook delivery worker in this process (every process may).",
    )
    webhooks_timeout_seconds: float = Field(
        default=10.0, gt=0, le=300, description="Seconds a webhook receiver has to answer."
    )
    webhooks_retry_base_seconds: float = Field(
        default=5.0,
        gt=0,
        description="Wait before the first retry of a failed delivery; doubled (with jitter) "
        "after each further failure.",
    )
    webhooks_retry_max_interval_seconds: float = Field(
        default=3 * 3600, gt=0, description="Longest wait between two retries."
    )
    webhooks_retry_window_seconds: float = Field(
        default=24 * 3600,
        gt=0,
        description="How long a failing delivery is retried before it is given up.",
    )
    webhooks_disable_after_seconds: float = Field(
        default=5 * 24 * 3600,
        gt=0,
        description="An endpoint whose every attempt failed for this long is disabled.",
    )
    webhooks_lease_seconds: float = Field(
        default=60.0,
        gt=0,
        description="How long a worker holds a delivery it is sending; a process that died "
        "mid-delivery has its deliveries taken over after this. Above the timeout.",
    )
    webhooks_poll_seconds: float = Field(
        default=1.0,
        gt=0,
        description="How often the worker looks for deliveries made by other processes or "
        "due for a retry (its own process wakes it at once).",
    )

    webhooks_log_retention_seconds: float = Field(
        default=30 * 24 * 3600,
        gt=0,
        description="How long finished deliveries (succeeded or given up) stay in the delivery "
        "log before the maintenance sweep removes them.",
    )

    @field_validator("webhooks_lease_seconds")
    @classmethod
    def _lease_outlasts_an_attempt(cls, value: float, info: ValidationInfo) -> float:
        timeout = info.data.get("webhooks_timeout_seconds")
        if timeout is not None and value <= timeout:
            raise ValueError(
                f"must exceed SAAS_LITELLM_WEBHOOKS_TIMEOUT_SECONDS ({timeout:g}), or a slow "
                "receiver's delivery could be sent twice at once"
            )
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        import ipaddress

        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address or network (CIDR)") from None
        return value

    @field_validator("cors_origins", "trusted_proxies", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        """``a,b`` is what people write in an environment variable; a JSON list still works."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                import json

                try:
                    return json.loads(text)
                except ValueError:
                    raise ValueError(
                        "not a JSON list; write the origins comma-separated instead"
                    ) from None
            return [origin.strip() for origin in text.split(",") if origin.strip()]
        return value

    @property
    def dev_mode(self) -> bool:
        """No admin key: admin endpoints are open, so the server must stay on loopback."""
        return self.admin_key is None or not self.admin_key.get_secret_value()
