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
import hashlib
import os
import socket
import uuid
from collections.abc import Sequence
from typing import Any, NamedTuple, Protocol

import msgspec
from arq.connections import ArqRedis
from arq.constants import default_queue_name, job_key_prefix, result_key_prefix
from arq.jobs import serialize_job
from arq.utils import timestamp_ms
from arq.worker import Function
from redis.asyncio import ConnectionPool
from redis.exceptions import NoScriptError

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


class QueuedJob(NamedTuple):
    """A job to enqueue: its name, positional arguments and, to dedupe, its id."""

    name: str
    args: tuple[Any, ...] = ()
    job_id: str | None = None


class JobQueue(Protocol):
    async def enqueue(self, name: str, *args: Any, job_id: str | None = None) -> None: ...

    async def enqueue_many(self, jobs: Sequence[QueuedJob]) -> int: ...


# arq's enqueue (`ArqRedis.enqueue_job`: WATCH, EXISTS, then MULTI/PSETEX/ZADD/EXEC — three
# round trips a job) for many jobs, atomically, in one round trip. Same keys, same rule: a
# job whose id is queued, running or kept as a result is dropped.
# KEYS: the queue, then each job's job key and result key; ARGV: the score (enqueue time),
# the expiry in ms, then each job's id and serialized job.
_ENQUEUE_MANY = """
local queued = 0
for i = 0, (#KEYS - 1) / 2 - 1 do
    if redis.call('EXISTS', KEYS[2 + 2 * i], KEYS[3 + 2 * i]) == 0 then
        redis.call('PSETEX', KEYS[2 + 2 * i], ARGV[2], ARGV[4 + 2 * i])
        redis.call('ZADD', KEYS[1], ARGV[1], ARGV[3 + 2 * i])
        queued = queued + 1
    end
end
return queued
"""
_ENQUEUE_MANY_SHA = hashlib.sha1(_ENQUEUE_MANY.encode(), usedforsecurity=False).hexdigest()


def carried_kwargs() -> dict[str, Any]:
    """What every job enqueued now carries from the code enqueuing it: the id of the
    request being served (or of the job that request enqueued), as the `request_id`
    keyword that `carrying_request_id` takes."""
    request_id = current_request_id()
    return {} if request_id is None else {"request_id": request_id}


class ArqJobQueue:
    """Jobs enqueued while a request (or a job a request enqueued) runs carry its id as
    the `request_id` keyword (`carried_kwargs`), and — while tracing — the W3C context of
    the span that enqueued them as `trace_context`; `carrying_request_id` takes both in
    the worker."""

    def __init__(self, redis: Any) -> None:
        self.redis = redis

    async def enqueue(self, name: str, *args: Any, job_id: str | None = None) -> None:
        if not tracing.active():
            await self.redis.enqueue_job(name, *args, _job_id=job_id, **carried_kwargs())
            return
        with tracing.enqueueing(name, job_id) as trace_context:
            await self.redis.enqueue_job(
                name, *args, _job_id=job_id, trace_context=trace_context, **carried_kwargs()
            )

    async def enqueue_many(self, jobs: Sequence[QueuedJob]) -> int:
        """Enqueue every one of `jobs` in one Redis round trip; returns how many were new
        (the others' ids were already queued, running, or kept as results)."""
        if not jobs:
            return 0
        if not tracing.active():
            return await self._enqueue_many(jobs, carried_kwargs())
        with tracing.enqueueing(jobs[0].name, jobs[0].job_id) as trace_context:
            return await self._enqueue_many(
                jobs, {**carried_kwargs(), "trace_context": trace_context}
            )

    async def _enqueue_many(self, jobs: Sequence[QueuedJob], kwargs: dict[str, Any]) -> int:
        redis = self.redis
        enqueued_at = timestamp_ms()
        keys: list[str] = [redis.default_queue_name]
        values: list[Any] = [enqueued_at, redis.expires_extra_ms]
        for job in jobs:
            job_id = job.job_id or uuid.uuid4().hex
            keys += [job_key_prefix + job_id, result_key_prefix + job_id]
            values += [
                job_id,
                serialize_job(
                    job.name, job.args, kwargs, None, enqueued_at, serializer=redis.job_serializer
                ),
            ]
        try:
            queued = await redis.evalsha(_ENQUEUE_MANY_SHA, len(keys), *keys, *values)
        except NoScriptError:  # a Redis that hasn't run it yet (restarted): EVAL caches it
            queued = await redis.eval(_ENQUEUE_MANY, len(keys), *keys, *values)
        return int(queued)


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
