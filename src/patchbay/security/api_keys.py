"""Gateway API keys: generated once, shown once, stored only as a SHA-256 hash.

A key is ``pb-`` followed by 43 url-safe random characters (256 bits). Keys are high-entropy, so
an unsalted SHA-256 is a safe verifier and lets the gateway look a key up by its hash in one
indexed query. ``key_hint`` keeps a recognisable, harmless fragment for listings.
"""

from __future__ import annotations

import hashlib
import secrets

PREFIX = "pb-"


def generate_key() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def key_hint(key: str) -> str:
    return f"{key[:6]}…{key[-4:]}"


def looks_like_key(key: str) -> bool:
    return key.startswith(PREFIX) and 20 <= len(key) <= 200
