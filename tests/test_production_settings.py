"""`MARKETPLACE_ENV=production` refuses to start what would quietly run wrong: an embedded
PostgreSQL or Redis, or Stripe's local placeholders. Through the real command line."""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

from marketplace.jobs import Heartbeat, connect_redis, write_heartbeat
from marketplace.settings import Settings, load_settings, production_problems
from tests.support import ServiceUrls

CLI = [sys.executable, "-m", "marketplace.cli"]
REAL_STRIPE = {"STRIPE_API_KEY": "sk_live_51Hx0000", "STRIPE_WEBHOOK_SECRET": "whsec_9f8e7d6c"}


def _run(tmp_path: Path, *argv: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "STRIPE_API_KEY", "STRIPE_WEBHOOK_SECRET"}
    }
    base.update(MARKETPLACE_ENV="production", MARKETPLACE_DATA_DIR=str(tmp_path / "data"))
    return subprocess.run(
        [*CLI, *argv],
        env={**base, **env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_production_without_services_or_stripe_refuses_to_start(
    tmp_path: Path, command: str
) -> None:
    result = _run(tmp_path, command)
    assert result.returncode == 78, result
    for name in ("DATABASE_URL", "REDIS_URL", "STRIPE_API_KEY", "STRIPE_WEBHOOK_SECRET"):
        assert name in result.stderr, result.stderr
    assert "refusing to start with MARKETPLACE_ENV=production" in result.stderr
    # Nothing embedded was started: no data folder at all.
    assert not (tmp_path / "data").exists()


def test_production_with_placeholder_stripe_secrets_refuses(
    tmp_path: Path, service_urls: ServiceUrls
) -> None:
    result = _run(
        tmp_path,
        "serve",
        DATABASE_URL=service_urls.database_url,
        REDIS_URL=service_urls.redis_url,
        STRIPE_API_KEY="sk_test_local",
        STRIPE_WEBHOOK_SECRET="whsec_local",
    )
    assert result.returncode == 78
    assert "DATABASE_URL" not in result.stderr
    assert "STRIPE_API_KEY" in result.stderr
    assert "STRIPE_WEBHOOK_SECRET" in result.stderr


def test_production_migrate_needs_only_the_database(tmp_path: Path) -> None:
    result = _run(tmp_path, "migrate")
    assert result.returncode == 78
    assert "DATABASE_URL" in result.stderr
    assert "STRIPE" not in result.stderr
    assert "REDIS_URL" not in result.stderr
    assert not (tmp_path / "data").exists()


def test_the_contract_can_be_exported_anywhere(tmp_path: Path) -> None:
    assert _run(tmp_path, "openapi", "--output", str(tmp_path / "o.json")).returncode == 0


def test_what_production_accepts() -> None:
    good = load_settings(
        {
            "MARKETPLACE_ENV": "production",
            "DATABASE_URL": "postgresql://m:s@db/m",
            "REDIS_URL": "redis://redis:6379/0",
            **REAL_STRIPE,
        }
    )
    assert production_problems(good) == []
    staging = msgspec.structs.replace(good, stripe_api_key="sk_test_51Staging")
    assert production_problems(staging) == []
    for bad in ("REPLACE_WITH_STRIPE_API_KEY", "pk_live_public", "sk_test_local"):
        assert production_problems(msgspec.structs.replace(good, stripe_api_key=bad))
    # Development starts embedded servers and takes the placeholders, as before.
    assert production_problems(load_settings({})) == []


def test_create_app_refuses_unsafe_production(settings: Settings) -> None:
    from marketplace.app import create_app

    with pytest.raises(RuntimeError, match="STRIPE_API_KEY"):
        create_app(msgspec.structs.replace(settings, environment="production"))


async def test_a_pods_worker_liveness_is_its_own_heartbeat(
    tmp_path: Path, service_urls: ServiceUrls
) -> None:
    env = {"MARKETPLACE_ENV": "development", "REDIS_URL": service_urls.redis_url,
           "DATABASE_URL": service_urls.database_url}  # fmt: skip
    redis = connect_redis(service_urls.redis_url, timeout=2)
    try:
        await redis.delete("marketplace:worker:stats")
        assert _run(tmp_path, "worker-health", "--this-host", **env).returncode == 1
        other = Heartbeat(worker="another-pod:7", at=dt.datetime.now(dt.UTC), interval=60)
        await write_heartbeat(redis, other, 60)
        assert _run(tmp_path, "worker-health", "--this-host", **env).returncode == 1
        mine = Heartbeat(worker=f"{socket.gethostname()}:1", at=dt.datetime.now(dt.UTC))
        await write_heartbeat(redis, mine, 60)
        ok = _run(tmp_path, "worker-health", "--this-host", **env)
        assert ok.returncode == 0, ok
        assert ok.stdout.startswith("ok:")
    finally:
        await redis.delete("marketplace:worker:stats", "marketplace:worker:heartbeat")
        await redis.aclose()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    away = {**env, "REDIS_URL": f"redis://127.0.0.1:{port}/0", "REDIS_TIMEOUT": "0.5"}
    unknown = _run(tmp_path, "worker-health", "--this-host", **away)
    assert unknown.returncode == 0, unknown  # Redis away is not this pod's fault
    assert unknown.stdout.startswith("unknown:")
