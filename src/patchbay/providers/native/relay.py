"""What every same-protocol stream relay shares: SSE event splitting, model renaming, and the
text held back to count only if it is needed.

Counting a stream's text (a JSON parse and a BPE pass per delta) is only needed when the
stream ends without the upstream's usage — a cut stream, or an upstream that reports none —
so a relay holds the raw payloads that carry text (at most ``HOLD_BYTES`` per stream, counted
and dropped whenever that fills) and drops them once the usage is reported; ``drain`` counts
what is left when the stream ends without it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson

from patchbay.domain.usage import Usage
from patchbay.errors import GatewayError
from patchbay.providers.base import Tally

HOLD_BYTES = 1024  # a stream's held text, at most: memory stays flat with the stream's length


def renames(upstream_model: str, model: str) -> list[tuple[bytes, bytes]]:
    """Byte replacements that give the client its own model id back in a JSON payload."""
    if upstream_model == model:
        return []
    old, new = orjson.dumps(upstream_model), orjson.dumps(model)
    return [(b'"model":' + old, b'"model":' + new), (b'"model": ' + old, b'"model": ' + new)]


def loads(payload: bytes) -> Any:
    """A payload's JSON, or ``None`` when it is not JSON."""
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None


def event_data(event: bytes) -> bytes | None:
    """The ``data:`` payload of one SSE event (its lines joined), or ``None`` if it has none."""
    if event.startswith(b"data:"):
        if b"\n" not in event:
            return event[5:].strip()
    elif event.startswith(b"event:"):  # a name, then one data line: as most upstreams send
        newline = event.find(b"\n")
        if newline > 0 and event.startswith(b"data:", newline + 1):
            if event.find(b"\n", newline + 1) < 0:
                return event[newline + 6 :].strip()
    return all_data(event)


def all_data(event: bytes) -> bytes | None:
    """``event_data`` line by line, whatever the event's shape."""
    lines = [line[5:].strip() for line in event.split(b"\n") if line.startswith(b"data:")]
    return b"\n".join(lines) if lines else None


class SSERelay:
    """Splits the upstream's bytes into SSE events (CRLF or LF, cut anywhere) and hands each
    to ``event``; subclasses read usage there and return the bytes to send."""

    final: dict[str, Any] | None = None
    tally: Tally

    def __init__(self) -> None:
        self.buffer = b""
        self.held: list[bytes] = []
        self.held_bytes = 0
        self.settled = False

    def hold(self, payload: bytes) -> None:
        """Keep an event's payload whose text counts only if the usage never arrives."""
        if self.settled:
            return
        self.held.append(payload)
        self.held_bytes += len(payload)
        if self.held_bytes > HOLD_BYTES:
            self.drain()

    def drain(self) -> None:
        """Count the text held back (the stream ends, or was cut, without usage)."""
        held, self.held, self.held_bytes = self.held, [], 0
        if held and not self.settled:
            text = "".join(self.text_of(payload) for payload in held)
            if text:
                self.tally.count(text)

    def text_of(self, payload: bytes) -> str:
        """The output text one held payload carries (parsed only when it must be counted)."""
        return ""

    def report(self, usage: Usage) -> tuple[Decimal | None, int | None]:
        """The upstream's usage: the call settles and the held text is no longer needed."""
        self.settled = True
        self.held, self.held_bytes = [], 0
        return self.tally.report(usage)

    def feed(self, chunk: bytes) -> bytes:
        buffer = self.buffer + chunk
        if b"\n\n" not in buffer and b"\r\n\r\n" not in buffer:
            self.buffer = buffer
            return b""
        if b"\r" in buffer:
            buffer = buffer.replace(b"\r\n", b"\n")
        *events, self.buffer = buffer.split(b"\n\n")
        return b"".join(self.event(e) for e in events if e)

    def close(self) -> bytes:
        rest, self.buffer = self.buffer, b""
        out = self.event(rest.replace(b"\r\n", b"\n").strip(b"\n")) if rest.strip() else b""
        return out + self.end()

    def event(self, event: bytes) -> bytes:
        return event + b"\n\n"

    def end(self) -> bytes:
        """Bytes to send after the upstream's last event (framing that must be closed)."""
        return b""

    def fail(self, error: GatewayError) -> bytes:
        raise NotImplementedError
