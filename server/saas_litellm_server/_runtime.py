"""What the services need at run time, built once by the app's lifespan."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ._redact import Redactor
from ._settings import Settings
from .providers import Provider, create_providers
from .services._cache import TTLCache
from .services.cooldown import Cooldowns
from .store import Database
from .store._util import utcnow
from .store.catalog_sql import AliasRow
from .store.jobs_sql import JobStart

__all__ = ["REPLICA_RETRY_SECONDS", "Runtime", "TeamContext"]

logger = logging.getLogger("saas_litellm_server")

REPLICA_RETRY_SECONDS = 30.0
"""How long reads go to the primary after the replica failed one."""


@dataclass(frozen=True)
class TeamContext:
    """The authenticated team of a request."""

    team_id: str
    status: str
    default_model: str | None
    rpm_limit: int | None = None
    tpm_limit: int | None = None
    store_content: bool = False
    """Whether its calls' content is kept (read with the key: no statement of its own)."""
    looked_up_job: str | None = None
    """The job id of the request, when it was looked up together with the key (one statement
    instead of two on the hot path); ``job`` is then that job's row, or ``None`` if this team
    has no such job."""
    job: JobStart | None = None
    key_id: str | None = None
    """The virtual key the request was made with (recorded with its calls); ``None`` for a
    team context no key made (the operator's view, local-dev mode)."""

    @property
    def limited(self) -> bool:
        return self.rpm_limit is not None or self.tpm_limit is not None


@dataclass
class Runtime:
    settings: Settings
    db: Database
    read_db: Database
    """Where reads that may lag go (lists, usage, dashboard pages): a replica
    (``SAAS_LITELLM_READ_DATABASE_URL``), or ``db`` itself when none is set. Never migrated,
    never written; which endpoints read it is marked where their routes are declared
    (``api_route(…, replica=True)``) and, for the dashboard, pages read it, actions do not."""
    redactor: Redactor = field(default_factory=Redactor)
    """Scrubs configured secrets (and, for teams, upstream addresses) from outgoing text."""
    providers: dict[str, Provider] = field(default_factory=dict)
    cooldowns: Cooldowns = field(default_factory=lambda: Cooldowns(failures=3, seconds=30.0))
    aliases: TTLCache[AliasRow] = field(default_factory=lambda: TTLCache(5.0))
    team_groups: TTLCache[frozenset[str]] = field(default_factory=lambda: TTLCache(5.0))
    clock: Callable[[], dt.datetime] = utcnow
    """The time that decides key expiry and stamps admin changes (tests move it)."""
    draining: bool = False
    """Set by ``serve`` on SIGTERM (``_drain``): ``/ready`` answers 503 from then on."""
    replica_down_until: float = 0.0
    """Until then (``time.monotonic``) the replica is skipped: it failed a read."""

    def reads(self) -> Database:
        """Where a read that may lag goes now: the replica, unless it failed within the last
        :data:`REPLICA_RETRY_SECONDS` (then the primary: a replica's outage degrades reads to
        the primary's freshness, it never fails them)."""
        if self.read_db is self.db or time.monotonic() < self.replica_down_until:
            return self.db
        return self.read_db

    def replica_failed(self, db: Database) -> bool:
        """A read on ``db`` found the database unavailable: if ``db`` is the replica, skip it
        for a while and return ``True`` (the read may go again, to the primary)."""
        if db is self.db:
            return False
        if time.monotonic() >= self.replica_down_until:
            logger.warning(
                "the read replica is unavailable: reads go to the primary for %g s",
                REPLICA_RETRY_SECONDS,
            )
        self.replica_down_until = time.monotonic() + REPLICA_RETRY_SECONDS
        return True

    @classmethod
    def create(cls, settings: Settings, clock: Callable[[], dt.datetime] | None = None) -> Runtime:
        api_key = (
            settings.upstream_api_key.get_secret_value() if settings.upstream_api_key else None
        )
        admin_key = settings.admin_key.get_secret_value() if settings.admin_key else None
        redactor = Redactor(secrets=[api_key, admin_key], hosts=[settings.upstream_base_url])
        db = Database(
            settings.database_url,
            pool_size=settings.db_pool_size,
            transaction_pooling=settings.database_transaction_pooling,
        )
        read_db = (
            Database(
                settings.read_database_url,
                pool_size=settings.db_pool_size,
                transaction_pooling=settings.database_transaction_pooling,
            )
            if settings.read_database_url
            else db
        )
        return cls(
            settings=settings,
            db=db,
            read_db=read_db,
            redactor=redactor,
            providers=create_providers(settings, redactor),
            cooldowns=Cooldowns(
                failures=settings.cooldown_failures, seconds=settings.cooldown_seconds, db=db
            ),
            aliases=TTLCache(settings.catalog_cache_seconds),
            team_groups=TTLCache(settings.catalog_cache_seconds),
            clock=clock or utcnow,
        )

    def forget_catalog(self) -> None:
        """Drop cached aliases and team groups after an admin change (other processes see it
        within ``SAAS_LITELLM_CATALOG_CACHE_SECONDS``, capped at 1 s by ``serve --workers``)."""
        self.aliases.clear()
        self.team_groups.clear()

    async def aclose(self) -> None:
        for provider in self.providers.values():
            await provider.aclose()
