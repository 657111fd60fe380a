"""Small conversions every protocol adapter needs."""

from __future__ import annotations

import os
import random
from typing import Any

import orjson

from patchbay.domain.messages import ImagePart, TextPart, ToolResult

# ids are unique, not secret (what they name is scoped to its account): 96 random bits from a
# generator seeded from the OS once, not a system call per id (uuid4 was 2% of a stream)
_random = random.Random(os.urandom(32))
os.register_at_fork(after_in_child=lambda: _random.seed(os.urandom(32)))


def parse_arguments(text: str) -> Any:
    """A tool call's JSON argument text as a value ({} when empty or not JSON)."""
    if not text:
        return {}
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return {"_raw": text}


def dump_arguments(value: Any) -> str:
    if isinstance(value, dict) and set(value) == {"_raw"}:
        return str(value["_raw"])
    return orjson.dumps(value if value is not None else {}).decode()


def data_url(image: ImagePart) -> str:
    if image.url:
        return image.url
    return f"data:{image.media_type or 'image/png'};base64,{image.data or ''}"


def split_data_url(url: str) -> tuple[str | None, str | None]:
    """``(media_type, base64 data)`` of a data: URL, or ``(None, None)``."""
    if url.startswith("data:") and ";base64," in url:
        media, data = url[5:].split(";base64,", 1)
        return media or None, data
    return None, None


def result_text(result: ToolResult) -> str:
    return "".join(p.text for p in result.content if isinstance(p, TextPart))


def joined_instructions(parts: list[TextPart], more: list[TextPart]) -> list[TextPart]:
    """Instructions from one more source (another leading system message), kept apart from
    the ones before by a blank line when every part is later joined as one text."""
    if parts and more:
        return [*parts, TextPart("\n\n"), *more]
    return [*parts, *more]


def gemini_call_id(index: int, name: str) -> str:
    """The id the gateway gives the ``index``-th function call of a Gemini conversation (Gemini
    calls carry none): the same on both sides, so a result finds its call."""
    return f"call_{index}_{name}"


def new_id(prefix: str) -> str:
    return f"{prefix}{_random.getrandbits(96):024x}"
