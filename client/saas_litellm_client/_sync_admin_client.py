# Generated from _admin_client.py by scripts/unasync.py: edit that module and run
# `python scripts/unasync.py`, never this file.
"""The admin client: organizations, model access, teams, credits, keys, the audit log and
webhooks.

Generated from ``_admin_client`` by ``scripts/unasync.py``: edit that module, not this one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

import httpx

from saas_litellm_models import (
    AuditEvent,
    AuditLog,
    AutoRefillRequest,
    BudgetMode,
    CreditBalance,
    CreditsAddRequest,
    CreditsAdjustRequest,
    CreditTransaction,
    CreditTransactionKind,
    CreditTransactionList,
    Deleted,
    DeliveryStatus,
    Deployment,
    Job,
    JobList,
    JobStatus,
    KeyCreated,
    KeyCreateRequest,
    KeyList,
    KeyRotateRequest,
    KeyRotation,
    ModelAccessGroup,
    ModelAccessGroupCreateRequest,
    ModelAccessGroupList,
    ModelAccessGroupUpdateRequest,
    ModelAlias,
    ModelAliasCreateRequest,
    ModelAliasList,
    ModelAliasUpdateRequest,
    Organization,
    OrganizationCreateRequest,
    OrganizationList,
    OrganizationUpdateRequest,
    OrganizationUsage,
    RefillMode,
    RefillPeriod,
    Team,
    TeamCreated,
    TeamCreateRequest,
    TeamLimitsRequest,
    TeamList,
    TeamStatus,
    TeamUpdateRequest,
    TeamUsage,
    VirtualKeyInfo,
    WebhookCreated,
    WebhookCreateRequest,
    WebhookDelivery,
    WebhookDeliveryList,
    WebhookEventType,
    WebhookInfo,
    WebhookList,
)

from . import _endpoints
from ._core import DEFAULT_BASE_URL, ENV_BASE_URL, RequestOptions, _from_env
from ._response import sync_raw_response
from ._sync_base_client import _SyncBaseClient
from ._types import DEFAULT_MAX_RETRIES, NOT_GIVEN, NotGiven, TimeoutTypes

__all__ = ["SaasLiteLLMSyncAdminClient", "SaasLiteLLMSyncAdminClientWithRawResponse"]

ENV_ADMIN_KEY = "SAAS_LITELLM_ADMIN_KEY"

_Page = TypeVar(
    "_Page",
    OrganizationList,
    ModelAccessGroupList,
    ModelAliasList,
    TeamList,
    JobList,
    AuditLog,
    CreditTransactionList,
    WebhookList,
    WebhookDeliveryList,
)
_Item = TypeVar("_Item")


def _given(**fields: object) -> dict[str, object]:
    """The fields of a partial update that were passed (not ``NOT_GIVEN``): only those are
    sent, so that a field left out stays as it is and an explicit ``None`` clears it."""
    return {name: value for name, value in fields.items() if not isinstance(value, NotGiven)}


def _every(
    fetch: Callable[[str | None], _Page], items: Callable[[_Page], list[_Item]]
) -> Iterator[_Item]:
    """Every item of a cursor-paginated list: ``fetch(cursor)`` a page at a time."""
    cursor: str | None = None
    while True:
        page = fetch(cursor)
        yield from items(page)
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


class SaasLiteLLMSyncAdminClient(_SyncBaseClient):
    """Synchronous client for the admin endpoints, authenticated by the server's admin key.

    ``admin_key`` defaults to ``SAAS_LITELLM_ADMIN_KEY``. With neither, no ``Authorization``
    header is sent: that works against a server in local-dev mode (no admin key configured) and
    gets :class:`AuthenticationError` from any other. Arguments are validated against the shared
    request models before sending; invalid ones raise pydantic's ``ValidationError``.

    ``timeout``, ``max_retries``, ``deadline``, :meth:`with_options` and the per-call
    ``idempotency_key`` work as in :class:`SaasLiteLLMSyncClient`. The server de-duplicates every
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

    # -- organizations and model access ------------------------------------------------------

    def create_organization(
        self,
        organization_id: str,
        name: str,
        *,
        metadata: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        deadline: float | NotGiven | None = NOT_GIVEN,
    ) -> Organization:
        body = OrganizationCreateRequest.model_validate(
            {"organization_id": organization_id, "name": name, "metadata": metadata}
        )
        options = RequestOptions(timeout, max_retries, deadline, idempotency_key)
        return self._request(_endpoints.CREATE_ORGANIZATION, body=body, options=options)

    def create_model_access_group(
        self,
        group_name: str,
        *,
        description: str | None = None,
        idempotency_key: str | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        deadline: float | NotGiven | None = NOT_GIVEN,
    ) -> ModelAccessGroup:
        """A named set of model aliases that teams are granted by name."""
        body = ModelAccessGroupCreateRequest.model_validate(
            {"group_name": group_name, "description": description}
        )
        options = RequestOptions(timeout, max_retries, deadline, idempotency_key)
        return self._request(_endpoints.CREATE_MODEL_ACCESS_GROUP, body=body, options=options)

    def create_model_alias(
        self,
        model_alias: str,
        *,
        deployments: Sequence[Deployment | Mapping[str, Any]],
        access_groups: Sequence[str] = (),
        idempotency_key: str | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        deadline: float | NotGiven | None = NOT_GIVEN,
    ) -> ModelAlias:
        """Map an alias teams call (``"ChatAgent"``) to upstream deployments, tried in order:
        the first is primary, the rest are fallbacks."""
        body = ModelAliasCreateRequest.model_validate(
            {"model_alias": model_alias, "deployments": deployments, "access_groups": access_groups}
        )
        options = RequestOptions(timeout, max_retries, deadline, idempotency_key)
        return self._request(_endpoints.CREATE_MODEL_ALIAS, body=body, options=options)

    # -- teams -------------------------------------------------------------------------------

    def create_team(
        self,
        organization_id: str,
        team_id: str,
        *,
        team_alias: str | None = None,
        access_groups: Sequence[str] = (),
        credits_allocated: int = 0,
        default_model: str | None = None,
        rpm_limit: int | None = None,
        tpm_limit: int | None = None,
        metadata: Mapping[str, Any] | None = None,
        budget_mode: BudgetMode | None = None,
        tokens_per_credit: int | None = None,
        credits_per_dollar: float | None = None,
        markup_percent: float | None = None,
        low_balance_threshold: int | None = None,
        idempotency_key: str | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        deadline: float | NotGiven | None = NOT_GIVEN,
    ) -> TeamCreated:
        """Create a team and its first virtual key (named ``default``, ``result.key_id``);
        ``result.virtual_key`` is shown only this once — store it.

        ``rpm_limit``/``tpm_limit`` are LLM requests/tokens per minute (``None``: unlimited);
        ``metadata`` is a free-form JSON object of yours, shown with the team.
        ``budget_mode`` says how its jobs are charged (``consumption_tokens`` needs
        ``tokens_per_credit``, ``consumption_usd`` needs ``credits_per_dollar``; see
        docs/billing.md; the server's default is ``job_based``); ``low_balance_threshold`` is
        where ``credits.low`` fires. Billing fields left at ``None`` are not sent.
        """
        budget = {
            name: value
            for name, value in (
                ("budget_mode", budget_mode),
                ("tokens_per_credit", tokens_per_credit),
                ("credits_per_dollar", credits_per_dollar),
                ("markup_percent", markup_percent),
                ("low_balance_threshold", low_balance_threshold),
            )
            if value is not None
        }
        body = TeamCreateRequest.model_validate(
            {
                "organization_id": organization_id,
                "team_id": team_id,
                "team_alias": team_alias,
                "access_groups": access_groups,
                "credits_allocated": credits_allocated,
                "default_model": default_model,
                "rpm_limit": rpm_limit,
                "tpm_limit": tpm_limit,
                "metadata": metadata,
                **budget,
            }
        )
        options = RequestOptions(timeout, max_retries, deadline, idempotency_key)
        return self._request(_endpoints.CREATE_TEAM, body=body, options=options)

    def get_team(
        self,
        team_id: str,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        deadline: float | NotGiven | None = NOT_GIVEN,
    ) -> Team:
        options = RequestOptions(timeout, max_retries, deadline)
        return self._request(_endpoints.GET_TEAM, params={"team_id": team_id}, options=options)

    def add_credits(
        self,
        team_id: str,
        credits: int,
        *,
        reason: str | None = None,
        idempotency_key: str | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        deadline: float | NotGiven | None = NOT_GIVEN,
    ) -> CreditBalance:
        """Top up a team by ``credits`` (> 0); returns the new balance."""
        body = CreditsAddRequest.model_validate({"credits": credits, "reason": reason})
        options = RequestOptions(timeout, max_retries, deadline, idempotency_key)
        return self._request(
            _endpoints.ADD_CREDITS, params={"team_id": team_id}, body=body, options=options
        )

    def adjust_credits(
        self,
        team_id: str,
        credits: int,
        *,
        reason: str,
        idempotency_key: str | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        deadline: float | NotGiven | None = NOT_GIVEN,
    ) -> CreditBalance:
        """Correct a team's balance by ``credits`` (signed, not 0): a ledger ``adjustment``
        with ``reason``. A negative one takes only available credits: :class:`ConflictError`
        otherwise, with nothing changed. Returns the new balance."""
        body = CreditsAdjustRequest.model_validate({"credits": credits, "reason": reason})
        options = RequestOptions(timeout, max_retries, deadline, idempotency_key)
        return self._request(
            _endpoints.ADJUST_CREDITS, params={"team_id": team_id}, body=body, options=options
        )

    def rotate_key(
        self,
        team_id: str,
        *,
        grace_seconds: int | None = None,
        idempotency_key: str | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        deadline: float | NotGiven | None = NOT_GIVEN,
    ) -> KeyRotation:
        """Replace all of the team's keys with one new virtual key (``result.virtual_key``,
        shown only this once). The keys it replaces stop working at once, or — so that the
        team's deployments can switch over without failing requests — ``grace_seconds`` later
        (up to 30 days): ``result.previous_keys_expire_at`` says when."""
        body = KeyRotateRequest.model_validate({"grace_seconds": grace_seconds})
        options = RequestOptions(timeout, max_retries, deadline, idempotency_key)
        return self._request(
            _endpoints.ROTATE_KEY, params={"team_id": team_id}, body=body, options=options
        )

    def suspend_team(
        self,
        team_id: str,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        deadline: float | NotGiven | None = NOT_GIVEN,
        idempotency_key: str | None = None,
    ) -> Team:
        """Refuse the team's requests (403) until :meth:`resume_team`; nothing is deleted.
        Suspending a suspended team changes nothing."""
        options = RequestOptions(timeout, max_retries, deadline, idempotency_key)
        return self._request(_endpoints.SUSPEND_TEAM, params={"team_id": team_id}, options=options)

    def resume_team(
        self,
        team_id: str,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        deadline: float | NotGiven | None = NOT_GIVEN,
        idempotency_key: str | None = None,
    ) -> Team:
        """Accept the team's requests again after :meth:`suspend_team`; resuming an active team
        changes nothing."""
        options = RequestOptions(timeout, max_retries, deadline, idempotency_key)
        return self._request(_endpoints.RESUME_TEAM, params={"team_id": team_id}, options=options)

    def get_team_usage(
        self,
        team_id: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        deadline: float | NotGiven | None = NOT_GIVEN,
    ) -> TeamUsage:
        """Usage analytics of any team, one row per job type (jobs created in
        ``[since, until)`` when given)."""
        options = RequestOptions(timeout, max_retries, deadline)
        return self._request(
            _endpoints.GET_TEAM_USAGE,
            params={"team_id": team_id},
            query={"since": since, "until": until},
            options=options,
        )

    def list_team_jobs(
        self,
        team_id: str,
        *,
        status: JobStatus | None = None,
        limit: int = 50,
        cursor: str | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        deadline: float | NotGiven | None = NOT_GIVEN,
    ) -> JobList:
        """One page of any team's jobs, newest first (``next_cursor`` for the next)."""
        options = RequestOptions(timeout, max_retries, deadline)
        return self._request(
            _endpoints.LIST_TEAM_JOBS,
            params={"team_id": team_id},
            query={"status": status, "limit": limit, "cursor": cursor},
            options=options,
        )

    def get_model_alias(
        self,
        model_alias: str,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        deadline: float | NotGiven | None = NOT_GIVEN,
    ) -> ModelAlias:
        """An alias with its access groups and deployments (in fallback order)."""
        options = RequestOptions(timeout, max_retries, deadline)
        return self._request(
            _endpoints.GET_MODEL_ALIAS, params={"model_alias": model_alias}, options=options
        )

    def set_limits(
        self,
        team_id: str,
        *,
        rpm_limit: int | NotGiven | None = NOT_GIVEN,
        tpm_limit: int | NotGiven | None = NOT_GIVEN,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        deadline: float | NotGiven | None = NOT_GIVEN,
        idempotency_key: str | None = None,
    ) -> Team:
        """Change a team's requests- and tokens-per-minute limits: a limit not given stays as it
        is, ``None`` removes it. ``set_limits(team, rpm_limit=60)`` keeps ``tpm_limit``."""
        given = {
            name: value
            for name, value in (("rpm_limit", rpm_limit), ("tpm_limit", tpm_limit))
            if not isinstance(value, NotGiven)
        }
        body = TeamLimitsRequest.model_validate(given)
        options = RequestOptions(timeout, max_retries, deadline, idempotency_key)
        return self._request(
            _endpoints.SET_LIMITS,
            params={"team_id": team_id},
            body=body,
            options=options,
            exclude_unset=True,
        )

    def set_auto_refill(
        self,
        team_id: str,
        amount: int,
        period: RefillPeriod,
        *,
        mode: RefillMode = "add",
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        deadline: float | NotGiven | None = NOT_GIVEN,
    ) -> Team:
        """Refill the team once per UTC ``period`` (``daily``, ``weekly``: ISO weeks,
        ``monthly``): ``mode="add"`` grants ``amount``, ``"top_up"`` raises credits_remaining to
        ``amount``. A missed period is caught up once, not once per period missed."""
        body = AutoRefillRequest.model_validate({"amount": amount, "period": period, "mode": mode})
        options = RequestOptions(timeout, max_retries, deadline)
        return self._request(
            _endpoints.SET_AUTO_REFILL, params={"team_id": team_id}, body=body, options=options
        )

    def delete_auto_refill(
        self,
        team_id: str,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        deadline: float | NotGiven | None = NOT_GIVEN,
    ) -> Team:
        """Turn the team's auto-refill off."""
        options = RequestOptions(timeout, max_retries, deadline)
        return self._request(
            _endpoints.DELETE_AUTO_REFILL, params={"team_id": team_id}, options=options
        )

    def list_transactions(
        self,
        team_id: str,
        *,
        kind: CreditTransactionKind | None = None,
        limit: int = 50,
        cursor: str | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        deadline: float | NotGiven | None = NOT_GIVEN,
    ) -> CreditTransactionList:
        """One page of the team's credit ledger, newest first (grants, charges, refills,
        adjustments, each with the balance after it)."""
        options = RequestOptions(timeout, max_retries, deadline)
        return self._request(
            _endpoints.LIST_TRANSACTIONS,
            params={"team_id": team_id},
            query={"kind": kind, "limit": limit, "cursor": cursor},
            options=options,
        )

    def iter_transactions(
        self,
        team_id: str,
        *,
        kind: CreditTransactionKind | None = None,
        page_size: int = 100,
    ) -> Iterator[CreditTransaction]:
        """Every transaction of the team's ledger, newest first, a page at a time."""
        yield from _every(
            lambda cursor: self.list_transactions(
                team_id, kind=kind, limit=page_size, cursor=cursor
            ),
            lambda page: page.transactions,
        )

    # -- views of the control plane (newest first, a page at a time) ---------------------------

    def list_organizations(
        self,
        *,
        limit: int = 50,
        cursor: str | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        deadline: float | NotGiven | None = NOT_GIVEN,
    ) -> OrganizationList:
        """One page of organizations, newest first; pass ``page.next_cursor`` as ``cursor``
        for the next (see :meth:`iter_organizations` to walk them all)."""
        options = RequestOptions(timeout, max_retries, deadline)
        return self._request(
            _endpoints.LIST_ORGANIZATIONS,
            query={"limit": limit, "cursor": cursor},
            options=options,
        )

    def iter_organizations(self, *, page_size: int = 100) -> Iterator[Organization]:
        """Every organization, newest first, fetched a page at a time."""
        yield from _every(
            lambda cursor: self.list_organizations(limit=page_size, cursor=cursor),
            lambda page: page.organizations,
        )

    def get_organization(
        self,
        organization_id: str,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        deadline: float | NotGiven | None = NOT_GIVEN,
    ) -> Organization:
        options = RequestOptions(timeout, max_retries, deadline)
        return self._request(
            _endpoints.GET_ORGANIZATION,
            params={"organization_id": organization_id},
            options=options,
        )

    def get_organization_usage(
        self,
        organization_id: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        deadline: float | NotGiven | None = NOT_GIVEN,
    ) -> OrganizationUsage:
        """Usage analytics over all the organization's teams, one row per job type (jobs
        created in ``[since, until)`` when given)."""
        options = RequestOptions(timeout, max_retries, deadline)
        return self._request(
            _endpoints.GET_ORGANIZATION_USAGE,
            params={"organization_id": organization_id},
            query={"since": since, "until": until},
            options=options,
        )

    def list_model_access_groups(
        self,
        *,
        limit: int = 50,
        cursor: str | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        deadline: float | NotGiven | None = NOT_GIVEN,
    ) -> ModelAccessGroupList:
        """One page of model access groups, newest first."""
        options = RequestOptions(timeout, max_retries, deadline)
        return self._request(
            _endpoints.LIST_MODEL_ACCESS_GROUPS,
            query={"limit": limit, "cursor": cursor},
            options=options,
        )

    def iter_model_access_groups(self, *, page_size: int = 100) -> Iterator[ModelAccessGroup]:
        """Every model access group, newest first, fetched a page at a time."""
        yield from _every(
            lambda cursor: self.list_model_access_groups(limit=page_size, cursor=cursor),
            lambda page: page.model_access_groups,
        )

    def list_model_aliases(
        self,
        *,
        access_group: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        deadline: float | NotGiven | None = NOT_GIVEN,
    ) -> ModelAliasList:
        """One page of model aliases (those in ``access_group`` when given), newest first."""
        options = RequestOptions(timeout, max_retries, deadline)
        return self._request(
            _endpoints.LIST_MODEL_ALIASES,
            query={"access_group": access_group, "limit": limit, "cursor": cursor},
            options=options,
        )

    def iter_model_aliases(
        self, *, access_group: str | None = None, page_size: int = 100
    ) -> Iterator[ModelAlias]:
        """Every model alias (in ``access_group`` when given), newest first."""
        yield from _every(
            lambda cursor: self.list_model_aliases(
                access_group=access_group, limit=page_size, cursor=cursor
            ),
            lambda page: page.model_aliases,
        )

    def list_teams(
        self,
        *,
        organization_id: str | None = None,
        status: TeamStatus | None = None,
        access_group: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        deadline: float | NotGiven | None = NOT_GIVEN,
    ) -> TeamList:
        """One page of teams matching every filter given, newest first."""
        options = RequestOptions(timeout, max_retries, deadline)
        return self._request(
            _endpoints.LIST_TEAMS,
            query={
                "organization_id": organization_id,
                "status": status,
                "access_group": access_group,
                "limit": limit,
                "cursor": cursor,
            },
            options=options,
        )

    def iter_teams(
        self,
        *,
        organization_id: str | None = None,
        status: TeamStatus | None = None,
        access_group: str | None = None,
        page_size: int = 100,
    ) -> Iterator[Team]:
        """Every team matching every filter given, newest first, a page at a time."""
        yield from _every(
            lambda cursor: self.list_teams(
                organization_id=organization_id,
                status=status,
                access_group=access_group,
                limit=page_size,
                cursor=cursor,
            ),
            lambda page: page.teams,
        )

    def list_jobs(
        self,
        *,
        team_id: str | None = None,
        organization_id: str | None = None,
        status: JobStatus | None = None,
        job_type: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 50,
        cursor: str | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        deadline: float | NotGiven | None = NOT_GIVEN,
    ) -> JobList:
        """One page of jobs across teams matching every filter given, newest first (created
        in ``[since, until)`` when given)."""
        options = RequestOptions(timeout, max_retries, deadline)
        return self._request(
            _endpoints.LIST_JOBS,
            query={
                "team_id": team_id,
                "organization_id": organization_id,
                "status": status,
                "job_type": job_type,
                "since": since,
                "until": until,
                "limit": limit,
                "cursor": cursor,
            },
            options=options,
        )

    def iter_jobs(
        self,
        *,
        team_id: str | None = None,
        organization_id: str | None = None,
        status: JobStatus | None = None,
        job_type: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        page_size: int = 100,
    ) -> Iterator[Job]:
        """Every job across teams matching every filter given, newest first."""
        yield from _every(
            lambda cursor: self.list_jobs(
                team_id=team_id,
                organization_id=organization_id,
                status=status,
                job_type=job_type,
                since=since,
                until=until,
                limit=page_size,
                cursor=cursor,
            ),
            lambda page: page.jobs,
        )

    # -- changing and removing what was created (PATCH, DELETE) ------------------------------
    # An update sends only the fields given: one left out stays as it is; ``None`` clears a
    # field that may be empty (the signatures only allow it there). A removal keeps history:
    # jobs, calls and costs stay readable and keep counting in usage. Neither carries an
    # Idempotency-Key (the server takes none for them); a removal that would strand something
    # raises ConflictError (409) naming what still uses it.

    def update_team(
        self,
        team_id: str,
        *,
        team_alias: str | NotGiven | None = NOT_GIVEN,
        access_groups: Sequence[str] | NotGiven = NOT_GIVEN,
        metadata: Mapping[str, Any] | NotGiven = NOT_GIVEN,
        default_model: str | NotGiven | None = NOT_GIVEN,
        budget_mode: BudgetMode | NotGiven = NOT_GIVEN,
        tokens_per_credit: int | NotGiven | None = NOT_GIVEN,
        credits_per_dollar: float | NotGiven | None = NOT_GIVEN,
        markup_percent: float | NotGiven = NOT_GIVEN,
        low_balance_threshold: int | NotGiven | None = NOT_GIVEN,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        deadline: float | NotGiven | None = NOT_GIVEN,
    ) -> Team:
        """Change a team: ``access_groups`` replaces its whole list, ``metadata`` its whole
        object; ``team_alias=None``/``default_model=None`` clear them. Groups and the default
        model must exist (``BadRequestError`` otherwise). A new ``budget_mode`` (rate, markup)
        applies to jobs opened after the change; ``low_balance_threshold=None`` removes it.
        Credits, limits and status have their own methods (:meth:`add_credits`,
        :meth:`set_limits`, :meth:`set_auto_refill`, :meth:`suspend_team`)."""
        body = TeamUpdateRequest.model_validate(
            _given(
                team_alias=team_alias,
                access_groups=access_groups,
                metadata=metadata,
                default_model=default_model,
                budget_mode=budget_mode,
                tokens_per_credit=tokens_per_credit,
                credits_per_dollar=credits_per_dollar,
                markup_percent=markup_percent,
                low_balance_threshold=low_balance_threshold,
            )
        )
        options = RequestOptions(timeout, max_retries, deadline)
        return self._request(
            _endpoints.UPDATE_TEAM,
            params={"team_id": team_id},
            body=body,
            options=options,
        )

    def delete_team(
        self,
        team_id: str,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        deadline: float | NotGiven | None = NOT_GIVEN,
    ) -> Deleted:
        """Remove a team: its keys stop working at once; its jobs, calls and costs stay
        readable and keep counting in its organization's usage; its id is not reused.
        ``ConflictError`` while it has open jobs (complete or fail them first)."""
        options = RequestOptions(timeout, max_retries, deadline)
        return self._request(_endpoints.DELETE_TEAM, params={"team_id": team_id}, options=options)

    def update_organization(
        self,
        organization_id: str,
        *,
        name: str | NotGiven = NOT_GIVEN,
        metadata: Mapping[str, Any] | NotGiven = NOT_GIVEN,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        deadline: float | NotGiven | None = NOT_GIVEN,
    ) -> Organization:
        """Rename an organization and/or replace its whole ``metadata`` object (neither can be
        cleared: pass ``metadata={}`` to empty it)."""
        body = OrganizationUpdateRequest.model_validate(_given(name=name, metadata=metadata))
        options = RequestOptions(timeout, max_retries, deadline)
        return self._request(
            _endpoints.UPDATE_ORGANIZATION,
            params={"organization_id": organization_id},
            body=body,
            options=options,
        )

    def delete_organization(
        self,
        organization_id: str,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        deadline: float | NotGiven | None = NOT_GIVEN,
    ) -> Deleted:
        """Remove an organization; ``ConflictError`` naming its teams while it has any
        (:meth:`delete_team` them first)."""
        options = RequestOptions(timeout, max_retries, deadline)
        return self._request(
            _endpoints.DELETE_ORGANIZATION,
            params={"organization_id": organization_id},
            options=options,
        )

    def update_model_access_group(
        self,
        group_name: str,
        *,
        description: str | NotGiven | None = NOT_GIVEN,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        deadline: float | NotGiven | None = NOT_GIVEN,
    ) -> ModelAccessGroup:
        """Change a group's description (``None`` clears it). Which aliases are in a group is
        set on the alias (:meth:`update_model_alias`), which teams hold it on the team
        (:meth:`update_team`)."""
        body = ModelAccessGroupUpdateRequest.model_validate(_given(description=description))
        options = RequestOptions(timeout, max_retries, deadline)
        return self._request(
            _endpoints.UPDATE_MODEL_ACCESS_GROUP,
            params={"group_name": group_name},
            body=body,
            options=options,
        )

    def delete_model_access_group(
        self,
        group_name: str,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        deadline: float | NotGiven | None = NOT_GIVEN,
    ) -> Deleted:
        """Remove a group; the aliases in it leave it. ``ConflictError`` naming the teams
        granted it while there are any."""
        options = RequestOptions(timeout, max_retries, deadline)
        return self._request(
            _endpoints.DELETE_MODEL_ACCESS_GROUP,
            params={"group_name": group_name},
            options=options,
        )

    def update_model_alias(
        self,
        model_alias: str,
        *,
        access_groups: Sequence[str] | NotGiven = NOT_GIVEN,
        deployments: Sequence[Deployment | Mapping[str, Any]] | NotGiven = NOT_GIVEN,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        deadline: float | NotGiven | None = NOT_GIVEN,
    ) -> ModelAlias:
        """Replace an alias's access groups and/or its whole list of deployments (in fallback
        order, as in :meth:`create_model_alias`). New prices apply to calls made from now on;
        recorded calls keep their cost."""
        given = _given(access_groups=access_groups, deployments=deployments)
        body = ModelAliasUpdateRequest.model_validate(given)
        if body.deployments is not None:
            # sent in full, as create_model_alias sends them, not only the keys each dict had
            given["deployments"] = [d.model_dump(exclude_none=True) for d in body.deployments]
            body = ModelAliasUpdateRequest.model_validate(given)
        options = RequestOptions(timeout, max_retries, deadline)
        return self._request(
            _endpoints.UPDATE_MODEL_ALIAS,
            params={"model_alias": model_alias},
            body=body,
            options=options,
        )

    def delete_model_alias(
        self,
        model_alias: str,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        deadline: float | NotGiven | None = NOT_GIVEN,
    ) -> Deleted:
        """Remove an alias; calls recorded under it keep its name and cost. ``ConflictError``
        naming the teams whose default model it is, and for the built-in ``default`` alias."""
        options = RequestOptions(timeout, max_retries, deadline)
        return self._request(
            _endpoints.DELETE_MODEL_ALIAS, params={"model_alias": model_alias}, options=options
        )

    # -- a team's virtual keys ----------------------------------------------------------------

    def create_key(
        self,
        team_id: str,
        *,
        name: str | None = None,
        expires_at: datetime | None = None,
        idempotency_key: str | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        deadline: float | NotGiven | None = NOT_GIVEN,
    ) -> KeyCreated:
        """Another virtual key for the team, next to the ones it has (one per deployment or
        environment, say); ``result.virtual_key`` is shown only this once — store it.

        ``name`` tells keys apart in :meth:`list_keys`; ``expires_at`` (a naive datetime is
        UTC) is when it stops working — never, without one. ``ConflictError`` when the team
        already has 100 working keys. A replay under the same ``idempotency_key`` revokes the
        key whose response was lost and hands out a fresh one."""
        body = KeyCreateRequest.model_validate({"name": name, "expires_at": expires_at})
        options = RequestOptions(timeout, max_retries, deadline, idempotency_key)
        return self._request(
            _endpoints.CREATE_KEY, params={"team_id": team_id}, body=body, options=options
        )

    def list_keys(
        self,
        team_id: str,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        deadline: float | NotGiven | None = NOT_GIVEN,
    ) -> KeyList:
        """The team's keys, newest first, revoked and expired ones included: id, name,
        ``prefix`` (the key's first characters), expiry, last use. Never the keys themselves:
        the server keeps only their hashes."""
        options = RequestOptions(timeout, max_retries, deadline)
        return self._request(_endpoints.LIST_KEYS, params={"team_id": team_id}, options=options)

    def revoke_key(
        self,
        team_id: str,
        key_id: str,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        deadline: float | NotGiven | None = NOT_GIVEN,
    ) -> VirtualKeyInfo:
        """Stop one key at once (a leaked one, say) and return it with ``revoked_at`` set; the
        team's other keys keep working. Revoking a revoked key changes nothing."""
        options = RequestOptions(timeout, max_retries, deadline)
        return self._request(
            _endpoints.REVOKE_KEY,
            params={"team_id": team_id, "key_id": key_id},
            options=options,
        )

    # -- the audit log ------------------------------------------------------------------------

    def list_audit_log(
        self,
        *,
        actor: str | None = None,
        action: str | None = None,
        target: str | None = None,
        since: datetime | None = None,
        limit: int = 50,
        cursor: str | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        deadline: float | NotGiven | None = NOT_GIVEN,
    ) -> AuditLog:
        """One page of admin changes matching every filter given, newest first: who
        (``actor``: ``"admin-key"``, ``"local-dev"``), what (``action``: ``"team.update"``…),
        to what (``target``: ``"team:acme-corp"``…), at or after ``since``; each with the
        fields before and after (never a key). See :meth:`iter_audit_log` to walk them all."""
        options = RequestOptions(timeout, max_retries, deadline)
        return self._request(
            _endpoints.LIST_AUDIT_LOG,
            query={
                "actor": actor,
                "action": action,
                "target": target,
                "since": since,
                "limit": limit,
                "cursor": cursor,
            },
            options=options,
        )

    def iter_audit_log(
        self,
        *,
        actor: str | None = None,
        action: str | None = None,
        target: str | None = None,
        since: datetime | None = None,
        page_size: int = 100,
    ) -> Iterator[AuditEvent]:
        """Every admin change matching every filter given, newest first, a page at a time."""
        yield from _every(
            lambda cursor: self.list_audit_log(
                actor=actor,
                action=action,
                target=target,
                since=since,
                limit=page_size,
                cursor=cursor,
            ),
            lambda page: page.events,
        )

    # -- webhooks -----------------------------------------------------------------------------

    def create_webhook(
        self,
        url: str,
        events: Sequence[WebhookEventType],
        *,
        organization_id: str | None = None,
        idempotency_key: str | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        deadline: float | NotGiven | None = NOT_GIVEN,
    ) -> WebhookCreated:
        """Register an endpoint the server POSTs ``events`` to (``"job.completed"``,
        ``"team.suspended"``…), signed as Standard Webhooks says; with ``organization_id``,
        only that organization's events. ``result.secret`` (``whsec_…``) verifies the
        signatures and is shown only this once — store it. A loopback or private URL is a
        ``ValidationError`` (422) unless the server allows them; a replay under the same
        ``idempotency_key`` answers the same endpoint and secret."""
        body = WebhookCreateRequest.model_validate(
            {"url": url, "events": list(events), "organization_id": organization_id}
        )
        options = RequestOptions(timeout, max_retries, deadline, idempotency_key)
        return self._request(_endpoints.CREATE_WEBHOOK, body=body, options=options)

    def list_webhooks(
        self,
        *,
        limit: int = 50,
        cursor: str | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        deadline: float | NotGiven | None = NOT_GIVEN,
    ) -> WebhookList:
        """One page of webhook endpoints, newest first, with their status (``disabled`` after
        failing for days); never their secrets. See :meth:`iter_webhooks`."""
        options = RequestOptions(timeout, max_retries, deadline)
        return self._request(
            _endpoints.LIST_WEBHOOKS, query={"limit": limit, "cursor": cursor}, options=options
        )

    def iter_webhooks(self, *, page_size: int = 100) -> Iterator[WebhookInfo]:
        """Every webhook endpoint, newest first, a page at a time."""
        yield from _every(
            lambda cursor: self.list_webhooks(limit=page_size, cursor=cursor),
            lambda page: page.webhooks,
        )

    def delete_webhook(
        self,
        webhook_id: str,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        deadline: float | NotGiven | None = NOT_GIVEN,
    ) -> Deleted:
        """Remove an endpoint: nothing more is sent to it, its pending deliveries are given
        up."""
        options = RequestOptions(timeout, max_retries, deadline)
        return self._request(
            _endpoints.DELETE_WEBHOOK, params={"webhook_id": webhook_id}, options=options
        )

    def list_webhook_deliveries(
        self,
        webhook_id: str,
        *,
        status: DeliveryStatus | None = None,
        limit: int = 50,
        cursor: str | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        deadline: float | NotGiven | None = NOT_GIVEN,
    ) -> WebhookDeliveryList:
        """One page of an endpoint's deliveries, newest first (``status``: ``"pending"``,
        ``"succeeded"`` or ``"failed"``): the event, attempts and the latest attempt's
        outcome. See :meth:`iter_webhook_deliveries`."""
        options = RequestOptions(timeout, max_retries, deadline)
        return self._request(
            _endpoints.LIST_WEBHOOK_DELIVERIES,
            params={"webhook_id": webhook_id},
            query={"status": status, "limit": limit, "cursor": cursor},
            options=options,
        )

    def iter_webhook_deliveries(
        self, webhook_id: str, *, status: DeliveryStatus | None = None, page_size: int = 100
    ) -> Iterator[WebhookDelivery]:
        """Every delivery of an endpoint, newest first, a page at a time."""
        yield from _every(
            lambda cursor: self.list_webhook_deliveries(
                webhook_id, status=status, limit=page_size, cursor=cursor
            ),
            lambda page: page.deliveries,
        )

    def retry_webhook_delivery(
        self,
        webhook_id: str,
        delivery_id: str,
        *,
        idempotency_key: str | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        deadline: float | NotGiven | None = NOT_GIVEN,
    ) -> WebhookDelivery:
        """Send a delivery again, with the same ``webhook-id``, as soon as a worker is free
        (whatever its status). ``ConflictError`` when the endpoint is disabled."""
        options = RequestOptions(timeout, max_retries, deadline, idempotency_key)
        return self._request(
            _endpoints.RETRY_WEBHOOK_DELIVERY,
            params={"webhook_id": webhook_id, "delivery_id": delivery_id},
            options=options,
        )


class SaasLiteLLMSyncAdminClientWithRawResponse:
    """``admin.with_raw_response``: every method of the admin client that answers one response
    model, answering a :class:`RawResponse` of it instead."""

    def __init__(self, client: SaasLiteLLMSyncAdminClient) -> None:
        self.create_organization = sync_raw_response(client.create_organization)
        self.create_model_access_group = sync_raw_response(client.create_model_access_group)
        self.create_model_alias = sync_raw_response(client.create_model_alias)
        self.create_team = sync_raw_response(client.create_team)
        self.get_team = sync_raw_response(client.get_team)
        self.add_credits = sync_raw_response(client.add_credits)
        self.adjust_credits = sync_raw_response(client.adjust_credits)
        self.rotate_key = sync_raw_response(client.rotate_key)
        self.suspend_team = sync_raw_response(client.suspend_team)
        self.resume_team = sync_raw_response(client.resume_team)
        self.get_team_usage = sync_raw_response(client.get_team_usage)
        self.list_team_jobs = sync_raw_response(client.list_team_jobs)
        self.get_model_alias = sync_raw_response(client.get_model_alias)
        self.set_limits = sync_raw_response(client.set_limits)
        self.set_auto_refill = sync_raw_response(client.set_auto_refill)
        self.delete_auto_refill = sync_raw_response(client.delete_auto_refill)
        self.list_transactions = sync_raw_response(client.list_transactions)
        self.list_organizations = sync_raw_response(client.list_organizations)
        self.get_organization = sync_raw_response(client.get_organization)
        self.get_organization_usage = sync_raw_response(client.get_organization_usage)
        self.list_model_access_groups = sync_raw_response(client.list_model_access_groups)
        self.list_model_aliases = sync_raw_response(client.list_model_aliases)
        self.list_teams = sync_raw_response(client.list_teams)
        self.list_jobs = sync_raw_response(client.list_jobs)
        self.update_team = sync_raw_response(client.update_team)
        self.delete_team = sync_raw_response(client.delete_team)
        self.update_organization = sync_raw_response(client.update_organization)
        self.delete_organization = sync_raw_response(client.delete_organization)
        self.update_model_access_group = sync_raw_response(client.update_model_access_group)
        self.delete_model_access_group = sync_raw_response(client.delete_model_access_group)
        self.update_model_alias = sync_raw_response(client.update_model_alias)
        self.delete_model_alias = sync_raw_response(client.delete_model_alias)
        self.create_key = sync_raw_response(client.create_key)
        self.list_keys = sync_raw_response(client.list_keys)
        self.revoke_key = sync_raw_response(client.revoke_key)
        self.list_audit_log = sync_raw_response(client.list_audit_log)
        self.create_webhook = sync_raw_response(client.create_webhook)
        self.list_webhooks = sync_raw_response(client.list_webhooks)
        self.delete_webhook = sync_raw_response(client.delete_webhook)
        self.list_webhook_deliveries = sync_raw_response(client.list_webhook_deliveries)
        self.retry_webhook_delivery = sync_raw_response(client.retry_webhook_delivery)
