"""Configuration, read from the environment once at start-up (never at import)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path

import msgspec

from marketplace.client_address import parse_networks

# How far ahead an order may be placed for delivery. Kitchens order for next-day cooking
# and plan at most a school term ahead; food stalls and cooperatives buy for the coming
# weeks. An order reserves stock and fixes today's price, so one for a date months away
# would hold a seller's stock back for that long at a price the zone cap (HET) or the
# seller may have changed since. A quarter covers every real plan (Ramadan and Lebaran
# stocking is arranged some 2-3 months ahead); anything further is a typo (2062 for 2026)
# or an attempt on the stock. Recurring needs are standing orders, placed day by day.
DEFAULT_ORDER_DELIVERY_HORIZON_DAYS = 90


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
    order_delivery_horizon_days: int = DEFAULT_ORDER_DELIVERY_HORIZON_DAYS
    # SPHP rice a consumer may buy per day, counted per buyer over its local day. From
    # 2026, 5 packs / 25 kg (it was 2 packs / 10 kg): Bulog's SPHP rule as recorded in
    # domain-facts.md ("Bulog", 2026).
    sphp_daily_limit_kg: int = 25
    # Proxies whose `Forwarded` / `X-Forwarded-For` are believed (`marketplace.client_address`):
    # CIDRs, none by default (the peer is the client).
    trusted_proxies: tuple[str, ...] = ()
    # API rate limits (`marketplace.rate_limits`), per fixed window of this many seconds,
    # shared by every process through Redis; 0 turns a limit off.
    rate_limit_window_seconds: int = 60
    # Requests per API key per window (a runaway integration, not a busy one: 100/s).
    rate_limit_per_key: int = 6000
    # Requests without an API key per client address per window.
    rate_limit_per_address: int = 600
    # Requests with a key that turned out bad (401) per client address per window; past
    # it, that address's keys are refused with 429 before they are looked at, except keys
    # it recently used successfully.
    rate_limit_bad_keys_per_address: int = 30
    # An Idempotency-Key is honoured at least this long (the hourly sweep deletes older).
    idempotency_ttl_hours: float = 24.0
    # When set, `/metrics` wants `Authorization: Bearer <token>`; open otherwise.
    metrics_token: str | None = None
    # The origin (`https://api.example.id`) a problem's `type` names its `/problems/{code}`
    # page under; unset, each request's own origin.
    public_base_url: str | None = None
    # OpenTelemetry traces go by OTLP/HTTP to `<this>/v1/traces` (`marketplace.tracing`);
    # unset, nothing of tracing is installed.
    otel_exporter_otlp_endpoint: str | None = None

    @property
    def uses_embedded_services(self) -> bool:
        return self.database_url is None or self.redis_url is None


_TRUE = {"1", "true", "yes", "on"}
# The development placeholders: a production process with these would take no payment.
_STRIPE_PLACEHOLDERS = {"sk_test_local", "whsec_local"}
_STRIPE_KEY_PREFIXES = ("sk_live_", "sk_test_", "rk_live_", "rk_test_")


def production_problems(
    settings: Settings, *, redis: bool = True, stripe: bool = True
) -> list[str]:
    """Why this configuration must not run with `MARKETPLACE_ENV=production` (none when
    it may, or in any other environment): production never starts an embedded server and
    never takes the local Stripe placeholders. `redis` / `stripe`: the command needs them."""
    if settings.environment != "production":
        return []
    problems = []
    if settings.database_url is None:
        problems.append("DATABASE_URL is not set (production never starts an embedded PostgreSQL)")
    if redis and settings.redis_url is None:
        problems.append("REDIS_URL is not set (production never starts an embedded Redis)")
    if stripe:
        key, secret = settings.stripe_api_key, settings.stripe_webhook_secret
        if key in _STRIPE_PLACEHOLDERS or not key.startswith(_STRIPE_KEY_PREFIXES):
            problems.append(
                "STRIPE_API_KEY is not a Stripe secret key (sk_live_…, or sk_test_… for a "
                "staging system); the development placeholder is refused"
            )
        if secret in _STRIPE_PLACEHOLDERS or not secret.startswith("whsec_"):
            problems.append(
                "STRIPE_WEBHOOK_SECRET is not a Stripe webhook signing secret (whsec_…); "
                "the development placeholder is refused"
            )
    return problems


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
        order_delivery_horizon_days=int(
            get("ORDER_DELIVERY_HORIZON_DAYS") or DEFAULT_ORDER_DELIVERY_HORIZON_DAYS
        ),
        sphp_daily_limit_kg=_not_negative(
            "SPHP_DAILY_LIMIT_KG", int(get("SPHP_DAILY_LIMIT_KG") or 25)
        ),
        trusted_proxies=parse_networks(get("TRUSTED_PROXIES")),
        metrics_token=get("METRICS_TOKEN"),
        public_base_url=get("PUBLIC_BASE_URL"),
        otel_exporter_otlp_endpoint=get("OTEL_EXPORTER_OTLP_ENDPOINT"),
        idempotency_ttl_hours=float(get("IDEMPOTENCY_TTL_HOURS") or 24.0),
        rate_limit_window_seconds=max(1, _int(get, "RATE_LIMIT_WINDOW_SECONDS", 60)),
        rate_limit_per_key=_not_negative(
            "RATE_LIMIT_PER_KEY", _int(get, "RATE_LIMIT_PER_KEY", 6000)
        ),
        rate_limit_per_address=_not_negative(
            "RATE_LIMIT_PER_ADDRESS", _int(get, "RATE_LIMIT_PER_ADDRESS", 600)
        ),
        rate_limit_bad_keys_per_address=_not_negative(
            "RATE_LIMIT_BAD_KEYS_PER_ADDRESS", _int(get, "RATE_LIMIT_BAD_KEYS_PER_ADDRESS", 30)
        ),
    )


def _int(get: Callable[[str], str | None], name: str, default: int) -> int:
    """An integer setting: `0` is a value (it turns a limit off), unset is the default."""
    raw = get(name)
    return default if raw is None else int(raw)


def _not_negative(name: str, value: int) -> int:
    if value < 0:
        raise ValueError(f"{name} must be 0 or more, not {value}")
    return value


def normalize_database_url(url: str | None) -> str | None:
    """Accept the usual `postgres://` / `postgresql://` forms and use the asyncpg driver."""
    if url is None:
        return None
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    return url
