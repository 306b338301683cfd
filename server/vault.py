"""Every encrypted column Weir stores, checked at start-up and re-encrypted on key rotation.

A stored secret is a ``server.crypto`` ciphertext sealed with its row's id as associated data.
``rotate_all`` walks each column in id order, one batch per transaction, and re-seals what the
newest key did not seal. A row written meanwhile is left alone (the update only applies while
the old ciphertext is still there), so rotation is safe to interrupt, re-run, or run while the
API and workers keep writing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from tortoise.models import Model
from tortoise.transactions import in_transaction

from server.config import ConfigError
from server.connect.models import ConnectSession
from server.connections.models import Connection
from server.crypto import VERSION, DecryptionError, KeyRing
from server.integrations.models import WorkspaceIntegration
from server.orgs.models import Workspace
from server.webhooks.models import WebhookEndpoint

log = logging.getLogger("weir.vault")

# (model, column): every place a ciphertext lives.
ENCRYPTED_COLUMNS: tuple[tuple[type[Model], str], ...] = (
    (Connection, "credentials_encrypted"),
    (WorkspaceIntegration, "oauth_client_secret_encrypted"),
    (ConnectSession, "oauth_verifier_encrypted"),
    (WebhookEndpoint, "secret_encrypted"),
    (WebhookEndpoint, "previous_secret_encrypted"),
    (Workspace, "warehouse_url_encrypted"),
)


@dataclass(frozen=True)
class RotationCounts:
    rotated: int
    already_current: int


def _prefix(key_id: str) -> str:
    return f"{VERSION}.{key_id}."


async def _rotate_batch(model: type[Model], column: str, rows: list[tuple[str, str]],
                        key_ring: KeyRing) -> tuple[int, int]:
    rotated = current = 0
    async with in_transaction():
        for row_id, token in rows:
            if key_ring.is_current(token):
                current += 1
                continue
            plaintext = key_ring.decrypt(token, associated_data=row_id)
            sealed = key_ring.encrypt(plaintext, associated_data=row_id)
            # Compare-and-set: a row rewritten since we read it already uses the newest key.
            changed = await model.filter(id=row_id, **{column: token}).update(**{column: sealed})
            if changed:
                rotated += 1
            else:
                current += 1
    return rotated, current


async def rotate_all(*, key_ring: KeyRing, batch_size: int = 500) -> RotationCounts:
    """Re-encrypt every stored secret with the ring's first key; return what changed."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    rotated = current = 0
    for model, column in ENCRYPTED_COLUMNS:
        last_id = ""
        while True:
            rows = await (
                model.filter(id__gt=last_id, **{f"{column}__isnull": False})
                .order_by("id")
                .limit(batch_size)
                .values_list("id", column)
            )
            if not rows:
                break
            done, skipped = await _rotate_batch(model, column, list(rows), key_ring)
            rotated, current = rotated + done, current + skipped
            last_id = rows[-1][0]
            log.info("rotated %d secret(s) in %s so far", rotated, model._meta.db_table)
    return RotationCounts(rotated=rotated, already_current=current)


async def verify_key_ring(*, key_ring: KeyRing) -> None:
    """Fail start-up unless every key id used by a stored secret is in the ring and decrypts it.

    Reads one sample per (column, key id), so it costs a handful of indexed queries, not a scan.
    """
    for model, column in ENCRYPTED_COLUMNS:
        known = model.filter(**{f"{column}__isnull": False})
        for key_id in key_ring.key_ids:
            known = known.exclude(**{f"{column}__startswith": _prefix(key_id)})
        stranger = await known.order_by("id").first().values_list("id", column)
        if stranger is not None:
            raise ConfigError(
                f"WEIR_ENCRYPTION_KEYS: stored secrets ({model._meta.db_table}) are encrypted "
                f"with key {_key_id_of(stranger[1])!r}, which is not in the key ring; "
                "add that key back (newest first) and run: weir keys rotate-encryption"
            )
        for key_id in key_ring.key_ids:
            sample = await (
                model.filter(**{f"{column}__startswith": _prefix(key_id)})
                .order_by("id").first().values_list("id", column)
            )
            if sample is None:
                continue
            try:
                key_ring.decrypt(sample[1], associated_data=sample[0])
            except DecryptionError:
                raise ConfigError(
                    f"WEIR_ENCRYPTION_KEYS: key {key_id!r} does not decrypt the stored secrets "
                    f"({model._meta.db_table}); its key material is wrong"
                ) from None


def _key_id_of(token: str) -> str:
    parts = token.split(".")
    return parts[1] if len(parts) == 4 and parts[0] == VERSION else "(not a Weir ciphertext)"
