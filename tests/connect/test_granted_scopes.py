"""The connect flow's token exchange stores the scopes the grant holds (``granted_scopes``)."""

from __future__ import annotations

from server.connections.models import Connection
from tests.connect.conftest import connect_with_oauth


async def test_the_exchange_stores_the_granted_scopes(acme, provider):
    provider.token_extra = {"scope": "contacts.read,deals.read contacts.read"}
    session = await connect_with_oauth(acme)
    connection = await Connection.get(id=session["connectionId"])
    assert connection.granted_scopes == ["contacts.read", "deals.read"]


async def test_the_scopes_the_user_consented_to_are_stored(acme, provider):
    # The emulator grants the scopes the authorization request asked for, as most providers do.
    session = await connect_with_oauth(acme)
    connection = await Connection.get(id=session["connectionId"])
    assert connection.granted_scopes == ["read", "write"]
