"""Prometheus metrics, correct with several workers.

The request path only adds to plain dicts in this process (``Tally``: a dict update costs a
fraction of a microsecond, a ``prometheus_client`` histogram observation in multiprocess mode
several). Every half second — and before this worker answers a scrape — the deltas are moved
into the ``prometheus_client`` metrics below, which in multiprocess mode live in memory-mapped
files of the directory ``serve`` prepared (``multiproc``); ``render`` sums every worker's
files. A scrape therefore sees its own worker exactly and the others as of at most
``PUSH_PERIOD_S`` ago. Without that directory (one process, tests) the same metrics live in
the default registry.

    patchbay_requests_total{model,route,protocol,status}   model calls answered
    patchbay_overhead_seconds{protocol}                    the gateway's own time per call
    patchbay_upstream_seconds{provider}                    upstream time (whole answer, or
                                                           to the head of a stream)
    patchbay_tokens_total{model,kind}                      kind: input | output
    patchbay_points_total{model}                           points charged
    patchbay_limiter_refusals_total{protocol}              429s from the rate limiter
    patchbay_streams_in_flight                             streams being relayed (all workers)
    patchbay_settlement_queue_depth                        charges settled, not yet written
    patchbay_settlement_write_seconds                      one settlement batch written
    patchbay_route_cooldown{route}                         1 while the route's breaker is open

A route is named as ``GET /admin/routes`` keys it: ``<provider>/<upstream model>``.
"""

from __future__ import annotations

import os
from bisect import bisect_left
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from patchbay.observability.multiproc import active

PUSH_PERIOD_S = 0.5
OVERHEAD_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5)
UPSTREAM_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0)
WRITE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)

REQUESTS = Counter(
    "patchbay_requests", "Model calls answered.", ["model", "route", "protocol", "status"]
)
OVERHEAD = Histogram(
    "patchbay_overhead_seconds",
    "The gateway's own time per model call (elapsed minus upstream time).",
    ["protocol"],
    buckets=OVERHEAD_BUCKETS,
)
UPSTREAM = Histogram(
    "patchbay_upstream_seconds",
    "Time waiting on the upstream: the whole answer, or the head of a stream.",
    ["provider"],
    buckets=UPSTREAM_BUCKETS,
)
TOKENS = Counter("patchbay_tokens", "Tokens used by model calls.", ["model", "kind"])
POINTS = Counter("patchbay_points", "Points charged by model calls.", ["model"])
REFUSALS = Counter(
    "patchbay_limiter_refusals", "Calls refused by the rate limiter (429).", ["protocol"]
)
STREAMS = Gauge("patchbay_streams_in_flight", "Streams being relayed.", multiprocess_mode="livesum")
QUEUE = Gauge(
    "patchbay_settlement_queue_depth",
    "Charges settled and not yet written.",
    multiprocess_mode="livesum",
)
COOLDOWNS = Gauge(
    "patchbay_route_cooldown",
    "1 while the route's circuit breaker is open (cooling down), else 0.",
    ["route"],
    multiprocess_mode="livemax",
)
ATTEMPTS = Counter(
    "patchbay_upstream_attempts",
    "Upstream attempts by route and outcome: answered (the upstream answered, a refusal about "
    "the request included) or failed (refused, timed out, 5xx, 429: the next route is tried).",
    ["route", "outcome"],
)
WRITES = Histogram(
    "patchbay_settlement_write_seconds",
    "Time to write one settlement batch.",
    buckets=WRITE_BUCKETS,
)


class Buckets:
    """A histogram's observations since the last push: counts per bucket and their sum."""

    __slots__ = ("bounds", "counts", "total")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.total = 0.0

    def add(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1  # le semantics: value <= bound
        self.total += value


class Tally:
    """This process's observations since the last push (the request path's only cost)."""

    def __init__(self) -> None:
        self.requests: dict[tuple[str, str, str, str], int] = {}
        self.overhead: dict[str, Buckets] = {}
        self.upstream: dict[str, Buckets] = {}
        self.tokens: dict[tuple[str, str], int] = {}
        self.points: dict[str, int] = {}
        self.refusals: dict[str, int] = {}
        self.writes = Buckets(WRITE_BUCKETS)
        self.streams = 0  # a level, not a delta

    def request(self, labels: tuple[str, str, str, str], overhead_s: float) -> None:
        requests = self.requests
        requests[labels] = requests.get(labels, 0) + 1
        protocol = labels[2]
        histogram = self.overhead.get(protocol)
        if histogram is None:
            histogram = self.overhead[protocol] = Buckets(OVERHEAD_BUCKETS)
        histogram.add(overhead_s)

    def upstream_time(self, provider: str, seconds: float) -> None:
        histogram = self.upstream.get(provider)
        if histogram is None:
            histogram = self.upstream[provider] = Buckets(UPSTREAM_BUCKETS)
        histogram.add(seconds)

    def usage(self, model: str, input_tokens: int, output_tokens: int, points: int) -> None:
        tokens = self.tokens
        key = (model, "input")
        tokens[key] = tokens.get(key, 0) + input_tokens
        key = (model, "output")
        tokens[key] = tokens.get(key, 0) + output_tokens
        if points:
            self.points[model] = self.points.get(model, 0) + points

    def refusal(self, protocol: str) -> None:
        self.refusals[protocol] = self.refusals.get(protocol, 0) + 1


def add_buckets(child: Any, pending: Buckets) -> None:
    """Add a batch of observations to a ``prometheus_client`` histogram child: what
    ``observe`` does once per value (one non-cumulative count per bucket, and the sum),
    done once per bucket. ``tests/integration/test_metrics.py`` checks it against ``observe``."""
    for index, count in enumerate(pending.counts):
        if count:
            child._buckets[index].inc(count)
    child._sum.inc(pending.total)


def push(
    tally: Tally,
    queue_depth: int,
    cooling: dict[str, bool] | None = None,
    attempts: dict[tuple[str, str], int] | None = None,
) -> None:
    """Move this process's observations into the shared metrics and reset them
    (``attempts``: each route's attempts by outcome since the last push)."""
    requests, tally.requests = tally.requests, {}
    for labels, count in requests.items():
        REQUESTS.labels(*labels).inc(count)
    overhead, tally.overhead = tally.overhead, {}
    for protocol, pending in overhead.items():
        add_buckets(OVERHEAD.labels(protocol), pending)
    upstream, tally.upstream = tally.upstream, {}
    for provider, pending in upstream.items():
        add_buckets(UPSTREAM.labels(provider), pending)
    tokens, tally.tokens = tally.tokens, {}
    for (model, kind), count in tokens.items():
        if count:
            TOKENS.labels(model, kind).inc(count)
    points, tally.points = tally.points, {}
    for model, count in points.items():
        POINTS.labels(model).inc(count)
    refusals, tally.refusals = tally.refusals, {}
    for protocol, count in refusals.items():
        REFUSALS.labels(protocol).inc(count)
    writes, tally.writes = tally.writes, Buckets(WRITE_BUCKETS)
    if any(writes.counts):
        add_buckets(WRITES, writes)
    STREAMS.set(tally.streams)
    QUEUE.set(queue_depth)
    for route, cool in (cooling or {}).items():
        COOLDOWNS.labels(route).set(1 if cool else 0)
    for (route, outcome), count in (attempts or {}).items():
        ATTEMPTS.labels(route, outcome).inc(count)


def render() -> tuple[bytes, str]:
    """The exposition of every worker's metrics (or this process's, without the directory)."""
    directory = active()
    if directory is None:
        return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(directory))  # type: ignore[no-untyped-call]
    return generate_latest(registry), CONTENT_TYPE_LATEST


def worker_exited() -> None:
    """Drop this worker's live gauges (streams, queue) from the shared directory."""
    if active() is not None:
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]
