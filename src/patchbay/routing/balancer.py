"""Pure route ordering: a weighted random order, so weights share the traffic and the rest of
the list is the failover order. The caller passes the random source (tests pass a seeded one)."""

from __future__ import annotations

import random
from collections.abc import Sequence

from patchbay.catalog.entries import RouteEntry


def order_routes(routes: Sequence[RouteEntry], rng: random.Random) -> list[RouteEntry]:
    if len(routes) <= 1:
        return list(routes)
    pool = [r for r in routes if r.weight > 0] or list(routes)
    ordered: list[RouteEntry] = []
    while pool:
        total = sum(max(r.weight, 1) for r in pool)
        pick = rng.uniform(0, total)
        for index, route in enumerate(pool):
            pick -= max(route.weight, 1)
            if pick <= 0:
                ordered.append(pool.pop(index))
                break
        else:
            ordered.append(pool.pop())
    return ordered
