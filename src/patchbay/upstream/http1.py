"""HTTP/1.1 on the wire for upstream calls: where a URL goes, the request head, and the
faults of the lean client (``upstream.lean``) before they become gateway errors."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from urllib.parse import urlsplit

DROPPED = frozenset(
    {"host", "content-length", "transfer-encoding", "connection", "accept-encoding"}
)


class WireError(Exception):
    """A transport fault; ``client.map_exception`` gives it its gateway error."""


class ConnectFailed(WireError):
    pass


class Disconnected(WireError):
    pass


class BadAnswer(WireError):
    pass


class WireTimeout(WireError):
    pass


class BadHeader(WireError, ValueError):
    """A header name or value that would break its line (or smuggle another header)."""


@dataclass(frozen=True, slots=True)
class Target:
    """Where one URL's calls go: the pool key, the request target and the Host header."""

    scheme: str
    host: str
    port: int
    path: str  # with its query
    authority: str

    @property
    def origin(self) -> tuple[str, str, int]:
        return (self.scheme, self.host, self.port)


@functools.lru_cache(maxsize=4096)
def target(url: str) -> Target | None:
    """The URL's target, or ``None`` when this client does not take it (aiohttp does)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc:
        return None
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    if any(c in path for c in " \r\n\t") or any(c in parts.netloc for c in " \r\n\t"):
        return None
    default = 443 if parts.scheme == "https" else 80
    return Target(parts.scheme, parts.hostname, port or default, path, parts.netloc)


def request_head(method: str, where: Target, headers: dict[str, str], length: int | None) -> bytes:
    lines = []
    typed = agent = False
    for name, value in headers.items():
        low = name.lower()
        if low in DROPPED:
            continue
        typed = typed or low == "content-type"
        agent = agent or low == "user-agent"
        lines.append(f"{name}: {value}\r\n")
    block = "".join(lines)
    if block.count("\n") != len(lines) or block.count("\r") != len(lines):
        raise BadHeader("a header name or value holds a line break")
    extra = "" if agent else "user-agent: patchbay\r\n"
    if length is not None:
        extra += f"content-length: {length}\r\n"
        if length and not typed:
            extra += "content-type: application/octet-stream\r\n"
    return (
        f"{method} {where.path} HTTP/1.1\r\nhost: {where.authority}\r\naccept: */*\r\n"
        f"{block}{extra}\r\n"
    ).encode()
