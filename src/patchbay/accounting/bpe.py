"""Token counts by a real BPE tokenizer whose files ship with the package.

``o200k_base`` (OpenAI's encoding for the GPT-4o, GPT-4.1, GPT-5 and o-series models) is
loaded from ``patchbay/data/o200k_base.tiktoken.gz`` — byte for byte OpenAI's published file,
checked by its SHA-256 when it was vendored (``tools/vendor_tokenizer.py``) — with tiktoken's
Rust core; nothing is downloaded. Counts are exact for those OpenAI models and an estimate for
other families (Anthropic's and Google's tokenizers are their own: see docs/translation.md).

Used wherever the gateway counts tokens itself: ``count_tokens`` endpoints on upstreams that
cannot count, usage of answers and cut streams that report none (marked ``estimated``).
"""

from __future__ import annotations

import base64
import functools
import gzip
import json
from collections.abc import Iterable
from importlib import resources
from typing import Any

import tiktoken

ENCODING = "o200k_base"
SKIPPED_KEYS = frozenset({"model", "role", "type", "id", "call_id", "tool_use_id", "mimeType"})


@functools.cache
def encoding() -> tiktoken.Encoding:
    """The shipped encoding, loaded once per process (about half a second)."""
    data = resources.files("patchbay") / "data"
    meta = json.loads((data / f"{ENCODING}.json").read_text())
    ranks: dict[bytes, int] = {}
    for line in gzip.decompress((data / f"{ENCODING}.tiktoken.gz").read_bytes()).splitlines():
        token, rank = line.split(b" ")
        ranks[base64.b64decode(token)] = int(rank)
    return tiktoken.Encoding(
        name=ENCODING,
        pat_str=meta["pat_str"],
        mergeable_ranks=ranks,
        special_tokens=meta["special_tokens"],
    )


def count(text: str) -> int:
    """Tokens in ``text`` (special-token markers counted as text)."""
    if not text:
        return 0
    return len(encoding().encode_ordinary(text))


def count_many(texts: Iterable[str]) -> int:
    return sum(len(tokens) for tokens in encoding().encode_ordinary_batch(list(texts)))


def strings(value: Any) -> Iterable[str]:
    """Every string a JSON request carries as content (not ids, roles, types or the model)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            if key not in SKIPPED_KEYS:
                yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def count_json(value: Any) -> int:
    """Tokens of a request body's content: its strings, counted as text."""
    return count("\n".join(strings(value)))
