"""The error every decoder raises for malformed input, naming the offending field."""

from __future__ import annotations


class RequestInvalid(Exception):
    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
