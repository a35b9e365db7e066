"""What an outage of PostgreSQL or Redis looks like, decided in one place.

An outage is our fault and the client's cue to retry: the API answers 503 with
`Retry-After` (see `marketplace.http`), the worker backs off and tries again. Everything
else a driver raises — a constraint, bad SQL, a bug — is not an outage and must not be
disguised as one, so the classes are named here rather than guessed at each call site.

PostgreSQL is unavailable when:
- connecting fails at the socket: no server behind the Unix socket (`FileNotFoundError`
  while it is stopped), nothing listening on the port (`ConnectionRefusedError`), the
  connection reset or cut (`ConnectionResetError`, other `OSError`s), or no answer in the
  connect timeout (`TimeoutError`);
- the server refuses or drops the session: SQLSTATE classes 08 (connection exception,
  `PostgresConnectionError`), 53 (insufficient resources, `TooManyConnectionsError`) and
  57 (operator intervention: `CannotConnectNowError` "the database system is starting
  up / shutting down", a terminated backend);
- SQLAlchemy reports the connection invalidated, or raises its `OperationalError` /
  `InterfaceError` (its forms of the above).
"""

from __future__ import annotations

import asyncpg
import redis.exceptions
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

# Connection exception, insufficient resources (too many connections), operator
# intervention (a backend terminated, the server shutting down or starting up).
UNAVAILABLE_SQLSTATE_CLASSES = ("08", "53", "57")

# Redis is unreachable, stalled past the socket timeout, or still loading its data set
# (`BusyLoadingError` is a `ConnectionError`).
REDIS_UNAVAILABLE: tuple[type[BaseException], ...] = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    OSError,  # TimeoutError included
)


class DatabaseUnavailable(Exception):
    """PostgreSQL could not serve this now; nothing was changed and a retry may succeed."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def database_unavailable(exc: BaseException) -> bool:
    """Whether `exc` says PostgreSQL (or the way to it) is gone, not that the SQL is bad.

    Takes the driver's own exceptions (asyncpg, the socket) and SQLAlchemy's wrapped forms.
    """
    if isinstance(exc, DatabaseUnavailable):
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated or isinstance(exc, (OperationalError, InterfaceError)):
            return True
        # The driver's exception, as SQLAlchemy's asyncpg adapter chained it.
        cause = exc.orig.__cause__ if exc.orig is not None else None
        return _unavailable_sqlstate(exc.orig) or (cause is not None and _driver_unavailable(cause))
    return _driver_unavailable(exc)


def _driver_unavailable(exc: BaseException) -> bool:
    if isinstance(exc, (OSError, asyncpg.PostgresConnectionError)):
        return True
    if isinstance(exc, asyncpg.InterfaceError):
        return "closed" in str(exc)
    return _unavailable_sqlstate(exc)


def _unavailable_sqlstate(exc: BaseException | None) -> bool:
    return str(getattr(exc, "sqlstate", "") or "").startswith(UNAVAILABLE_SQLSTATE_CLASSES)


def redis_unavailable(exc: BaseException) -> bool:
    return isinstance(exc, REDIS_UNAVAILABLE)
