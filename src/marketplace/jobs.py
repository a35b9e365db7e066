"""The job queue port: what services may ask of the background worker.

Services never talk to arq directly; they get a `JobQueue` through the unit of work,
and only enqueue after commit. Job names are `"<domain>.<verb>"`.

Also here, because the API and the CLI read it and only the CLI may import the worker:
the Redis connection every process uses, and the worker's heartbeat.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import os
import socket
from typing import Any, Protocol

import msgspec
from arq.connections import ArqRedis
from arq.constants import default_queue_name
from arq.worker import Function
from redis.asyncio import ConnectionPool

from marketplace import tracing
from marketplace.request_ids import bound, current_request_id

# Present while some worker's loop is polling Redis; written every heartbeat interval
# with a time to live of three intervals, so it expires by itself when no worker is left
# (dead, stuck, or cut off from Redis — then nobody can write it, which is the truth).
HEARTBEAT_KEY = "marketplace:worker:heartbeat"
HEARTBEAT_MISSES = 3
# Every beating worker's counts, one field per worker (`/metrics` sums them).
WORKER_STATS_KEY = "marketplace:worker:stats"
QUEUE_KEY = default_queue_name


class JobQueue(Protocol):
    async def enqueue(self, name: str, *args: Any, job_id: str | None = None) -> None: ...


class ArqJobQueue:
    """Jobs enqueued while a request (or a job a request enqueued) runs carry its id as
    the `request_id` keyword, and — while tracing — the W3C context of the span that
    enqueued them as `trace_context`; `carrying_request_id` takes both in the worker."""

    def __init__(self, redis: Any) -> None:
        self.redis = redis

    async def enqueue(self, name: str, *args: Any, job_id: str | None = None) -> None:
        request_id = current_request_id()
        carried: dict[str, Any] = {} if request_id is None else {"request_id": request_id}
        if not tracing.active():
            await self.redis.enqueue_job(name, *args, _job_id=job_id, **carried)
            return
        with tracing.enqueueing(name, job_id) as trace_context:
            await self.redis.enqueue_job(
                name, *args, _job_id=job_id, trace_context=trace_context, **carried
            )


def carrying_request_id(function: Function) -> Function:
    """The worker function, taking the optional `request_id` and `trace_context` keywords
    `ArqJobQueue` adds: while it runs, its log lines (and the jobs it enqueues) carry that
    id, and, while tracing, it runs in a span that is the child of its enqueuer's."""
    coroutine, job = function.coroutine, function.name

    @functools.wraps(coroutine)
    async def run(
        ctx: dict[str, Any],
        *args: Any,
        request_id: Any = None,
        trace_context: Any = None,
        **kwargs: Any,
    ) -> Any:
        request_id = request_id if isinstance(request_id, str) else None
        if not tracing.active():
            return await _bound_to(request_id, coroutine, ctx, args, kwargs)
        with tracing.processing(job, trace_context, ctx, request_id):
            return await _bound_to(request_id, coroutine, ctx, args, kwargs)

    return dataclasses.replace(function, coroutine=run)


async def _bound_to(
    request_id: str | None, coroutine: Any, ctx: Any, args: Any, kwargs: Any
) -> Any:
    if request_id is None:
        return await coroutine(ctx, *args, **kwargs)
    with bound(request_id):
        return await coroutine(ctx, *args, **kwargs)


def connect_redis(url: str, *, timeout: float) -> ArqRedis:
    """A Redis client whose every command gives up after `timeout` seconds.

    Without a socket timeout a command sent to a stalled server (SIGSTOP, a network
    black hole) waits for as long as it stalls. Nothing is sent yet: the API starts,
    and keeps answering, while Redis is away; each command connects when it needs to.
    """
    pool = ConnectionPool.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
    return ArqRedis(pool)


def resweep_job_id(job_id: str, now: dt.datetime) -> str:
    """The id under which a sweeper re-enqueues `job_id`: a new one each minute.

    A worker killed mid-job leaves arq holding the job's id "in progress" for the job
    timeout (~5 min) and dropping any enqueue under it until then; a sweep must not wait
    that long. Running a job twice is harmless: every handler is idempotent.
    """
    return f"{job_id}:swept:{int(now.timestamp()) // 60}"


class Heartbeat(msgspec.Struct, frozen=True):
    """What the last worker to beat said about itself."""

    worker: str
    at: dt.datetime
    jobs_complete: int = 0
    jobs_failed: int = 0
    jobs_retried: int = 0
    interval: float = 5.0


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


async def write_heartbeat(redis: Any, heartbeat: Heartbeat, interval: float) -> None:
    """The heartbeat, and this worker's line in the stats every API's `/metrics` reads."""
    ttl_ms = max(1, int(interval * HEARTBEAT_MISSES * 1000))
    encoded = msgspec.json.encode(heartbeat)
    async with redis.pipeline(transaction=False) as pipe:
        pipe.set(HEARTBEAT_KEY, encoded, px=ttl_ms)
        pipe.hset(WORKER_STATS_KEY, heartbeat.worker, encoded)
        await pipe.execute()


async def host_heartbeat(redis: Any, host: str, now: dt.datetime) -> Heartbeat | None:
    """The freshest beat of a worker on `host` (a pod), if one beat within three of its
    intervals."""
    fresh = [
        beat
        for beat in (await read_worker_stats(redis, now))[1]
        if beat.worker.rsplit(":", 1)[0] == host
    ]
    return max(fresh, key=lambda beat: beat.at, default=None)


async def read_worker_stats(redis: Any, now: dt.datetime) -> tuple[int, list[Heartbeat]]:
    """(jobs queued, the last beat of each worker still beating); the lines of workers
    gone silent for three of their intervals are removed."""
    async with redis.pipeline(transaction=False) as pipe:
        pipe.zcard(QUEUE_KEY)
        pipe.hgetall(WORKER_STATS_KEY)
        queued, lines = await pipe.execute()
    live, gone = [], []
    for name, raw in lines.items():
        try:
            beat = msgspec.json.decode(raw, type=Heartbeat)
        except msgspec.DecodeError:
            gone.append(name)
            continue
        if (now - beat.at).total_seconds() > beat.interval * HEARTBEAT_MISSES:
            gone.append(name)
        else:
            live.append(beat)
    if gone:
        await redis.hdel(WORKER_STATS_KEY, *gone)
    return int(queued), live


async def read_heartbeat(redis: Any) -> Heartbeat | None:
    """The latest heartbeat, or None when no worker has beaten within three intervals."""
    raw = await redis.get(HEARTBEAT_KEY)
    if raw is None:
        return None
    try:
        return msgspec.json.decode(raw, type=Heartbeat)
    except msgspec.DecodeError:
        return None
