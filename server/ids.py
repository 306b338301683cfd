"""Opaque, time-ordered identifiers such as ``ws_01jd3k8x5q2m7c9v4b6n0r1t2y``.

A prefix says what the object is (so a mixed-up id fails loudly), then 26 Crockford base32
characters: 48 bits of milliseconds and 80 random bits. Ids created later sort later, which is
what cursor pagination orders by: within one process even ids of the same millisecond, since the
random part then counts up from the previous id (as monotonic ULIDs do).
"""

from __future__ import annotations

import secrets
import threading
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"

PREFIXES = {
    "organization": "org",
    "workspace": "ws",
    "api_key": "key",
    "end_user": "eu",
    "workspace_integration": "wi",
    "connection": "conn",
    "connect_session": "cs",
    "elt_sync": "sync",
    "source_stream": "ss",
    "sync_run": "run",
    "webhook_endpoint": "whep",
    "webhook_event": "evt",
    "webhook_delivery": "whdl",
    "custom_integration": "ci",
    "call": "call",
    "action_result": "ar",
    "key_value_entry": "kv",
    "audit_entry": "aud",
    "mcp_server": "mcp",
    "mcp_token": "mcpt",
}


def _encode(number: int, length: int) -> str:
    chars = []
    for _ in range(length):
        number, digit = divmod(number, 32)
        chars.append(_ALPHABET[digit])
    return "".join(reversed(chars))


_last_value = 0
_lock = threading.Lock()  # the API loop, the embedded worker's loop and threads all make ids


def new_id(kind: str) -> str:
    """A fresh id for an object of ``kind`` (a key of ``PREFIXES``)."""
    global _last_value
    millis = int(time.time() * 1000) & ((1 << 48) - 1)
    value = (millis << 80) | secrets.randbits(80)
    with _lock:
        if value <= _last_value:  # the same millisecond (or a clock step back): count up
            value = _last_value + 1
        _last_value = value
    return f"{PREFIXES[kind]}_{_encode(value, 26)}"


def looks_like(kind: str, value: str) -> bool:
    """True when ``value`` has the shape of an id of ``kind``; used to reject mixed-up ids."""
    prefix = PREFIXES[kind] + "_"
    body = value[len(prefix) :]
    return value.startswith(prefix) and len(body) == 26 and all(c in _ALPHABET for c in body)


_KINDS = {prefix: kind for kind, prefix in PREFIXES.items()}


def kind_of(value: str) -> str | None:
    """The kind of object ``value`` is the id of (``connection`` for ``conn_...``), or None when
    it has no id's shape."""
    kind = _KINDS.get(value.split("_", 1)[0])
    return kind if kind is not None and looks_like(kind, value) else None
