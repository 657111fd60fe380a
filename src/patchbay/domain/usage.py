"""Token usage of one request, in the gateway's canonical form.

Invariants: every count is a non-negative int. ``input_tokens`` is the whole prompt, and
``cached_input_tokens`` and ``image_tokens`` are parts of it; ``output_tokens`` is the whole
completion, and ``reasoning_tokens`` is part of it. ``estimated`` is true when the gateway
counted the tokens itself because the upstream reported none. The non-chat endpoints add two
counts that are not tokens: ``images`` an image endpoint returned, and ``seconds`` of audio or
video (started seconds, rounded up).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    reasoning_tokens: int = 0
    image_tokens: int = 0
    estimated: bool = False
    images: int = 0
    seconds: int = 0

    @property
    def reported(self) -> bool:
        """False for ``UNREPORTED``: an answer that came with no usage at all."""
        return not (self.estimated and self.total_tokens == 0)

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cached_input_tokens=self.cached_input_tokens + other.cached_input_tokens,
            reasoning_tokens=self.reasoning_tokens + other.reasoning_tokens,
            image_tokens=self.image_tokens + other.image_tokens,
            estimated=self.estimated or other.estimated,
            images=self.images + other.images,
            seconds=self.seconds + other.seconds,
        )


UNREPORTED = Usage(estimated=True)  # the upstream's answer carried no usage: count it
