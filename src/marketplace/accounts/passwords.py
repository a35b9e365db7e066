"""Password hashing: argon2id (memory-hard), via argon2-cffi with its default parameters."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()
# Verified against when the phone number is unknown, so both answers take as long.
_UNKNOWN_PERSON_HASH = _HASHER.hash("no one has this password")


async def hash_password(password: str) -> str:
    # Hashing takes tens of milliseconds of CPU: off the event loop.
    return await asyncio.to_thread(_HASHER.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    def verify() -> bool:
        try:
            return _HASHER.verify(password_hash or _UNKNOWN_PERSON_HASH, password)
        except (VerificationError, InvalidHashError):
            return False

    matches = await asyncio.to_thread(verify)
    return matches and password_hash is not None
