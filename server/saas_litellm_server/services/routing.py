"""Model routing: which alias a call uses, whether the team may use it, and which deployment
answers it (the first that succeeds, in the alias's order), and what that costs."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TypedDict

from .. import _money
from .._logging import current_request_id
from .._runtime import Runtime, TeamContext
from ..errors import (
    APIError,
    InvalidRequest,
    ModelModeMismatch,
    PermissionDenied,
    UpstreamFailed,
    UpstreamTimedOut,
)
from ..providers import Provider, ProviderError, ProviderRequest
from ..store import catalog_sql, teams_sql

__all__ = [
    "Attempt",
    "Fallback",
    "PricedDeployment",
    "ResolvedAlias",
    "cost_pico",
    "ensure_triable",
    "log_failure",
    "plan",
    "provider_request",
    "report",
    "resolve",
    "upstream_error",
]

logger = logging.getLogger("saas_litellm_server.upstream")


@dataclass(frozen=True)
class PricedDeployment:
    """A deployment as calls use it: its prices in integer micro-dollars (the API's
    ``Deployment`` states them in USD)."""

    provider: str
    model: str
    api_base: str | None
    input_micros_per_million: int
    """The price of a million prompt tokens in micro-dollars (= of one token in pico-dollars)."""
    output_micros_per_million: int
    timeout: float | None = None

    @property
    def key(self) -> tuple[str, str | None, str]:
        """The upstream's identity, shared by every alias that routes to it (for cooldowns)."""
        return (self.provider, self.api_base, self.model)


@dataclass(frozen=True)
class ResolvedAlias:
    """The alias a call uses and its deployments, in the order to try them (not named
    ``Route``: that is Starlette's)."""

    alias: str
    deployments: tuple[PricedDeployment, ...]
    mode: str = "chat"
    """What the alias serves: ``chat`` or ``embedding``."""


def cost_pico(deployment: PricedDeployment, prompt_tokens: int, completion_tokens: int) -> int:
    """The one cost formula: tokens times the deployment's prices, in pico-dollars (exact)."""
    return _money.cost_pico(
        prompt_tokens,
        completion_tokens,
        deployment.input_micros_per_million,
        deployment.output_micros_per_million,
    )


async def resolve(
    runtime: Runtime, team: TeamContext, model: str | None, mode: str = "chat"
) -> ResolvedAlias:
    """The alias the call will use, after checking the team may use it and that it serves
    ``mode`` calls (400 ``model_mode_mismatch`` otherwise).

    Aliases and a team's groups are read through a short per-process cache
    (``SAAS_LITELLM_CATALOG_CACHE_SECONDS``): every call needs them, and they rarely change.
    """
    name = model or team.default_model or runtime.settings.default_model
    db = runtime.db
    alias = await runtime.aliases.get_or_load(name, lambda: catalog_sql.get_alias(db, name))
    if alias is None:
        raise InvalidRequest(f"unknown model {name!r}", param="model")
    if not alias["public"]:
        team_id = team.team_id

        async def groups() -> frozenset[str]:
            return frozenset(await teams_sql.team_access_groups(db, team_id))

        granted = await runtime.team_groups.get_or_load(team_id, groups)
        assert granted is not None
        if not granted.intersection(alias["access_groups"]):
            raise PermissionDenied(
                f"team {team.team_id!r} has no access group that grants model {name!r}",
                param="model",
            )
    if alias["mode"] != mode:
        raise ModelModeMismatch(_MISMATCH[mode].format(name=name), param="model")
    return ResolvedAlias(
        alias=name,
        deployments=tuple(PricedDeployment(**d) for d in alias["deployments"]),
        mode=mode,
    )


_MISMATCH = {
    "chat": "model {name!r} serves embeddings (mode 'embedding'): call it with /embeddings, "
    "or use a chat model",
    "embedding": "model {name!r} serves chat (mode 'chat'): embeddings need a model with mode "
    "'embedding'",
}


def plan(runtime: Runtime, route: ResolvedAlias) -> list[PricedDeployment]:
    """The order to try deployments in: the alias's order, minus those cooling down (unless all
    of them are, in which case they are all tried anyway)."""
    healthy = [d for d in route.deployments if not runtime.cooldowns.cooling(d.key)]
    return healthy or list(route.deployments)


def report(runtime: Runtime, deployment: PricedDeployment, error: ProviderError | None) -> None:
    """Feed the outcome of one attempt into the cooldowns (bad requests say nothing of health)."""
    if error is None:
        runtime.cooldowns.succeeded(deployment.key)
    elif error.retryable:
        runtime.cooldowns.failed(deployment.key)


def provider_request(
    runtime: Runtime,
    deployment: PricedDeployment,
    messages: list[dict[str, Any]],
    params: dict[str, Any],
    *,
    texts: list[str] | None = None,
) -> ProviderRequest:
    """What one deployment is asked: a chat call's ``messages``, or an embeddings call's
    ``texts``."""
    return ProviderRequest(
        model=deployment.model,
        messages=messages,
        params=params,
        api_base=deployment.api_base,
        timeout=deployment.timeout or runtime.settings.upstream_timeout,
        input=texts,
    )


def upstream_error(alias: str, error: ProviderError, attempts: int = 1) -> APIError:
    """The client-facing error once the deployments of ``alias`` failed: which alias, and why."""
    tried = f" (tried {attempts} deployments)" if attempts > 1 else ""
    message = f"model {alias!r} failed{tried}: {error.message}"
    if error.kind == "timeout":
        return UpstreamTimedOut(message)
    if error.kind == "bad_request":
        return InvalidRequest(message)
    return UpstreamFailed(message)


def log_failure(
    team_id: str,
    alias: str,
    deployment: PricedDeployment,
    error: ProviderError,
    fallback: PricedDeployment | None = None,
) -> None:
    """One line per failed attempt, one more when another deployment takes over. A deployment
    is named by its model: its api_base and key are configuration, not log content. The line
    ends with what the upstream said (``ProviderError.detail``: secrets redacted by value), which
    the team's error message may leave out."""
    context = {
        "request_id": current_request_id.get(),
        "team": team_id,
        "alias": alias,
        "deployment": deployment.model,
        "status": error.status_code or error.kind,
    }
    logger.warning(
        "upstream %s: request_id=%s team=%s alias=%s deployment=%s status=%s: %s",
        "timeout" if error.kind == "timeout" else "failure",
        *context.values(),
        error.detail,
        extra=context,
    )
    if fallback is not None:
        logger.warning(
            "fallback: request_id=%s team=%s alias=%s from deployment=%s (status=%s) to %s",
            *context.values(),
            fallback.model,
            extra={**context, "fallback_to": fallback.model},
        )


class Attempt(TypedDict):
    """One deployment a call tried: its provider and upstream model, and the kind of error it
    failed with (``None``: it answered, or the call ended while it ran)."""

    provider: str
    deployment: str
    error: str | None


class Fallback:
    """The deployments of one routed call, in the order to try them — the one fallback loop of
    plain and streamed calls. Iterating yields ``(deployment, provider)``; after each attempt the
    caller says how it went: :meth:`succeeded`, or :meth:`failed`, which answers whether the next
    deployment should be tried (a retryable failure, and for a stream nothing sent yet)."""

    def __init__(self, runtime: Runtime, route: ResolvedAlias, team_id: str) -> None:
        self.runtime, self.route, self.team_id = runtime, route, team_id
        self.order = plan(runtime, route)
        self.deployment = self.order[0]
        """The deployment tried last (the one a call's record names)."""
        self.attempts = 0
        self.tried: list[Attempt] = []
        """Each deployment tried, in order, and how it failed (the call's record keeps it)."""
        self.error: ProviderError | None = None
        self._start = time.perf_counter()

    @property
    def latency_ms(self) -> float:
        """Of the whole routed call, every attempt included."""
        return (time.perf_counter() - self._start) * 1000

    def __iter__(self) -> Iterator[tuple[PricedDeployment, Provider]]:
        for index, deployment in enumerate(self.order):
            self.deployment, self.attempts = deployment, index + 1
            self.tried.append(
                {"provider": deployment.provider, "deployment": deployment.model, "error": None}
            )
            reason = unavailable(self.runtime, deployment)
            if reason is not None:
                if self.failed(ProviderError("server", reason), health=False):
                    continue
                return
            yield deployment, self.runtime.providers[deployment.provider]

    def failed(
        self, error: ProviderError, *, may_fall_back: bool = True, health: bool = True
    ) -> bool:
        """Record a failed attempt (cooldowns, log); ``True``: try the next deployment."""
        if health:
            report(self.runtime, self.deployment, error)
        self.error = error
        if self.tried:
            self.tried[-1]["error"] = error.kind
        index = self.attempts - 1
        fallback = None
        if may_fall_back and error.retryable and index + 1 < len(self.order):
            fallback = self.order[index + 1]
        log_failure(self.team_id, self.route.alias, self.deployment, error, fallback)
        return fallback is not None

    def succeeded(self) -> None:
        report(self.runtime, self.deployment, None)

    def upstream_error(self) -> APIError:
        """What the team is told once every deployment worth trying failed."""
        assert self.error is not None
        return upstream_error(self.route.alias, self.error, self.attempts)


def unavailable(runtime: Runtime, deployment: PricedDeployment) -> str | None:
    """Why ``deployment`` cannot even be tried (no such provider, or the provider says why)."""
    provider = runtime.providers.get(deployment.provider)
    if provider is None:
        return f"provider {deployment.provider!r} is not available"
    return provider.unavailable(deployment.model, deployment.api_base)


def ensure_triable(runtime: Runtime, route: ResolvedAlias) -> None:
    """Refuse a call none of whose deployments could be tried — before any SSE byte is sent."""
    reasons = [unavailable(runtime, d) for d in route.deployments]
    first = reasons[0] if reasons else "it has no deployment"
    if first is not None and all(reasons):
        raise upstream_error(route.alias, ProviderError("server", first), len(reasons))
