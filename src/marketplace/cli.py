"""`marketplace` command line: serve, worker, worker-health, migrate, demo, admin-key,
openapi.

With no DATABASE_URL / REDIS_URL in the environment, commands start (or join) the
embedded PostgreSQL and Redis under the data folder and export their URLs to any
child process, so a fresh machine needs nothing but Python.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import os
import signal
import sys
import tempfile
from pathlib import Path

from marketplace.http_server import DEFAULT_SERVER, HttpServer
from marketplace.logs import configure_logging
from marketplace.settings import Settings, load_settings, production_problems
from marketplace.supervisor import ProcessSupervisor


def _services(settings: Settings) -> tuple[str, str]:
    """PostgreSQL and Redis URLs, starting embedded servers for those not configured."""
    from marketplace.embedded import ensure_services

    database_url, redis_url = ensure_services(
        settings.database_url, settings.redis_url, settings.data_dir
    )
    os.environ["DATABASE_URL"] = database_url
    os.environ["REDIS_URL"] = redis_url
    return database_url, redis_url


def _database(settings: Settings) -> str:
    """Commands that only need the database don't start a Redis."""
    from marketplace.embedded import start_postgres

    database_url = settings.database_url or start_postgres(settings.data_dir)
    os.environ["DATABASE_URL"] = database_url
    return database_url


def cmd_migrate(settings: Settings) -> int:
    from marketplace.migrations_runner import upgrade

    database_url = _database(settings)
    upgrade(database_url)
    return 0


def cmd_make_migration(settings: Settings, message: str, rev_id: str | None, head: str) -> int:
    from marketplace.migrations_runner import revision, upgrade

    database_url = _database(settings)
    upgrade(database_url)
    revision(database_url, message, rev_id=rev_id, head=head)
    return 0


def cmd_check_migrations(settings: Settings) -> int:
    from marketplace.migrations_runner import schema_drift, upgrade

    database_url = _database(settings)
    upgrade(database_url)
    drift = schema_drift(database_url)
    for item in drift:
        print(f"drift: {item}", file=sys.stderr)
    if drift:
        print("Models and migrations differ: run `make migration m='...'`.", file=sys.stderr)
        return 1
    print("migrations match the models")
    return 0


def cmd_demo(settings: Settings) -> int:
    from marketplace.demo import DEMO_PASSWORD, seed_demo, seed_demo_people
    from marketplace.demo_desk import seed_demo_desk
    from marketplace.migrations_runner import upgrade

    database_url = _database(settings)
    upgrade(database_url)
    keys = asyncio.run(seed_demo(database_url, settings.redis_url))
    width = max(len(slug) for slug, _, _ in keys)
    print("Demo API keys (shown once; running `marketplace demo` again issues new ones):")
    for slug, role, key in keys:
        print(f"  {slug:<{width}}  {role:<11}  {key}")
    people = asyncio.run(seed_demo_people(database_url))
    _, treasurer = asyncio.run(seed_demo_desk(database_url))
    people.append(treasurer)
    print(
        "Demo people: sign in at http://127.0.0.1:8000/masuk with a phone number below "
        f"and the password {DEMO_PASSWORD}"
    )
    for slug, role, phone in people:
        print(f"  {slug:<{width}}  {role:<11}  {phone}")
    return 0


def cmd_admin_key(settings: Settings) -> int:
    from marketplace.demo import create_platform_admin_key

    database_url = _database(settings)
    from marketplace.migrations_runner import upgrade

    upgrade(database_url)
    print(asyncio.run(create_platform_admin_key(database_url)))
    return 0


def export_openapi() -> str:
    import json

    from marketplace.app import build_openapi_schema

    schema = build_openapi_schema(
        Settings(database_url="postgresql+asyncpg://unused/unused", redis_url="redis://unused")
    )
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def cmd_openapi(output: str | None) -> int:
    text = export_openapi()
    if output:
        Path(output).write_text(text)
    else:
        sys.stdout.write(text)
    return 0


def cmd_worker(settings: Settings) -> int:
    from marketplace.worker import run

    _services(settings)
    run(load_settings())
    return 0


def cmd_worker_health(settings: Settings, this_host: bool = False) -> int:
    """Exit 0 if some worker has beaten within three heartbeat intervals, else 1.

    `this_host` (a pod's liveness probe): 1 only when Redis answers and no worker on this
    host has beaten lately; Redis away is not this pod's fault, so it passes."""
    from marketplace.jobs import connect_redis, read_heartbeat

    _, redis_url = _services(settings)
    if this_host:
        return asyncio.run(_host_health(redis_url, settings))

    async def check() -> int:
        redis = connect_redis(redis_url, timeout=settings.redis_timeout_seconds)
        try:
            heartbeat = await read_heartbeat(redis)
        except Exception as exc:
            print(f"unknown: Redis cannot be asked ({type(exc).__name__}: {exc})")
            return 1
        finally:
            await redis.aclose()
        if heartbeat is None:
            print(
                "stale: no worker heartbeat in the last "
                f"{3 * settings.worker_heartbeat_seconds:g} s"
            )
            return 1
        print(
            f"ok: {heartbeat.worker} beat at {heartbeat.at.isoformat()} "
            f"({heartbeat.jobs_complete} jobs complete, {heartbeat.jobs_failed} failed)"
        )
        return 0

    return asyncio.run(check())


async def _host_health(redis_url: str, settings: Settings) -> int:
    import datetime as dt
    import socket

    from marketplace.jobs import connect_redis, host_heartbeat

    host = socket.gethostname()
    redis = connect_redis(redis_url, timeout=settings.redis_timeout_seconds)
    try:
        beat = await host_heartbeat(redis, host, dt.datetime.now(dt.UTC))
    except Exception as exc:
        print(f"unknown: Redis cannot be asked ({type(exc).__name__}); not this pod's fault")
        return 0
    finally:
        await redis.aclose()
    if beat is None:
        print(f"stale: no worker on {host} beat in the last three intervals")
        return 1
    print(f"ok: {beat.worker} beat at {beat.at.isoformat()}")
    return 0


def cmd_serve(
    settings: Settings,
    host: str,
    port: int,
    workers: int,
    with_worker: bool,
    seed_demo: bool,
    server: HttpServer = DEFAULT_SERVER,
) -> int:
    from marketplace import http_server

    # Production runs migrations as a separate step (a Kubernetes Job); the embedded
    # development database is migrated here so `make run` needs nothing else.
    migrate = settings.uses_embedded_services or seed_demo
    # Every server process writes its metrics where `/metrics` sums them (a fresh folder
    # each start: counts of a previous run's processes must not be summed in).
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="marketplace-metrics-")
    _services(settings)
    settings = load_settings()
    if migrate:
        cmd_migrate(settings)
    if seed_demo:
        cmd_demo(settings)
    worker: ProcessSupervisor | None = None
    if with_worker:
        # Restarted whenever it dies (see `marketplace.supervisor`).
        worker = ProcessSupervisor(
            [sys.executable, "-m", "marketplace.cli", "worker"],
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        worker.start()
    # uvicorn re-raises the SIGTERM it handled once it has shut down; with the default
    # action that kills the process before `finally` and atexit run, leaving the worker
    # and the embedded PostgreSQL running. As an exception, both get to run. (Granian
    # installs its own handler and returns once its workers have stopped.)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        http_server.run(server, host=host, port=port, workers=workers, log_level=settings.log_level)
    finally:
        if worker is not None:
            worker.stop()
    return 0


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def _die_with_parent() -> None:
    """In the worker child (Linux): SIGTERM when `serve` dies, however it dies — a killed
    `serve` otherwise leaves a worker polling an embedded Redis that is gone."""
    pr_set_pdeathsig = 1
    ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGTERM)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="marketplace", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the HTTP API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "1")))
    serve.add_argument("--with-worker", action="store_true", help="also run the arq worker")
    serve.add_argument(
        "--server",
        type=HttpServer,
        choices=list(HttpServer),
        default=HttpServer(os.environ.get("WEB_SERVER") or DEFAULT_SERVER),
        help=f"the HTTP server (default {DEFAULT_SERVER}, or WEB_SERVER)",
    )
    serve.add_argument("--seed-demo", action="store_true", help="migrate and seed demo data")
    sub.add_parser("worker", help="run the background job worker")
    health = sub.add_parser(
        "worker-health",
        help="exit 0 if a worker's heartbeat is fresh, 1 if stale or Redis can't be asked",
    )
    health.add_argument(
        "--this-host",
        action="store_true",
        help="a pod's liveness: 1 only if Redis answers and no worker here beat lately",
    )
    sub.add_parser("migrate", help="apply database migrations")
    make_migration = sub.add_parser("make-migration", help="autogenerate a migration")
    make_migration.add_argument("message")
    make_migration.add_argument("--rev-id", default=None, help="e.g. 0003_ledger")
    make_migration.add_argument(
        "--head", default="head", help="revision to build on when several heads exist"
    )
    sub.add_parser("check-migrations", help="fail if models and migrations differ")
    sub.add_parser("demo", help="seed the Mojokerto/Blitar demo data set and print API keys")
    sub.add_parser("admin-key", help="print a new platform-admin API key")
    openapi = sub.add_parser("openapi", help="export the OpenAPI contract")
    openapi.add_argument("--output", default=None)
    return parser


# What each command needs in production (`settings.production_problems`): (Redis, Stripe).
_PRODUCTION_NEEDS = {
    "serve": (True, True),
    "worker": (True, True),
    "worker-health": (True, False),
}


def refuse_unsafe_production(settings: Settings, command: str) -> int | None:
    """Exit status 78 (EX_CONFIG) with every reason when production is misconfigured."""
    if command == "openapi":
        return None
    redis, stripe = _PRODUCTION_NEEDS.get(command, (False, False))
    problems = production_problems(settings, redis=redis, stripe=stripe)
    if not problems:
        return None
    print(
        f"marketplace {command}: refusing to start with MARKETPLACE_ENV=production:",
        file=sys.stderr,
    )
    for problem in problems:
        print(f"  - {problem}", file=sys.stderr)
    return 78


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    refused = refuse_unsafe_production(settings, args.command)
    if refused is not None:
        return refused
    match args.command:
        case "serve":
            return cmd_serve(
                settings,
                args.host,
                args.port,
                args.workers,
                args.with_worker,
                args.seed_demo,
                args.server,
            )
        case "worker":
            return cmd_worker(settings)
        case "worker-health":
            return cmd_worker_health(settings, args.this_host)
        case "migrate":
            return cmd_migrate(settings)
        case "make-migration":
            return cmd_make_migration(settings, args.message, args.rev_id, args.head)
        case "check-migrations":
            return cmd_check_migrations(settings)
        case "demo":
            return cmd_demo(settings)
        case "admin-key":
            return cmd_admin_key(settings)
        case "openapi":
            return cmd_openapi(args.output)
    return 2


if __name__ == "__main__":
    sys.exit(main())
