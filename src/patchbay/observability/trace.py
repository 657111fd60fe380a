"""One request's id and clock, reachable from wherever its work runs (a context variable:
every ASGI request runs in its own task, which copies the context).

The id is the client's ``x-request-id`` when it is a sane token (up to 128 characters of
``[A-Za-z0-9._:-]``), otherwise a new one: a random per-process prefix and a counter, unique
across workers and instances without a random draw per request.
"""

from __future__ import annotations

import itertools
import os
import re
import time
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any

SANE_ID = re.compile(rb"[A-Za-z0-9._:\-]{1,128}")
_PREFIX = os.urandom(6).hex().encode()
_COUNTER = itertools.count(1)


def new_request_id() -> bytes:
    return _PREFIX + b"%08x" % next(_COUNTER)


class RequestTrace:
    __slots__ = ("raw_id", "start", "upstream_s", "call", "method", "path", "protocol")

    def __init__(self, raw_id: bytes, method: str, path: str) -> None:
        self.raw_id = raw_id  # as it goes in the header; ``request_id`` for the log
        self.start = time.perf_counter()
        self.upstream_s = 0.0  # time spent waiting on upstreams (to the head, for streams)
        self.call: Any = None  # the metered call, once admitted
        self.method = method
        self.path = path
        self.protocol = ""

    @property
    def request_id(self) -> str:
        return self.raw_id.decode("ascii")

    def overhead_s(self, now: float | None = None) -> float:
        """The gateway's own time so far: elapsed minus the time spent on upstreams."""
        return max(0.0, (now or time.perf_counter()) - self.start - self.upstream_s)


CURRENT: ContextVar[RequestTrace | None] = ContextVar("patchbay_request", default=None)


def begin(scope: Mapping[str, Any]) -> RequestTrace:
    """Start a request's trace from its ASGI scope and make it the current one."""
    raw_id = None
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            if SANE_ID.fullmatch(value):
                raw_id = bytes(value)
            break
    trace = RequestTrace(raw_id or new_request_id(), scope["method"], scope["path"])
    CURRENT.set(trace)
    return trace


def current() -> RequestTrace | None:
    return CURRENT.get()
