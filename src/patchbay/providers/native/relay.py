"""What every same-protocol stream relay shares: SSE event splitting, model renaming, and the
text held back to count only if it is needed.

Counting a stream's text (a JSON parse and a BPE pass per delta) is only needed when the
stream ends without the upstream's usage — a cut stream, or an upstream that reports none —
so a relay holds the raw payloads that carry text and drops them once the usage is reported;
``drain`` counts what is left when the stream ends without it. Memory stays flat with the
stream's length: when the held payloads pass ``HOLD_BYTES`` their text is read out (one JSON
parse for all of them) and kept instead, and that text is counted whenever it passes
``HOLD_CHARS`` — so a stream of a few thousand characters whose usage arrives is never counted.

Most of a stream's events need nothing but the model renamed and, if they carry text, holding.
A relay that names the events which need their own look (``marks``: bytes of which one is
somewhere in every such event, and may be in others) has the events between them handled as one
run of bytes — renamed, held whole if it has text — instead of one by one, in order. The held
size is checked once a whole piece is read, so text that the piece's own usage report makes
needless is not counted. What reaches the client is the same bytes either way (up to a rename
in a comment line, which a run renames too).

The relays test bytes for a mark with ``find``, not ``in``: on CPython 3.11 a bytes ``in`` first
tries its operand as an integer and formats the ``TypeError`` it then drops, which makes it
cost twice a ``find`` (bench/instructions.py counts the difference)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import orjson

from patchbay.domain.usage import Usage
from patchbay.errors import GatewayError
from patchbay.providers.base import Tally

HOLD_BYTES = 1024  # a stream's held payloads, at most, before their text is read out of them
HOLD_CHARS = 4096  # the text read out and held, at most, before it is counted


def keep(data: bytes) -> bytes:
    return data


MODEL_KEYS = (b'"model":', b'"model": ')


def kept(data: bytes) -> bytes:
    """A copy of its own size of bytes kept for a stream's life: orjson's output holds the
    whole buffer it was written in (4 KiB however short), which 1,000 streams would keep."""
    return bytes(memoryview(data))


class Rename:
    """Gives the client its own model id back in JSON payloads: every ``"model":`` value
    (a space after the colon or none) that is the upstream's model id. One split on the
    upstream id's JSON string, whatever surrounds it (a string token cannot start or end inside
    another one, whose quotes are escaped), then one join where every place was a model's."""

    __slots__ = ("old", "new")

    def __init__(self, upstream_model: str, model: str) -> None:
        self.old, self.new = kept(orjson.dumps(upstream_model)), kept(orjson.dumps(model))

    def __call__(self, data: bytes) -> bytes:
        parts = data.split(self.old)
        places = len(parts) - 1
        if not places:
            return data
        if places == 1:  # one place, as in most chunks
            first, last = parts
            return first + self.new + last if first.endswith(MODEL_KEYS) else data
        last = parts.pop()
        if all(part.endswith(MODEL_KEYS) for part in parts):
            parts.append(last)
            return self.new.join(parts)
        out: list[bytes] = []
        for part in parts:  # the id is also some other value: only the models change
            out.append(part)
            out.append(self.new if part.endswith(MODEL_KEYS) else self.old)
        out.append(last)
        return b"".join(out)


@functools.lru_cache(maxsize=256)
def renamer(upstream_model: str, model: str) -> Callable[[bytes], bytes]:
    """What gives the client its own model id back in a payload (nothing, if it is the same).
    A ``Rename`` holds nothing of a stream's: one serves every stream of the same two ids."""
    return keep if upstream_model == model else Rename(upstream_model, model)


def loads(payload: bytes) -> Any:
    """A payload's JSON, or ``None`` when it is not JSON."""
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None


def event_data(event: bytes) -> bytes | None:
    """The ``data:`` payload of one SSE event (its lines joined), or ``None`` if it has none."""
    if event.startswith(b"data:"):
        if event.find(b"\n") < 0:
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


class Run:
    """Held events, as they came (SSE text, each event followed by a blank line). A plain
    class: one is made for most chunks of a stream, and a dataclass's frozen ``__init__``
    costs twice as much."""

    __slots__ = ("events",)

    def __init__(self, events: bytes) -> None:
        self.events = events


class SSERelay:
    """Splits the upstream's bytes into SSE events (CRLF or LF, cut anywhere) and hands each
    to ``event`` — or only the notable ones, the others as runs to ``run``; subclasses read
    usage there and return the bytes to send."""

    final: dict[str, Any] | None = None
    tally: Tally
    rename: Callable[[bytes], bytes] = keep
    marks: tuple[bytes, ...] = ()  # in every notable event; none: every event to ``event``
    text_marks: tuple[bytes, ...] = ()  # a run is held when one of these is in it
    rename_runs = True  # whether ``rename`` applies to every event, or only in ``event``

    def __init__(self) -> None:
        self.buffer = b""
        self.held: list[bytes | Run] = []
        self.held_bytes = 0
        self.text = ""  # read out of payloads that were held, not counted yet
        self.settled = False

    def hold(self, payload: bytes) -> None:
        """Keep an event's payload whose text counts only if the usage never arrives (``run``
        keeps whole runs, checking the size once a piece is read)."""
        if self.settled:
            return
        self.held.append(payload)
        self.held_bytes += len(payload)
        if self.held_bytes > HOLD_BYTES:
            self.spill()

    def spill(self) -> None:
        """The held payloads are full: their text is read out and kept instead (a few bytes of
        an event's hundred or more), and counted once that passes ``HOLD_CHARS`` — a stream
        whose usage comes before then is never counted."""
        held, self.held, self.held_bytes = self.held, [], 0
        if held and not self.settled:
            text = self.text + self.held_text(held)
            if len(text) > HOLD_CHARS:
                self.tally.count(text)
                text = ""
            self.text = text

    def drain(self) -> None:
        """Count the text held back (the stream ends, or was cut, without usage)."""
        held, self.held, self.held_bytes = self.held, [], 0
        text, self.text = self.text, ""
        if not self.settled:
            if held:
                text += self.held_text(held)
            if text:
                self.tally.count(text)

    def held_text(self, held: list[bytes | Run]) -> str:
        """The output text of held payloads and runs, in order: all of their payloads parsed as
        one JSON array when they can be (one parse, not one per event), else one by one."""
        payloads: list[bytes] = []
        for item in held:
            if isinstance(item, Run):
                for event in item.events.split(b"\n\n"):
                    if event and (payload := event_data(event)) is not None:
                        payloads.append(payload)
            else:
                payloads.append(item)
        if not payloads:
            return ""
        try:
            items = orjson.loads(b"[" + b",".join(payloads) + b"]")
        except orjson.JSONDecodeError:
            items = None
        if items is None or len(items) != len(payloads):  # some payload is not one JSON value
            items = [loads(p) for p in payloads]
        return "".join(self.text_in(data) for data in items)

    def text_in(self, data: Any) -> str:
        """The output text of one held payload, parsed (only when it must be counted)."""
        return ""

    def report(self, usage: Usage) -> tuple[Decimal | None, int | None]:
        """The upstream's usage: the call settles and the held text is no longer needed."""
        self.settled = True
        self.held, self.held_bytes, self.text = [], 0, ""
        return self.tally.report(usage)

    def feed(self, chunk: bytes) -> bytes:
        buffer = self.buffer + chunk
        if buffer.find(b"\n\n") < 0 and buffer.find(b"\r\n\r\n") < 0:
            self.buffer = buffer
            return b""
        if buffer.find(b"\r") >= 0:
            buffer = buffer.replace(b"\r\n", b"\n")
        if not self.marks:
            *events, self.buffer = buffer.split(b"\n\n")
            return b"".join(self.event(e) for e in events if e)
        end = buffer.rfind(b"\n\n") + 2
        self.buffer = buffer[end:]
        return self._piece(buffer[:end])

    def _piece(self, whole: bytes) -> bytes:
        """Whole events (the last followed by a blank line), in order: the notable ones
        through ``event``, the runs between them through ``run``. Runs are held without the
        size check, which comes at the piece's end: a usage report later in the piece makes
        counting them needless."""
        marks = self.marks
        end = len(whole)  # "not found": every place is before it
        found = [end if (at := whole.find(mark)) < 0 else at for mark in marks]
        parts: list[bytes] = []
        start = 0
        while (at := min(found)) < end:
            which = found.index(at)
            mark = marks[which]
            after = at + len(mark)
            found[which] = end if (again := whole.find(mark, after)) < 0 else again
            if at < start or self.plain_at(whole, after):
                continue  # in an event already taken, or the mark says nothing
            first = whole.rfind(b"\n\n", start, at)
            first = start if first < 0 else first + 2
            last = whole.find(b"\n\n", at)  # found: the piece ends with a blank line
            if first > start:
                parts.append(self.run(whole[start:first]))
            parts.append(self.event(whole[first:last]))
            start = last + 2
        if start < len(whole):
            parts.append(self.run(whole[start:]))
        if self.held_bytes > HOLD_BYTES:
            self.spill()
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def plain_at(self, whole: bytes, after: int) -> bool:
        """Whether what follows a mark (at ``after``) shows its event needs no look."""
        return False

    def run(self, events: bytes) -> bytes:
        """Events that need no look of their own, as they came: renamed, held if they have
        text."""
        if self.rename_runs:
            events = self.rename(events)
        if not self.settled:
            for mark in self.text_marks:
                if events.find(mark) >= 0:
                    self.held.append(Run(events))
                    self.held_bytes += len(events)
                    break
        return events

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
