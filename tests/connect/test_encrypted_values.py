"""The declaration of encrypted values (``server.vault.ENCRYPTED``) is complete, and rotation
re-seals every value it names.

One of every object that holds a secret is made through the services and the API; then every
row of every model is scanned for Weir ciphertexts (in columns, in JSON members at any depth, in
text holding JSON). A ciphertext in a place the declaration does not name fails the test, so a
new encrypted value cannot be left out of ``weir keys rotate-encryption`` and the start-up check.
"""

from __future__ import annotations

import importlib
import inspect
import json
import re
from collections.abc import Iterator
from typing import Any

from tortoise.models import Model

from server import vault
from server.crypto import generate_key_spec, load_key_ring, parse_key_ring
from server.db import MODEL_MODULES
from server.scope import Scope
from server.syncs import service as syncs
from server.syncs.service import StreamChoice, SyncChanges
from server.webhooks import service as webhooks
from tests.conftest import TEST_ENCRYPTION_KEYS
from tests.connect.conftest import connect_with_oauth, create_session, start_oauth
from tests.syncs.conftest import create_demo_connection

CIPHERTEXT = re.compile(r"^v1\.[A-Za-z0-9_-]{1,32}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")
NEW = generate_key_spec("new")

CREATE_CONNECTION = "mutation($i: CreateConnectionInput!) { createConnection(input: $i) { id } }"
CONFIGURE = """mutation($i: ConfigureWorkspaceIntegrationInput!) {
  configureWorkspaceIntegration(input: $i) { integrationName } }"""
UPDATE_WORKSPACE = "mutation($i: UpdateWorkspaceInput!) { updateWorkspace(input: $i) { id } }"


def _models() -> list[type[Model]]:
    found: dict[str, type[Model]] = {}
    for module_name in MODEL_MODULES:
        module = importlib.import_module(module_name)
        for _, candidate in inspect.getmembers(module, inspect.isclass):
            if issubclass(candidate, Model) and candidate.__module__ == module_name:
                found[candidate._meta.db_table] = candidate
    return list(found.values())


def _ciphertexts(value: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], str]]:
    """(path inside the value, ciphertext) of every Weir ciphertext in ``value``."""
    if isinstance(value, dict):
        for key, member in value.items():
            yield from _ciphertexts(member, (*path, str(key)))
    elif isinstance(value, list):
        for index, member in enumerate(value):
            yield from _ciphertexts(member, (*path, str(index)))
    elif isinstance(value, str):
        if CIPHERTEXT.match(value):
            yield path, value
        elif value[:1] in "{[":
            try:
                yield from _ciphertexts(json.loads(value), path)
            except ValueError:
                pass


async def _stored() -> dict[tuple[str, str, str | None], list[tuple[str, str]]]:
    """Every ciphertext stored anywhere: (table, column, JSON path) -> [(row id, ciphertext)]."""
    found: dict[tuple[str, str, str | None], list[tuple[str, str]]] = {}
    for model in _models():
        for row in await model.all().values():
            for column, value in row.items():
                for path, token in _ciphertexts(value):
                    where = (model._meta.db_table, column, ".".join(path) or None)
                    found.setdefault(where, []).append((str(row.get("id")), token))
    return found


def _declared() -> dict[tuple[str, str, str | None], vault.EncryptedValue]:
    return {(value.model._meta.db_table, value.column, value.member): value for value in vault.ENCRYPTED}


async def _one_of_everything(acme: Any, settings: Any, monkeypatch: Any) -> None:
    from server.connectors import demo, registry
    from server.integrations import catalog

    # The connect fixtures install a test catalog; the sync below needs the demo connector too.
    with_demo = {**registry.CONNECTORS, "demo": demo}
    monkeypatch.setattr(registry, "CONNECTORS", with_demo)
    monkeypatch.setattr(catalog, "CONNECTORS", with_demo)
    key_ring = load_key_ring(settings)
    scope = Scope(organization_id=acme.organization_id, workspace_id=acme.workspace_id)
    await connect_with_oauth(acme, endUserExternalId="u1")  # OAuth tokens
    pending = await create_session(acme, integrationName="testoauth")
    await start_oauth(acme, pending["token"])  # a PKCE verifier, still waiting for consent
    await acme.data(
        CREATE_CONNECTION,
        {
            "i": {  # an API key
                "workspaceId": acme.workspace_id,
                "integrationName": "testkey",
                "scope": "WORKSPACE",
                "authType": "SECRET_TEXT",
                "secretText": "sk_good",
            }
        },
    )
    await acme.data(
        CONFIGURE,
        {
            "i": {  # an OAuth app's client secret
                "workspaceId": acme.workspace_id,
                "integrationName": "testoauth",
                "oauthClientId": "client-2",
                "oauthClientSecret": "client-secret-2",
            }
        },
    )
    await acme.data(
        UPDATE_WORKSPACE,
        {
            "i": {  # a warehouse URL with its password
                "id": acme.workspace_id,
                "warehouseUrl": "postgres://loader:pw@db.example.com/wh",
            }
        },
    )
    endpoint = await webhooks.create_endpoint(  # a signing secret, then a previous one
        scope=scope,
        settings=settings,
        key_ring=key_ring,
        workspace_id=acme.workspace_id,
        url="http://127.0.0.1:9/hooks",
        event_types=["connection.created"],
    )
    await webhooks.rotate_secret(
        scope=scope,
        settings=settings,
        key_ring=key_ring,
        endpoint_id=endpoint.endpoint.id,
        grace_seconds=3600,
    )
    demo = await create_demo_connection(acme.organization_id, acme.workspace_id)
    await syncs.create_sync(  # a hash salt in the sync's settings
        scope=scope,
        settings=settings,
        key_ring=key_ring,
        bus=None,
        connection_id=demo,
        changes=SyncChanges(destination_schema="crm", settings={"contacts": 3}, sync_interval="0 * * * *"),
        streams=[StreamChoice(name="contacts", sync_mode="FULL_REFRESH", hashed_columns=["email"])],
    )


async def test_every_stored_ciphertext_is_declared_and_every_declared_value_is_made(
    acme, settings, monkeypatch
):
    await _one_of_everything(acme, settings, monkeypatch)

    stored = await _stored()

    undeclared = sorted(set(stored) - set(_declared()))
    assert not undeclared, f"ciphertexts stored where server.vault.ENCRYPTED does not look: {undeclared}"
    never_made = sorted(set(_declared()) - set(stored))
    assert not never_made, f"make one of these in this test too: {never_made}"


async def test_rotation_reseals_every_declared_value_and_the_old_key_can_go(acme, settings, monkeypatch):
    await _one_of_everything(acme, settings, monkeypatch)
    before = await _stored()

    counts = await vault.rotate_all(key_ring=parse_key_ring(f"{NEW},{TEST_ENCRYPTION_KEYS}"))

    only_new = parse_key_ring(NEW)
    after = await _stored()
    assert counts.remaining == 0
    assert counts.rotated == sum(len(rows) for rows in before.values())
    await vault.verify_key_ring(key_ring=only_new)
    old_ring = load_key_ring(settings)
    for where, rows in after.items():
        value = _declared()[where]
        old_tokens = dict(before[where])
        for row_id, token in rows:
            assert token.startswith("v1.new."), where
            plaintext = only_new.decrypt(token, associated_data=value.associated_data(row_id))
            assert plaintext == old_ring.decrypt(
                old_tokens[row_id], associated_data=value.associated_data(row_id)
            )
