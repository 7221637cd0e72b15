"""What both kinds of client do without doing I/O: resolve a call (URL, headers, body,
``Idempotency-Key``, timeout, deadline), decide whether a failure is retried and how long to
wait, and turn a response into a shared model or a :class:`SaasLiteLLMError`.

:class:`ClientCore` is shared by the async clients (``_base_client._BaseClient``, which sends
with ``httpx.AsyncClient``) and the synchronous ones (``_sync_base_client._SyncBaseClient``,
generated from it by ``scripts/unasync.py``), so that the two cannot disagree on any of it.
"""

from __future__ import annotations

import copy
import json
import os
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard, TypeVar

import httpx
from pydantic import BaseModel, ValidationError
from typing_extensions import Unpack

from saas_litellm_models.endpoints import Endpoint

from ._exceptions import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    ConflictError,
    SaasLiteLLMError,
    StreamError,
    _make_status_error,
)
from ._logs import log
from ._retry import (
    MAX_RETRY_AFTER,
    RETRYABLE_STATUSES,
    RETRYABLE_STREAM_ERRORS,
    backoff_delay,
    check_deadline,
    check_idempotency_key,
    check_max_retries,
    new_idempotency_key,
    server_delay,
    server_says_retry,
)
from ._types import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    NOT_GIVEN,
    IdempotentRequestOptions,
    NotGiven,
    RequestOptions,
    TimeoutTypes,
)
from ._utils import describe, path_segment, with_query
from ._version import __version__

__all__ = [
    "DEFAULT_BASE_URL",
    "ENV_BASE_URL",
    "USER_AGENT",
    "CallOptions",
    "ClientCore",
    "request_body",
    "split_options",
    "url_path",
]

DEFAULT_BASE_URL = "http://localhost:8003"
USER_AGENT = f"saas-litellm-python/{__version__}"
ENV_BASE_URL = "SAAS_LITELLM_BASE_URL"

_ModelT = TypeVar("_ModelT", bound=BaseModel)
_CoreT = TypeVar("_CoreT", bound="ClientCore")

# Failures that prove the request never reached the server: safe to retry for any request.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def _from_env(value: str | None, env_var: str) -> str | None:
    """An explicit argument wins; otherwise the environment; an empty string counts as unset."""
    if value is None:
        value = os.environ.get(env_var)
    return value or None


def _normalize_base_url(url: str) -> str:
    """Accept ``http://host:8003``, ``http://host:8003/`` and ``http://host:8003/api`` alike:
    the guide uses all three, and every path the SDK sends starts with ``/api``."""
    url = url.strip().rstrip("/")
    if url.endswith("/api"):
        url = url[: -len("/api")].rstrip("/")
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise SaasLiteLLMError(f"Invalid base_url {url!r}: {exc}") from exc
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise SaasLiteLLMError(
            f"base_url must be an absolute http:// or https:// URL, got {url!r} "
            f"(e.g. {DEFAULT_BASE_URL!r})"
        )
    return url


def _own_request_in_flight(
    error: SaasLiteLLMError, call: _Call, number: int
) -> TypeGuard[ConflictError]:
    """A ``409`` about the ``Idempotency-Key`` this call sent on an earlier attempt: the server
    is still running that attempt (whose response we gave up on), and will replay its outcome.
    On a first attempt it is someone else's request with the same key: a conflict to report."""
    return (
        number > 1
        and isinstance(error, ConflictError)
        and error.param == "Idempotency-Key"
        and "Idempotency-Key" in call.headers
    )


def _clamp(timeout: httpx.Timeout, remaining: float | None) -> httpx.Timeout:
    """``timeout`` with no phase longer than what is left of the deadline."""
    if remaining is None:
        return timeout

    def cap(value: float | None) -> float:
        return remaining if value is None else min(value, remaining)

    return httpx.Timeout(
        connect=cap(timeout.connect),
        read=cap(timeout.read),
        write=cap(timeout.write),
        pool=cap(timeout.pool),
    )


_OPTION_NAMES = frozenset(IdempotentRequestOptions.__annotations__) | frozenset(
    RequestOptions.__annotations__
)


@dataclass(frozen=True)
class CallOptions:
    """The :class:`RequestOptions` of one call, checked; ``NOT_GIVEN`` means the client's.
    Checked when built, so that a bad value raises ``ValueError`` before anything is sent."""

    timeout: TimeoutTypes | NotGiven = NOT_GIVEN
    max_retries: int | NotGiven = NOT_GIVEN
    deadline: float | NotGiven | None = NOT_GIVEN
    idempotency_key: str | None = None
    """Only for an ``idempotent`` endpoint (see ``saas_litellm_models.endpoints``)."""

    def __post_init__(self) -> None:
        if not isinstance(self.max_retries, NotGiven):
            check_max_retries(self.max_retries)
        if not isinstance(self.deadline, NotGiven):
            check_deadline(self.deadline)
        if self.idempotency_key is not None:
            check_idempotency_key(self.idempotency_key)

    @classmethod
    def of(cls, options: Mapping[str, Any] | CallOptions | None) -> CallOptions:
        """The options a method was given as ``**options``; an unknown name is a
        ``TypeError``, as for any unexpected keyword argument."""
        if options is None:
            return _NO_OPTIONS
        if isinstance(options, CallOptions):
            return options
        unknown = set(options) - _OPTION_NAMES
        if unknown:
            raise TypeError(f"unexpected keyword argument(s) {sorted(unknown)}")
        return cls(**options)


_NO_OPTIONS = CallOptions()


def split_options(arguments: Mapping[str, Any]) -> tuple[dict[str, Any], CallOptions]:
    """``**params`` that hold both a call's fields and its options, apart."""
    fields = {name: value for name, value in arguments.items() if name not in _OPTION_NAMES}
    options = {name: value for name, value in arguments.items() if name in _OPTION_NAMES}
    return fields, CallOptions.of(options)


def url_path(
    endpoint: Endpoint[Any],
    params: Mapping[str, str] | None = None,
    query: Mapping[str, object] | None = None,
) -> str:
    """``endpoint``'s path with ``params`` filled in (each quoted as one segment) and ``query``
    (its ``None`` values left out) appended. ``TypeError`` for parameters the endpoint does not
    declare: a client method out of step with its table row (a bug of the SDK)."""
    params = params or {}
    query = query or {}
    if set(params) != set(endpoint.path_params):
        raise TypeError(
            f"{endpoint} takes path parameters {endpoint.path_params}, got {set(params)}"
        )
    known = set() if endpoint.query is None else set(endpoint.query.model_fields)
    unknown = set(query) - known
    if unknown:
        raise TypeError(f"{endpoint} has no query parameter(s) {sorted(unknown)}")
    path = endpoint.path.format(**{name: path_segment(v, name) for name, v in params.items()})
    return with_query(path, **query)


def _json_body(body: BaseModel, *, partial: bool) -> bytes:
    """``body`` as sent, JSON: without its ``None`` fields; for a partial update, only the
    fields given — an explicit ``None`` included — each of them whole (a list of deployments
    replaces the list, so each is sent with its defaults, as a create sends it). A whole body
    is rendered by pydantic in one pass (a dict dumped, then encoded, took two)."""
    if not partial:
        return body.model_dump_json(by_alias=True, exclude_none=True).encode()
    data = body.model_dump(mode="json", by_alias=True, exclude_none=True)
    fields = type(body).model_fields
    given = {fields[name].alias or name for name in body.model_fields_set}
    cleared = {
        fields[name].alias or name for name in body.model_fields_set if getattr(body, name) is None
    }
    sent = {key: value for key, value in data.items() if key in given} | dict.fromkeys(cleared)
    # as httpx encodes ``json=``
    return json.dumps(sent, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def request_body(
    endpoint: Endpoint[Any], body: Mapping[str, Any] | BaseModel | None
) -> BaseModel | None:
    """The body of a call, validated by the endpoint's body model before anything is sent
    (pydantic's ``ValidationError`` otherwise). For a ``partial`` endpoint only the fields
    given (not ``NOT_GIVEN``) are set, so that only those are sent."""
    if endpoint.body is None:
        if body:
            raise TypeError(f"{endpoint} takes no body")
        return None
    if isinstance(body, BaseModel):
        if type(body) is not endpoint.body:
            raise TypeError(f"{endpoint} takes a {endpoint.body.__name__} body, got {type(body)}")
        return body
    given = {name: value for name, value in (body or {}).items() if not isinstance(value, NotGiven)}
    return endpoint.body.model_validate(given)


_URLS: dict[str, httpx.URL] = {}
_URLS_KEPT = 512


def parsed_url(url: str) -> httpx.URL:
    """``url`` parsed, from a small cache: parsing is a sizable part of a call's own cost, and
    the same few URLs (a job's call endpoint) are asked for over and over. ``httpx.URL`` is
    immutable, so one object serves every request."""
    found = _URLS.get(url)
    if found is None:
        if len(_URLS) >= _URLS_KEPT:
            _URLS.clear()  # (atomic: the synchronous client may share it between threads)
        found = _URLS[url] = httpx.URL(url)
    return found


@dataclass(frozen=True)
class _Call:
    """One logical call, resolved: what every attempt sends, and the limits of the retry loop."""

    method: str
    url: str
    headers: dict[str, str]
    content: bytes | None
    """The JSON body as sent (its ``Content-Type`` among the headers), or ``None``."""
    timeout: httpx.Timeout
    max_retries: int
    deadline: float | None
    deadline_at: float | None
    replay_safe: bool
    route: str = ""
    """The endpoint's path template (``/api/jobs/{job_id}/llm-call``): a trace's span name."""

    @property
    def json(self) -> Any:
        """The body, decoded (``None``: the call has none)."""
        return None if self.content is None else json.loads(self.content)

    @property
    def attempts(self) -> int:
        return self.max_retries + 1


class ClientCore:
    """Settings, call resolution, the retry policy's decisions and response parsing. A subclass
    owns ``_http_client`` (an ``httpx.AsyncClient`` or ``httpx.Client``, or the caller's) and
    sends."""

    base_url: str
    timeout: TimeoutTypes
    max_retries: int
    deadline: float | None
    _http_client: httpx.AsyncClient | httpx.Client

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str | None,
        timeout: TimeoutTypes | NotGiven,
        http_client: httpx.AsyncClient | httpx.Client | None,
        default_headers: Mapping[str, str] | None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        deadline: float | None = None,
    ) -> None:
        self.base_url = _normalize_base_url(base_url)
        if isinstance(timeout, NotGiven):
            # A caller who configured their own client's timeout should not see it overridden.
            timeout = http_client.timeout if http_client is not None else DEFAULT_TIMEOUT
        self.timeout = timeout
        self.max_retries = check_max_retries(max_retries)
        self.deadline = check_deadline(deadline)
        self._api_key = api_key
        self._extra_headers = dict(default_headers or {})
        self._owns_http_client = http_client is None
        self._closed = False
        # Injectable for tests: what time it is, and the jitter's randomness.
        self._clock: Callable[[], float] = time.monotonic
        self._random: Callable[[], float] = random.random

    def __repr__(self) -> str:  # never shows the key
        return f"<{type(self).__name__} base_url={self.base_url!r}>"

    def with_options(self: _CoreT, **defaults: Unpack[RequestOptions]) -> _CoreT:
        """A copy of this client with other defaults, sharing its connection pool::

            client.with_options(max_retries=5, deadline=30).llm_call(...)

        The copy never closes the pool (closing it does nothing); closing the original does.
        """
        options = CallOptions.of(defaults)
        clone = copy.copy(self)
        clone._owns_http_client = False
        clone._closed = False
        clone._extra_headers = dict(self._extra_headers)
        if not isinstance(options.timeout, NotGiven):
            clone.timeout = options.timeout
        if not isinstance(options.max_retries, NotGiven):
            clone.max_retries = options.max_retries
        if not isinstance(options.deadline, NotGiven):
            clone.deadline = options.deadline
        return clone

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def is_closed(self) -> bool:
        return self._closed

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"This {type(self).__name__} is closed; create a new one.")
        if self._http_client.is_closed:
            raise RuntimeError(
                f"The http_client passed to this {type(self).__name__} was closed by its owner."
            )

    # -- requests ----------------------------------------------------------------------------

    def _default_headers(self, accept: str = "application/json") -> dict[str, str]:
        headers = {"Accept": accept, "User-Agent": USER_AGENT}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        headers.update(self._extra_headers)
        return headers

    def _prepare(
        self,
        endpoint: Endpoint[Any],
        path: Mapping[str, str] | None,
        query: Mapping[str, object] | None,
        body: BaseModel | None,
        options: CallOptions,
        *,
        accept: str = "application/json",
    ) -> _Call:
        r"""Resolve one call of ``endpoint``. The ``TypeError``\ s are bugs of the SDK: a client
        method that does not do what its endpoint's declaration says."""
        url = url_path(endpoint, path, query)
        if (body is None) != (endpoint.body is None):
            raise TypeError(f"{endpoint} takes a {endpoint.body} body, got {type(body)}")
        self._check_open()
        headers = self._default_headers(accept)
        content = None if body is None else _json_body(body, partial=endpoint.partial)
        if content is not None:
            headers["Content-Type"] = "application/json"
        if endpoint.idempotent:
            headers["Idempotency-Key"] = options.idempotency_key or new_idempotency_key()
        elif options.idempotency_key is not None:
            raise TypeError(f"{endpoint} does not honour an Idempotency-Key")
        timeout = self.timeout if isinstance(options.timeout, NotGiven) else options.timeout
        deadline = self.deadline if isinstance(options.deadline, NotGiven) else options.deadline
        return _Call(
            method=endpoint.method,
            url=self.base_url + url,
            headers=headers,
            content=content,
            timeout=httpx.Timeout(timeout),
            max_retries=self.max_retries
            if isinstance(options.max_retries, NotGiven)
            else options.max_retries,
            deadline=deadline,
            deadline_at=None if deadline is None else self._clock() + deadline,
            replay_safe=endpoint.replay_safe,
            route=endpoint.path,
        )

    def _remaining(self, call: _Call) -> float | None:
        return None if call.deadline_at is None else call.deadline_at - self._clock()

    def _retry_delay(self, call: _Call, error: SaasLiteLLMError, number: int) -> float | None:
        """Seconds to wait before retrying after attempt ``number`` failed with ``error``, or
        ``None`` when it is not to be retried."""
        if number > call.max_retries:
            return None
        if isinstance(error, APIStatusError):
            says = server_says_retry(error.response.headers)
            if not (says if says is not None else error.status_code in RETRYABLE_STATUSES):
                return None
            asked = server_delay(error.response.headers)
            if asked is not None:
                if asked > MAX_RETRY_AFTER:
                    log.info(
                        "Not retrying %s %s: the server asked to wait %.0fs (more than %.0fs)",
                        call.method,
                        call.url,
                        asked,
                        MAX_RETRY_AFTER,
                    )
                    return None
                return asked
        elif isinstance(error, APIConnectionError):
            if not call.replay_safe and not isinstance(error.__cause__, _NOT_SENT):
                return None  # it may have been applied: running it again could apply it twice
        elif isinstance(error, StreamError):
            if error.error_type not in RETRYABLE_STREAM_ERRORS:
                return None
        else:
            return None
        return backoff_delay(number, self._random())

    @staticmethod
    def _in_flight_error(call: _Call, waited: float) -> APITimeoutError:
        """Raised when, without a deadline, our own in-flight request outlasted our patience."""
        return APITimeoutError(
            f"{call.method} {httpx.URL(call.url).path} is still being processed by the server "
            f"after waiting {waited:g}s for its outcome; call again with the same "
            f"Idempotency-Key ({call.headers.get('Idempotency-Key')}) to get it"
        )

    def _deadline_error(
        self, call: _Call, attempts: int, last_error: SaasLiteLLMError | None
    ) -> APITimeoutError:
        """Raised when the call's deadline ran out (chained from the last attempt's error)."""
        message = (
            f"Deadline of {call.deadline:g}s exceeded for {call.method} "
            f"{httpx.URL(call.url).path} after {attempts} attempt(s)"
        )
        if last_error is not None:
            message += f"; last error: {_reason(last_error)}"
        return APITimeoutError(message)

    def _process_response(self, response: httpx.Response, cast_to: type[_ModelT]) -> _ModelT:
        if not response.is_success:
            raise _make_status_error(response)
        try:
            return cast_to.model_validate_json(response.content)
        except ValidationError as exc:
            request = response.request
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "body"
            raise APIResponseValidationError(
                f"The response to {request.method} {request.url.path} does not match "
                f"{cast_to.__name__} ({exc.error_count()} error(s); {where}: {first['msg']})",
                response=response,
            ) from exc


def _reason(error: SaasLiteLLMError) -> str:
    if isinstance(error, APIStatusError):
        return f"{error.status_code} {error.error_type or error.response.reason_phrase}"
    if isinstance(error, StreamError):
        return f"error event {error.error_type}"
    return describe(error)
