"""Logging set-up: the handler follows ``sys.stderr`` instead of keeping the stream it started on."""

import io
import logging
import sys

import pytest

from server.logs import configure_logging
from tests.serving import serve

UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


@pytest.fixture
def root_logging():
    """The root logger's handlers and level as they were, after the test."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield root
    root.handlers[:] = handlers
    root.setLevel(level)


def test_a_handler_set_up_under_a_closed_capture_writes_to_the_current_stderr(root_logging, monkeypatch):
    # pytest's capsys swaps sys.stderr for a buffer it closes after the test; `weir` run from a
    # test configured logging then, and a later test's log line hit the closed buffer
    # ("ValueError: I/O operation on closed file", printed as a logging error).
    capture = io.StringIO()
    monkeypatch.setattr(sys, "stderr", capture)
    configure_logging("INFO", "text")
    capture.close()
    later = io.StringIO()
    monkeypatch.setattr(sys, "stderr", later)

    logging.getLogger("weir.test").warning("written after the capture closed")

    lines = later.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].endswith("written after the capture closed"), lines


async def test_a_server_started_by_a_test_binds_no_handler_to_its_stderr(monkeypatch):
    # uvicorn's default logging config binds StreamHandlers to sys.stderr as it is when the
    # server starts: under pytest, a stream closed after the test.
    for name in UVICORN_LOGGERS:
        monkeypatch.setattr(logging.getLogger(name), "handlers", [])

    async def app(scope, receive, send):
        pass

    async with serve(app):
        pass

    assert not any(logging.getLogger(name).handlers for name in UVICORN_LOGGERS)
