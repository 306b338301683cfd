"""``weir init``: the first organization, its default workspace and a first API key."""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.transactions import in_transaction

from server import ids
from server.orgs.api_keys import NewApiKey, create_api_key
from server.orgs.models import Organization, Workspace


@dataclass(frozen=True)
class Bootstrap:
    organization: Organization
    workspace: Workspace
    key: NewApiKey


async def is_initialised() -> bool:
    return await Organization.exists()


async def initialise(*, organization_name: str = "My organization") -> Bootstrap | None:
    """Create the first tenant; return ``None`` when one already exists (idempotent)."""
    async with in_transaction():
        if await Organization.exists():
            return None
        organization = await Organization.create(
            id=ids.new_id("organization"), name=organization_name
        )
        workspace = await Workspace.create(
            id=ids.new_id("workspace"),
            organization=organization,
            name="default",
            display_name=organization_name,
        )
        key = await create_api_key(organization_id=organization.id, name="first key")
    return Bootstrap(organization=organization, workspace=workspace, key=key)
