"""Dashboard sessions and CSRF tokens: a signed cookie, no server-side session store.

The cookie holds a random session id and an expiry, signed with HMAC-SHA256. With an admin key
the signing secret is derived from it, so every server process shares it and changing the admin
key ends every session; in local-dev mode (no key) it is random per process. A CSRF token is
the HMAC of the session id, so it is bound to one session and never stored.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field

from .._settings import Settings

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

    @property
    def short_id(self) -> str:
        """What the audit log names: enough to tell sessions apart, useless to forge one."""
        return self.sid[:8]


@dataclass
class Sessions:
    """Issues and checks session cookies and CSRF tokens."""

    settings: Settings
    _random_secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    _ended: dict[str, dt.datetime] = field(default_factory=dict)
    """Sessions signed out in this process, until they would have expired."""

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

    def issue(self, now: dt.datetime) -> tuple[Session, str]:
        """A new session and its cookie value."""
        sid = secrets.token_urlsafe(18)
        expires = now + dt.timedelta(hours=self.settings.dashboard_session_hours)
        payload = json.dumps({"sid": sid, "exp": int(expires.timestamp())}).encode()
        return Session(sid, expires, self._csrf(sid)), f"{_b64(payload)}.{self._sign(payload)}"

    def read(self, cookie: str | None, now: dt.datetime) -> Session | None:
        """The session a cookie holds, if it is genuine, unexpired and not signed out."""
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
        if expires <= now or sid in self._ended:
            return None
        return Session(sid, expires, self._csrf(sid))

    def end(self, session: Session, now: dt.datetime) -> None:
        """Sign a session out (its cookie is also deleted in the browser)."""
        self._ended = {s: e for s, e in self._ended.items() if e > now}
        self._ended[session.sid] = session.expires

    def check_csrf(self, session: Session, token: str | None) -> bool:
        return token is not None and hmac.compare_digest(token, session.csrf)
