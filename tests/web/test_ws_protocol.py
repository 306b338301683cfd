"""Weir's graphql-transport-ws handler: the protocol's rules and close codes, and feeds (one run
of a ``syncRunUpdated`` subscription per process for all its identical subscribers)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import websockets
from starlette.routing import WebSocketRoute

from server.web.ws_messages import TOO_SLOW
from server.web.ws_protocol import Connection, GraphQLTransportWS
from server.web.ws_server import Written
from tests.graphql_ws import GraphQLWebSocket
from tests.serving import serve

RUNS = """subscription Runs($w: ID) {
  syncRunUpdated(workspaceId: $w) { id status }
}"""
WORKSPACE = "subscription($id: ID!) { workspaceUpdated(id: $id) { id } }"


async def open_socket(host: str, subprotocols: list[str] | None = None) -> Any:
    return await websockets.connect(
        f"ws://{host}/graphql", subprotocols=subprotocols or ["graphql-transport-ws"]
    )


async def send(socket: Any, message: Any) -> None:
    await socket.send(message if isinstance(message, (str, bytes)) else json.dumps(message))


async def receive(socket: Any, timeout: float = 5.0) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(socket.recv(), timeout))


async def close_of(socket: Any) -> tuple[int, str]:
    """The code and reason the server closed ``socket`` with."""
    with pytest.raises(websockets.ConnectionClosed) as closed:
        while True:
            await asyncio.wait_for(socket.recv(), 5)
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code, closed.value.rcvd.reason


async def initialised(host: str, tenant: Any) -> Any:
    socket = await open_socket(host)
    await send(socket, {"type": "connection_init", "payload": {"authorization": f"Bearer {tenant.key}"}})
    assert await receive(socket) == {"type": "connection_ack", "payload": None}
    return socket


async def settled(socket: Any) -> None:
    """Wait until the server has handled everything sent on ``socket`` before (a ping's pong
    comes after it)."""
    await send(socket, {"type": "ping"})
    while (await receive(socket))["type"] != "pong":
        pass


async def nothing_more(socket: Any) -> None:
    with pytest.raises((asyncio.TimeoutError, TimeoutError)):
        message = await receive(socket, timeout=0.5)
        pytest.fail(f"unexpected message {message}")


def endpoint_of(app: Any) -> GraphQLTransportWS:
    return next(route.endpoint for route in app.routes if isinstance(route, WebSocketRoute))


# -- the protocol ---------------------------------------------------------------------------------


async def test_ping_is_answered_with_pong_and_pong_is_ignored(live_server, tenant):
    socket = await initialised(live_server, tenant)
    await send(socket, {"type": "pong"})
    await send(socket, {"type": "ping", "payload": {"at": 1}})
    assert await receive(socket) == {"type": "pong"}
    await socket.close()


@pytest.mark.parametrize("payload", [{}, {"authorization": "Bearer weir_sk_wrong"}, {"authorization": 42}])
async def test_a_bad_key_closes_with_4403(live_server, payload):
    socket = await open_socket(live_server)
    await send(socket, {"type": "connection_init", "payload": payload})
    assert await close_of(socket) == (4403, "Forbidden")


async def test_subscribe_before_connection_init_closes_with_4401(live_server):
    socket = await open_socket(live_server)
    await send(socket, {"id": "1", "type": "subscribe", "payload": {"query": "{ __typename }"}})
    assert await close_of(socket) == (4401, "Unauthorized")


async def test_a_second_connection_init_closes_with_4429(live_server, tenant):
    socket = await initialised(live_server, tenant)
    await send(socket, {"type": "connection_init", "payload": {}})
    assert await close_of(socket) == (4429, "Too many initialisation requests")


async def test_an_id_in_use_closes_with_4409(live_server, tenant):
    socket = await initialised(live_server, tenant)
    subscribe = {
        "id": "a",
        "type": "subscribe",
        "payload": {"query": WORKSPACE, "variables": {"id": tenant.workspace_id}},
    }
    await send(socket, subscribe)
    assert (await receive(socket))["type"] == "next"
    await send(socket, subscribe)
    assert await close_of(socket) == (4409, "Subscriber for a already exists")


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ("not json", "WebSocket message must be valid JSON"),
        (b'{"type": "ping"}', "WebSocket message type must be text"),
        ({"type": "hello"}, "Unknown message type: hello"),
        ({"payload": {}}, "Failed to parse message"),
        ([1, 2], "Failed to parse message"),
        (
            {"type": "subscribe", "payload": {"query": "{ __typename }"}},
            "Invalid subscribe message: 'id' must be a string",
        ),
        (
            {"id": 1, "type": "subscribe", "payload": {"query": "{ __typename }"}},
            "Invalid subscribe message: 'id' must be a string",
        ),
        (
            {"id": "1", "type": "subscribe", "payload": {}},
            "Invalid subscribe payload: 'query' must be a string",
        ),
        (
            {"id": "1", "type": "subscribe", "payload": "query"},
            "Invalid subscribe message: 'payload' must be an object",
        ),
        ({"id": "1", "type": "subscribe"}, "Invalid subscribe message: 'payload' must be an object"),
        (
            {"id": "1", "type": "subscribe", "payload": {"query": 42}},
            "Invalid subscribe payload: 'query' must be a string",
        ),
        (
            {"id": "1", "type": "subscribe", "payload": {"query": "{ __typename }", "operationName": 7}},
            "Invalid subscribe payload: 'operationName' must be a string or null",
        ),
        (
            {"id": "1", "type": "subscribe", "payload": {"query": "{ __typename }", "variables": [1]}},
            "Invalid subscribe payload: 'variables' must be an object or null",
        ),
        (
            {"id": "1", "type": "subscribe", "payload": {"query": "{ __typename }", "extensions": "x"}},
            "Invalid subscribe payload: 'extensions' must be an object or null",
        ),
        ({"type": "ping", "payload": "x"}, "Invalid ping message: 'payload' must be an object or null"),
        ({"type": "pong", "payload": [1]}, "Invalid pong message: 'payload' must be an object or null"),
        ({"type": "complete"}, "Invalid complete message: 'id' must be a string"),
        ("[" * 2000 + "]" * 2000, "WebSocket message: JSON nested deeper than 64 levels"),
        (
            '{"type": "ping", "payload": ' + '{"a":' * 100 + "1" + "}" * 101,
            "WebSocket message: JSON nested deeper than 64 levels",
        ),
    ],
)
async def test_an_invalid_message_closes_with_4400(live_server, tenant, message, reason):
    socket = await initialised(live_server, tenant)
    await send(socket, message)
    assert await close_of(socket) == (4400, reason)


async def test_a_connection_init_payload_that_is_not_an_object_closes_with_4400(live_server):
    socket = await open_socket(live_server)
    await send(socket, {"type": "connection_init", "payload": "key"})
    assert await close_of(socket) == (4400, "Invalid connection init payload")


async def test_a_document_that_does_not_parse_is_one_error_message(live_server, tenant):
    # Weir's error formatter turns the syntax error into a client error (as Strawberry's own
    # handler saw it too), so this is an `error` message rather than a 4400 close.
    socket = await initialised(live_server, tenant)
    await send(socket, {"id": "1", "type": "subscribe", "payload": {"query": "subscription {"}})
    error = await receive(socket)
    assert (error["id"], error["type"]) == ("1", "error")
    assert error["payload"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert "Syntax Error" in error["payload"][0]["message"]
    await settled(socket)
    await socket.close()


async def test_an_invalid_operation_is_one_error_message_and_frees_its_id(live_server, tenant):
    socket = await initialised(live_server, tenant)
    await send(socket, {"id": "1", "type": "subscribe", "payload": {"query": "subscription { noSuchField }"}})
    error = await receive(socket)
    assert error["id"] == "1" and error["type"] == "error"
    assert "noSuchField" in error["payload"][0]["message"]
    await send(socket, {"id": "1", "type": "subscribe", "payload": {"query": "{ __typename }"}})
    assert await receive(socket) == {"id": "1", "type": "next", "payload": {"data": {"__typename": "Query"}}}
    assert await receive(socket) == {"id": "1", "type": "complete"}
    await socket.close()


async def test_an_operation_name_that_is_not_a_string_closes_with_4400(live_server, tenant):
    socket = await initialised(live_server, tenant)
    await send(
        socket,
        {"id": "1", "type": "subscribe", "payload": {"query": RUNS, "operationName": {"not": "a name"}}},
    )
    assert await close_of(socket) == (
        4400,
        "Invalid subscribe payload: 'operationName' must be a string or null",
    )


@pytest.mark.parametrize("init", [{"type": "connection_init", "payload": None}, {"type": "connection_init"}])
async def test_a_null_or_absent_connection_init_payload_is_allowed(live_server, init):
    # PROTOCOL.md: the payload is optional and may be null; with no key in it, that is a 4403.
    socket = await open_socket(live_server)
    await send(socket, init)
    assert await close_of(socket) == (4403, "Forbidden")


async def test_null_operation_name_variables_and_extensions_are_allowed(live_server, tenant):
    socket = await initialised(live_server, tenant)
    await send(
        socket,
        {
            "id": "1",
            "type": "subscribe",
            "payload": {
                "query": "{ __typename }",
                "operationName": None,
                "variables": None,
                "extensions": None,
            },
        },
    )
    assert await receive(socket) == {"id": "1", "type": "next", "payload": {"data": {"__typename": "Query"}}}
    assert await receive(socket) == {"id": "1", "type": "complete"}
    await send(socket, {"type": "ping", "payload": None})
    assert await receive(socket) == {"type": "pong"}
    await socket.close()


async def test_another_subprotocol_closes_with_4406(live_server):
    socket = await open_socket(live_server, ["graphql-ws"])
    assert await close_of(socket) == (4406, "Subprotocol not acceptable")


async def test_complete_from_the_client_stops_the_operation_and_frees_its_id(live_server, tenant, app):
    socket = await initialised(live_server, tenant)
    subscribe = {
        "id": "w",
        "type": "subscribe",
        "payload": {"query": WORKSPACE, "variables": {"id": tenant.workspace_id}},
    }
    await send(socket, subscribe)
    assert (await receive(socket))["type"] == "next"
    await send(socket, {"id": "w", "type": "complete"})
    await send(socket, subscribe)  # the id is free again: no 4409
    assert (await receive(socket))["payload"]["data"]["workspaceUpdated"]["id"] == (tenant.workspace_id)
    await socket.close()


@pytest.mark.parametrize("leave", ["complete", "close"])
async def test_a_mutation_its_client_abandons_runs_to_its_end_unheard(live_server, tenant, leave):
    """As over HTTP when the client goes: a cancel landing in a transaction's BEGIN would leave
    the database connection inside it, so a client must not be able to cancel a mutation."""
    socket = await initialised(live_server, tenant)
    for number in range(10):
        await send(
            socket,
            {
                "id": f"m{number}",
                "type": "subscribe",
                "payload": {
                    "query": "mutation($w: ID!, $e: String!) { createEndUser(input: {workspaceId: $w, externalId: $e}) { id } }",
                    "variables": {"w": tenant.workspace_id, "e": f"abandoned-{number}"},
                },
            },
        )
        if leave == "complete":
            await send(socket, {"id": f"m{number}", "type": "complete"})
    if leave == "complete":
        await nothing_more(socket)  # no result after the client's complete
    await socket.close()
    deadline = asyncio.get_running_loop().time() + 10
    while True:
        listed = await tenant.graphql("query { endUsers(first: 50) { edges { node { externalId } } } }")
        names = {edge["node"]["externalId"] for edge in listed["data"]["endUsers"]["edges"]}
        if names >= {f"abandoned-{number}" for number in range(10)}:
            break
        assert asyncio.get_running_loop().time() < deadline, names
        await asyncio.sleep(0.1)
    # And the database is free: the next mutation answers at once.
    created = await tenant.graphql(
        'mutation($w: ID!) { createEndUser(input: {workspaceId: $w, externalId: "after"}) { id } }',
        {"w": tenant.workspace_id},
    )
    assert "errors" not in created, created


# -- feeds ------------------------------------------------------------------------------------


@pytest.fixture(params=["direct", "asgi"])
async def server(request, app) -> AsyncIterator[str]:
    """Weir's protocol (frames written straight to the socket) and uvicorn's own (every
    message through ASGI ``send``)."""
    from server.web.ws_server import WeirWebSocketProtocol

    protocol = WeirWebSocketProtocol if request.param == "direct" else "websockets-sansio"
    async with serve(app, ws=protocol) as url:
        yield url.removeprefix("http://")


async def seed_runs(tenant: Any, count: int) -> tuple[str, list[str]]:
    from server import ids
    from server.connections.models import Connection as ConnectionRow
    from server.syncs.models import EltSync, SyncRun

    connection = await ConnectionRow.create(
        id=ids.new_id("connection"),
        organization_id=tenant.organization_id,
        workspace_id=tenant.workspace_id,
        integration_name="demo",
        auth_type="NONE",
        scope="WORKSPACE",
        display_name="feeds",
    )
    sync = await EltSync.create(
        id=ids.new_id("elt_sync"),
        organization_id=tenant.organization_id,
        workspace_id=tenant.workspace_id,
        connection=connection,
        destination_schema="feeds",
        settings={},
        sync_interval="0 0 1 1 *",
    )
    runs = []
    for _ in range(count):
        run = await SyncRun.create(
            id=ids.new_id("sync_run"),
            organization_id=tenant.organization_id,
            sync=sync,
            trigger="MANUAL",
            status="SUCCEEDED",
            stream_stats={},
        )
        runs.append(run.id)
    return sync.id, runs


async def publish_run(app: Any, organization_id: str, workspace_id: str, sync_id: str, run_id: str) -> None:
    from server.syncs.transitions import run_channels

    bus = app.state.runtime.services.bus
    await bus.publish(
        run_channels(organization_id, sync_id, workspace_id)[-1],
        {"type": "syncRun.progress", "runId": run_id, "syncId": sync_id},
    )


async def subscribe_runs(socket: Any, operation_id: str, workspace_id: str) -> None:
    await send(
        socket,
        {
            "id": operation_id,
            "type": "subscribe",
            "payload": {"query": RUNS, "variables": {"w": workspace_id}},
        },
    )


async def test_identical_subscribers_share_one_feed_and_each_get_one_snapshot_then_each_event(
    server, app, tenant
):
    sync_id, runs = await seed_runs(tenant, 2)
    latest, other = max(runs), min(runs)
    sockets = [await initialised(server, tenant) for _ in range(4)]
    # Two join before the feed has its first result, two after it (their own snapshot).
    await asyncio.gather(*(subscribe_runs(s, "1", tenant.workspace_id) for s in sockets[:2]))
    for socket in sockets[:2]:
        assert await receive(socket) == {
            "id": "1",
            "type": "next",
            "payload": {"data": {"syncRunUpdated": {"id": latest, "status": "SUCCEEDED"}}},
        }
    await subscribe_runs(sockets[2], "1", tenant.workspace_id)
    await subscribe_runs(sockets[3], "x", tenant.workspace_id)
    for socket in sockets[2:]:
        assert (await receive(socket))["payload"]["data"]["syncRunUpdated"]["id"] == latest
    assert len(endpoint_of(app).feeds) == 1

    await publish_run(app, tenant.organization_id, tenant.workspace_id, sync_id, other)
    for socket, operation_id in zip(sockets, ["1", "1", "1", "x"], strict=True):
        assert await receive(socket) == {
            "id": operation_id,
            "type": "next",
            "payload": {"data": {"syncRunUpdated": {"id": other, "status": "SUCCEEDED"}}},
        }
    await asyncio.gather(*(nothing_more(socket) for socket in sockets))

    for socket, operation_id in zip(sockets, ["1", "1", "1", "x"], strict=True):
        await send(socket, {"id": operation_id, "type": "complete"})
        await settled(socket)
    assert len(endpoint_of(app).feeds) == 0  # the last one out stops the feed
    for socket in sockets:
        await socket.close()


async def test_a_feed_starts_with_the_first_event_when_there_is_no_run_yet(server, app, tenant):
    sockets = [await initialised(server, tenant) for _ in range(2)]
    for socket in sockets:
        await subscribe_runs(socket, "1", tenant.workspace_id)
        await settled(socket)
    sync_id, (run,) = await seed_runs(tenant, 1)
    await publish_run(app, tenant.organization_id, tenant.workspace_id, sync_id, run)
    firsts = [await receive(socket) for socket in sockets]
    for first in firsts:
        assert first["payload"]["data"]["syncRunUpdated"]["id"] == run
    # The pong of `settled` says the subscribe was handled, not that the feed's first read of
    # the latest run finished: on a slow machine that read can already see the seeded run, and
    # the run then comes once as the snapshot and once as the event. Nothing else may follow.
    await asyncio.gather(*(nothing_but(socket, first) for socket, first in zip(sockets, firsts, strict=True)))
    for socket in sockets:
        await socket.close()


async def nothing_but(socket: Any, repeat: dict[str, Any]) -> None:
    """No message, or only ``repeat`` once more, within the quiet period."""
    try:
        message = await receive(socket, timeout=0.5)
    except TimeoutError:
        return
    assert message == repeat, f"unexpected message {message}"
    await nothing_more(socket)


async def test_feeds_never_cross_organizations(server, app, tenant, other_tenant):
    sync_id, (run,) = await seed_runs(tenant, 1)
    mine = await initialised(server, tenant)
    theirs = await initialised(server, other_tenant)
    await subscribe_runs(mine, "1", tenant.workspace_id)
    assert (await receive(mine))["type"] == "next"
    await subscribe_runs(theirs, "1", other_tenant.workspace_id)
    await settled(theirs)
    assert len(endpoint_of(app).feeds) == 2

    # A run of the first organization announced on the other's channel is filtered out.
    await publish_run(app, other_tenant.organization_id, other_tenant.workspace_id, sync_id, run)
    await publish_run(app, tenant.organization_id, tenant.workspace_id, sync_id, run)
    assert (await receive(mine))["payload"]["data"]["syncRunUpdated"]["id"] == run
    await nothing_more(theirs)

    # Another organization's workspace: NOT_FOUND, then none of its runs.
    intruder = await initialised(server, other_tenant)
    await subscribe_runs(intruder, "1", tenant.workspace_id)
    refused = await receive(intruder)
    assert refused["type"] == "next" and refused["payload"]["data"] is None
    assert refused["payload"]["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert await receive(intruder) == {"id": "1", "type": "complete"}
    await publish_run(app, tenant.organization_id, tenant.workspace_id, sync_id, run)
    assert (await receive(mine))["payload"]["data"]["syncRunUpdated"]["id"] == run
    await nothing_more(intruder)
    for socket in (mine, theirs, intruder):
        await socket.close()


async def test_subscribers_whose_first_result_is_an_error_each_run_alone(server, app, tenant):
    from server.orgs.api_keys import create_api_key

    # A key restricted to one workspace may not follow the runs of the whole organization.
    restricted = await create_api_key(
        organization_id=tenant.organization_id, name="one", workspace_id=tenant.workspace_id
    )
    sockets = []
    for _ in range(2):
        socket = await open_socket(server)
        await send(
            socket, {"type": "connection_init", "payload": {"authorization": f"Bearer {restricted.secret}"}}
        )
        assert (await receive(socket))["type"] == "connection_ack"
        sockets.append(socket)
    await asyncio.gather(
        *(
            send(
                s,
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {"query": "subscription { syncRunUpdated { id } }"},
                },
            )
            for s in sockets
        )
    )
    for socket in sockets:
        refused = await receive(socket)
        assert refused["type"] == "next" and refused["payload"]["data"] is None
        assert refused["payload"]["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert await receive(socket) == {"id": "1", "type": "complete"}
    await asyncio.gather(*(nothing_more(socket) for socket in sockets))
    assert len(endpoint_of(app).feeds) == 0
    for socket in sockets:
        await socket.close()


async def test_a_closed_connection_leaves_its_feed(server, app, tenant):
    socket = await initialised(server, tenant)
    await subscribe_runs(socket, "1", tenant.workspace_id)
    await settled(socket)
    assert len(endpoint_of(app).feeds) == 1
    await socket.close()
    for _ in range(100):
        if not len(endpoint_of(app).feeds):
            break
        await asyncio.sleep(0.05)
    assert len(endpoint_of(app).feeds) == 0


async def test_the_helper_client_still_speaks_the_protocol(live_server, tenant):
    ws = await GraphQLWebSocket.connect(live_server, f"Bearer {tenant.key}")
    assert (await ws.acknowledged())["type"] == "connection_ack"
    await ws.close()


# -- peers that stop reading ------------------------------------------------------------------


class _Endpoint:
    def __init__(self) -> None:
        from server.api.context import Services

        self.services = Services(settings=None, bus=None, key_ring=None)  # type: ignore[arg-type]


class _FullSocket:
    def __init__(self) -> None:
        self.closed_with: tuple[int, str] | None = None

    def write(self, frame: bytes) -> Written:
        return Written.TOO_SLOW

    def close_slow_peer(self, code: int, reason: str) -> None:
        self.closed_with = (code, reason)


async def test_a_peer_whose_socket_buffer_is_full_is_closed_not_buffered():
    socket = _FullSocket()
    connection = Connection(
        _Endpoint(),
        {"extensions": {"weir.direct_socket": socket}},  # type: ignore[arg-type]
        receive=None,
        send=None,
    )
    connection.write('{"type":"pong"}')
    assert socket.closed_with == (TOO_SLOW, "subscriber too slow")
    assert connection.closed


async def test_without_direct_writes_a_peer_that_never_reads_is_closed_after_a_bounded_outbox():
    from server.web.ws_writer import SLOW_PEER_MESSAGES

    sent: list[dict[str, Any]] = []
    stuck = asyncio.Event()

    async def asgi_send(message: dict[str, Any]) -> None:
        sent.append(message)
        if message["type"] == "websocket.send":
            await stuck.wait()  # the peer never reads

    connection = Connection(_Endpoint(), {}, receive=None, send=asgi_send)  # type: ignore[arg-type]
    for index in range(SLOW_PEER_MESSAGES + 2):  # the first is being sent, the rest wait
        connection.write(f'{{"n":{index}}}')
        await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert [m["type"] for m in sent].count("websocket.send") == 1
    assert sent[-1] == {"type": "websocket.close", "code": TOO_SLOW, "reason": "subscriber too slow"}
    assert len(connection.outbox) == 0 and connection.closed


# -- origins ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("origin", "accepted"),
    [
        (None, True),  # not a browser
        ("http://127.0.0.1:8080", True),  # listed in WEIR_CORS_ORIGINS
        ("http://evil.test", False),
    ],
)
async def test_a_browser_on_an_unlisted_origin_cannot_open_the_socket(settings, origin, accepted):
    from server.embedded import create_app
    from server.web.ws_server import WeirWebSocketProtocol

    application = create_app(settings.replace(cors_origins=("http://127.0.0.1:8080",)))
    async with application.router.lifespan_context(application):
        async with serve(application, ws=WeirWebSocketProtocol) as url:
            host = url.removeprefix("http://")
            headers = {"Origin": origin} if origin else {}
            if accepted:
                socket = await websockets.connect(
                    f"ws://{host}/graphql", origin=origin, subprotocols=["graphql-transport-ws"]
                )
                assert socket.subprotocol == "graphql-transport-ws"
                await socket.close()
            else:
                with pytest.raises(websockets.InvalidStatus) as refused:
                    await websockets.connect(
                        f"ws://{host}/graphql",
                        additional_headers=headers,
                        subprotocols=["graphql-transport-ws"],
                    )
                assert refused.value.response.status_code == 403
