"""Configuration, read from the environment once at start-up (never at import)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import msgspec


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    environment: str = "development"
    database_url: str | None = None
    redis_url: str | None = None
    data_dir: Path = Path(".data")
    log_level: str = "INFO"
    log_format: str = "console"
    api_key_prefix: str = "mk"
    db_pool_size: int = 10
    db_max_overflow: int = 10
    # A request waits at most this long for a pooled connection, then gets a 503.
    db_pool_timeout_seconds: float = 10.0
    # Read-only connections for the catalogue page (`marketplace.read_pool`), per process.
    db_read_pool_size: int = 5
    # A new database connection that isn't established in this long is an outage (503),
    # not a request hanging for asyncpg's 60 s default.
    db_connect_timeout_seconds: float = 5.0
    # Every Redis command (and connect) of the API and the worker gives up after this
    # long: a stalled Redis (SIGSTOP, a network black hole) answers nothing, ever.
    redis_timeout_seconds: float = 2.0
    # How long a write's response may wait, after its commit, for its jobs to be queued;
    # what isn't queued by then is re-enqueued by the outbox and other sweepers.
    job_enqueue_timeout_seconds: float = 0.5
    # The worker's heartbeat (`marketplace worker-health`, `/readyz`): written this often,
    # and gone (the worker counts as stale) after three missed beats.
    worker_heartbeat_seconds: float = 5.0
    # An outbox event not handled this long after creation is re-enqueued by the sweeper.
    outbox_stale_after_seconds: float = 30.0
    stripe_api_key: str = "sk_test_local"
    stripe_webhook_secret: str = "whsec_local"
    stripe_api_base: str | None = None
    webhook_allow_private_targets: bool = False
    # How long an API process trusts a cached API key between revocation notices (the
    # backstop if one is missed); 0 turns the cache off.
    auth_cache_ttl_seconds: float = 30.0

    @property
    def uses_embedded_services(self) -> bool:
        return self.database_url is None or self.redis_url is None


_TRUE = {"1", "true", "yes", "on"}


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ

    def get(name: str) -> str | None:
        value = env.get(name)
        return value if value else None

    return Settings(
        environment=get("MARKETPLACE_ENV") or "development",
        database_url=normalize_database_url(get("DATABASE_URL")),
        redis_url=get("REDIS_URL"),
        data_dir=Path(get("MARKETPLACE_DATA_DIR") or ".data"),
        log_level=(get("LOG_LEVEL") or "INFO").upper(),
        log_format=get("LOG_FORMAT") or "console",
        db_pool_size=int(get("DB_POOL_SIZE") or 10),
        db_max_overflow=int(get("DB_MAX_OVERFLOW") or 10),
        db_pool_timeout_seconds=float(get("DB_POOL_TIMEOUT") or 10.0),
        db_read_pool_size=int(get("DB_READ_POOL_SIZE") or 5),
        db_connect_timeout_seconds=float(get("DB_CONNECT_TIMEOUT") or 5.0),
        redis_timeout_seconds=float(get("REDIS_TIMEOUT") or 2.0),
        job_enqueue_timeout_seconds=float(get("JOB_ENQUEUE_TIMEOUT") or 0.5),
        worker_heartbeat_seconds=float(get("WORKER_HEARTBEAT_SECONDS") or 5.0),
        outbox_stale_after_seconds=float(get("OUTBOX_STALE_AFTER_SECONDS") or 30.0),
        stripe_api_key=get("STRIPE_API_KEY") or "sk_test_local",
        stripe_webhook_secret=get("STRIPE_WEBHOOK_SECRET") or "whsec_local",
        stripe_api_base=get("STRIPE_API_BASE"),
        webhook_allow_private_targets=(get("WEBHOOK_ALLOW_PRIVATE_TARGETS") or "").lower() in _TRUE,
        auth_cache_ttl_seconds=float(get("AUTH_CACHE_TTL_SECONDS") or 30.0),
    )


def normalize_database_url(url: str | None) -> str | None:
    """Accept the usual `postgres://` / `postgresql://` forms and use the asyncpg driver."""
    if url is None:
        return None
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    return url
