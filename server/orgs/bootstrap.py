"""Organizations made from the command line: ``weir init`` (the first one) and ``weir orgs``.

Each organization starts with a default workspace and one unrestricted API key, created in one
transaction, so a failure leaves no organization without a key. The key's secret is returned to
the caller once and never stored.
"""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.transactions import in_transaction

from server import ids
from server.errors import FieldError, ValidationFailed
from server.orgs.api_keys import NewApiKey, create_api_key
from server.orgs.models import Organization, Workspace
from server.validation import check_plain_text

NAME_MAX_LENGTH = 200  # Organization.name's column


@dataclass(frozen=True)
class Bootstrap:
    organization: Organization
    workspace: Workspace
    key: NewApiKey


def organization_name_error(field: str, name: str) -> FieldError | None:
    """Why ``name`` cannot name an organization (empty, too long, control characters), or None."""
    return check_plain_text(field, name, max_length=NAME_MAX_LENGTH)


async def is_initialised() -> bool:
    return await Organization.exists()


async def _create(name: str) -> Bootstrap:
    organization = await Organization.create(id=ids.new_id("organization"), name=name)
    workspace = await Workspace.create(
        id=ids.new_id("workspace"),
        organization=organization,
        name="default",
        display_name=name,
    )
    key = await create_api_key(organization_id=organization.id, name="first key")
    return Bootstrap(organization=organization, workspace=workspace, key=key)


async def initialise(*, organization_name: str = "My organization") -> Bootstrap | None:
    """Create the first tenant; return ``None`` when one already exists (idempotent)."""
    name = organization_name.strip()
    problem = organization_name_error("organization", name)
    if problem:
        raise ValidationFailed(problem)
    async with in_transaction():
        if await Organization.exists():
            return None
        return await _create(name)


async def create_organization(*, name: str) -> Bootstrap:
    """Another organization, with its default workspace and a first unrestricted key."""
    name = name.strip()
    problem = organization_name_error("name", name)
    if problem:
        raise ValidationFailed(problem)
    async with in_transaction():
        return await _create(name)


async def list_organizations() -> list[Organization]:
    """Every organization, oldest first."""
    return await Organization.all().order_by("created_at", "id")
