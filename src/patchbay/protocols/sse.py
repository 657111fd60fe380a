"""Incremental Server-Sent Events parsing and frame encoding.

Bytes are tested with ``find``, not ``in``, as the relays do (providers/native/relay.py says why:
on CPython 3.11 a bytes ``in`` costs twice a ``find``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson


@dataclass(frozen=True, slots=True)
class SSEEvent:
    event: str | None
    data: str


class SSEParser:
    """Feed bytes as they arrive; get complete events. Handles CRLF, split chunks, comments and
    multi-line data. Memory: one partial event."""

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        return [e for e in (self._parse(b) for b in self._blocks(chunk)) if e is not None]

    def payloads(self, chunk: bytes) -> list[bytes]:
        """``feed`` for readers of the data alone: each complete event's data, undecoded (its
        name dropped; an event with a name and no data gives ``b""``). The two shapes every
        upstream sends are read in the loop itself (no call per event); any other line by
        line."""
        out: list[bytes] = []
        for block in self._blocks(chunk):
            if block.startswith(b"data: "):
                if block.find(b"\n") < 0:
                    out.append(block[6:])
                    continue
            elif block.startswith(b"event: "):
                newline = block.find(b"\n")
                if (
                    newline > 0
                    and block.startswith(b"data: ", newline + 1)
                    and block.find(b"\n", newline + 1) < 0
                ):
                    out.append(block[newline + 7 :])
                    continue
            event = self._general(block)
            if event is not None:
                out.append(event.data.encode())
        return out

    def close_payloads(self) -> list[bytes]:
        return [event.data.encode() for event in self.close()]

    def _blocks(self, chunk: bytes) -> list[bytes]:
        buffer = self._buffer + chunk
        held = b""
        if buffer.find(b"\r") >= 0:
            if buffer.endswith(b"\r"):  # a CRLF may be split between chunks: one line end
                buffer, held = buffer[:-1], b"\r"
            buffer = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        *blocks, rest = buffer.split(b"\n\n")
        self._buffer = rest + held
        return blocks

    def close(self) -> list[SSEEvent]:
        rest, self._buffer = self._buffer, b""
        event = self._parse(rest) if rest.strip() else None
        return [event] if event is not None else []

    @staticmethod
    def _parse(block: bytes) -> SSEEvent | None:
        # the shapes every upstream sends: one data line, after at most one event line
        if block.startswith(b"data: ") and block.find(b"\n") < 0:
            return SSEEvent(None, block[6:].decode("utf-8", "replace"))
        if block.startswith(b"event: "):
            head, _, rest = block.partition(b"\n")
            if rest.startswith(b"data: ") and rest.find(b"\n") < 0:
                return SSEEvent(
                    head[7:].decode("utf-8", "replace"), rest[6:].decode("utf-8", "replace")
                )
        return SSEParser._general(block)

    @staticmethod
    def _general(block: bytes) -> SSEEvent | None:
        name: str | None = None
        data: list[str] = []
        for raw in block.split(b"\n"):
            line = raw.decode("utf-8", "replace")
            if not line or line.startswith(":"):
                continue
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "event":
                name = value
            elif field == "data":
                data.append(value)
        if not data and name is None:
            return None
        return SSEEvent(name, "\n".join(data))


def json_of(payload: bytes) -> Any:
    """An event's JSON data; bytes that are not UTF-8 read with replacement characters, as a
    decoded event's would be (``orjson.JSONDecodeError``, a ``ValueError``, if not JSON)."""
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError:
        return orjson.loads(payload.decode("utf-8", "replace"))


def frame(data: object, event: str | None = None) -> bytes:
    payload = b"data: " + orjson.dumps(data) + b"\n\n"
    return (b"event: " + event.encode() + b"\n" + payload) if event else payload
