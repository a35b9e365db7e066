"""API key format: `<prefix>_<public id>_<secret>`, shown once, stored as SHA-256.

A key has ~190 bits of randomness, so a fast hash is enough (no password stretching);
lookup is by the hash itself, which is unique. The public id part lets people tell keys
apart in listings and logs without revealing the secret.
"""

from __future__ import annotations

import hashlib
import secrets

import msgspec

_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"


class GeneratedKey(msgspec.Struct, frozen=True):
    key: str
    prefix: str
    key_hash: str


def generate_api_key(namespace: str = "mk") -> GeneratedKey:
    public = "".join(secrets.choice(_ALPHABET) for _ in range(8))
    secret = secrets.token_urlsafe(24)
    prefix = f"{namespace}_{public}"
    key = f"{prefix}_{secret}"
    return GeneratedKey(key=key, prefix=prefix, key_hash=hash_api_key(key))


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def looks_like_api_key(value: str) -> bool:
    parts = value.split("_", 2)
    return len(parts) == 3 and all(parts) and len(value) <= 128
