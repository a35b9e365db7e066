"""Time-ordered UUIDs (version 7, RFC 9562).

Ids sort by creation time, so keyset pagination by id is chronological and B-tree
inserts stay append-mostly. Python 3.11's `uuid` module has no uuid7 yet. Within one
millisecond the 12-bit `rand_a` field is a counter (RFC 9562 §6.2 method 1), so ids
made by one process are strictly increasing.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
import uuid

_lock = threading.Lock()
_last_ms = 0
_counter = 0


def new_id() -> uuid.UUID:
    return new_ids(1)[0]


def new_ids(count: int) -> list[uuid.UUID]:
    """`count` ids as `new_id` makes them one by one (strictly increasing), for a bulk
    insert: one lock and one read of random bytes for all of them."""
    if count <= 0:
        return []
    global _last_ms, _counter
    stamps: list[tuple[int, int]] = []
    with _lock:
        unix_ms = time.time_ns() // 1_000_000
        if unix_ms > _last_ms:
            _last_ms, _counter = unix_ms, int.from_bytes(os.urandom(1), "big") - 1
        for _ in range(count):
            _counter += 1
            if _counter > 0xFFF:
                _last_ms, _counter = _last_ms + 1, 0
            stamps.append((_last_ms, _counter))
    noise = os.urandom(8 * count)
    version_and_variant = (0x7 << 76) | (0b10 << 62)
    return [
        uuid.UUID(
            int=((ms & 0xFFFF_FFFF_FFFF) << 80)
            | version_and_variant
            | (counter << 64)
            | (int.from_bytes(noise[8 * i : 8 * i + 8], "big") & 0x3FFF_FFFF_FFFF_FFFF)
        )
        for i, (ms, counter) in enumerate(stamps)
    ]


def first_id_at(moment: dt.datetime) -> uuid.UUID:
    """The smallest id `new_id` can make at or after `moment` (to the millisecond): a
    bound for reading rows made in a time range by an index on their id."""
    unix_ms = int(moment.timestamp() * 1000)
    return uuid.UUID(int=((unix_ms & 0xFFFF_FFFF_FFFF) << 80) | (0x7 << 76) | (0b10 << 62))
