"""The job queue port: what services may ask of the background worker.

Services never talk to arq directly; they get a `JobQueue` through the unit of work,
and only enqueue after commit. Job names are `"<domain>.<verb>"`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol


class JobQueue(Protocol):
    async def enqueue(self, name: str, *args: Any, job_id: str | None = None) -> None: ...


class ArqJobQueue:
    def __init__(self, redis: Any) -> None:
        self.redis = redis

    async def enqueue(self, name: str, *args: Any, job_id: str | None = None) -> None:
        await self.redis.enqueue_job(name, *args, _job_id=job_id)


def resweep_job_id(job_id: str, now: dt.datetime) -> str:
    """The id under which a sweeper re-enqueues `job_id`: a new one each minute.

    A worker killed mid-job leaves arq holding the job's id "in progress" for the job
    timeout (~5 min) and dropping any enqueue under it until then; a sweep must not wait
    that long. Running a job twice is harmless: every handler is idempotent.
    """
    return f"{job_id}:swept:{int(now.timestamp()) // 60}"
