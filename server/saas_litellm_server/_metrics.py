"""Prometheus metrics: what an operator watches (``GET /metrics``, off unless
``SAAS_LITELLM_METRICS=true``).

Each app gets its own :class:`Metrics` (its own ``CollectorRegistry``, not the process-wide
default), so that several apps in one process (the tests) do not collide. The services reach it
through :func:`current`, set for each request by the timing middleware and for the maintenance
task by the lifespan: job settlement is called from several places that only hold a
``Database``, and when metrics are off every probe is one context-variable read.

Several worker processes: set ``PROMETHEUS_MULTIPROC_DIR`` to an empty directory (wiped before
the server starts) in every worker's environment *before* it imports ``prometheus_client``;
each worker then writes its values to files there, and a scrape of any worker reports them all,
summed (:class:`prometheus_client.multiprocess.MultiProcessCollector`). A supervisor should call
``prometheus_client.multiprocess.mark_process_dead(pid)`` when a worker exits.

Label values are bounded: routes are the route's template (``/api/jobs/{job_id}``, never the
raw path; ``unmatched`` for any path no route serves), methods outside the standard ones are
``OTHER``, aliases and deployments are the operator's catalog, teams the operator's teams. No
key, message or metadata ever becomes a label.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from contextvars import ContextVar, Token
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

if TYPE_CHECKING:
    from .store import Database

__all__ = ["CONTENT_TYPE", "Metrics", "current", "reset", "use"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
_OVERHEAD_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)
_POOL_SAMPLE_SECONDS = 1.0

_current: ContextVar[Metrics | None] = ContextVar("saas_litellm_metrics", default=None)


def current() -> Metrics | None:
    """The metrics of the app serving this request or task; ``None`` when metrics are off."""
    return _current.get()


def use(metrics: Metrics | None) -> Token[Metrics | None]:
    """Make ``metrics`` the current context's (and that of the tasks it starts); the token
    puts the previous one back (``_current.reset``)."""
    return _current.set(metrics)


def reset(token: Token[Metrics | None]) -> None:
    _current.reset(token)


class Metrics:
    """Every metric the server exports, in one registry of its own."""

    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "saas_litellm_requests_total",
            "HTTP requests answered, by route template, method and status.",
            ["route", "method", "status"],
            registry=registry,
        )
        self.llm_calls = Counter(
            "saas_litellm_llm_calls_total",
            "LLM calls recorded, by model alias, deployment (the last one tried) and status.",
            ["alias", "deployment", "status"],
            registry=registry,
        )
        self.auth_failures = Counter(
            "saas_litellm_auth_failures_total",
            "Keys presented and refused (failed), and requests refused because their address "
            "failed too often in a minute (refused).",
            ["outcome"],
            registry=registry,
        )
        self.tokens = Counter(
            "saas_litellm_llm_tokens_total",
            "Tokens of recorded LLM calls, by model alias and kind (prompt or completion).",
            ["alias", "kind"],
            registry=registry,
        )
        self.cost = Counter(
            "saas_litellm_llm_cost_usd_total",
            "What recorded LLM calls cost upstream (the provider's price), in USD, by alias.",
            ["alias"],
            registry=registry,
        )
        self.credits_charged = Counter(
            "saas_litellm_credits_charged_total",
            "Credits charged to teams when their jobs settled, by team.",
            ["team"],
            registry=registry,
        )
        self.upstream_latency = Histogram(
            "saas_litellm_upstream_latency_seconds",
            "Wall time of routed LLM calls (every attempt and fallback), by deployment.",
            ["deployment"],
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.overhead = Histogram(
            "saas_litellm_server_overhead_seconds",
            "Non-streamed requests: wall time minus time spent waiting for the upstream.",
            buckets=_OVERHEAD_BUCKETS,
            registry=registry,
        )
        self.open_streams = Gauge(
            "saas_litellm_open_streams",
            "Streamed LLM calls in progress.",
            registry=registry,
            multiprocess_mode="livesum",
        )
        self.pool_in_use = Gauge(
            "saas_litellm_db_pool_connections_in_use",
            "Database connections lent out by the pool right now.",
            registry=registry,
            multiprocess_mode="livesum",
        )
        self.pool_size = Gauge(
            "saas_litellm_db_pool_connections_open",
            "Database connections the pool holds open (in use or idle).",
            registry=registry,
            multiprocess_mode="livesum",
        )
        self._next_pool_sample = 0.0

    def request_done(self, scope: Mapping[str, Any], status: int, overhead: float | None) -> None:
        route = scope.get("route")
        template = getattr(route, "path_format", None) or getattr(route, "path", None)
        method = scope.get("method", "")
        self.requests.labels(
            template or "unmatched", method if method in _METHODS else "OTHER", str(status)
        ).inc()
        if overhead is not None:
            self.overhead.observe(max(0.0, overhead))

    def call_finished(
        self,
        *,
        alias: str,
        deployment: str,
        status: str,
        prompt_tokens: int,
        completion_tokens: int,
        cost_micros: int,
        latency_seconds: float,
    ) -> None:
        """A call recorded; ``cost_micros`` is the provider's cost (the counter is in USD:
        Prometheus counts in floats, for display only)."""
        self.llm_calls.labels(alias, deployment, status).inc()
        if prompt_tokens:
            self.tokens.labels(alias, "prompt").inc(prompt_tokens)
        if completion_tokens:
            self.tokens.labels(alias, "completion").inc(completion_tokens)
        if cost_micros > 0:
            self.cost.labels(alias).inc(cost_micros / 1_000_000)
        self.upstream_latency.labels(deployment).observe(latency_seconds)

    def charged(self, team_id: str, credits: int) -> None:
        if credits > 0:
            self.credits_charged.labels(team_id).inc(credits)

    def sample_pool(self, db: Database, *, force: bool = False) -> None:
        """Refresh the pool gauges, at most once a second (each worker samples its own pool as
        it serves requests, so that a multi-process scrape sums fresh values)."""
        now = time.monotonic()
        if not force and now < self._next_pool_sample:
            return
        self._next_pool_sample = now + _POOL_SAMPLE_SECONDS
        usage = db.pool_usage()
        if usage is not None:
            self.pool_in_use.set(usage[0])
            self.pool_size.set(usage[1])

    def render(self) -> bytes:
        """The Prometheus text exposition: this process's registry, or with
        ``PROMETHEUS_MULTIPROC_DIR`` set, every worker's values from that directory."""
        directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        if directory:
            registry = CollectorRegistry()
            MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
            return generate_latest(registry)
        return generate_latest(self.registry)
