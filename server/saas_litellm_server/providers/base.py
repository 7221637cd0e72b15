"""The provider interface: how the services talk to an upstream model, whatever it is.

A provider turns a :class:`ProviderRequest` into a :class:`ProviderResult` (``complete``), an
async stream of :class:`StreamDelta` (``stream``) or, for an alias in ``embedding`` mode, an
:class:`EmbeddingResult` (``embed``: the request's ``input`` texts), and reports failures as
:class:`ProviderError` with a ``kind`` that routing uses to decide whether a fallback deployment
may be tried.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from saas_litellm_models import AssistantMessage, ToolCall, Usage

if TYPE_CHECKING:
    from .._redact import Redactor
    from .._settings import Settings

__all__ = [
    "FACTORIES",
    "EmbeddingResult",
    "ErrorKind",
    "Provider",
    "ProviderError",
    "ProviderFactory",
    "ProviderRequest",
    "ProviderResult",
    "StreamDelta",
    "register",
]

ErrorKind = Literal["timeout", "rate_limited", "server", "connection", "bad_request"]


@dataclass(frozen=True)
class ProviderRequest:
    model: str
    """The upstream model name of the deployment (not the alias)."""
    messages: list[dict[str, Any]]
    """Chat messages in OpenAI's wire format."""
    params: dict[str, Any] = field(default_factory=dict)
    """Sampling parameters in OpenAI's wire format (temperature, max_tokens, response_format…)."""
    api_base: str | None = None
    timeout: float = 60.0
    headers: dict[str, str] | None = None
    """Extra request headers: the W3C trace context (``traceparent``) when tracing is on."""
    input: list[str] | None = None
    """The texts to embed (an embeddings call; ``messages`` is then empty)."""


@dataclass(frozen=True)
class ProviderResult:
    message: AssistantMessage
    usage: Usage
    model: str | None = None
    """The model that answered, as the upstream names it (tracing's ``gen_ai.response.model``)."""


@dataclass(frozen=True)
class EmbeddingResult:
    vectors: list[list[float]]
    """One vector per input text, in the input's order."""
    usage: Usage
    """Prompt tokens only (``completion_tokens`` 0)."""
    model: str | None = None
    """The model that answered, as the upstream names it."""


@dataclass(frozen=True)
class StreamDelta:
    """One piece of a streamed answer. The last one carries ``finish_reason`` and ``usage``."""

    content: str = ""
    finish_reason: str | None = None
    usage: Usage | None = None
    tool_calls: list[ToolCall] | None = None
    """Whole tool calls, on the last delta (providers assemble the upstream's fragments)."""
    model: str | None = None
    """On the last delta: the model that answered, as the upstream names it."""


class ProviderError(Exception):
    """An upstream failure. ``message`` is safe to show to the API's user (the team); ``detail``
    is for the operator's log: the upstream's own words, secrets removed, addresses kept."""

    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        *,
        status_code: int | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status_code = status_code
        self.detail = detail if detail is not None else message

    @property
    def retryable(self) -> bool:
        """Whether another deployment might succeed where this one failed."""
        return self.kind != "bad_request"


class Provider(Protocol):
    def unavailable(self, model: str, api_base: str | None) -> str | None:
        """Why a deployment of this provider cannot even be tried (``None``: it can)."""
        ...

    async def complete(self, request: ProviderRequest) -> ProviderResult: ...

    def stream(self, request: ProviderRequest) -> AsyncGenerator[StreamDelta, None]:
        """An async generator: closing it early must cancel the upstream request."""
        ...

    async def embed(self, request: ProviderRequest) -> EmbeddingResult:
        """The vectors of ``request.input`` (``request.params``: ``dimensions``, ``user``)."""
        ...

    async def aclose(self) -> None: ...


ProviderFactory = Callable[["Settings", "Redactor"], Provider]

FACTORIES: dict[str, ProviderFactory] = {}
"""Every provider, by the name deployments use (``ProviderName``); filled by :func:`register`."""


def register(name: str) -> Callable[[ProviderFactory], ProviderFactory]:
    """Declare a provider: its module calls this on the function that builds it from the
    settings, and it is available under ``name`` (a new provider is one module)."""

    def add(factory: ProviderFactory) -> ProviderFactory:
        FACTORIES[name] = factory
        return factory

    return add
