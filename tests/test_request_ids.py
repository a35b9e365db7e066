"""Request ids: accepted or made, returned on every answer and in problems, bound into
every log line (a real server's JSON log) and carried into the jobs a request enqueues."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog
from litestar import Litestar
from litestar.testing import AsyncTestClient

from marketplace.jobs import ArqJobQueue, carrying_request_id, connect_redis
from marketplace.request_ids import MAX_LENGTH, accepted, bound, current_request_id
from marketplace.settings import Settings
from tests.support import ServiceUrls

HEX32 = re.compile(r"[0-9a-f]{32}")


@pytest.mark.parametrize(
    ("raw", "kept"),
    [
        (b"abc-123", True),
        (b"Root=1-67891233-abcdef012345678912345678", True),
        (b"x" * MAX_LENGTH, True),
        (b"x" * (MAX_LENGTH + 1), False),
        (b"", False),
        (b"with space", False),
        (b"new\nline", False),
        (b'quote"s', False),
        ("ünï".encode(), False),
    ],
)
def test_only_sane_ids_are_accepted(raw: bytes, kept: bool) -> None:
    assert (accepted(raw) is not None) is kept


@pytest.mark.parametrize(
    "path",
    ["/livez", "/v1/me", "/no/such/route", "/static/site.css", "/schema/openapi.json", "/masuk"],
)
async def test_every_answer_carries_a_request_id(
    client: AsyncTestClient[Litestar], path: str
) -> None:
    made = await client.get(path)
    assert HEX32.fullmatch(made.headers["x-request-id"]), made.headers
    again = await client.get(path)
    assert again.headers["x-request-id"] != made.headers["x-request-id"]
    given = await client.get(path, headers={"X-Request-ID": "partner-4711"})
    assert given.headers["x-request-id"] == "partner-4711"
    hostile = await client.get(path, headers={"X-Request-ID": "a" * 500})
    assert HEX32.fullmatch(hostile.headers["x-request-id"])


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/v1/me", 401), ("GET", "/no/such/route", 404), ("DELETE", "/livez", 405)],
)
async def test_problems_name_the_request_id(
    client: AsyncTestClient[Litestar], method: str, path: str, status: int
) -> None:
    response = await client.request(method, path, headers={"X-Request-ID": "support-me-1"})
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["request_id"] == "support-me-1"
    made = await client.request(method, path)
    assert made.json()["request_id"] == made.headers["x-request-id"]


async def test_a_job_enqueued_by_a_request_carries_its_id(settings: Settings) -> None:
    assert settings.redis_url is not None
    redis = connect_redis(settings.redis_url, timeout=2)
    seen: dict[str, Any] = {}

    async def job(ctx: dict[str, Any], value: str) -> str:
        seen["request_id"] = current_request_id()
        seen["log_context"] = structlog.contextvars.get_contextvars().get("request_id")
        return value

    try:
        with bound("order-req-42"):
            await ArqJobQueue(redis).enqueue("tests.request_id_job", "x", job_id="rid-job-1")
        await ArqJobQueue(redis).enqueue("tests.request_id_job", "y", job_id="rid-job-2")
        from arq.jobs import Job

        with_id = await Job("rid-job-1", redis).info()
        without = await Job("rid-job-2", redis).info()
        assert with_id is not None
        assert without is not None
        assert with_id.kwargs == {"request_id": "order-req-42"}
        assert without.kwargs == {}
        from arq.worker import func

        wrapped = carrying_request_id(func(job, name="tests.request_id_job")).coroutine
        assert await wrapped({}, *with_id.args, **with_id.kwargs) == "x"
        assert seen == {"request_id": "order-req-42", "log_context": "order-req-42"}
        assert await wrapped({}, *without.args, **without.kwargs) == "y"
        assert seen == {"request_id": None, "log_context": None}
    finally:
        await redis.delete("arq:job:rid-job-1", "arq:job:rid-job-2")
        await redis.zrem("arq:queue", "rid-job-1", "rid-job-2")
        await redis.aclose()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_a_real_servers_log_is_json_with_request_ids(
    service_urls: ServiceUrls, tmp_path: Path
) -> None:
    port = _free_port()
    log_file = tmp_path / "server.log"
    env = {
        **os.environ,
        "DATABASE_URL": service_urls.database_url,
        "REDIS_URL": service_urls.redis_url,
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "INFO",
    }
    with log_file.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "marketplace.cli", "serve", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and server.poll() is None:
                try:
                    if httpx.get(f"{base}/livez", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.3)
            assert server.poll() is None, log_file.read_text()
            headers = {"X-Request-ID": "trace-me-7"}
            assert httpx.get(f"{base}/v1/me", headers=headers, timeout=5).status_code == 401
            assert httpx.get(f"{base}/nothing-here", timeout=5).status_code == 404
        finally:
            server.terminate()
            server.wait(timeout=30)
    lines = [line for line in log_file.read_text().splitlines() if line.strip()]
    records = []
    for line in lines:
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            pytest.fail(f"a log line is not JSON: {line!r}")
    access = [r for r in records if r.get("event") == "http_request"]
    mine = [r for r in access if r.get("request_id") == "trace-me-7"]
    assert len(mine) == 1, access
    assert mine[0]["status"] == 401
    assert mine[0]["route"] == "/v1/me"
    assert mine[0]["method"] == "GET"
    assert isinstance(mine[0]["duration_ms"], float)
    missing = [r for r in access if r["path"] == "/nothing-here"]
    assert len(missing) == 1
    assert missing[0]["status"] == 404
    assert HEX32.fullmatch(missing[0]["request_id"])
    # uvicorn's own lines (start-up, shut-down) come through the same JSON renderer.
    assert any(r.get("event", "").startswith("Uvicorn running") for r in records), records
