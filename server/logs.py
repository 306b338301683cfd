"""Logging set-up: plain text for people, JSON lines under ``WEIR_LOG_FORMAT=json``.

Every record carries the request id of the request it belongs to (``-`` outside a request).
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from datetime import UTC, datetime

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("weir_request_id", default="-")


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        for key in ("operation", "status", "duration_ms", "path", "method"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(level: str = "INFO", fmt: str = "text") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_RequestIdFilter())
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)-7s %(name)s [%(request_id)s] %(message)s")
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
