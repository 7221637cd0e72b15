"""Dashboard sessions and CSRF tokens: a signed cookie and a row in the database.

The cookie holds a random session id and an expiry, signed with HMAC-SHA256. With an admin key
the signing secret is derived from it, so every server process shares it and changing the admin
key ends every session. Each session is also a row of ``dashboard_sessions`` (the hash of its
id, whose it is: an operator's or the admin key's, its expiry, when it ended), read on every
request with the operator's current role: a sign-out, an operator's removal or key rotation
ends it on every process at once, and a role change applies to the next request. In local-dev
mode (no key, no sign-in) the secret is random per process and nothing is stored. A CSRF token
is the HMAC of the session id, so it is bound to one session and never stored.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field

from saas_litellm_models import OperatorRole

from .._settings import Settings
from ..store import Database, sessions_sql

__all__ = ["COOKIE", "Session", "Sessions"]

COOKIE = "saas_litellm_dashboard"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class Session:
    sid: str
    expires: dt.datetime
    csrf: str
    operator_id: str | None = None
    """Whose session: an operator's, or (``None``) the admin key's or local-dev mode's."""
    role: OperatorRole = "owner"
    """What it may do: its operator's role as of this request (the admin key: an owner)."""

    @property
    def short_id(self) -> str:
        """What the audit log names: enough to tell sessions apart, useless to forge one."""
        return self.sid[:8]

    @property
    def actor(self) -> str:
        """Who the audit log names for a change made in this session."""
        if self.operator_id is not None:
            return f"operator:{self.operator_id}"
        return f"dashboard:{self.short_id}"


def _hash(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


@dataclass
class Sessions:
    """Issues and checks session cookies and CSRF tokens."""

    settings: Settings
    _random_secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))

    @property
    def _secret(self) -> bytes:
        key = self.settings.admin_key
        if key is None or not key.get_secret_value():
            return self._random_secret
        return hmac.new(
            key.get_secret_value().encode(), b"saas-litellm dashboard session v1", hashlib.sha256
        ).digest()

    def _sign(self, payload: bytes) -> str:
        return _b64(hmac.new(self._secret, payload, hashlib.sha256).digest())

    def _csrf(self, sid: str) -> str:
        return self._sign(b"csrf:" + sid.encode())

    async def issue(
        self, db: Database, now: dt.datetime, operator_id: str | None = None
    ) -> tuple[Session, str]:
        """A new session (an operator's, or the admin key's) and its cookie value."""
        sid = secrets.token_urlsafe(18)
        expires = now + dt.timedelta(hours=self.settings.dashboard_session_hours)
        if not self.settings.dev_mode:
            await sessions_sql.insert_session(
                db, session_hash=_hash(sid), operator_id=operator_id, now=now, expires_at=expires
            )
        payload = json.dumps({"sid": sid, "exp": int(expires.timestamp())}).encode()
        session = Session(sid, expires, self._csrf(sid), operator_id)
        return session, f"{_b64(payload)}.{self._sign(payload)}"

    async def read(self, db: Database, cookie: str | None, now: dt.datetime) -> Session | None:
        """The session a cookie holds, if it is genuine, unexpired and not ended (signed out,
        or its operator removed or its key rotated), with its operator's current role."""
        if not cookie or cookie.count(".") != 1 or len(cookie) > 512:
            return None
        body, signature = cookie.split(".")
        try:
            payload = _unb64(body)
            if not hmac.compare_digest(signature, self._sign(payload)):
                return None
            data = json.loads(payload)
            sid, expires = (
                str(data["sid"]),
                dt.datetime.fromtimestamp(int(data["exp"]), dt.timezone.utc),
            )
        except (ValueError, KeyError, TypeError):
            return None
        if expires <= now:
            return None
        if self.settings.dev_mode:
            return Session(sid, expires, self._csrf(sid))
        row = await sessions_sql.live_session(db, _hash(sid), now)
        if row is None:
            return None
        role: OperatorRole = row["role"] or "owner"  # type: ignore[assignment]  # a stored role
        return Session(sid, expires, self._csrf(sid), row["operator_id"], role)

    async def end(self, db: Database, session: Session, now: dt.datetime) -> None:
        """Sign a session out, on every process (its cookie is also deleted in the browser)."""
        if not self.settings.dev_mode:
            await sessions_sql.end_session(db, _hash(session.sid), now)

    def check_csrf(self, session: Session, token: str | None) -> bool:
        return token is not None and hmac.compare_digest(token, session.csrf)
