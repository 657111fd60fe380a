"""``multipart/form-data`` both ways, incrementally, never holding a file whole in memory.

``FormParser`` takes the request body in chunks as they arrive and gives events: a text field
(name, value), the start of a file part (name, filename, content type), its bytes as they come,
its end. ``encode_form`` writes a form back out as a stream of chunks with an exact length, the
files read from their spools a block at a time, so an upload goes to the upstream in the same
bounded memory it came in with. ``Form`` is what an edge keeps of a parsed upload: its text
fields in order (repeated names such as ``image[]`` kept) and its files spooled to disk past
``SPOOL_BYTES``.
"""

from __future__ import annotations

import re
import secrets
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import IO, Any

SPOOL_BYTES = 1 << 20  # a file part stays in memory up to this, then goes to a temporary file
READ_BYTES = 1 << 16
_PARAM = re.compile(r';\s*([A-Za-z0-9_*-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)')


class FormError(ValueError):
    pass


def boundary_of(content_type: str) -> bytes:
    if not content_type.lower().startswith("multipart/form-data"):
        raise FormError("the body must be multipart/form-data")
    params = header_params(content_type)
    boundary = params.get("boundary")
    if not boundary or len(boundary) > 200:
        raise FormError("multipart/form-data needs a boundary")
    return boundary.encode("latin-1")


def header_params(value: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, raw in _PARAM.findall(value):
        raw = raw.strip()
        if raw.startswith('"') and raw.endswith('"'):
            raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
        out[name.lower()] = raw
    return out


@dataclass(slots=True)
class FilePart:
    name: str
    filename: str
    content_type: str
    spool: IO[bytes] = field(default_factory=lambda: tempfile.SpooledTemporaryFile(SPOOL_BYTES))
    size: int = 0
    head: bytes = b""  # the first bytes, to recognise the format (a WAV header, a PNG)

    def write(self, data: bytes) -> None:
        if len(self.head) < 64:
            self.head += data[: 64 - len(self.head)]
        self.spool.write(data)
        self.size += len(data)

    def read_tail(self, count: int) -> bytes:
        """The file's last ``count`` bytes."""
        self.spool.seek(max(0, self.size - count))
        return self.spool.read(count)

    def read_all(self, limit: int) -> bytes:
        """Up to ``limit`` bytes of the file (for the in-process kind, which reads it)."""
        self.spool.seek(0)
        return self.spool.read(limit)

    def close(self) -> None:
        self.spool.close()


@dataclass(slots=True)
class Form:
    fields: list[tuple[str, str]] = field(default_factory=list)
    files: list[FilePart] = field(default_factory=list)

    def get(self, name: str) -> str | None:
        for key, value in self.fields:
            if key == name:
                return value
        return None

    def values(self) -> dict[str, Any]:
        """The text fields as one object (``x[]`` names gathered into lists)."""
        out: dict[str, Any] = {}
        for key, value in self.fields:
            if key.endswith("[]"):
                out.setdefault(key[:-2], []).append(value)
            else:
                out[key] = value
        return out

    def close(self) -> None:
        for part in self.files:
            part.close()


Event = tuple[
    str, Any
]  # ("field", (name, value)) | ("file", FilePart) | ("data", bytes) | ("end", None)


class FormParser:
    """Feed it the body's chunks; each ``feed`` returns the events those bytes completed."""

    def __init__(self, boundary: bytes) -> None:
        self.delimiter = b"\r\n--" + boundary
        self.buffer = b"\r\n"  # so the first delimiter looks like every other one
        self.state = "preamble"
        self.part: tuple[str, str | None, str] | None = None  # name, filename, content type
        self.value = b""
        self.done = False

    def feed(self, chunk: bytes) -> list[Event]:
        self.buffer += chunk
        events: list[Event] = []
        while not self.done and self._step(events):
            pass
        return events

    def finish(self) -> None:
        if not self.done:
            raise FormError("the multipart body ended before its closing boundary")

    def _step(self, events: list[Event]) -> bool:
        buffer = self.buffer
        if self.state == "preamble":
            at = buffer.find(self.delimiter)
            if at < 0:
                self.buffer = buffer[-len(self.delimiter) :]
                return False
            self.buffer, self.state = buffer[at + len(self.delimiter) :], "after"
            return True
        if self.state == "after":
            if len(buffer) < 2:
                return False
            if buffer.startswith(b"--"):
                self.done = True
                return False
            end = buffer.find(b"\r\n")
            if end < 0:
                return False
            self.buffer, self.state = buffer[end + 2 :], "headers"
            return True
        if self.state == "headers":
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(buffer) > 16384:
                    raise FormError("a multipart part has too long a header")
                return False
            self._start(buffer[:end].decode("utf-8", "replace"), events)
            self.buffer, self.state = buffer[end + 4 :], "body"
            return True
        at = buffer.find(self.delimiter)
        if at < 0:
            keep = len(self.delimiter) - 1
            if len(buffer) > keep:
                self._data(buffer[:-keep], events)
                self.buffer = buffer[-keep:]
            return False
        self._data(buffer[:at], events)
        self._end(events)
        self.buffer, self.state = buffer[at + len(self.delimiter) :], "after"
        return True

    def _start(self, head: str, events: list[Event]) -> None:
        disposition, content_type = "", "text/plain"
        for line in head.split("\r\n"):
            key, _, value = line.partition(":")
            if key.strip().lower() == "content-disposition":
                disposition = value.strip()
            elif key.strip().lower() == "content-type":
                content_type = value.strip()
        params = header_params(disposition)
        name = params.get("name")
        if name is None:
            raise FormError("a multipart part has no name")
        filename = params.get("filename")
        if filename is None and "filename*" in params:
            filename = params["filename*"].split("''", 1)[-1]
        self.part = (name, filename, content_type)
        self.value = b""
        if filename is not None:
            events.append(("file", FilePart(name, filename, content_type)))

    def _data(self, data: bytes, events: list[Event]) -> None:
        if not data or self.part is None:
            return
        if self.part[1] is not None:
            events.append(("data", data))
        else:
            self.value += data

    def _end(self, events: list[Event]) -> None:
        if self.part is None:
            return
        name, filename, _ = self.part
        if filename is None:
            events.append(("field", (name, self.value.decode("utf-8", "replace"))))
        else:
            events.append(("end", None))
        self.part, self.value = None, b""


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\r", " ").replace("\n", " ")


def encode_form(
    fields: list[tuple[str, str]], files: list[FilePart]
) -> tuple[str, int, AsyncIterator[bytes]]:
    """The form as ``(content type, length, chunks)``; each call reads the spools anew."""
    boundary = "patchbay-" + secrets.token_hex(12)
    heads = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{_quote(name)}"\r\n\r\n'.encode()
        + value.encode()
        + b"\r\n"
        for name, value in fields
    ]
    file_heads = [
        (
            f"--{boundary}\r\nContent-Disposition: form-data; "
            f'name="{_quote(part.name)}"; filename="{_quote(part.filename)}"\r\n'
            f"Content-Type: {part.content_type or 'application/octet-stream'}\r\n\r\n"
        ).encode()
        for part in files
    ]
    tail = f"--{boundary}--\r\n".encode()
    length = sum(map(len, heads)) + len(tail)
    length += sum(len(h) + part.size + 2 for h, part in zip(file_heads, files, strict=True))

    async def chunks() -> AsyncIterator[bytes]:
        if heads:
            yield b"".join(heads)
        for head, part in zip(file_heads, files, strict=True):
            yield head
            part.spool.seek(0)
            while block := part.spool.read(READ_BYTES):
                yield block
            yield b"\r\n"
        yield tail

    return f"multipart/form-data; boundary={boundary}", length, chunks()
