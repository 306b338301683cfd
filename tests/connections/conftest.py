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
    workspace = await Workspace.create(
        id=ids.new_id("workspace"), organization=organization, name="production"
    )
    other = await Workspace.create(id=ids.new_id("workspace"), organization=organization, name="staging")
    end_user = await EndUser.create(
        id=ids.new_id("end_user"), organization=organization, workspace=workspace, external_id="customer-1"
    )
    other_user = await EndUser.create(
        id=ids.new_id("end_user"), organization=organization, workspace=workspace, external_id="customer-2"
    )
    return Owner(
        scope=Scope(organization_id=organization.id),
        workspace=workspace,
        other_workspace=other,
        end_user=end_user,
        other_end_user=other_user,
    )


@pytest.fixture
async def owner(database: Settings) -> Owner:
    return await make_owner()


@pytest.fixture
def base_urls() -> dict[str, str]:
    return {module.SPEC.name: BASE_URL for module in FAKES}


async def add_connection(
    owner: Owner,
    key_ring: KeyRing,
    settings: Settings,
    *,
    connection_scope: str = "USER",
    integration_name: str = "acme_key",
    **extra: object,
):  # type: ignore[no-untyped-def]
    """A SECRET_TEXT connection of ``owner``: the end user's unless told otherwise."""
    from server.connections import service

    if connection_scope == "USER":
        extra.setdefault("end_user_id", owner.end_user.id)
    if connection_scope == "WORKSPACE":
        extra.setdefault("workspace_id", owner.workspace.id)
    return await service.create_connection(
        scope=owner.scope,
        key_ring=key_ring,
        settings=settings,
        integration_name=integration_name,
        auth_type="SECRET_TEXT",
        credentials={"secret_text": "sk-test-resolution-secret"},
        connection_scope=connection_scope,
        **extra,  # type: ignore[arg-type]
    )
