"""What every same-protocol stream relay shares: SSE event splitting and model renaming."""

from __future__ import annotations

from typing import Any

import orjson

from patchbay.errors import GatewayError


def renames(upstream_model: str, model: str) -> list[tuple[bytes, bytes]]:
    """Byte replacements that give the client its own model id back in a JSON payload."""
    if upstream_model == model:
        return []
    old, new = orjson.dumps(upstream_model), orjson.dumps(model)
    return [(b'"model":' + old, b'"model":' + new), (b'"model": ' + old, b'"model": ' + new)]


def event_data(event: bytes) -> bytes | None:
    """The ``data:`` payload of one SSE event (its lines joined), or ``None`` if it has none."""
    if event.startswith(b"data:") and b"\n" not in event:
        return event[5:].strip()
    lines = [line[5:].strip() for line in event.split(b"\n") if line.startswith(b"data:")]
    return b"\n".join(lines) if lines else None


class SSERelay:
    """Splits the upstream's bytes into SSE events (CRLF or LF, cut anywhere) and hands each
    to ``event``; subclasses read usage there and return the bytes to send."""

    final: dict[str, Any] | None = None

    def __init__(self) -> None:
        self.buffer = b""

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
