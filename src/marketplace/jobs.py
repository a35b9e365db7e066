"""The job queue port: what services may ask of the background worker.

Services never talk to arq directly; they get a `JobQueue` through the unit of work,
and only enqueue after commit. Job names are `"<domain>.<verb>"`.
"""

from __future__ import annotations

from typing import Any, Protocol


class JobQueue(Protocol):
    async def enqueue(self, name: str, *args: Any, job_id: str | None = None) -> None: ...


class ArqJobQueue:
    def __init__(self, redis: Any) -> None:
        self.redis = redis

    async def enqueue(self, name: str, *args: Any, job_id: str | None = None) -> None:
        await self.redis.enqueue_job(name, *args, _job_id=job_id)
