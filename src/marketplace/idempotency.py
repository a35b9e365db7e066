"""`Idempotency-Key` for POSTs that create orders, payments, settlements and awards.

Semantics (DESIGN §4): same key + same body → the first response again; same key +
different body → 422; the first request still running → 409.

The record lives in the use case's own transaction: a transaction-scoped advisory lock on
(organization, key) serialises duplicates; the first request runs the use case and
stores its response in the same commit as its effects. A crash therefore leaves no
half-claimed key behind, and a retry either replays the committed response or runs
afresh. A duplicate arriving while the first is running waits for it (bounded by
`WAIT_FOR_FIRST`) and replays its response; past that it gets 409.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import msgspec
from litestar import Response
from litestar.params import HeaderParameter
from sqlalchemy import LargeBinary, String, UniqueConstraint, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.db import Base, IdMixin, TimestampMixin, UnitOfWork
from marketplace.driver import DriverStatement
from marketplace.errors import BadRequest, Conflict, ValidationFailed
from marketplace.ids import new_id

T = TypeVar("T")

WAIT_FOR_FIRST = "10s"
MAX_KEY_LENGTH = 255
SWEEP_JOB = "idempotency.sweep"
SWEEP_BATCH = 5000


class IdempotencyRecord(IdMixin, TimestampMixin, Base):
    __tablename__ = "idempotency_records"

    organization_id: Mapped[uuid.UUID]
    key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH))
    operation: Mapped[str] = mapped_column(String(100))
    request_fingerprint: Mapped[str] = mapped_column(String(64))
    response_status: Mapped[int]
    response_body: Mapped[bytes] = mapped_column(LargeBinary)

    __table_args__ = (UniqueConstraint("organization_id", "key"),)


# Through the driver (`marketplace.driver`): three statements per idempotent POST. The
# lock waits at most `:wait` for a first request still running with the same key (the
# subquery sets the timeout before the lock is taken: a volatile subquery is not
# flattened); the read sets it back to none for the rest of the transaction, and reads
# the key's record once the lock is held (its snapshot is taken after the first request
# committed).
_LOCK_KEY = DriverStatement(
    text(
        "SELECT pg_advisory_xact_lock(hashtextextended(:k, 0)) "
        "FROM (SELECT set_config('lock_timeout', :wait, true)) AS timeout"
    )
)
_RECORD = DriverStatement(
    text(
        "SELECT r.operation, r.request_fingerprint, r.response_status, r.response_body "
        "FROM (SELECT set_config('lock_timeout', '0', true)) AS timeout "
        "LEFT JOIN idempotency_records AS r "
        "ON r.organization_id = CAST(:organization_id AS uuid) AND r.key = :key"
    )
)
_INSERT_RECORD = DriverStatement(
    text(
        "INSERT INTO idempotency_records (id, organization_id, key, operation, "
        "request_fingerprint, response_status, response_body, created_at) "
        "VALUES (CAST(:id AS uuid), CAST(:organization_id AS uuid), :key, :operation, "
        ":fingerprint, CAST(:status AS integer), CAST(:body AS bytea), now())"
    )
)


class IdempotencyKeyReused(ValidationFailed):
    code = "idempotency.key_reused"
    title = "This Idempotency-Key was used with a different request"


class IdempotencyInProgress(Conflict):
    code = "idempotency.in_progress"
    title = "A request with this Idempotency-Key is still being processed"


class IdempotencyKeyInvalid(BadRequest):
    code = "idempotency.key_invalid"


def fingerprint(operation: str, request: Any) -> str:
    """Hash of the decoded request, so formatting differences do not matter."""
    canonical = msgspec.json.encode(msgspec.to_builtins(request, order="sorted"))
    return hashlib.sha256(operation.encode() + b"\n" + canonical).hexdigest()


async def run_idempotent(
    uow: UnitOfWork,
    *,
    organization_id: uuid.UUID,
    key: str | None,
    operation: str,
    request: Any,
    response_type: type[T],
    action: Callable[[], Awaitable[T]],
    status_code: int = 201,
    wait_for_first: str = WAIT_FOR_FIRST,
) -> Response[T]:
    """Run `action` at most once per (organization, key); commit; return its response."""
    if key is None or not (0 < len(key) <= MAX_KEY_LENGTH) or not key.isprintable():
        raise IdempotencyKeyInvalid(
            f"An Idempotency-Key header of 1 to {MAX_KEY_LENGTH} printable characters is required.",
            header="Idempotency-Key",
        )
    request_hash = fingerprint(operation, request)
    driver = await uow.driver()
    try:
        await driver.fetch(
            _LOCK_KEY, {"wait": wait_for_first, "k": f"idempotency:{organization_id}:{key}"}
        )
    except DBAPIError as exc:
        if "lock timeout" in str(exc.orig).lower() or "LockNotAvailable" in type(exc.orig).__name__:
            await uow.rollback()
            raise IdempotencyInProgress(
                "The first request with this Idempotency-Key is still running; retry shortly."
            ) from exc
        raise
    [(existing_operation, fingerprint_seen, replay_status, replay_body)] = await driver.fetch(
        _RECORD, {"organization_id": organization_id, "key": key}
    )
    if existing_operation is not None:
        if fingerprint_seen != request_hash or existing_operation != operation:
            raise IdempotencyKeyReused(
                "This Idempotency-Key was already used with a different request.",
                operation=existing_operation,
            )
        replay = msgspec.json.decode(replay_body, type=response_type)
        await uow.rollback()
        return Response(
            replay,
            status_code=replay_status,
            headers={"Idempotent-Replayed": "true"},
        )
    result = await action()
    await driver.fetch(
        _INSERT_RECORD,
        {
            "id": new_id(),
            "organization_id": organization_id,
            "key": key,
            "operation": operation,
            "fingerprint": request_hash,
            "status": status_code,
            "body": msgspec.json.encode(result),
        },
    )
    await uow.commit()
    return Response(result, status_code=status_code)


async def sweep_expired(uow: UnitOfWork, older_than: dt.timedelta) -> int:
    """Delete the records older than `older_than` (`IDEMPOTENCY_TTL_HOURS`), in batches
    each committed on its own; the hourly `idempotency.sweep` cron job. A key is honoured
    for at least that long, and at most an hour more."""
    deleted = 0
    while True:
        result = await uow.session.execute(
            text(
                "DELETE FROM idempotency_records WHERE id IN (SELECT id FROM idempotency_records "
                "WHERE created_at < now() - CAST(:age AS interval) LIMIT :batch)"
            ),
            {"age": older_than, "batch": SWEEP_BATCH},
        )
        await uow.commit()
        count = int(getattr(result, "rowcount", 0) or 0)
        deleted += count
        if count < SWEEP_BATCH:
            return deleted


# The header parameter of every idempotent POST. Documented as required; enforced (with its
# own problem code) by `run_idempotent`, so a missing key is `idempotency.key_invalid`.
IdempotencyKeyHeader = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        description=(
            "Your unique key for this request (e.g. a UUID), 1 to 255 printable characters. "
            "Sending the same key and body again, within 24 hours, replays the first answer "
            "(`Idempotent-Replayed: true`) instead of doing it twice; the same key with "
            "another body is 422 `idempotency.key_reused`."
        ),
        required=True,
        max_length=MAX_KEY_LENGTH,
    ),
]
