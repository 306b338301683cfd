"""Key rotation and the start-up key check, over every encrypted column."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime, timedelta

import pytest

from server import ids, vault
from server.cli import main as weir
from server.config import ConfigError, Settings
from server.connect.models import ConnectSession
from server.connections import service
from server.connections.models import Connection
from server.crypto import KeyRing, generate_key_spec, parse_key_ring
from server.db import close_database, open_database
from server.integrations.models import WorkspaceIntegration
from tests.connections.conftest import Owner, make_owner

OLD = generate_key_spec("old")
NEW = generate_key_spec("new")


async def _store_everything(owner: Owner, ring: KeyRing, settings: Settings, count: int) -> None:
    for number in range(count):
        await service.create_connection(
            scope=owner.scope,
            key_ring=ring,
            settings=settings,
            integration_name="acme_key",
            auth_type="SECRET_TEXT",
            credentials={"secret_text": f"sk-secret-number-{number:04d}"},
            end_user_id=owner.end_user.id,
        )
    integration_id = ids.new_id("workspace_integration")
    await WorkspaceIntegration.create(
        id=integration_id,
        organization_id=owner.scope.organization_id,
        workspace=owner.workspace,
        integration_name="acme_key",
        oauth_client_id="client",
        oauth_client_secret_encrypted=ring.encrypt(b"client-secret", associated_data=integration_id),
    )
    session_id = ids.new_id("connect_session")
    await ConnectSession.create(
        id=session_id,
        organization_id=owner.scope.organization_id,
        workspace=owner.workspace,
        token_hash=secrets.token_hex(32),
        expires_at=datetime.now(UTC) + timedelta(minutes=5),
        oauth_verifier_encrypted=ring.encrypt(b"verifier", associated_data=session_id),
    )


async def _key_ids_in_use() -> set[str]:
    tokens = [
        *await Connection.all().values_list("credentials_encrypted", flat=True),
        *await WorkspaceIntegration.all().values_list("oauth_client_secret_encrypted", flat=True),
        *await ConnectSession.all().values_list("oauth_verifier_encrypted", flat=True),
    ]
    return {KeyRing.key_id_of(token) for token in tokens}


async def test_rotation_reencrypts_every_column_and_is_idempotent(owner, settings):
    await _store_everything(owner, parse_key_ring(OLD), settings, count=5)
    ring = parse_key_ring(f"{NEW},{OLD}")

    first = await vault.rotate_all(key_ring=ring, batch_size=2)
    again = await vault.rotate_all(key_ring=ring, batch_size=2)

    assert (first.rotated, first.already_current) == (7, 0)
    assert (again.rotated, again.already_current) == (0, 7)
    assert await _key_ids_in_use() == {"new"}
    only_new = parse_key_ring(NEW)
    await vault.verify_key_ring(key_ring=only_new)
    loaded = [
        service.load_credentials(key_ring=only_new, connection=row)
        for row in await Connection.all().order_by("id")
    ]
    assert sorted(row["secret_text"] for row in loaded) == [f"sk-secret-number-{n:04d}" for n in range(5)]


async def test_interrupted_rotation_finishes_when_run_again(owner, settings, monkeypatch):
    await _store_everything(owner, parse_key_ring(OLD), settings, count=6)
    ring = parse_key_ring(f"{NEW},{OLD}")
    real_batch = vault._rotate_batch
    calls = {"n": 0}

    async def crash_on_second_batch(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return await real_batch(*args, **kwargs)

    monkeypatch.setattr(vault, "_rotate_batch", crash_on_second_batch)
    with pytest.raises(KeyboardInterrupt):
        await vault.rotate_all(key_ring=ring, batch_size=2)
    monkeypatch.setattr(vault, "_rotate_batch", real_batch)
    assert await _key_ids_in_use() == {"new", "old"}

    resumed = await vault.rotate_all(key_ring=ring, batch_size=2)

    assert (resumed.rotated, resumed.already_current) == (6, 2)
    assert await _key_ids_in_use() == {"new"}


async def test_rotation_leaves_a_row_rewritten_meanwhile_alone(owner, settings):
    old_ring = parse_key_ring(OLD)
    await _store_everything(owner, old_ring, settings, count=1)
    ring = parse_key_ring(f"{NEW},{OLD}")
    connection = await Connection.first()
    stale = [(connection.id, connection.credentials_encrypted)]
    await service.replace_credentials(
        key_ring=ring, connection=connection, credentials={"secret_text": "sk-fresh-secret-after-refresh"}
    )

    credentials = vault.EncryptedValue(Connection, "credentials_encrypted")
    rotated, current = await vault._rotate_batch(credentials, stale, ring)

    assert (rotated, current) == (0, 1)
    stored = await Connection.get(id=connection.id)
    assert service.load_credentials(key_ring=ring, connection=stored)["secret_text"] == (
        "sk-fresh-secret-after-refresh"
    )


async def test_verify_key_ring_rejects_a_missing_key_id(owner, settings):
    await _store_everything(owner, parse_key_ring(OLD), settings, count=1)

    with pytest.raises(ConfigError) as raised:
        await vault.verify_key_ring(key_ring=parse_key_ring(NEW))

    assert "WEIR_ENCRYPTION_KEYS" in str(raised.value)
    assert "'old'" in str(raised.value)


async def test_verify_key_ring_rejects_wrong_key_material(owner, settings):
    await _store_everything(owner, parse_key_ring(OLD), settings, count=1)
    impostor = parse_key_ring(generate_key_spec("old"))

    with pytest.raises(ConfigError) as raised:
        await vault.verify_key_ring(key_ring=impostor)

    assert "WEIR_ENCRYPTION_KEYS" in str(raised.value) and "'old'" in str(raised.value)


async def test_verify_key_ring_accepts_an_empty_database_and_the_right_ring(database, settings):
    await vault.verify_key_ring(key_ring=parse_key_ring(NEW))
    owner = await make_owner()
    await _store_everything(owner, parse_key_ring(OLD), settings, count=2)

    await vault.verify_key_ring(key_ring=parse_key_ring(f"{NEW},{OLD}"))


def test_cli_rotate_encryption(settings, monkeypatch, capsys):
    async def seed() -> None:
        ctx = await open_database(settings)
        try:
            await _store_everything(await make_owner(), parse_key_ring(OLD), settings, count=3)
        finally:
            await close_database(ctx)

    async def key_ids() -> set[str]:
        ctx = await open_database(settings)
        try:
            return await _key_ids_in_use()
        finally:
            await close_database(ctx)

    asyncio.run(seed())
    monkeypatch.setenv("WEIR_DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("WEIR_ENCRYPTION_KEYS", f"{NEW},{OLD}")

    assert weir(["keys", "rotate-encryption", "--batch-size", "2"]) == 0

    assert "re-encrypted 5 secret(s) with key 'new'; 0 already used it" in capsys.readouterr().out
    assert asyncio.run(key_ids()) == {"new"}


async def test_app_refuses_to_start_with_a_key_ring_that_lost_a_key(owner, settings):
    from server.config import Secret
    from server.embedded import create_app

    await _store_everything(owner, parse_key_ring(OLD), settings, count=1)
    application = create_app(settings.replace(encryption_keys=Secret(NEW)))

    with pytest.raises(ConfigError, match="WEIR_ENCRYPTION_KEYS.*'old'"):
        async with application.router.lifespan_context(application):
            pass
