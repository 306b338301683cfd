"""A sync whose provider refuses the credentials even after a refresh puts the connection in
ERROR with the provider's reason, as an action or the proxy does (mark_reauthorization_required)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import pytest

from server.connections.models import Connection
from server.connectors import http as provider_http
from server.connectors import registry
from server.connectors.base import ConnectorSpec, StreamSpec
from server.scope import Scope
from server.syncs.runner import RunEnvironment
from server.syncs.service import StreamChoice
from tests.syncs.conftest import make_sync, run_once

CONTACTS = StreamSpec(
    name="contacts",
    primary_key=("id",),
    record_schema={"type": "object", "properties": {"id": {"type": "integer"}}},
)


def _refusing(*, while_discovering: bool) -> SimpleNamespace:
    """A source whose provider answers 401 (after the refresh) to reads, or to discovery."""

    async def read(context: Any, stream: str, settings: Any, state: Any) -> AsyncIterator[Any]:
        raise provider_http.ProviderAuthError(401, "invalid_auth: token revoked")
        yield  # pragma: no cover

    async def discover(context: Any, credentials: Any, settings: Any) -> list[StreamSpec]:
        if while_discovering:
            raise provider_http.ProviderAuthError(401, "invalid_auth: token revoked")
        return [CONTACTS]

    spec = ConnectorSpec(
        name="refusing",
        display_name="Refusing",
        category="CRM",
        auth_types=("NONE",),
        description="A provider that no longer accepts the credentials.",
        streams=(CONTACTS,),
    )
    return SimpleNamespace(SPEC=spec, check=None, read=read, discover=discover)


@pytest.mark.parametrize("while_discovering", [False, True])
async def test_a_refused_credential_needs_reauthorization(
    env: RunEnvironment, scope: Scope, monkeypatch: pytest.MonkeyPatch, while_discovering: bool
) -> None:
    monkeypatch.setitem(registry.CONNECTORS, "refusing", _refusing(while_discovering=False))
    sync = await make_sync(
        env,
        scope,
        settings={},
        streams=[StreamChoice(name="contacts", sync_mode="FULL_REFRESH")],
        integration="refusing",
    )
    monkeypatch.setitem(registry.CONNECTORS, "refusing", _refusing(while_discovering=while_discovering))

    run = await run_once(env, scope, sync)

    assert run.status == "FAILED"
    connection = await Connection.get(id=sync.connection_id)
    assert connection.status == "ERROR"
    assert "invalid_auth: token revoked" in (connection.status_reason or "")
