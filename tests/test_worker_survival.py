"""The background worker as a real process: it survives Redis going away and runs jobs
again once Redis is back; `serve --with-worker` starts it again when it dies; its
heartbeat says whether any worker is alive (`marketplace worker-health`, `/readyz`).
Against a `redis-server` of the tests' own, never the suite's shared one."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from reliability.servers import DrillRedis, process_state
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace import outbox
from marketplace.db import unit_of_work
from marketplace.jobs import ArqJobQueue, connect_redis
from marketplace.settings import Settings
from marketplace.supervisor import ProcessSupervisor
from tests.builders.events import topic_event
from tests.test_cli import free_port

CLI = [sys.executable, "-m", "marketplace.cli"]
HEARTBEAT = 0.5  # seconds: stale 1.5 s after the last beat


@pytest.fixture
def drill_redis() -> Iterator[DrillRedis]:
    with DrillRedis() as server:
        yield server


def worker_env(settings: Settings, redis_url: str) -> dict[str, str]:
    assert settings.database_url is not None
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(
        DATABASE_URL=settings.database_url,
        REDIS_URL=redis_url,
        WORKER_HEARTBEAT_SECONDS=str(HEARTBEAT),
        # The shared test database holds other tests' unhandled events: leave them be.
        OUTBOX_STALE_AFTER_SECONDS="1000000000",
        LOG_FORMAT="json",
        LOG_LEVEL="INFO",
    )
    return env


class Worker:
    """`marketplace worker` in its own process group, its output in a file."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                [*CLI, "worker"], env=env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGCONT)
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def worker_health(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "worker-health"], env=env, capture_output=True, text=True, timeout=60, check=False
    )


async def wait_until(condition: Any, limit: float = 30) -> bool:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if await asyncio.to_thread(condition):
            return True
        await asyncio.sleep(0.1)
    return bool(await asyncio.to_thread(condition))


async def emit_ping(factory: async_sessionmaker[AsyncSession], redis_url: str) -> uuid.UUID:
    """An outbox event, committed and enqueued: a job for the worker."""
    redis = connect_redis(redis_url, timeout=2)
    try:
        async with unit_of_work(factory, ArqJobQueue(redis)) as uow:
            event_id = outbox.emit(uow, topic_event("test.worker_ping", n=1))
            await uow.commit()
    finally:
        await redis.aclose()
    return event_id


async def handled(factory: async_sessionmaker[AsyncSession], event_id: uuid.UUID) -> bool:
    async with factory() as session:
        at = await session.scalar(
            text("SELECT handled_at FROM outbox_events WHERE id = :id"), {"id": event_id}
        )
    return at is not None


async def wait_handled(
    factory: async_sessionmaker[AsyncSession], event_id: uuid.UUID, limit: float = 30
) -> bool:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if await handled(factory, event_id):
            return True
        await asyncio.sleep(0.2)
    return await handled(factory, event_id)


async def test_the_worker_survives_redis_going_away_and_runs_jobs_when_it_is_back(
    drill_redis: DrillRedis,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    tmp_path: Path,
) -> None:
    env = worker_env(settings, drill_redis.url)
    worker = Worker(env, tmp_path / "worker.log")
    try:
        before = await emit_ping(session_factory, drill_redis.url)
        assert await wait_handled(session_factory, before), worker.output()

        drill_redis.stop()  # gone: every connection reset, new ones refused
        assert await wait_until(
            lambda: (
                worker.output().count('"worker_redis_unavailable"') >= 3
                or worker.proc.poll() is not None
            )
        ), worker.output()
        assert worker.proc.poll() is None, worker.output()  # still running, retrying

        drill_redis.start()  # back, empty (no persistence): the queue was lost
        after = await emit_ping(session_factory, drill_redis.url)
        assert await wait_handled(session_factory, after), worker.output()
        assert worker.proc.poll() is None
        assert '"worker_redis_back"' in worker.output()
    finally:
        worker.stop()


async def test_worker_health_reports_a_stale_heartbeat_once_the_worker_stops(
    drill_redis: DrillRedis, settings: Settings, tmp_path: Path
) -> None:
    env = worker_env(settings, drill_redis.url)
    assert worker_health(env).returncode == 1  # no worker yet
    worker = Worker(env, tmp_path / "worker.log")
    try:
        assert await wait_until(lambda: worker_health(env).returncode == 0), worker.output()
        healthy = worker_health(env)
        assert healthy.stdout.startswith("ok:"), healthy.stdout
        os.kill(worker.proc.pid, signal.SIGSTOP)  # stuck: alive, but its loop never runs
        assert await wait_until(lambda: worker_health(env).returncode == 1)
        stale = worker_health(env)
        assert stale.stdout.startswith("stale:"), stale.stdout
        os.kill(worker.proc.pid, signal.SIGCONT)
        assert await wait_until(lambda: worker_health(env).returncode == 0)
    finally:
        worker.stop()
    drill_redis.stop()
    unreachable = worker_health(env)
    assert unreachable.returncode == 1
    assert unreachable.stdout.startswith("unknown:"), unreachable.stdout


def children_of(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


async def test_serve_with_worker_restarts_a_killed_worker(
    drill_redis: DrillRedis, settings: Settings, tmp_path: Path
) -> None:
    env = worker_env(settings, drill_redis.url)
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        serve = subprocess.Popen(  # noqa: ASYNC220 (returns at once)
            [*CLI, "serve", "--port", str(port), "--with-worker"],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"

    def worker_ready() -> bool:
        try:
            ready = httpx.get(f"{base}/readyz", timeout=5)
        except httpx.TransportError:
            return False
        return ready.status_code == 200 and ready.json()["checks"].get("worker") == "ok"

    try:
        assert await wait_until(worker_ready, limit=90), log.read_text()
        (first,) = children_of(serve.pid)
        os.kill(first, signal.SIGKILL)
        assert await wait_until(lambda: first not in children_of(serve.pid))
        # Started again by the supervisor, and beating.
        assert await wait_until(lambda: len(children_of(serve.pid)) == 1), log.read_text()
        (second,) = children_of(serve.pid)
        assert second != first
        assert await wait_until(lambda: worker_health(env).returncode == 0), log.read_text()
        assert '"worker_exited"' in log.read_text()
    finally:
        serve.terminate()
        try:
            serve.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(serve.pid, signal.SIGKILL)
            serve.wait()
    # SIGTERM stopped the worker too, and nothing started it again.
    assert serve.returncode is not None
    assert process_state(second) in (None, "Z")


def test_the_supervisor_restarts_a_dead_child_and_stops_for_good() -> None:
    supervisor = ProcessSupervisor([sys.executable, "-c", "import time; time.sleep(60)"])
    supervisor.start()
    try:
        deadline = time.monotonic() + 10
        while supervisor.pid is None and time.monotonic() < deadline:
            time.sleep(0.02)
        first = supervisor.pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        while supervisor.pid in (None, first) and time.monotonic() < deadline + 10:
            time.sleep(0.02)
        second = supervisor.pid
        assert second is not None
        assert second != first
        assert supervisor.starts == 2
    finally:
        supervisor.stop()
    assert supervisor.pid is None
    assert process_state(second) in (None, "Z")
    time.sleep(1)  # longer than the first restart delay: nothing comes back
    assert supervisor.starts == 2
