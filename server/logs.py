"""Logging set-up: plain text for people, JSON lines under ``WEIR_LOG_FORMAT=json``.

Every record carries the request id of the request it belongs to (``-`` outside a request).
Messages and tracebacks are clipped to ``MAX_FIELD`` characters: an exception's text can quote
a client's value (a driver's error repeats the string it refused), and a 1 MB value must not
become a 1 MB log line.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from datetime import UTC, datetime
from typing import TextIO

MAX_FIELD = 4096

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("weir_request_id", default="-")


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        return True


def clip(text: str, limit: int = MAX_FIELD) -> str:
    """``text`` cut to ``limit`` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... [{len(text) - limit} more characters]"


class TextFormatter(logging.Formatter):
    """The plain-text format, with the message and the traceback clipped."""

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 -- logging's name
        record.message = clip(record.message)
        return super().formatMessage(record)

    def formatException(self, ei) -> str:  # type: ignore[no-untyped-def]  # noqa: N802
        return clip(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:  # noqa: N802
        return clip(super().formatStack(stack_info))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": clip(record.getMessage()),
            "request_id": getattr(record, "request_id", "-"),
        }
        for key in ("operation", "status", "duration_ms", "path", "method"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["exception"] = clip(self.formatException(record.exc_info))
        return json.dumps(entry, default=str)


class StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever ``sys.stderr`` is when a record is emitted (as ``logging.lastResort``).

    A handler holding the stream it was created with outlives a swap of ``sys.stderr``: under
    pytest's capture that stream is closed after the test, and every later record failed with
    "I/O operation on closed file".
    """

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        """Ignored: the stream is looked up on every write."""


def configure_logging(level: str = "INFO", fmt: str = "text") -> None:
    handler = StderrHandler()
    handler.addFilter(_RequestIdFilter())
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            TextFormatter("%(asctime)s %(levelname)-7s %(name)s [%(request_id)s] %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Third-party loggers that would print SQL parameters stay quiet even at DEBUG: those can
    # carry credentials. httpx logs every request URL at INFO, and some providers put a token in
    # the path (HubSpot's access-token info), so it is kept at WARNING.
    for noisy in ("tortoise", "aiosqlite", "asyncpg", "dramatiq", "hpack"):
        logging.getLogger(noisy).setLevel(max(logging.INFO, logging.getLevelName(level)))
    for url_logger in ("httpx", "httpcore"):
        logging.getLogger(url_logger).setLevel(logging.WARNING)
