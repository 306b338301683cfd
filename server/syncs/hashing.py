"""The per-sync salt for ``hashedColumns``: random, stored encrypted in the sync's settings.

A salted SHA-256 keeps hashed personal data joinable inside one sync's tables without being
guessable from a list of e-mail addresses: the salt is 32 random bytes per sync, encrypted with
the key ring (the sync id as associated data), never returned by the API.
"""

from __future__ import annotations

import secrets
from typing import Any

from server.crypto import KeyRing
from server.syncs.settings import SALT_KEY


def salt_associated_data(sync_id: str) -> str:
    """What a salt is sealed to: its sync, and its purpose (so it is never taken for another
    value sealed to the same row). ``server.vault`` rotates salts with the same rule."""
    return f"{sync_id}:hash-salt"


def new_salt(*, key_ring: KeyRing, sync_id: str) -> str:
    """A fresh salt for sync ``sync_id``, encrypted for storage."""
    return key_ring.encrypt(secrets.token_bytes(32), associated_data=salt_associated_data(sync_id))


def hash_salt(*, key_ring: KeyRing, sync: Any) -> bytes:
    """The sync's salt; a sync without one cannot hash (fail closed, never unsalted)."""
    token = (sync.settings or {}).get(SALT_KEY)
    if not token:
        raise RuntimeError(f"sync {sync.id} has no hash salt")
    return key_ring.decrypt(token, associated_data=salt_associated_data(sync.id))
