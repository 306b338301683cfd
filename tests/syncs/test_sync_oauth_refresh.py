"""A run whose OAuth access token the provider no longer accepts refreshes it once and goes on."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import pytest

from server.connectors import http as provider_http
from server.connectors import registry
from server.connectors.base import RecordBatch, StreamSpec
from tests.connect.conftest import acme, connect_with_oauth, provider  # noqa: F401 (fixtures)
from tests.syncs.conftest import wait_for_run
from tests.syncs.test_sync_api import CREATE, TRIGGER


@pytest.fixture
def readable_testoauth(acme: Any, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    """The connect tests' OAuth connector, given one stream read from the provider's API."""
    module = registry.CONNECTORS["testoauth"]
    spec = dataclasses.replace(
        module.SPEC,
        streams=(
            StreamSpec(
                name="me",
                primary_key=("id",),
                record_schema={
                    "type": "object",
                    "properties": {"id": {"type": "integer"}, "login": {"type": "string"}},
                },
            ),
        ),
    )

    async def read(
        context: Any, stream: str, settings: dict[str, Any], state: dict[str, Any] | None
    ) -> AsyncIterator[Any]:
        response = await provider_http.request(
            context,
            "GET",
            f"{context.base_url}/api/me",
            auth=lambda credentials: {"Authorization": f"Bearer {credentials['access_token']}"},
        )
        yield RecordBatch(stream=stream, records=[response.json()])

    monkeypatch.setitem(
        registry.CONNECTORS, "testoauth", SimpleNamespace(SPEC=spec, check=module.check, read=read)
    )


async def test_a_revoked_access_token_is_refreshed_during_the_run(
    acme: Any,  # noqa: F811
    provider: Any,  # noqa: F811
    readable_testoauth: None,
    worker: Any,  # noqa: F811
) -> None:
    session = await connect_with_oauth(acme, endUserExternalId="u1")
    provider.revoke_access_tokens()  # the stored access token now gets a 401
    sync_id = (
        await acme.data(
            CREATE,
            {
                "input": {
                    "connectionId": session["connectionId"],
                    "destinationSchemaName": "oauth_me",
                    "syncInterval": "0 * * * *",
                    "sourceStreams": [{"name": "me", "syncMode": "FULL_REFRESH"}],
                }
            },
        )
    )["createEltSync"]["id"]

    run = (await acme.data(TRIGGER, {"id": sync_id}))["triggerSyncRun"]
    finished = await wait_for_run(acme, run["id"])

    assert finished["status"] == "SUCCEEDED", finished
    assert finished["rowsLoaded"] == 1
    refreshes = [r for r in provider.token_requests if r["grant_type"] == "refresh_token"]
    assert len(refreshes) == 1
