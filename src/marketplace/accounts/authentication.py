"""Who the caller is: the bearer key, the per-process principal cache, the key's last use.

And the other half of the cache's contract: a committed revocation is announced to every
process (`KeyRevocations`), registered by the revoking use case on its unit of work so it
can only follow a commit.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.accounts.domain import Principal
from marketplace.accounts.principal_cache import (
    Invalidation,
    PrincipalCache,
    publish_invalidation,
)
from marketplace.accounts.service import AccountsService, key_hash_of, last_use_due
from marketplace.db import ReadOnlyUnitOfWork, UnitOfWork
from marketplace.errors import NotAuthenticated

log = structlog.get_logger(__name__)


def bearer_key_hash(authorization: str | None) -> str:
    """The stored hash of the key an `Authorization: Bearer <key>` header presents."""
    if not authorization:
        raise NotAuthenticated("Send your API key as `Authorization: Bearer <key>`.")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated("The Authorization header must be `Bearer <key>`.")
    return key_hash_of(token.strip())


class Authenticator:
    """Finds the caller of a request: from the cache, else with one SELECT."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        read_sessions: async_sessionmaker[AsyncSession],
        cache: PrincipalCache | None,
    ) -> None:
        self.sessions = sessions
        self.read_sessions = read_sessions
        self.cache = cache

    async def authenticate(self, authorization: str | None, uow: UnitOfWork | None) -> Principal:
        """The caller; `uow` is the request's unit of work, if it opened one."""
        key_hash = bearer_key_hash(authorization)
        cache = self.cache
        cached = cache.get(key_hash) if cache is not None else None
        if cached is not None:
            principal, last_used_at = cached.principal, cached.last_used_at
        else:
            # A miss (or a cache not in force): one SELECT, in the request's unit of work
            # or, without one, in a read session of its own.
            generation = cache.generation if cache is not None else 0
            if uow is not None:
                principal, last_used_at = await AccountsService(uow).authenticate_hash(key_hash)
            else:
                async with self.read_sessions() as session:
                    principal, last_used_at = await AccountsService(
                        ReadOnlyUnitOfWork(session)
                    ).authenticate_hash(key_hash)
            if cache is not None:
                cache.put(key_hash, principal, last_used_at, generation=generation)
        # The last-used time, kept to the minute, is written by a short transaction of its
        # own only when due, so reads — which never commit — still record it without a
        # write on every request.
        now = dt.datetime.now(dt.UTC)
        if last_use_due(last_used_at, now):
            # Hand back the request's connection (it holds only the key look-up) first: a
            # request holding one connection while waiting for a second deadlocks the pool
            # when a burst of pool-size requests with due keys arrives (the hot-SKU
            # benchmark saw every such request time out with 500 after 30 s).
            if uow is not None:
                await uow.rollback()
            async with self.sessions() as session:
                touch = UnitOfWork(session)
                await AccountsService(touch).record_key_use(principal.key_id)
                await touch.commit()
            if cache is not None:
                cache.mark_used(key_hash, now)
        return principal


class KeyRevocations:
    """Tells this process and every other that a key was revoked (after its commit)."""

    def __init__(
        self, cache: PrincipalCache | None, redis: Any, *, publish_timeout: float = 2.0
    ) -> None:
        self.cache = cache
        self.redis = redis
        self.publish_timeout = publish_timeout

    async def announce(self, api_key_id: uuid.UUID) -> None:
        """Drop the key here at once and publish it to every process.

        A failed publish is logged, not raised (the revocation is committed), and takes at
        most `publish_timeout`: processes that still hold the key are then cut off from
        Redis too, so they stop trusting their cache once their probe goes unanswered (a
        stalled Redis) or at once (a lost connection), or drop the key within the TTL.
        """
        if self.cache is not None:
            self.cache.invalidate_key(api_key_id)
        if self.redis is None:
            return
        try:
            async with asyncio.timeout(self.publish_timeout):
                await publish_invalidation(self.redis, Invalidation(api_key_id=api_key_id))
        except Exception as exc:
            log.warning(
                "principal_cache_publish_failed", api_key_id=str(api_key_id), error=repr(exc)
            )
