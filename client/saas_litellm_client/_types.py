"""Small types shared by the public signatures."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, Literal

import httpx
from typing_extensions import TypedDict

__all__ = [
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "NOT_GIVEN",
    "AssistantMessageParam",
    "DeveloperMessageParam",
    "FunctionCallParam",
    "IdempotentRequestOptions",
    "MessageParam",
    "NotGiven",
    "RequestOptions",
    "SystemMessageParam",
    "TimeoutTypes",
    "ToolCallParam",
    "ToolMessageParam",
    "UserMessageParam",
]

TimeoutTypes = float | httpx.Timeout | None
"""Seconds for every phase, an ``httpx.Timeout`` per phase, or ``None`` for no timeout at all."""

DEFAULT_TIMEOUT: Final = httpx.Timeout(60.0, connect=5.0)
"""A minute for an LLM to answer, but fail fast when the server is unreachable."""


class NotGiven:
    """Marks an argument that was not passed, where ``None`` is a meaningful value.

    ``timeout=None`` means "no timeout"; leaving ``timeout`` out means "the default", which is
    the passed-in ``http_client``'s own timeout when there is one.
    """

    def __bool__(self) -> Literal[False]:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN: Final = NotGiven()

DEFAULT_MAX_RETRIES: Final = 2
"""Retries after the first attempt (so at most three attempts), see ``_retry``."""


class RequestOptions(TypedDict, total=False):
    """What every endpoint method takes besides its own arguments (``**options``), each
    overriding the client's setting for this one call; see :meth:`with_options` to change
    them for many."""

    timeout: TimeoutTypes | NotGiven
    """Per HTTP request, as the client's ``timeout``."""
    max_retries: int | NotGiven
    """How often a connection error, a timeout, a 408, 429 or 5xx is retried."""
    deadline: float | NotGiven | None
    """Seconds for the whole call, retries and waits included (``None``: no deadline)."""


class IdempotentRequestOptions(RequestOptions, total=False):
    """The options of a method whose endpoint honours an ``Idempotency-Key``."""

    idempotency_key: str | None
    """The key sent with every attempt (default: a new one per call); the same key on a later
    call replays the first call's response instead of running it again."""


# -- messages as plain dicts -------------------------------------------------------------------
# One TypedDict per role, as in openai-python, so that a type checker catches ``{"role":
# "wizard"}`` or a tool message without ``tool_call_id``. They type dicts only: the server's
# validation is ``ChatMessage`` (saas_litellm_models), which is also accepted wherever these are.
# Required keys live in a private base class (``Required`` needs Python 3.11).


class FunctionCallParam(TypedDict):
    name: str
    arguments: str
    """The arguments as a JSON-encoded string."""


class _ToolCallRequired(TypedDict):
    id: str
    function: FunctionCallParam


class ToolCallParam(_ToolCallRequired, total=False):
    type: Literal["function"]


class _SystemRequired(TypedDict):
    role: Literal["system"]
    content: str


class SystemMessageParam(_SystemRequired, total=False):
    name: str


class _DeveloperRequired(TypedDict):
    role: Literal["developer"]
    content: str


class DeveloperMessageParam(_DeveloperRequired, total=False):
    name: str


class _UserRequired(TypedDict):
    role: Literal["user"]
    content: str


class UserMessageParam(_UserRequired, total=False):
    name: str


class _AssistantRequired(TypedDict):
    role: Literal["assistant"]


class AssistantMessageParam(_AssistantRequired, total=False):
    content: str | None
    """Required unless ``tool_calls`` is given (checked by the shared model, not the type)."""
    name: str
    tool_calls: Sequence[ToolCallParam]


class ToolMessageParam(TypedDict):
    role: Literal["tool"]
    content: str
    tool_call_id: str


MessageParam = (
    SystemMessageParam
    | DeveloperMessageParam
    | UserMessageParam
    | AssistantMessageParam
    | ToolMessageParam
)
"""One message of a conversation as a dict, in the OpenAI chat format."""
