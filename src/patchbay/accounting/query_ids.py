"""Time-sortable unique query ids: ``q_`` + 48-bit ms time + 80 random bits, Crockford base32.

Within one process ids are strictly increasing (the random part is incremented when the clock
has not moved), so string order is creation order.
"""

from __future__ import annotations

import os
import random
import time

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_last_ms = -1
_last_rand = 0
_prefix = ""
# unique, not secret: seeded from the OS once, not a system call per id
_random = random.Random(os.urandom(32))
os.register_at_fork(after_in_child=lambda: _random.seed(os.urandom(32)))  # no shared sequence


PAIRS = [a + b for a in ALPHABET for b in ALPHABET]  # every 10-bit value as two characters


def _encode(value: int, length: int) -> str:
    """The low ``5 * length`` bits of ``value`` in ``length`` characters (``length`` even)."""
    return "".join(PAIRS[(value >> shift) & 1023] for shift in range(5 * length - 10, -1, -10))


def _encode_80(value: int) -> str:
    """``_encode(value, 16)`` unrolled: it runs once per call."""
    p = PAIRS
    return (
        p[(value >> 70) & 1023]
        + p[(value >> 60) & 1023]
        + p[(value >> 50) & 1023]
        + p[(value >> 40) & 1023]
        + p[(value >> 30) & 1023]
        + p[(value >> 20) & 1023]
        + p[(value >> 10) & 1023]
        + p[value & 1023]
    )


def new_query_id(now_ms: int | None = None) -> str:
    global _last_ms, _last_rand, _prefix
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    if ms <= _last_ms:
        _last_rand += 1
    else:
        _last_ms = ms
        _last_rand = _random.getrandbits(79)
        _prefix = "q_" + _encode(ms, 10)
    return _prefix + _encode_80(_last_rand)
