"""Token counting with nothing downloaded at run time.

Pieces are words with their leading whitespace, runs of punctuation, or trailing whitespace;
their concatenation is the text. This is the gateway's own counter: used by ``echo`` (whose
usage it defines exactly) and to estimate usage when an upstream reports none.
"""

from __future__ import annotations

import re

_PIECE = re.compile(r"\s*[^\W_]+|\s*[^\w\s]+|\s*_+|\s+", re.UNICODE)
MESSAGE_OVERHEAD = 3
IMAGE_TOKENS = 765  # a fixed estimate for an image of unknown size


def split_tokens(text: str) -> list[str]:
    return _PIECE.findall(text)


def count_text(text: str) -> int:
    return len(_PIECE.findall(text)) if text else 0


def count_messages(messages: list[tuple[str, str]]) -> int:
    return sum(MESSAGE_OVERHEAD + count_text(text) for _, text in messages) + MESSAGE_OVERHEAD


def estimate_image_tokens(width: int | None = None, height: int | None = None) -> int:
    return IMAGE_TOKENS
