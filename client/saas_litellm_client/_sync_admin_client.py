# Generated from _admin_client.py by scripts/unasync.py: edit that module and run
# `python scripts/unasync.py`, never this file.
"""The admin client: organizations, model access, teams, credits, keys, the audit log and
webhooks. Its endpoint methods are generated (``_endpoint_methods.SyncAdminEndpoints``); this module
adds how it is built.

Generated from ``_admin_client`` by ``scripts/unasync.py``: edit that module, not this one.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from ._core import DEFAULT_BASE_URL, ENV_BASE_URL, _from_env
from ._sync_endpoint_methods import SyncAdminEndpoints, SyncAdminEndpointsWithRawResponse
from ._types import DEFAULT_MAX_RETRIES, NOT_GIVEN, NotGiven, TimeoutTypes

__all__ = ["SaasLiteLLMSyncAdminClient", "SaasLiteLLMSyncAdminClientWithRawResponse"]

ENV_ADMIN_KEY = "SAAS_LITELLM_ADMIN_KEY"


class SaasLiteLLMSyncAdminClient(SyncAdminEndpoints):
    """Synchronous client for the admin endpoints, authenticated by the server's admin key.

    ``admin_key`` defaults to ``SAAS_LITELLM_ADMIN_KEY``. With neither, no ``Authorization``
    header is sent: that works against a server in local-dev mode (no admin key configured) and
    gets :class:`AuthenticationError` from any other. Arguments are validated against the shared
    request models before sending; invalid ones raise pydantic's ``ValidationError``.

    ``timeout``, ``max_retries``, ``deadline``, :meth:`with_options` and the per-call
    ``**options`` (:class:`RequestOptions`, with ``idempotency_key`` for a POST) work as in
    :class:`SaasLiteLLMSyncClient`. The methods are generated from the endpoint table
    (``saas_litellm_models.endpoints``) into ``_endpoint_methods``; list methods return a
    paginator: the first :class:`SyncPage`, ``for`` over it for every
    item. The server de-duplicates every
    POST under the ``Idempotency-Key`` the SDK sends with it (a replayed ``create_team``,
    ``create_key`` or ``rotate_key`` hands out a fresh virtual key: the first one was lost with
    its response). The ``update_*`` (``PATCH``) and ``delete_*``/``revoke_key`` (``DELETE``)
    methods send no key — the server does not take one for them — and are retried all the
    same: doing them twice leaves what doing them once does.
    """

    def __init__(
        self,
        base_url: str | None = None,
        admin_key: str | None = None,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int = DEFAULT_MAX_RETRIES,
        deadline: float | None = None,
        http_client: httpx.Client | None = None,
        default_headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(
            base_url=_from_env(base_url, ENV_BASE_URL) or DEFAULT_BASE_URL,
            api_key=_from_env(admin_key, ENV_ADMIN_KEY),
            timeout=timeout,
            http_client=http_client,
            default_headers=default_headers,
            max_retries=max_retries,
            deadline=deadline,
        )

    @property
    def with_raw_response(self) -> SaasLiteLLMSyncAdminClientWithRawResponse:
        """The same methods, answering a :class:`RawResponse` (status, headers, ``parse()``)
        instead of the model; see ``SaasLiteLLMSyncClient.with_raw_response``."""
        return SaasLiteLLMSyncAdminClientWithRawResponse(self)


class SaasLiteLLMSyncAdminClientWithRawResponse(SyncAdminEndpointsWithRawResponse):
    """``admin.with_raw_response``: every method of the admin client that answers one response
    model, answering a :class:`RawResponse` of it instead."""
