"""Signing secrets and signatures.

A receiver checks ``Weir-Signature``: ``v1=<hex>`` values, comma-separated, each the hex
HMAC-SHA256 of ``"<Weir-Timestamp>.<raw body>"`` keyed with the endpoint's secret (the whole
``whsec_...`` string, as UTF-8). During a rotation's grace period two values are sent, one per
secret, so a receiver holding either secret verifies.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"
SCHEME = "v1"


def generate_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``timestamp.body`` with ``secret``."""
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secrets_: list[str], timestamp: int, body: bytes) -> str:
    """``v1=<hex>`` for each secret (newest first), comma-separated."""
    return ",".join(f"{SCHEME}={signature(secret, timestamp, body)}" for secret in secrets_)


def verify(secret: str, header: str, timestamp: int, body: bytes) -> bool:
    """True when one ``v1=`` value of ``header`` matches ``secret`` (constant-time compare)."""
    expected = signature(secret, timestamp, body)
    for part in header.split(","):
        scheme, _, value = part.strip().partition("=")
        if scheme == SCHEME and hmac.compare_digest(value, expected):
            return True
    return False
