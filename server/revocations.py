"""Revoked credentials, told to every API process through the event bus.

Revoking an API key, deleting an end user or cancelling a connect session publishes one event
on ``CHANNEL``. Every API process listens there (``server.auth.revocation``): it forgets the
credential in its authentication cache and closes, with ``4403``, every WebSocket the credential
authenticated. A credential is named ``<kind>:<id>`` (``credential``); a scope lists the ones it
rests on (``Scope.credentials``), so a connect token's socket closes with its session and with
its end user.

The channel is the one that does not start with an organization: no tenant can subscribe to it
(subscriptions build their channels with ``server.events.channel``), and a process must hear
the revocations of every organization, including those it has never seen.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from server.events import EventBus

log = logging.getLogger("weir.revocations")

CHANNEL = "system:revocations"
EVENT = "credential.revoked"
API_KEY = "api_key"
END_USER = "end_user"
CONNECT_SESSION = "connect_session"
KINDS = (API_KEY, END_USER, CONNECT_SESSION)


def credential(kind: str, object_id: str) -> str:
    """``credential("api_key", "key_1")`` -> ``"api_key:key_1"``."""
    if kind not in KINDS:
        raise ValueError(f"unknown credential kind {kind!r}")
    return f"{kind}:{object_id}"


async def publish_revocation(bus: EventBus | None, *, kind: str, object_id: str) -> None:
    """Tell every API process that a credential stopped granting anything (after the commit)."""
    name = credential(kind, object_id)
    if bus is not None:
        await bus.publish(CHANNEL, {"type": EVENT, "credential": name})
    log.info("revoked %s", name)


async def revoked_credentials(events: AsyncIterator[dict[str, object]]) -> AsyncIterator[str]:
    """The credential of each revocation event of a subscription to ``CHANNEL``."""
    async for event in events:
        name = event.get("credential")
        if event.get("type") == EVENT and isinstance(name, str):
            yield name
