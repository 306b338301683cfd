"""resolveConnection's order, one test per branch."""

from __future__ import annotations

import pytest

from server.connections import deletion
from server.connections import status as statuses
from server.errors import ConnectionRequired, Forbidden, NotFound, ValidationFailed
from server.integrations.resolve import resolve_connection
from server.integrations.service import IntegrationSettings, configure_workspace_integration
from server.scope import Scope
from tests.connections.conftest import add_connection


async def _configure(owner, key_ring, **values):  # type: ignore[no-untyped-def]
    return await configure_workspace_integration(
        scope=owner.scope,
        key_ring=key_ring,
        workspace_id=owner.workspace.id,
        integration_name="acme_key",
        settings=IntegrationSettings(**values),
    )


async def _resolve(owner, **values):  # type: ignore[no-untyped-def]
    values.setdefault("workspace_id", owner.workspace.id)
    return await resolve_connection(scope=owner.scope, integration_name="acme_key", **values)


# -- 1. explicit external id -----------------------------------------------------------------


async def test_external_id_prefers_the_end_users_then_workspace_then_organization(owner, key_ring, settings):
    org = await add_connection(
        owner, key_ring, settings, connection_scope="ORGANIZATION", external_id="billing"
    )
    assert (await _resolve(owner, external_id="billing")).connection.id == org.id
    shared = await add_connection(
        owner, key_ring, settings, connection_scope="WORKSPACE", external_id="billing"
    )
    assert (await _resolve(owner, external_id="billing")).connection.id == shared.id
    mine = await add_connection(owner, key_ring, settings, external_id="billing")

    found = await _resolve(owner, external_id="billing", end_user_id=owner.end_user.id)

    assert (found.connection.id, found.resolved_by) == (mine.id, "EXTERNAL_ID")


async def test_external_id_wins_over_the_strategy(owner, key_ring, settings):
    fixed = await add_connection(owner, key_ring, settings, connection_scope="WORKSPACE")
    await _configure(owner, key_ring, strategy="FIXED", fixed_connection_id=fixed.id)
    named = await add_connection(owner, key_ring, settings, external_id="crm-eu")

    found = await _resolve(owner, external_id="crm-eu", end_user_external_id="customer-1")

    assert found.connection.id == named.id


async def test_external_id_in_another_workspace_is_rejected(owner, key_ring, settings):
    await add_connection(
        owner,
        key_ring,
        settings,
        connection_scope="WORKSPACE",
        workspace_id=owner.other_workspace.id,
        external_id="billing",
    )

    with pytest.raises(Forbidden, match="another workspace"):
        await _resolve(owner, external_id="billing", end_user_id=owner.end_user.id)


async def test_external_id_of_another_end_user_is_rejected(owner, key_ring, settings):
    await add_connection(
        owner, key_ring, settings, end_user_id=owner.other_end_user.id, external_id="billing"
    )

    with pytest.raises(Forbidden, match="another end user"):
        await _resolve(owner, external_id="billing", end_user_id=owner.end_user.id)
    with pytest.raises(Forbidden, match="belongs to an end user"):
        await _resolve(owner, external_id="billing")


async def test_external_id_elsewhere_is_invisible_to_a_restricted_key(owner, key_ring, settings):
    await add_connection(
        owner,
        key_ring,
        settings,
        connection_scope="WORKSPACE",
        workspace_id=owner.other_workspace.id,
        external_id="billing",
    )
    restricted = Scope(organization_id=owner.scope.organization_id, workspace_id=owner.workspace.id)

    with pytest.raises(ConnectionRequired):
        await resolve_connection(
            scope=restricted,
            workspace_id=owner.workspace.id,
            integration_name="acme_key",
            external_id="billing",
        )


async def test_unknown_external_id_requires_a_connection(owner, key_ring, settings):
    await add_connection(owner, key_ring, settings)

    with pytest.raises(ConnectionRequired, match="externalId 'nope'"):
        await _resolve(owner, external_id="nope", end_user_id=owner.end_user.id)


# -- 2. the workspace strategy ----------------------------------------------------------------


async def test_fixed_strategy_returns_the_fixed_connection(owner, key_ring, settings):
    await add_connection(owner, key_ring, settings)
    fixed = await add_connection(owner, key_ring, settings, connection_scope="ORGANIZATION")
    await _configure(owner, key_ring, strategy="FIXED", fixed_connection_id=fixed.id)

    found = await _resolve(owner, end_user_id=owner.end_user.id)

    assert (found.connection.id, found.resolved_by) == (fixed.id, "FIXED")


async def test_fixed_strategy_whose_connection_was_deleted_falls_to_the_end_user(owner, key_ring, settings):
    fixed = await add_connection(owner, key_ring, settings, connection_scope="WORKSPACE")
    await _configure(owner, key_ring, strategy="FIXED", fixed_connection_id=fixed.id)
    await deletion.delete_connection(scope=owner.scope, connection_id=fixed.id)
    with pytest.raises(ConnectionRequired):
        await _resolve(owner, end_user_id=owner.end_user.id)
    mine = await add_connection(owner, key_ring, settings)

    found = await _resolve(owner, end_user_id=owner.end_user.id)

    assert (found.connection.id, found.resolved_by) == (mine.id, "END_USER")


async def test_per_user_strategy_uses_only_the_end_users_connection(owner, key_ring, settings):
    await add_connection(owner, key_ring, settings, connection_scope="WORKSPACE")
    await _configure(owner, key_ring, strategy="PER_USER")
    with pytest.raises(ConnectionRequired, match="customer-1"):
        await _resolve(owner, end_user_id=owner.end_user.id)
    mine = await add_connection(owner, key_ring, settings)

    found = await _resolve(owner, end_user_id=owner.end_user.id)

    assert (found.connection.id, found.resolved_by) == (mine.id, "END_USER")


async def test_fallback_strategy_goes_end_user_then_workspace_then_organization(owner, key_ring, settings):
    await _configure(owner, key_ring, strategy="PER_USER_WITH_FALLBACK")
    with pytest.raises(ConnectionRequired):
        await _resolve(owner, end_user_id=owner.end_user.id)
    org = await add_connection(owner, key_ring, settings, connection_scope="ORGANIZATION")
    assert (await _resolve(owner, end_user_id=owner.end_user.id)).connection.id == org.id
    # Another workspace's connection is never a fallback.
    await add_connection(
        owner, key_ring, settings, connection_scope="WORKSPACE", workspace_id=owner.other_workspace.id
    )
    assert (await _resolve(owner, end_user_id=owner.end_user.id)).connection.id == org.id
    shared = await add_connection(owner, key_ring, settings, connection_scope="WORKSPACE")
    found = await _resolve(owner, end_user_id=owner.end_user.id)
    assert (found.connection.id, found.resolved_by) == (shared.id, "FALLBACK")
    assert (await _resolve(owner)).connection.id == shared.id
    mine = await add_connection(owner, key_ring, settings)

    found = await _resolve(owner, end_user_id=owner.end_user.id)

    assert (found.connection.id, found.resolved_by) == (mine.id, "END_USER")


async def test_disabled_integration_resolves_nothing(owner, key_ring, settings):
    await add_connection(owner, key_ring, settings)
    await _configure(owner, key_ring, enabled=False)

    with pytest.raises(Forbidden, match="disabled"):
        await _resolve(owner, end_user_id=owner.end_user.id)


# -- 3. the end user, 4. nothing --------------------------------------------------------------


async def test_without_configuration_the_end_users_connection_is_used(owner, key_ring, settings):
    await add_connection(owner, key_ring, settings, connection_scope="WORKSPACE")
    await add_connection(owner, key_ring, settings, end_user_id=owner.other_end_user.id)
    with pytest.raises(ConnectionRequired):
        await _resolve(owner, end_user_id=owner.end_user.id)
    mine = await add_connection(owner, key_ring, settings)

    found = await _resolve(owner, end_user_external_id="customer-1")

    assert (found.connection.id, found.resolved_by) == (mine.id, "END_USER")


async def test_nothing_configured_and_no_end_user_requires_a_connection(owner, key_ring, settings):
    await add_connection(owner, key_ring, settings)

    with pytest.raises(ConnectionRequired):
        await _resolve(owner)


async def test_an_active_connection_wins_over_a_failing_one(owner, key_ring, settings):
    active = await add_connection(owner, key_ring, settings)
    failing = await add_connection(owner, key_ring, settings)
    await statuses.set_status(connection=failing, status="ERROR", reason="revoked", bus=None)

    found = await _resolve(owner, end_user_id=owner.end_user.id)

    assert found.connection.id == active.id


async def test_end_user_must_be_in_the_workspace(owner, key_ring, settings):
    with pytest.raises(ValidationFailed) as raised:
        await _resolve(owner, workspace_id=owner.other_workspace.id, end_user_id=owner.end_user.id)
    assert raised.value.errors[0].field == "input.endUserId"

    with pytest.raises(NotFound):
        await _resolve(owner, end_user_external_id="nobody")


async def test_another_organizations_workspace_is_not_found(owner, key_ring, settings):
    with pytest.raises(NotFound):
        await resolve_connection(
            scope=Scope(organization_id="org_x"), workspace_id=owner.workspace.id, integration_name="acme_key"
        )
