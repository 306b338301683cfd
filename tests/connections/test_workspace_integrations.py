"""configureWorkspaceIntegration's rules, and its OAuth client secret in the vault."""

from __future__ import annotations

import pytest

from server.errors import NotFound, ValidationFailed
from server.integrations.models import WorkspaceIntegration
from server.integrations.service import (
    IntegrationSettings,
    configure_workspace_integration,
    list_workspace_integrations,
    load_oauth_client_secret,
)
from server.scope import Scope
from tests.connections.conftest import add_connection

CLIENT_SECRET = "oauth-client-secret-5f2c9d0e1a"


async def _configure(owner, key_ring, integration_name="acme_key", **values):  # type: ignore[no-untyped-def]
    return await configure_workspace_integration(
        scope=owner.scope,
        key_ring=key_ring,
        workspace_id=owner.workspace.id,
        integration_name=integration_name,
        settings=IntegrationSettings(**values),
    )


async def test_configure_creates_then_changes_only_what_is_given(owner, key_ring):
    created = await _configure(
        owner,
        key_ring,
        oauth_client_id="client-1",
        oauth_client_secret=CLIENT_SECRET,
        scopes=["read", "write", "read"],
    )
    changed = await _configure(owner, key_ring, enabled=False)

    assert changed.id == created.id
    stored = await WorkspaceIntegration.get(id=created.id)
    assert (stored.enabled, stored.strategy, stored.oauth_client_id, stored.scopes) == (
        False,
        "PER_USER",
        "client-1",
        ["read", "write"],
    )
    assert CLIENT_SECRET not in (stored.oauth_client_secret_encrypted or "")
    assert load_oauth_client_secret(key_ring=key_ring, integration=stored) == CLIENT_SECRET
    page = await list_workspace_integrations(
        scope=owner.scope, workspace_id=owner.workspace.id, first=None, after=None, max_page_size=100
    )
    assert [row.id for row in page.items] == [created.id]


async def test_client_secret_can_be_cleared(owner, key_ring):
    await _configure(owner, key_ring, oauth_client_secret=CLIENT_SECRET)

    cleared = await _configure(owner, key_ring, oauth_client_secret=None)

    assert cleared.oauth_client_secret_encrypted is None
    assert load_oauth_client_secret(key_ring=key_ring, integration=cleared) is None


async def test_fixed_strategy_needs_a_usable_connection(owner, key_ring, settings):
    with pytest.raises(ValidationFailed) as raised:
        await _configure(owner, key_ring, strategy="FIXED")
    assert raised.value.errors[0].field == "input.fixedConnectionId"

    users = await add_connection(owner, key_ring, settings)
    elsewhere = await add_connection(
        owner, key_ring, settings, connection_scope="WORKSPACE", workspace_id=owner.other_workspace.id
    )
    other_integration = await add_connection(owner, key_ring, settings, connection_scope="WORKSPACE")
    for bad in (users.id, elsewhere.id, "conn_missing"):
        with pytest.raises(ValidationFailed) as raised:
            await _configure(owner, key_ring, strategy="FIXED", fixed_connection_id=bad)
        assert raised.value.errors[0].field == "input.fixedConnectionId"
    with pytest.raises(ValidationFailed, match="acme_key, not acme_db"):
        await _configure(
            owner,
            key_ring,
            integration_name="acme_db",
            strategy="FIXED",
            fixed_connection_id=other_integration.id,
        )

    fixed = await _configure(owner, key_ring, strategy="FIXED", fixed_connection_id=other_integration.id)
    assert fixed.fixed_connection_id == other_integration.id


async def test_invalid_settings_are_all_reported(owner, key_ring):
    with pytest.raises(ValidationFailed) as raised:
        await _configure(
            owner,
            key_ring,
            integration_name="acme_db",
            strategy="SOMETIMES",
            oauth_client_id="client",
            scopes=["read"],
        )

    assert {e.field for e in raised.value.errors} == {"input.strategy", "input.oauthClientId", "input.scopes"}
    with pytest.raises(ValidationFailed) as raised:
        await _configure(owner, key_ring, integration_name="nope")
    assert raised.value.errors[0].field == "input.integrationName"


async def test_another_tenants_workspace_is_not_found(owner, key_ring):
    with pytest.raises(NotFound):
        await configure_workspace_integration(
            scope=Scope(organization_id="org_other"),
            key_ring=key_ring,
            workspace_id=owner.workspace.id,
            integration_name="acme_key",
            settings=IntegrationSettings(enabled=True),
        )
