"""The built-in integrations: actions that need no account and so no connection.

``datetime`` (date and time), ``hash_encode`` (hashes, HMACs and encodings) and ``kv_store`` (a
key-value store scoped to the workspace and end user of the call). Each is a module with a
``SPEC`` whose ``requires_connection`` is False and a ``run_action``; none has streams, ``check``
or ``read``. ``executeAction`` runs them without resolving a connection and, for the
key-value store, hands them their scope's store in ``ConnectorContext.store``: like every
connector, they never touch the database themselves.

Everything that creates connections refuses them by name (``no_connection_needed``), and the
connect flow never offers them.
"""

from __future__ import annotations

from server.connectors.base import ActionInputError


def no_connection_needed(name: str) -> str:
    """Why a connection to the built-in ``name`` cannot be made (for ``input.integrationName``)."""
    return f"{name} needs no connection; call its actions directly (executeAction)"


def utf8_bytes(field: str, text: str, *, limit: int) -> bytes:
    """``text`` as UTF-8, at most ``limit`` bytes, or an ``ActionInputError`` on ``field``.

    JSON strings may hold lone surrogates (``"\\ud800"``), which are not text at all.
    """
    if len(text) > limit:  # each character is at least one byte: no need to encode
        raise ActionInputError(field, f"must be at most {limit:,} bytes")
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:
        raise ActionInputError(field, "is not valid Unicode text (it holds a lone surrogate)") from None
    if len(data) > limit:
        raise ActionInputError(field, f"must be at most {limit:,} bytes in UTF-8")
    return data
