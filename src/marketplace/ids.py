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
    global _last_ms, _counter
    with _lock:
        unix_ms = time.time_ns() // 1_000_000
        if unix_ms > _last_ms:
            _last_ms, _counter = unix_ms, int.from_bytes(os.urandom(1), "big")
        else:
            _counter += 1
            if _counter > 0xFFF:  # counter exhausted: borrow the next millisecond
                _last_ms, _counter = _last_ms + 1, 0
        unix_ms, counter = _last_ms, _counter
    value = (unix_ms & 0xFFFF_FFFF_FFFF) << 80
    value |= 0x7 << 76
    value |= counter << 64
    value |= 0b10 << 62
    value |= int.from_bytes(os.urandom(8), "big") & 0x3FFF_FFFF_FFFF_FFFF
    return uuid.UUID(int=value)


def first_id_at(moment: dt.datetime) -> uuid.UUID:
    """The smallest id `new_id` can make at or after `moment` (to the millisecond): a
    bound for reading rows made in a time range by an index on their id."""
    unix_ms = int(moment.timestamp() * 1000)
    return uuid.UUID(int=((unix_ms & 0xFFFF_FFFF_FFFF) << 80) | (0x7 << 76) | (0b10 << 62))
