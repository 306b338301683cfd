"""The connection service: creating, reading back, re-keying and changing status."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from server.config import Settings
from server.connections import deletion, service
from server.connections import status as statuses
from server.connections.check_limits import CheckLimiter
from server.connections.models import Connection
from server.crypto import DecryptionError, KeyRing
from server.errors import CheckFailed, Conflict, Forbidden, NotFound, ValidationFailed
from server.events import InMemoryEventBus
from server.scope import Scope
from tests.connections.conftest import Owner
from tests.connections.fakes import BASE_URL, GOOD_PASSWORD, GOOD_SECRET, mock_client


async def _secret_connection(
    owner: Owner, key_ring: KeyRing, settings: Settings, **extra: object
) -> Connection:
    arguments: dict[str, object] = {
        "integration_name": "acme_key",
        "auth_type": "SECRET_TEXT",
        "credentials": {"secret_text": GOOD_SECRET},
        "end_user_id": owner.end_user.id,
    }
    arguments.update(extra)
    return await service.create_connection(
        scope=owner.scope, key_ring=key_ring, settings=settings, **arguments
    )  # type: ignore[arg-type]


async def test_create_connection_stores_ciphertext_and_preview(owner, key_ring, settings):
    connection = await _secret_connection(owner, key_ring, settings, external_id="main")

    stored = await Connection.get(id=connection.id)
    assert GOOD_SECRET not in (stored.credentials_encrypted or "")
    assert stored.credential_preview == "sk-...c123"
    assert stored.scope == "USER"
    assert stored.workspace_id == owner.workspace.id
    assert stored.end_user_id == owner.end_user.id
    assert service.load_credentials(key_ring=key_ring, connection=stored) == {"secret_text": GOOD_SECRET}


async def test_ciphertext_copied_to_another_row_does_not_decrypt(owner, key_ring, settings):
    first = await _secret_connection(owner, key_ring, settings)
    second = await _secret_connection(
        owner, key_ring, settings, credentials={"secret_text": "sk-other-secret-value-9999"}
    )
    second.credentials_encrypted = first.credentials_encrypted

    with pytest.raises(DecryptionError):
        service.load_credentials(key_ring=key_ring, connection=second)


async def test_none_auth_connection_has_empty_credentials(owner, key_ring, settings):
    connection = await service.create_connection(
        scope=owner.scope,
        key_ring=key_ring,
        settings=settings,
        integration_name="demo",
        auth_type="NONE",
        credentials={},
        connection_scope="WORKSPACE",
        workspace_id=owner.workspace.id,
        check=True,
    )

    assert service.load_credentials(key_ring=key_ring, connection=connection) == {}
    assert connection.credential_preview is None
    assert connection.display_name == "Demo"


async def test_unsupported_auth_type_names_the_supported_ones(owner, key_ring, settings):
    with pytest.raises(ValidationFailed) as raised:
        await _secret_connection(owner, key_ring, settings, integration_name="acme_db")

    assert [e.field for e in raised.value.errors] == ["input.authType"]
    assert "CUSTOM_AUTH" in raised.value.errors[0].message


async def test_external_id_is_unique_within_its_scope(owner, key_ring, settings):
    await _secret_connection(owner, key_ring, settings, external_id="main")
    # The same external id for another end user is another scope, so it is fine.
    await _secret_connection(
        owner, key_ring, settings, external_id="main", end_user_id=owner.other_end_user.id
    )

    with pytest.raises(Conflict):
        await _secret_connection(owner, key_ring, settings, external_id="main")


async def test_scope_needs_its_owner(owner, key_ring, settings):
    with pytest.raises(ValidationFailed) as raised:
        await _secret_connection(owner, key_ring, settings, connection_scope="USER", end_user_id=None)
    assert raised.value.errors[0].field == "input.endUserId"

    with pytest.raises(ValidationFailed) as raised:
        await _secret_connection(owner, key_ring, settings, connection_scope="WORKSPACE", end_user_id=None)
    assert raised.value.errors[0].field == "input.workspaceId"

    restricted = Scope(organization_id=owner.scope.organization_id, workspace_id=owner.workspace.id)
    with pytest.raises(Forbidden):
        await service.create_connection(
            scope=restricted,
            key_ring=key_ring,
            settings=settings,
            integration_name="acme_key",
            auth_type="SECRET_TEXT",
            credentials={"secret_text": GOOD_SECRET},
            connection_scope="ORGANIZATION",
        )


async def test_check_failure_stores_nothing_and_scrubs_the_secret(owner, key_ring, settings):
    settings = settings.replace(connector_base_urls={"acme_key": BASE_URL})
    wrong = "sk-live-WRONGSECRET-9876543210xyz"
    async with mock_client() as http:
        with pytest.raises(CheckFailed) as raised:
            await _secret_connection(
                owner, key_ring, settings, check=True, http=http, credentials={"secret_text": wrong}
            )

    assert "Invalid API key" in raised.value.message
    assert wrong not in raised.value.message
    assert await Connection.all().count() == 0


async def test_check_success_names_the_connection_after_the_account(owner, key_ring, settings):
    settings = settings.replace(connector_base_urls={"acme_key": BASE_URL})
    async with mock_client() as http:
        connection = await _secret_connection(owner, key_ring, settings, check=True, http=http)

    assert connection.display_name == "Acme Test Account"


async def test_basic_auth_keeps_other_fields_and_previews_only_the_username(owner, key_ring, settings):
    connection = await service.create_connection(
        scope=owner.scope,
        key_ring=key_ring,
        settings=settings,
        integration_name="acme_mail",
        auth_type="BASIC_AUTH",
        end_user_id=owner.end_user.id,
        credentials={"username": "mailer", "password": GOOD_PASSWORD, "host": "smtp.example", "port": 587},
    )

    assert connection.credential_preview == "mailer:****"
    assert service.load_credentials(key_ring=key_ring, connection=connection) == {
        "username": "mailer",
        "password": GOOD_PASSWORD,
        "host": "smtp.example",
        "port": 587,
    }


async def test_custom_auth_reports_every_failing_field(owner, key_ring, settings):
    with pytest.raises(ValidationFailed) as raised:
        await service.create_connection(
            scope=owner.scope,
            key_ring=key_ring,
            settings=settings,
            integration_name="acme_db",
            auth_type="CUSTOM_AUTH",
            end_user_id=owner.end_user.id,
            credentials={
                "host": "",
                "port": "5432",
                "user": "u",
                "password": "short",
                "ssl": "sometimes",
                "colour": "red",
            },
        )

    fields = {e.field: e.message for e in raised.value.errors}
    assert set(fields) == {
        "input.props.host",
        "input.props.port",
        "input.props.database",
        "input.props.password",
        "input.props.ssl",
        "input.props.colour",
    }
    assert fields["input.props.database"] == "is required"
    assert fields["input.props.port"] == "must be of type integer"
    assert "short" not in " ".join(fields.values())


async def test_replace_credentials_reactivates_and_publishes(owner, key_ring, settings):
    bus = InMemoryEventBus()
    connection = await service.create_connection(
        scope=owner.scope,
        key_ring=key_ring,
        settings=settings,
        integration_name="acme_key",
        auth_type="PLATFORM_OAUTH2",
        end_user_id=owner.end_user.id,
        credentials={"access_token": "at-old-0000000000", "refresh_token": "rt-old-000000000"},
    )
    channel = statuses.status_channel(owner.scope.organization_id, owner.workspace.id)
    async with bus.subscribe(channel) as events:
        await statuses.set_status(connection=connection, status="ERROR", reason="token expired", bus=bus)
        expiry = datetime.now(UTC) + timedelta(hours=1)
        await service.replace_credentials(
            key_ring=key_ring,
            connection=connection,
            bus=bus,
            expires_at=expiry,
            credentials={"access_token": "at-new-1111111111", "refresh_token": "rt-new-11111111"},
        )
        received = [await anext(events), await anext(events)]

    assert [(e["status"], e["reason"]) for e in received] == [("ERROR", "token expired"), ("ACTIVE", None)]
    assert received[0]["connectionId"] == connection.id
    assert received[0]["workspaceId"] == owner.workspace.id
    stored = await Connection.get(id=connection.id)
    assert stored.status == "ACTIVE" and stored.last_refreshed_at is not None
    assert stored.expires_at is not None and abs(stored.expires_at - expiry) < timedelta(seconds=1)
    loaded = service.load_credentials(key_ring=key_ring, connection=stored)
    assert loaded["access_token"] == "at-new-1111111111"
    assert loaded["expires_at"] == expiry.isoformat()


async def test_set_status_rejects_unknown_status(owner, key_ring, settings):
    connection = await _secret_connection(owner, key_ring, settings)

    with pytest.raises(Conflict):
        await statuses.set_status(connection=connection, status="DELETED", reason=None, bus=None)


async def test_connector_context_prefers_the_configured_base_url(settings):
    async with mock_client() as http:
        default = service.connector_context(
            settings=settings, integration_name="acme_key", http=http, credentials={}
        )
        local = service.connector_context(
            settings=settings.replace(connector_base_urls={"acme_key": "http://127.0.0.1:9"}),
            integration_name="acme_key",
            http=http,
            credentials={"secret_text": "x"},
        )

    assert default.base_url == BASE_URL
    assert local.base_url == "http://127.0.0.1:9"
    assert local.credentials == {"secret_text": "x"}


async def test_another_organization_sees_not_found(owner, key_ring, settings):
    connection = await _secret_connection(owner, key_ring, settings)

    with pytest.raises(NotFound):
        await service.get_connection(scope=Scope(organization_id="org_other"), connection_id=connection.id)
    found = await service.get_connection(scope=owner.scope, connection_id=connection.id)
    assert found.id == connection.id


async def test_check_connection_records_the_outcome(owner, key_ring, settings):
    settings = settings.replace(connector_base_urls={"acme_key": BASE_URL})
    connection = await _secret_connection(
        owner, key_ring, settings, credentials={"secret_text": "sk-revoked-key-000000"}
    )
    async with mock_client() as http:
        outcome = await service.check_connection(
            scope=owner.scope,
            key_ring=key_ring,
            settings=settings,
            connection_id=connection.id,
            limiter=CheckLimiter(per_minute=10),
            http=http,
        )

    assert not outcome.ok
    stored = await Connection.get(id=connection.id)
    assert stored.status == "ERROR"
    assert "Invalid API key" in (stored.status_reason or "")
    assert "sk-revoked-key-000000" not in (stored.status_reason or "")


async def test_a_restricted_key_sees_its_workspace_and_organization_wide_connections(
    owner, key_ring, settings
):
    from tests.connections.conftest import add_connection

    mine = await add_connection(owner, key_ring, settings, connection_scope="WORKSPACE")
    shared = await add_connection(owner, key_ring, settings, connection_scope="ORGANIZATION")
    elsewhere = await add_connection(
        owner, key_ring, settings, connection_scope="WORKSPACE", workspace_id=owner.other_workspace.id
    )
    restricted = Scope(organization_id=owner.scope.organization_id, workspace_id=owner.workspace.id)

    page = await service.list_connections(scope=restricted, first=None, after=None, max_page_size=100)

    assert {row.id for row in page.items} == {mine.id, shared.id}
    with pytest.raises(NotFound):
        await service.get_connection(scope=restricted, connection_id=elsewhere.id)
    with pytest.raises(Forbidden):
        await deletion.delete_connection(scope=restricted, connection_id=shared.id)
    assert await deletion.delete_connection(scope=restricted, connection_id=mine.id) == mine.id


async def test_an_unreachable_provider_is_a_failed_check(owner, key_ring, settings):
    import httpx

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as http:
        with pytest.raises(CheckFailed, match="could not reach Acme Key: connection refused"):
            await _secret_connection(owner, key_ring, settings, check=True, http=http)
    assert await Connection.all().count() == 0


async def test_organization_wide_external_ids_are_unique_too(owner, key_ring, settings):
    from tests.connections.conftest import add_connection

    await add_connection(owner, key_ring, settings, connection_scope="ORGANIZATION", external_id="billing")
    # A workspace connection with the same external id lives in another scope.
    await add_connection(owner, key_ring, settings, connection_scope="WORKSPACE", external_id="billing")

    with pytest.raises(Conflict):
        await add_connection(
            owner, key_ring, settings, connection_scope="ORGANIZATION", external_id="billing"
        )


async def test_concurrent_creations_cannot_share_an_external_id(owner, key_ring, settings):
    import asyncio

    from tests.connections.conftest import add_connection

    results = await asyncio.gather(
        *(add_connection(owner, key_ring, settings, external_id="race") for _ in range(4)),
        return_exceptions=True,
    )

    assert sum(isinstance(result, Connection) for result in results) == 1
    assert all(isinstance(result, (Connection, Conflict)) for result in results), results
    assert await Connection.filter(external_id="race").count() == 1
