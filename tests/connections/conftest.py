"""Fixtures for connection tests: fake integrations in the registry, a tenant to own things."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from server import ids
from server.config import Settings
from server.connectors import registry
from server.crypto import KeyRing, load_key_ring
from server.orgs.models import EndUser, Organization, Workspace
from server.scope import Scope
from tests.connections.fakes import BASE_URL, FAKES


@pytest.fixture(autouse=True)
def fake_integrations(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in FAKES:
        monkeypatch.setitem(registry.CONNECTORS, module.SPEC.name, module)


@pytest.fixture
def key_ring(settings: Settings) -> KeyRing:
    return load_key_ring(settings)


@dataclass
class Owner:
    scope: Scope
    workspace: Workspace
    other_workspace: Workspace
    end_user: EndUser
    other_end_user: EndUser


async def make_owner(name: str = "Acme") -> Owner:
    organization = await Organization.create(id=ids.new_id("organization"), name=name)
    workspace = await Workspace.create(id=ids.new_id("workspace"), organization=organization,
                                       name="production")
    other = await Workspace.create(id=ids.new_id("workspace"), organization=organization,
                                   name="staging")
    end_user = await EndUser.create(id=ids.new_id("end_user"), organization=organization,
                                    workspace=workspace, external_id="customer-1")
    other_user = await EndUser.create(id=ids.new_id("end_user"), organization=organization,
                                      workspace=workspace, external_id="customer-2")
    return Owner(scope=Scope(organization_id=organization.id), workspace=workspace,
                 other_workspace=other, end_user=end_user, other_end_user=other_user)


@pytest.fixture
async def owner(database: Settings) -> Owner:
    return await make_owner()


@pytest.fixture
def base_urls() -> dict[str, str]:
    return {module.SPEC.name: BASE_URL for module in FAKES}
