"""Logging set-up: today's text lines, or one JSON object per line (``log_format``).

``dict_config`` is handed to uvicorn, which applies it in every worker it spawns (a worker is
a fresh interpreter: logging configured in the parent does not reach it), and applied in the
parent too. The per-request line carries the request id, model, route, status, tokens, points
and timings — never a key, a prompt or a query string.

Request lines do not go through ``logging`` on the request path: a record, its formatter and a
locked write cost 17-21 µs, more than half of the gateway's own CPU for a whole call.
``RequestLines`` keeps what each line needs (a list append: the fields are built and formatted
later) and writes them every 0.02 s — and at shutdown — in one write, formatted as the
formatters below would have (a batch a tenth of a second long paused the event loop for
milliseconds under load). They appear at most that late; a ``kill -9`` loses the last
0.02 s of them.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TextIO

import orjson

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
REQUESTS = logging.getLogger("patchbay.request")
# attributes every LogRecord has: the rest came in through ``extra``
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message"}


class JSONFormatter(logging.Formatter):
    """``{"ts", "level", "logger", "msg", ...fields}`` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            out.update(fields)
        for name, value in record.__dict__.items():
            if name not in _STANDARD and name != "fields" and name not in out:
                out[name] = value
        if record.exc_info:
            out["exc_type"] = record.exc_info[0].__name__ if record.exc_info[0] else None
            out["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(out, default=str).decode()


class TextFormatter(logging.Formatter):
    """Today's text lines; a request line's fields follow its message as ``name=value``."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line += " " + " ".join(f"{k}={v}" for k, v in fields.items() if v is not None)
        return line


def dict_config(level: str, fmt: str) -> dict[str, Any]:
    formatter = "json" if fmt == "json" else "text"
    handler = {
        "class": "logging.StreamHandler",
        "formatter": formatter,
        "stream": "ext://sys.stderr",
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "json": {"()": "patchbay.observability.logs.JSONFormatter"},
            "text": {"()": "patchbay.observability.logs.TextFormatter"},
        },
        "handlers": {"default": handler},
        "root": {"handlers": ["default"], "level": level.upper()},
        "loggers": {
            "uvicorn": {"handlers": [], "level": level.upper(), "propagate": True},
            "uvicorn.error": {"handlers": [], "level": level.upper(), "propagate": True},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": True},
        },
    }


def request_line(fields: dict[str, Any]) -> None:
    """A request line through ``logging`` (off the model-call path)."""
    REQUESTS.info("request", extra={"fields": fields})


Fields = Callable[..., dict[str, Any]]


class _Stamps:
    """Timestamps as the formatters write them, the second's part made once per second."""

    def __init__(self, utc: bool) -> None:
        self.utc = utc
        self.second = -1
        self.prefix = ""

    def __call__(self, created: float) -> str:
        second = int(created)
        if second != self.second:
            self.second = second
            if self.utc:
                self.prefix = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S.")
            else:
                self.prefix = time.strftime("%Y-%m-%d %H:%M:%S,", time.localtime(second))
        millis = int((created - second) * 1000)
        return f"{self.prefix}{millis:03d}+00:00" if self.utc else f"{self.prefix}{millis:03d}"


class RequestLines:
    """Request lines, kept on the request path and written in batches (see the module)."""

    def __init__(self, fmt: str, stream: TextIO | None = None) -> None:
        self.json = fmt == "json"
        self._stamp = _Stamps(utc=self.json)
        self._stream = stream
        self.pending: list[tuple[float, Fields, tuple[Any, ...]]] = []

    @staticmethod
    def enabled() -> bool:
        return REQUESTS.isEnabledFor(logging.INFO)

    def add(self, fields: Fields, *args: Any) -> None:
        """A line whose fields ``fields(*args)`` builds when it is written."""
        self.pending.append((time.time(), fields, args))

    def _line(self, created: float, fields: dict[str, Any]) -> str:
        stamp = self._stamp(created)
        if self.json:
            head = {"ts": stamp, "level": "info", "logger": REQUESTS.name, "msg": "request"}
            return orjson.dumps({**head, **fields}, default=str).decode()
        pairs = " ".join(f"{k}={v}" for k, v in fields.items() if v is not None)
        return f"{stamp} INFO {REQUESTS.name}: request {pairs}"

    def flush(self) -> None:
        if not self.pending:
            return
        pending, self.pending = self.pending, []
        lines = [self._line(created, build(*args)) + "\n" for created, build, args in pending]
        stream = self._stream or sys.stderr
        stream.write("".join(lines))
        stream.flush()
