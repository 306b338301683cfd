"""A tenant whose Weir reaches every provider the seeds' examples use through loopback emulators."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from server.config import Settings
from tests.conftest import Tenant, client_for, make_tenant
from tests.emulators.airtable import AirtableEmulator
from tests.emulators.common import serve
from tests.emulators.freshsales import FreshsalesEmulator
from tests.emulators.openai import OpenAIEmulator
from tests.emulators.slack import SlackEmulator


@dataclass
class Emulators:
    openai: OpenAIEmulator
    slack: SlackEmulator
    freshsales: FreshsalesEmulator
    airtable: AirtableEmulator


@pytest.fixture
async def emulators() -> AsyncIterator[tuple[Emulators, dict[str, str]]]:
    """The emulators and the ``connector_base_urls`` that point Weir at them."""
    found = Emulators(OpenAIEmulator(), SlackEmulator(), FreshsalesEmulator(), AirtableEmulator())
    async with (
        serve(found.openai.app) as openai,
        serve(found.slack.app) as slack,
        serve(found.freshsales.app) as freshsales,
        serve(found.airtable.app) as airtable,
    ):
        yield (
            found,
            {
                "openai": openai,
                "slack": f"{slack}/api",
                "freshsales": f"{freshsales}/crm/sales",
                "airtable": airtable,
            },
        )


@pytest.fixture
async def seeds(database: Settings, emulators: tuple[Emulators, dict[str, str]]) -> AsyncIterator[Tenant]:
    """A tenant (organization, workspace, unrestricted API key) of a Weir wired to the emulators."""
    _, urls = emulators
    async with client_for(database.replace(connector_base_urls=urls)) as http:
        yield await make_tenant(http, "Seeds Inc")
