"""A Redis client that counts what it sends: each write to the socket is a round trip
(a pipeline's commands go in one), and each command packed is named. Counted at the
client, so other tests using the same server don't disturb the count (as they would
`INFO commandstats`)."""

from __future__ import annotations

from typing import Any

from arq.connections import ArqRedis
from redis.asyncio import ConnectionPool


class Tally:
    def __init__(self) -> None:
        self.round_trips = 0
        self.commands: list[str] = []

    def reset(self) -> None:
        self.round_trips = 0
        self.commands = []


def counting_redis(url: str) -> tuple[ArqRedis, Tally]:
    """An arq Redis client on `url` and the tally of what it sends from now on."""
    tally = Tally()
    pool = ConnectionPool.from_url(url)
    plain = pool.connection_class

    class CountingConnection(plain):  # type: ignore[valid-type,misc]
        async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
            tally.round_trips += 1
            await super().send_packed_command(command, check_health)

        def pack_command(self, *args: Any) -> list[bytes]:
            name = args[0].decode() if isinstance(args[0], bytes) else str(args[0])
            tally.commands.append(name.upper())
            packed: list[bytes] = super().pack_command(*args)
            return packed

    pool.connection_class = CountingConnection
    return ArqRedis(pool), tally
