"""The Python client (clients/python) against a live Weir: the host's back-end calls, sync and
async, from a connect session to a triggered sync run, and errors carrying Weir's code."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from weir_client import (
    AsyncWeir,
    ConnectionFilter,
    ConnectionStatus,
    ConnectSessionStatus,
    CreateConnectSessionInput,
    CreateEltSyncInput,
    EltSyncFilter,
    ExecuteActionInput,
    ResolutionSource,
    ResolveConnectionInput,
    SourceStreamInput,
    SyncMode,
    SyncRunStatus,
    SyncRunTrigger,
    Weir,
    WeirError,
)

from server.connectors import registry
from server.connectors.definition import parse_definition
from tests.emulators.common import serve
from tests.emulators.echo_api import EchoApi
from tests.proxy.conftest import TOKEN, add_connection, definition

INTEGRATION = "echoclient"
SELECT = f"""mutation {{ selectIntegration(input: {{integrationName: "{INTEGRATION}"}}) {{ status }} }}"""
SUBMIT = """
mutation($input: SubmitCredentialsInput!) { submitCredentials(input: $input) { status connectionId } }"""


@pytest.fixture
async def echo(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[EchoApi]:
    """The echo emulator as an API-key integration with one action (``ping``) and one stream."""
    api = EchoApi()
    api.controls.tokens.add(TOKEN)
    async with serve(api.app()) as url:
        data = definition(url, INTEGRATION, {"type": "api_key"})
        data["actions"] = {
            "ping": {
                "display_name": "Ping",
                "description": "Echoes a word.",
                "input_schema": {
                    "type": "object",
                    "properties": {"word": {"type": "string"}},
                    "required": ["word"],
                },
                "output_schema": {"type": "object"},
                "request": {"path": "/echo/ping", "query": {"word": "{input.word}"}},
                "read_only": True,
            }
        }
        monkeypatch.setitem(registry.CONNECTORS, INTEGRATION, parse_definition(data))
        yield api


@pytest.fixture
def base_url(live_server: str) -> str:
    return f"http://{live_server}"


async def _connect(base_url: str, token: str) -> dict[str, Any]:
    """What the end user does on the connect page: pick the integration, type the API key."""
    async with httpx.AsyncClient(base_url=base_url) as http:
        selected = await http.post(
            "/graphql", json={"query": SELECT}, headers={"Authorization": f"Bearer {token}"}
        )
        assert "errors" not in selected.json(), selected.json()
        response = await http.post(
            "/graphql",
            json={"query": SUBMIT, "variables": {"input": {"credentials": {"secret_text": TOKEN}}}},
            headers={"Authorization": f"Bearer {token}"},
        )
    body = response.json()
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["submitCredentials"]
    return result


async def test_the_async_client_covers_a_hosts_calls(base_url, tenant, echo):
    async with AsyncWeir(base_url, tenant.key) as weir:
        created = await weir.create_connect_session(
            CreateConnectSessionInput(
                workspace_id=tenant.workspace_id,
                integration_name=INTEGRATION,
                end_user_external_id="customer-42",
            )
        )
        session = created.create_connect_session
        assert session.token and session.connect_url.startswith("http")
        assert session.session.status == ConnectSessionStatus.PENDING

        connected = await _connect(base_url, session.token)
        assert connected["status"] == "COMPLETED"
        connection_id = connected["connectionId"]
        seen = (await weir.get_connect_session(session.session.id)).connect_session
        assert seen.status == ConnectSessionStatus.COMPLETED and seen.connection_id == connection_id

        listed = (
            await weir.list_connections(filter_=ConnectionFilter(integration_name=INTEGRATION))
        ).connections
        assert [edge.node.id for edge in listed.edges] == [connection_id]
        node = listed.edges[0].node
        assert node.status == ConnectionStatus.ACTIVE and node.end_user.external_id == "customer-42"
        assert listed.page_info.has_next_page is False
        assert TOKEN not in (node.credential_preview or "")

        resolved = (
            await weir.resolve_connection(
                ResolveConnectionInput(
                    workspace_id=tenant.workspace_id,
                    integration_name=INTEGRATION,
                    end_user_external_id="customer-42",
                )
            )
        ).resolve_connection
        assert resolved.connection.id == connection_id
        assert resolved.resolved_by == ResolutionSource.END_USER

        ran = (
            await weir.execute_action(
                ExecuteActionInput(
                    integration_name=INTEGRATION,
                    action="ping",
                    input={"word": "hello"},
                    workspace_id=tenant.workspace_id,
                    end_user_external_id="customer-42",
                )
            )
        ).execute_action
        assert ran.connection_id == connection_id and ran.replayed is False
        assert ran.output["path"] == "/v1/echo/ping" and ran.output["query"] == "word=hello"

        proxied = await weir.proxy(
            "POST",
            "/echo/things",
            integration=INTEGRATION,
            workspace_id=tenant.workspace_id,
            end_user_external_id="customer-42",
            params={"limit": 5},
            json={"name": "x"},
        )
        assert proxied.status_code == 200
        body = proxied.json()
        assert body["method"] == "POST" and body["path"] == "/v1/echo/things" and body["query"] == "limit=5"
        assert body["headers"]["authorization"] == f"Bearer {TOKEN}"
        # A provider's own error comes back as it is, not as a WeirError.
        echo.controls.server_errors = 1
        failed = await weir.proxy("GET", "/limited", connection_id=connection_id)
        assert failed.status_code == 503 and failed.json() == {"message": "Service Unavailable"}

        sync = (
            await weir.create_elt_sync(
                CreateEltSyncInput(
                    connection_id=connection_id,
                    destination_schema_name="echo_items",
                    sync_interval="0 * * * *",
                    source_streams=[SourceStreamInput(name="items", sync_mode=SyncMode.FULL_REFRESH)],
                )
            )
        ).create_elt_sync
        assert sync.connection_id == connection_id and [s.name for s in sync.source_streams] == ["items"]
        syncs = (await weir.list_elt_syncs(filter_=EltSyncFilter(connection_id=connection_id))).elt_syncs
        assert [edge.node.id for edge in syncs.edges] == [sync.id]

        run = (await weir.trigger_sync_run(sync.id)).trigger_sync_run
        assert run.sync_id == sync.id and run.trigger == SyncRunTrigger.MANUAL
        assert run.status == SyncRunStatus.QUEUED
        runs = (await weir.list_sync_runs(sync_id=sync.id)).sync_runs
        assert [edge.node.id for edge in runs.edges] == [run.id]
        assert (await weir.get_sync_run(run.id)).sync_run.id == run.id

        with pytest.raises(WeirError) as busy:
            await weir.trigger_sync_run(sync.id)
        assert busy.value.code == "CONFLICT" and busy.value.path == ("triggerSyncRun",)

        # A credential the provider refuses: Weir's REAUTHORIZATION_REQUIRED, raised.
        echo.controls.tokens.clear()
        with pytest.raises(WeirError) as refused:
            await weir.proxy("GET", "/echo/x", connection_id=connection_id)
        assert (refused.value.code, refused.value.status) == ("REAUTHORIZATION_REQUIRED", 401)
        assert (await weir.get_connection(connection_id)).connection.status == ConnectionStatus.ERROR

        cancelled = (await weir.cancel_sync_run(run.id)).cancel_sync_run
        assert cancelled.id == run.id and cancelled.status == SyncRunStatus.CANCELLED
        assert (await weir.delete_elt_sync(sync.id)).delete_elt_sync.deleted_id == sync.id
        assert (await weir.delete_connection(connection_id)).delete_connection.deleted_id == connection_id
        with pytest.raises(WeirError) as gone:
            await weir.get_connection(connection_id)
        assert gone.value.code == "NOT_FOUND"


def _sync_host(base_url: str, key: str, workspace_id: str) -> dict[str, Any]:
    """The same calls with the blocking client (in a thread: the server runs on the test's loop)."""
    with Weir(base_url, key) as weir:
        session = weir.create_connect_session(
            CreateConnectSessionInput(workspace_id=workspace_id, integration_name=INTEGRATION)
        ).create_connect_session
        connected = asyncio.run(_connect(base_url, session.token))
        connection_id = connected["connectionId"]
        connection = weir.get_connection(connection_id).connection
        ran = weir.execute_action(
            ExecuteActionInput(
                integration_name=INTEGRATION,
                action="ping",
                input={"word": "sync"},
                workspace_id=workspace_id,
                connection_id=connection_id,
            )
        ).execute_action
        proxied = weir.proxy("GET", "echo/items", connection_id=connection_id)
        sync = weir.create_elt_sync(
            CreateEltSyncInput(
                connection_id=connection_id,
                destination_schema_name="echo_sync",
                sync_interval="0 * * * *",
                source_streams=[SourceStreamInput(name="items", sync_mode=SyncMode.FULL_REFRESH)],
            )
        ).create_elt_sync
        run = weir.trigger_sync_run(sync.id, full_refresh=True).trigger_sync_run
        with pytest.raises(WeirError) as invalid:
            weir.execute_action(
                ExecuteActionInput(
                    integration_name=INTEGRATION,
                    action="ping",
                    input={"word": 5},
                    workspace_id=workspace_id,
                    connection_id=connection_id,
                )
            )
        with pytest.raises(WeirError) as outside:
            weir.proxy("GET", "/echo/%2e%2e/%2e%2e/etc/passwd", connection_id=connection_id)
        return {
            "connection": connection,
            "ran": ran,
            "proxied": proxied,
            "run": run,
            "runs": weir.list_sync_runs(sync_id=sync.id).sync_runs,
            "invalid": invalid.value,
            "outside": outside.value,
        }


async def test_the_sync_client_makes_the_same_calls(base_url, tenant, echo):
    seen = await asyncio.to_thread(_sync_host, base_url, tenant.key, tenant.workspace_id)
    assert seen["connection"].integration_name == INTEGRATION
    assert seen["connection"].workspace.id == tenant.workspace_id
    assert seen["ran"].output["query"] == "word=sync"
    assert seen["proxied"].status_code == 200 and seen["proxied"].json()["path"] == "/v1/echo/items"
    assert seen["run"].full_refresh is True and seen["run"].status == SyncRunStatus.QUEUED
    assert [edge.node.id for edge in seen["runs"].edges] == [seen["run"].id]
    invalid = seen["invalid"]
    assert invalid.code == "VALIDATION_FAILED" and invalid.field is not None
    assert invalid.field.startswith("input.input")
    outside = seen["outside"]
    assert (outside.code, outside.status, outside.field) == ("VALIDATION_FAILED", 400, "path")


async def test_errors_carry_weirs_code_and_field(base_url, tenant, echo, settings):
    async with AsyncWeir(base_url, tenant.key) as weir:
        with pytest.raises(WeirError) as required:
            await weir.resolve_connection(
                ResolveConnectionInput(workspace_id=tenant.workspace_id, integration_name=INTEGRATION)
            )
        assert required.value.code == "CONNECTION_REQUIRED"
        with pytest.raises(WeirError) as unknown:
            await weir.resolve_connection(
                ResolveConnectionInput(
                    workspace_id=tenant.workspace_id,
                    integration_name=INTEGRATION,
                    end_user_external_id="nobody",
                )
            )
        assert unknown.value.code == "NOT_FOUND" and unknown.value.path == ("resolveConnection",)
        with pytest.raises(WeirError) as proxy_required:
            await weir.proxy("GET", "/echo/x", integration=INTEGRATION, workspace_id=tenant.workspace_id)
        assert (proxy_required.value.code, proxy_required.value.status) == ("CONNECTION_REQUIRED", 409)
        with pytest.raises(WeirError) as invalid:
            await weir.create_connect_session(
                CreateConnectSessionInput(
                    workspace_id=tenant.workspace_id, redirect_uri="javascript:alert(1)"
                )
            )
        assert invalid.value.code == "VALIDATION_FAILED" and invalid.value.field == "input.redirectUri"
        assert invalid.value.fields[0].message

        # The provider asks to wait longer than Weir waits: RATE_LIMITED with its Retry-After.
        connection = await add_connection(settings, tenant, INTEGRATION)
        echo.controls.rate_limit_once(retry_after=60)
        with pytest.raises(WeirError) as limited:
            await weir.proxy("GET", "/limited", connection_id=connection.id)
        assert (limited.value.code, limited.value.status, limited.value.retry_after) == (
            "RATE_LIMITED",
            429,
            60,
        )

    async with AsyncWeir(base_url, "wk_not_a_key") as stranger:
        with pytest.raises(WeirError) as unauthenticated:
            await stranger.list_connections()
        assert (unauthenticated.value.code, unauthenticated.value.status) == ("UNAUTHENTICATED", 401)
        with pytest.raises(WeirError) as proxy_unauthenticated:
            await stranger.proxy("GET", "/echo/x", integration=INTEGRATION)
        assert proxy_unauthenticated.value.code == "UNAUTHENTICATED"


def test_an_answer_that_is_not_weirs_is_bad_response():
    # A proxy in front of Weir answering with its own page: no code to carry but the status.
    request = httpx.Request("POST", "http://weir.test/graphql")
    error = WeirError.from_response(httpx.Response(502, text="<html>Bad Gateway</html>", request=request))
    assert (error.code, error.status, error.field) == ("BAD_RESPONSE", 502, None)
    assert "Bad Gateway" in error.message
