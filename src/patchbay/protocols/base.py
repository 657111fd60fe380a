"""What every client protocol's stream encoder provides."""

from __future__ import annotations

from typing import Any, Protocol

from patchbay.domain.events import StreamEvent


class StreamEncoder(Protocol):
    """Canonical events → the client protocol's stream bytes, one event at a time.

    ``final`` is set to the whole answer object once the stream's last event is encoded, for
    protocols whose stream ends with one (Responses); ``None`` otherwise."""

    final: dict[str, Any] | None

    def encode(self, event: StreamEvent) -> bytes: ...
