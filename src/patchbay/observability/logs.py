"""Logging set-up: today's text lines, or one JSON object per line (``log_format``).

``dict_config`` is handed to uvicorn, which applies it in every worker it spawns (a worker is
a fresh interpreter: logging configured in the parent does not reach it), and applied in the
parent too. The per-request line (``request_line``) carries the request id, model, route,
status, tokens, points and timings — never a key, a prompt or a query string.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

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
    """The one line per request (INFO, logger ``patchbay.request``)."""
    REQUESTS.info("request", extra={"fields": fields})
