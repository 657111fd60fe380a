"""A relay's tally for unit tests: what it counted and what it reported."""

from __future__ import annotations

from decimal import Decimal

from patchbay.domain.usage import Usage


class Tally:
    def __init__(self) -> None:
        self.counted: list[str] = []
        self.reported: list[Usage] = []

    def count(self, text: str) -> None:
        self.counted.append(text)

    def report(self, usage: Usage) -> tuple[Decimal | None, int | None]:
        self.reported.append(usage)
        return Decimal("0.01"), 10
