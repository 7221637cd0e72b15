"""Virtual keys: ``sk-`` plus 256 random bits, shown once, stored only as a SHA-256 digest.

A fast hash is enough because the keys are random and long: there is nothing to brute-force.
"""

from __future__ import annotations

import hashlib
import secrets

__all__ = ["KEY_PREFIX", "hash_key", "new_virtual_key"]

KEY_PREFIX = "sk-"


def new_virtual_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()
