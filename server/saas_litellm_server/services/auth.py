"""Who is calling: a team's virtual key, the admin key, or nobody (local-dev mode).

The routes read the bearer token off the request; deciding what it is worth happens here.
"""

from __future__ import annotations

import hmac

from .._runtime import Runtime, TeamContext
from .._settings import Settings
from ..errors import AuthenticationFailed
from ..store import keys_sql, teams_sql
from .keys import hash_key

__all__ = ["is_admin_key", "team_for_key"]


def is_admin_key(settings: Settings, token: str) -> bool:
    admin = settings.admin_key
    if admin is None or not admin.get_secret_value():
        return False
    return hmac.compare_digest(token.encode(), admin.get_secret_value().encode())


async def team_for_key(
    runtime: Runtime, token: str, *, job_id: str | None = None
) -> TeamContext | None:
    """The team of a virtual key (``None``: no such key, or a revoked one); an expired key is
    a 401 that says so. With ``job_id`` the team's job is read in the same statement
    (``TeamContext.job``): the LLM-call routes need both."""
    job = None
    if job_id is None:
        row = await teams_sql.get_team_by_key_hash(runtime.db, hash_key(token))
    else:
        row, job = await teams_sql.get_team_and_job(runtime.db, hash_key(token), job_id)
    if row is None or row["key_revoked_at"] is not None:
        return None
    now = runtime.clock()
    expires_at = row["key_expires_at"]
    if expires_at is not None and expires_at <= now:
        raise AuthenticationFailed(
            f"this virtual key expired at {expires_at.isoformat(timespec='seconds')}; "
            "ask the operator for a new one"
        )
    last_used = row["key_last_used_at"]
    if last_used is None or now - last_used >= keys_sql.LAST_USED_RESOLUTION:
        await keys_sql.touch(runtime.db, row["key_id"], now)
    return TeamContext(
        team_id=row["team_id"],
        status=row["status"],
        default_model=row["default_model"],
        rpm_limit=row["rpm_limit"],
        tpm_limit=row["tpm_limit"],
        store_content=bool(row["store_content"]),
        looked_up_job=job_id,
        job=job,
        key_id=row["key_id"],
    )
