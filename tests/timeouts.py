"""A hung async test fails with the traceback of the ``await`` that never returned.

Three stages end a hang, at fractions of the test's pytest-timeout limit (pyproject.toml):

- ``BODY_SHARE`` (here): the body of an async test runs under ``asyncio.timeout``, so a hang
  fails that test with the stack of its ``await``, and its fixtures tear down on a healthy event
  loop. pytest-timeout's signal alone interrupts the loop's ``select``: its traceback shows only
  that, and the loop is left mid-step.
- 1.0, ``timeout``: pytest-timeout's signal fails whatever runs then (a sync test, a fixture's
  setup or teardown); the run goes on.
- 1.2, ``faulthandler_timeout``: if the test is still not over (a second teardown hung after
  the signal: pytest-timeout fires once per test), faulthandler prints every thread's stack and
  ends the process. A browser test's teardown once stalled a CI run this way.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Generator
from typing import Any

import pytest

BODY_SHARE = 0.8


def time_limit(item: pytest.Item) -> float:
    """The test's pytest-timeout limit in seconds (its marker, ``--timeout``, the ini); 0: none."""
    marker = item.get_closest_marker("timeout")
    if marker is not None:
        value = marker.args[0] if marker.args else marker.kwargs.get("timeout")
    else:
        value = item.config.getoption("timeout", None) or item.config.getini("timeout")
    return float(value or 0)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, Any]:
    test = getattr(item, "obj", None)
    limit = time_limit(item) * BODY_SHARE
    if not limit or not inspect.iscoroutinefunction(test):
        return (yield)

    @functools.wraps(test)
    async def bounded(*args: Any, **kwargs: Any) -> Any:
        deadline = asyncio.timeout(limit)
        try:
            async with deadline:
                return await test(*args, **kwargs)
        except TimeoutError as exc:
            if not deadline.expired():  # the test's own TimeoutError
                raise
            # The chained CancelledError above carries the stack of the await that hung.
            raise TimeoutError(f"the test body did not finish within {limit:g} s") from exc

    item.obj = bounded  # type: ignore[attr-defined]  # pytest-asyncio runs item.obj
    try:
        return (yield)
    finally:
        item.obj = test  # type: ignore[attr-defined]
