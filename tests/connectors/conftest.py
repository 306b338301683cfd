"""Fixtures for connector tests: an HTTP client and a helper that runs a connector's ``read``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from server.connectors.base import ConnectorContext, RecordBatch, StateCheckpoint
from tests.emulators.common import serve_emulator  # noqa: F401 (a fixture for these tests)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


class Refresher:
    """A ``refresh_credentials`` that hands out new credentials and counts its calls."""

    def __init__(self, credentials: dict[str, Any]) -> None:
        self.credentials = credentials
        self.calls = 0

    async def __call__(self) -> dict[str, Any]:
        self.calls += 1
        return dict(self.credentials)


@pytest.fixture
def refresher() -> type[Refresher]:
    return Refresher


async def collect(
    module: Any,
    context: ConnectorContext,
    stream: str,
    settings: dict[str, Any] | None = None,
    state: dict[str, Any] | None = None,
) -> tuple[list[list[dict[str, Any]]], list[dict[str, Any]]]:
    """Every batch of one ``read``, and every state checkpoint, in order."""
    batches: list[list[dict[str, Any]]] = []
    states: list[dict[str, Any]] = []
    async for item in module.read(context, stream, settings or {}, state):
        if isinstance(item, RecordBatch):
            assert item.stream == stream
            batches.append(item.records)
        else:
            assert isinstance(item, StateCheckpoint) and item.stream == stream
            states.append(item.state)
    return batches, states
