"""Model routing: which alias a call uses, whether the team may use it, and which deployment
answers it (the first that succeeds, in the alias's order), and what that costs."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from .._logging import current_request_id
from .._runtime import Runtime, TeamContext
from ..errors import APIError, InvalidRequest, PermissionDenied, UpstreamFailed, UpstreamTimedOut
from ..providers import OpenAIProvider, Provider, ProviderError, ProviderRequest
from ..store import catalog, teams

__all__ = [
    "Attempt",
    "Deployment",
    "Route",
    "call_with_fallback",
    "cost_usd",
    "ensure_triable",
    "log_failure",
    "plan",
    "provider_for",
    "provider_request",
    "report",
    "resolve",
    "upstream_error",
]

T = TypeVar("T")

logger = logging.getLogger("saas_litellm_server.upstream")


@dataclass(frozen=True)
class Deployment:
    provider: str
    model: str
    api_base: str | None
    input_cost_per_million: float
    output_cost_per_million: float
    timeout: float | None = None

    @property
    def key(self) -> tuple[str, str | None, str]:
        """The upstream's identity, shared by every alias that routes to it (for cooldowns)."""
        return (self.provider, self.api_base, self.model)


@dataclass(frozen=True)
class Route:
    alias: str
    deployments: tuple[Deployment, ...]


@dataclass(frozen=True)
class Attempt:
    """The outcome of routing one call: the deployment that answered (or failed last)."""

    deployment: Deployment
    latency_ms: float
    attempts: int = 1


def cost_usd(deployment: Deployment, prompt_tokens: int, completion_tokens: int) -> float:
    """The one cost formula: tokens times the deployment's per-million prices."""
    return (
        prompt_tokens * deployment.input_cost_per_million
        + completion_tokens * deployment.output_cost_per_million
    ) / 1_000_000


async def resolve(runtime: Runtime, team: TeamContext, model: str | None) -> Route:
    """The alias the call will use, after checking the team may use it.

    Aliases and a team's groups are read through a short per-process cache
    (``SAAS_LITELLM_CATALOG_CACHE_SECONDS``): every call needs them, and they rarely change.
    """
    name = model or team.default_model or runtime.settings.default_model
    alias = runtime.aliases.get(name)
    if alias is None:
        alias = await catalog.get_alias(runtime.db, name)
        if alias is None:
            raise InvalidRequest(f"unknown model {name!r}", param="model")
        runtime.aliases.put(name, alias)
    if not alias["public"]:
        granted = runtime.team_groups.get(team.team_id)
        if granted is None:
            granted = frozenset(await teams.team_access_groups(runtime.db, team.team_id))
            runtime.team_groups.put(team.team_id, granted)
        if not granted.intersection(alias["access_groups"]):
            raise PermissionDenied(
                f"team {team.team_id!r} has no access group that grants model {name!r}",
                param="model",
            )
    return Route(alias=name, deployments=tuple(Deployment(**d) for d in alias["deployments"]))


def plan(runtime: Runtime, route: Route) -> list[Deployment]:
    """The order to try deployments in: the alias's order, minus those cooling down (unless all
    of them are, in which case they are all tried anyway)."""
    healthy = [d for d in route.deployments if not runtime.cooldowns.cooling(d.key)]
    return healthy or list(route.deployments)


def report(runtime: Runtime, deployment: Deployment, error: ProviderError | None) -> None:
    """Feed the outcome of one attempt into the cooldowns (bad requests say nothing of health)."""
    if error is None:
        runtime.cooldowns.succeeded(deployment.key)
    elif error.retryable:
        runtime.cooldowns.failed(deployment.key)


def provider_request(
    runtime: Runtime,
    deployment: Deployment,
    messages: list[dict[str, Any]],
    params: dict[str, Any],
) -> ProviderRequest:
    return ProviderRequest(
        model=deployment.model,
        messages=messages,
        params=params,
        api_base=deployment.api_base,
        timeout=deployment.timeout or runtime.settings.upstream_timeout,
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
    deployment: Deployment,
    error: ProviderError,
    fallback: Deployment | None = None,
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


async def call_with_fallback(
    runtime: Runtime,
    route: Route,
    call: Callable[[Provider, Deployment], Awaitable[T]],
    *,
    team_id: str,
) -> tuple[T | ProviderError, Attempt]:
    """Try the deployments in order until one succeeds or a failure is not worth retrying.

    Returns the result (or the last :class:`ProviderError`) and the deployment that produced it,
    with the latency of the whole routed call.
    """
    start = time.perf_counter()
    last: ProviderError | None = None
    order = plan(runtime, route)
    deployment = order[0]
    for index, deployment in enumerate(order):
        try:
            result: T | ProviderError = await call(provider_for(runtime, deployment), deployment)
        except ProviderError as exc:
            report(runtime, deployment, exc)
            last = exc
            fallback = order[index + 1] if exc.retryable and index + 1 < len(order) else None
            log_failure(team_id, route.alias, deployment, exc, fallback)
            if fallback is None:
                break
            continue
        report(runtime, deployment, None)
        return result, Attempt(deployment, (time.perf_counter() - start) * 1000, index + 1)
    assert last is not None
    return last, Attempt(deployment, (time.perf_counter() - start) * 1000, index + 1)


def unavailable(runtime: Runtime, deployment: Deployment) -> str | None:
    """Why ``deployment`` cannot even be tried (no such provider, no upstream address)."""
    provider = runtime.providers.get(deployment.provider)
    if provider is None:
        return f"provider {deployment.provider!r} is not available"
    if isinstance(provider, OpenAIProvider) and not (deployment.api_base or provider.base_url):
        return (
            f"no upstream is configured for deployment {deployment.model!r} "
            "(set its api_base or SAAS_LITELLM_UPSTREAM_BASE_URL)"
        )
    return None


def ensure_triable(runtime: Runtime, route: Route) -> None:
    """Refuse a call none of whose deployments could be tried — before any SSE byte is sent."""
    reasons = [unavailable(runtime, d) for d in route.deployments]
    first = reasons[0] if reasons else "it has no deployment"
    if first is not None and all(reasons):
        raise upstream_error(route.alias, ProviderError("server", first), len(reasons))


def provider_for(runtime: Runtime, deployment: Deployment) -> Provider:
    reason = unavailable(runtime, deployment)
    if reason is not None:
        raise ProviderError("server", reason)
    return runtime.providers[deployment.provider]
