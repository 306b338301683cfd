"""The only module that sees encryption keys: AES-256-GCM with a key ring.

A ciphertext is the text ``v1.<key id>.<nonce>.<ciphertext+tag>`` (base64url parts). The caller
passes associated data (a connection's id), so a ciphertext copied to another row fails to
decrypt. The first key of the ring encrypts; every key decrypts. There is no plaintext fallback:
no key, no secrets.

The ring also signs short-lived values that never touch the database (``sign``/``verify``):
HMAC-SHA256 under a key derived with HKDF from each ring key and a purpose, so a tag made for
one purpose never verifies for another and the encryption keys themselves are never used twice.
The newest key signs; every key verifies, so a rotation does not break values signed just before.

``WEIR_ENCRYPTION_KEYS`` is a comma-separated list of ``<key id>:<base64 of 32 bytes>``, newest
first. On the embedded default with no such variable, a key is generated once into
``<data dir>/encryption.key`` (mode 0600) and a warning says production must set its own.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from server.config import ConfigError, Settings
from server.files import create_private, private_data_dir

log = logging.getLogger("weir.crypto")

VERSION = "v1"
KEY_FILE_NAME = "encryption.key"
_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class DecryptionError(Exception):
    """A ciphertext could not be decrypted: unknown key id, wrong key, or tampered data."""


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class _Key:
    key_id: str
    aead: AESGCM
    material: bytes

    def signing_key(self, purpose: str) -> bytes:
        return HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"weir sign v1 " + purpose.encode()
        ).derive(self.material)


class KeyRing:
    def __init__(self, keys: list[tuple[str, bytes]]) -> None:
        if not keys:
            raise ConfigError("WEIR_ENCRYPTION_KEYS: no key given")
        self._keys = [_Key(key_id, AESGCM(material), material) for key_id, material in keys]
        self._by_id = {key.key_id: key for key in self._keys}
        self._signing: dict[tuple[str, str], bytes] = {}

    @property
    def primary_key_id(self) -> str:
        return self._keys[0].key_id

    @property
    def key_ids(self) -> list[str]:
        return [key.key_id for key in self._keys]

    def encrypt(self, plaintext: bytes, *, associated_data: str) -> str:
        key = self._keys[0]
        nonce = os.urandom(12)
        sealed = key.aead.encrypt(nonce, plaintext, associated_data.encode())
        return f"{VERSION}.{key.key_id}.{_b64encode(nonce)}.{_b64encode(sealed)}"

    def decrypt(self, token: str, *, associated_data: str) -> bytes:
        try:
            version, key_id, nonce, sealed = token.split(".")
        except ValueError:
            raise DecryptionError("not a Weir ciphertext") from None
        if version != VERSION:
            raise DecryptionError(f"unknown ciphertext version {version!r}")
        key = self._by_id.get(key_id)
        if key is None:
            raise DecryptionError(f"encryption key {key_id!r} is not in WEIR_ENCRYPTION_KEYS")
        try:
            return key.aead.decrypt(_b64decode(nonce), _b64decode(sealed), associated_data.encode())
        except (InvalidTag, ValueError):
            raise DecryptionError(
                f"ciphertext does not decrypt with key {key_id!r} (wrong key or wrong row)"
            ) from None

    def _signing_key(self, key: _Key, purpose: str) -> bytes:
        cached = self._signing.get((key.key_id, purpose))
        if cached is None:
            cached = self._signing[(key.key_id, purpose)] = key.signing_key(purpose)
        return cached

    def sign(self, message: str, *, purpose: str) -> str:
        """An HMAC-SHA256 tag of ``message`` for ``purpose`` (base64url), with the newest key."""
        key = self._signing_key(self._keys[0], purpose)
        return _b64encode(hmac.new(key, message.encode(), hashlib.sha256).digest())

    def verify(self, message: str, tag: str, *, purpose: str) -> bool:
        """True when ``tag`` is ``sign(message, purpose=purpose)`` under any key of the ring."""
        found = False
        for key in self._keys:  # every key, in constant time each, whatever matched first
            expected = _b64encode(
                hmac.new(self._signing_key(key, purpose), message.encode(), hashlib.sha256).digest()
            )
            found = hmac.compare_digest(expected.encode(), tag.encode("utf-8", "replace")) | found
        return found

    @staticmethod
    def key_id_of(token: str) -> str:
        return token.split(".", 2)[1]

    def is_current(self, token: str) -> bool:
        """True when ``token`` is already sealed with the newest key (rotation skips it)."""
        return self.key_id_of(token) == self.primary_key_id


def generate_key_spec(key_id: str = "k1") -> str:
    """A fresh ``<key id>:<base64>`` entry for ``WEIR_ENCRYPTION_KEYS``."""
    return f"{key_id}:{base64.b64encode(secrets.token_bytes(32)).decode()}"


def parse_key_ring(spec: str, source: str = "WEIR_ENCRYPTION_KEYS") -> KeyRing:
    keys: list[tuple[str, bytes]] = []
    for position, entry in enumerate(part.strip() for part in spec.split(",")):
        if not entry:
            continue
        key_id, sep, material = entry.partition(":")
        if not sep:
            raise ConfigError(f"{source}: entry {position + 1} must look like '<key id>:<base64 key>'")
        if not _KEY_ID.match(key_id):
            raise ConfigError(f"{source}: key id {key_id!r} must be 1-32 letters, digits, - or _")
        # Accept standard and URL-safe base64, padded or not, but nothing else.
        standard = material.strip().replace("-", "+").replace("_", "/")
        try:
            raw = base64.b64decode(standard + "=" * (-len(standard) % 4), validate=True)
        except ValueError:
            raise ConfigError(f"{source}: key {key_id!r} is not valid base64") from None
        if len(raw) != 32:
            raise ConfigError(f"{source}: key {key_id!r} must be 32 bytes (AES-256), got {len(raw)}")
        if any(existing == key_id for existing, _ in keys):
            raise ConfigError(f"{source}: key id {key_id!r} appears twice")
        keys.append((key_id, raw))
    if not keys:
        raise ConfigError(f"{source}: no key given")
    return KeyRing(keys)


def load_key_ring(settings: Settings) -> KeyRing:
    """The key ring from settings, or, on the embedded default only, from the generated key file."""
    if settings.encryption_keys is not None:
        return parse_key_ring(settings.encryption_keys.reveal())
    if not settings.embedded or settings.is_production:
        raise ConfigError(
            "WEIR_ENCRYPTION_KEYS: required with an external database or WEIR_ENV=production "
            "(generate one with: weir keys generate-encryption-key)"
        )
    path = Path(settings.data_dir) / KEY_FILE_NAME
    private_data_dir(settings.data_dir)
    descriptor = None if path.exists() else create_private(path)
    if descriptor is not None:  # 0600 whatever the umask
        with os.fdopen(descriptor, "w") as handle:
            handle.write(generate_key_spec() + "\n")
        log.warning(
            "generated an encryption key in %s for this embedded instance; "
            "production must set WEIR_ENCRYPTION_KEYS itself",
            path,
        )
    return parse_key_ring(path.read_text().strip(), source=str(path))
