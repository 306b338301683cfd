"""Every encrypted value Weir stores, in one declaration used by key rotation and start-up checks.

A stored secret is a ``server.crypto`` ciphertext sealed with associated data derived from its
row (the row's id, or the id and a purpose). ``ENCRYPTED`` names every place one lives: a
column, or one member of a JSON column (a sync's hash salt inside its settings). A test scans
every model's rows for ciphertexts and fails on one this list does not name, so a new encrypted
value cannot be left out of rotation.

``rotate_all`` walks each value in id order, one batch per transaction, and re-seals what the
newest key did not seal:

- a column with a compare-and-set UPDATE (it applies only while the old ciphertext is still
  there), so a row rewritten meanwhile is left alone;
- a JSON member under a row lock (``SELECT ... FOR UPDATE`` on Postgres; on SQLite a write that
  races ours fails the batch instead of being lost), rewriting only that member of the JSON read
  inside the transaction.

Nothing is ever half-written, so rotation is safe to interrupt, re-run, or run while the API and
workers keep writing. It ends by counting what still uses an older key (a value rewritten
meanwhile from a stale read); the command then says so, and running it again finishes the job.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from tortoise.models import Model
from tortoise.transactions import in_transaction

from server.config import ConfigError
from server.connect.models import ConnectSession
from server.connections.models import Connection
from server.crypto import VERSION, DecryptionError, KeyRing
from server.integrations.models import WorkspaceIntegration
from server.orgs.models import Workspace
from server.syncs.hashing import salt_associated_data
from server.syncs.models import EltSync
from server.syncs.settings import SALT_KEY
from server.webhooks.models import WebhookEndpoint

log = logging.getLogger("weir.vault")


def _row_id(row_id: str) -> str:
    return row_id


@dataclass(frozen=True)
class EncryptedValue:
    """One place a ciphertext lives, and the associated data it is sealed with."""

    model: type[Model]
    column: str
    member: str | None = None  # a key of the JSON object stored in ``column``
    associated_data: Callable[[str], str] = _row_id  # from the row's id

    @property
    def name(self) -> str:
        where = f"{self.model._meta.db_table}.{self.column}"
        return f"{where}.{self.member}" if self.member else where


# Every encrypted value Weir stores. Add a new one here, or the declaration test fails.
ENCRYPTED: tuple[EncryptedValue, ...] = (
    EncryptedValue(Connection, "credentials_encrypted"),
    EncryptedValue(WorkspaceIntegration, "oauth_client_secret_encrypted"),
    EncryptedValue(ConnectSession, "oauth_verifier_encrypted"),
    EncryptedValue(WebhookEndpoint, "secret_encrypted"),
    EncryptedValue(WebhookEndpoint, "previous_secret_encrypted"),
    EncryptedValue(Workspace, "warehouse_url_encrypted"),
    EncryptedValue(EltSync, "settings", member=SALT_KEY, associated_data=salt_associated_data),
)


@dataclass(frozen=True)
class RotationCounts:
    rotated: int
    already_current: int
    # Values still sealed with an older key when the pass ended (rewritten meanwhile from a
    # stale read): run the rotation again.
    remaining: int = 0


def _prefix(key_id: str) -> str:
    return f"{VERSION}.{key_id}."


def _member(document: Any, member: str) -> str | None:
    token = document.get(member) if isinstance(document, dict) else None
    return token if isinstance(token, str) and token else None


async def _batches(value: EncryptedValue, batch_size: int) -> AsyncIterator[list[tuple[str, str]]]:
    """(row id, ciphertext) of every stored ``value``, in id order, ``batch_size`` rows a read."""
    last_id = ""
    while True:
        query = value.model.filter(id__gt=last_id)
        if value.member is None:
            query = query.filter(**{f"{value.column}__isnull": False})
        rows = await query.order_by("id").limit(batch_size).values_list("id", value.column)
        if not rows:
            return
        last_id = rows[-1][0]
        if value.member is None:
            yield [(row_id, token) for row_id, token in rows]
        else:
            found = [(row_id, _member(document, value.member)) for row_id, document in rows]
            yield [(row_id, token) for row_id, token in found if token is not None]


async def _rotate_batch(
    value: EncryptedValue, rows: list[tuple[str, str]], key_ring: KeyRing
) -> tuple[int, int]:
    rotated = current = 0
    async with in_transaction():
        for row_id, token in rows:
            if key_ring.is_current(token):
                current += 1
                continue
            plaintext = key_ring.decrypt(token, associated_data=value.associated_data(row_id))
            sealed = key_ring.encrypt(plaintext, associated_data=value.associated_data(row_id))
            if value.member is None:
                # Compare-and-set: a row rewritten since we read it already uses the newest key.
                changed = await value.model.filter(id=row_id, **{value.column: token}).update(
                    **{value.column: sealed}
                )
            else:
                changed = await _replace_member(value, row_id, token, sealed)
            if changed:
                rotated += 1
            else:
                current += 1
    return rotated, current


async def _replace_member(value: EncryptedValue, row_id: str, token: str, sealed: str) -> bool:
    """Inside the batch's transaction: swap one JSON member, only if it still holds ``token``."""
    assert value.member is not None
    locked = await value.model.filter(id=row_id).select_for_update().values_list(value.column, flat=True)
    if not locked or _member(locked[0], value.member) != token:
        return False  # deleted, or rewritten since we read it
    document = {**locked[0], value.member: sealed}
    await value.model.filter(id=row_id).update(**{value.column: document})
    return True


async def rotate_all(*, key_ring: KeyRing, batch_size: int = 500) -> RotationCounts:
    """Re-encrypt every stored secret with the ring's first key; return what changed."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    rotated = current = 0
    for value in ENCRYPTED:
        async for rows in _batches(value, batch_size):
            done, skipped = await _rotate_batch(value, rows, key_ring)
            rotated, current = rotated + done, current + skipped
        log.info("rotated %d secret(s) so far (%s done)", rotated, value.name)
    remaining = await count_not_current(key_ring=key_ring, batch_size=batch_size)
    return RotationCounts(rotated=rotated, already_current=current, remaining=remaining)


async def count_not_current(*, key_ring: KeyRing, batch_size: int = 500) -> int:
    """How many stored values are sealed with a key other than the ring's first."""
    count = 0
    for value in ENCRYPTED:
        if value.member is None:
            count += (
                await value.model.filter(**{f"{value.column}__isnull": False})
                .exclude(**{f"{value.column}__startswith": _prefix(key_ring.primary_key_id)})
                .count()
            )
            continue
        async for rows in _batches(value, batch_size):
            count += sum(1 for _, token in rows if not key_ring.is_current(token))
    return count


async def verify_key_ring(*, key_ring: KeyRing, batch_size: int = 1000) -> None:
    """Fail start-up unless every key id used by a stored secret is in the ring and decrypts it.

    A column costs one sample per key id (a handful of indexed queries, not a scan); a JSON
    member has no portable index, so its rows are read in batches (ids and one JSON column).
    """
    for value in ENCRYPTED:
        samples = await (
            _column_samples(value, key_ring)
            if value.member is None
            else _member_samples(value, key_ring, batch_size)
        )
        for key_id, (row_id, token) in samples.items():
            if key_id not in key_ring.key_ids:
                raise ConfigError(
                    f"WEIR_ENCRYPTION_KEYS: stored secrets ({value.name}) are encrypted with key "
                    f"{key_id!r}, which is not in the key ring; add that key back (newest first) "
                    "and run: weir keys rotate-encryption"
                )
            try:
                key_ring.decrypt(token, associated_data=value.associated_data(row_id))
            except DecryptionError:
                raise ConfigError(
                    f"WEIR_ENCRYPTION_KEYS: key {key_id!r} does not decrypt the stored secrets "
                    f"({value.name}); its key material is wrong"
                ) from None


async def _column_samples(value: EncryptedValue, key_ring: KeyRing) -> dict[str, tuple[str, str]]:
    """One (row id, ciphertext) per key id in use: a stranger first, then one per ring key."""
    samples: dict[str, tuple[str, str]] = {}
    known = value.model.filter(**{f"{value.column}__isnull": False})
    for key_id in key_ring.key_ids:
        known = known.exclude(**{f"{value.column}__startswith": _prefix(key_id)})
    stranger = await known.order_by("id").first().values_list("id", value.column)
    if stranger is not None:
        samples[_key_id_of(stranger[1])] = stranger
    for key_id in key_ring.key_ids:
        sample = await (
            value.model.filter(**{f"{value.column}__startswith": _prefix(key_id)})
            .order_by("id")
            .first()
            .values_list("id", value.column)
        )
        if sample is not None:
            samples[key_id] = sample
    return samples


async def _member_samples(
    value: EncryptedValue, key_ring: KeyRing, batch_size: int
) -> dict[str, tuple[str, str]]:
    samples: dict[str, tuple[str, str]] = {}
    async for rows in _batches(value, batch_size):
        for row_id, token in rows:
            samples.setdefault(_key_id_of(token), (row_id, token))
    return samples


def _key_id_of(token: str) -> str:
    parts = token.split(".")
    return parts[1] if len(parts) == 4 and parts[0] == VERSION else "(not a Weir ciphertext)"
