"""Garbage-collector settings for a serving worker.

After start-up a worker holds a few hundred thousand long-lived objects (modules, the ORM, the
catalog). Left in the collector's oldest generation, each full collection walks all of them:
under load that was a pause of 100+ ms every couple of seconds, which is the p99 latency. So,
once the application is up, the start-up objects are frozen (``gc.freeze``: never scanned
again) and the youngest generation's threshold is raised, so the short-lived objects of each
request are swept in fewer, cheaper passes. Reference cycles are still collected.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 20_000


def settle_after_startup() -> None:
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
