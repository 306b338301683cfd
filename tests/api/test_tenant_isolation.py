"""Tenant boundaries, walked over every operation of the schema.

- Another organization's objects are invisible: every operation, called with their ids, is
  NOT_FOUND, and every subscription neither reaches them nor hears their events.
- A workspace-restricted key is the same towards the other workspaces of its organization, and
  may read, but never use or change, an ORGANIZATION connection (FORBIDDEN).
- A connect token runs only its own session's operations; everything else is FORBIDDEN.

``OPERATIONS`` must name every query and mutation and ``SUBSCRIPTIONS`` every subscription of
the schema (a test checks it), so a new operation cannot be added without saying how it stays
inside its tenant.
"""

import pytest

from server.api.schema import build_schema
from server.webhooks.models import WebhookDelivery, WebhookEvent
from tests.graphql_ws import GraphQLWebSocket
from tests.integrations.definitions import oauth_definition

# Each entry: (document, variables built from the victim's ids). None = no id to leak through.
OPERATIONS = {
    "viewer": ("{ viewer { organization { id } } }", None),
    "integrations": ("{ integrations { name } }", None),
    "integration": ('{ integration(name: "demo") { name } }', None),
    "workspaces": ("{ workspaces { edges { node { id } } } }", None),
    "workspace": ("query($id: ID!) { workspace(id: $id) { id } }", lambda v: {"id": v["workspace"]}),
    "endUsers": (
        "query($w: ID) { endUsers(workspaceId: $w) { edges { node { id } } } }",
        lambda v: {"w": v["workspace"]},
    ),
    "endUser": ("query($id: ID!) { endUser(id: $id) { id } }", lambda v: {"id": v["end_user"]}),
    "apiKeys": ("{ apiKeys { edges { node { id } } } }", None),
    "createWorkspace": ('mutation { createWorkspace(input: {name: "mine"}) { id } }', None),
    "updateWorkspace": (
        'mutation($id: ID!) { updateWorkspace(input: {id: $id, displayName: "pwned"}) { id } }',
        lambda v: {"id": v["workspace"]},
    ),
    "createEndUser": (
        'mutation($w: ID!) { createEndUser(input: {workspaceId: $w, externalId: "x"}) { id } }',
        lambda v: {"w": v["workspace"]},
    ),
    "deleteEndUser": (
        "mutation($id: ID!) { deleteEndUser(id: $id) { deletedId } }",
        lambda v: {"id": v["end_user"]},
    ),
    "createApiKey": (
        'mutation($w: ID) { createApiKey(input: {name: "x", workspaceId: $w}) { secret } }',
        lambda v: {"w": v["workspace"]},
    ),
    "revokeApiKey": ("mutation($id: ID!) { revokeApiKey(id: $id) { id } }", lambda v: {"id": v["api_key"]}),
    "connections": (
        "query($w: ID) { connections(filter: {workspaceId: $w}) { edges { node { id externalId } } } }",
        lambda v: {"w": v["workspace"]},
    ),
    "connection": ("query($id: ID!) { connection(id: $id) { id } }", lambda v: {"id": v["connection"]}),
    "createConnection": (
        'mutation($w: ID) { createConnection(input: {integrationName: "demo", authType: NONE, '
        "scope: WORKSPACE, workspaceId: $w}) { id } }",
        lambda v: {"w": v["workspace"]},
    ),
    "deleteConnection": (
        "mutation($id: ID!) { deleteConnection(id: $id) { deletedId } }",
        lambda v: {"id": v["connection"]},
    ),
    "testConnection": (
        "mutation($id: ID!) { testConnection(id: $id) { ok } }",
        lambda v: {"id": v["connection"]},
    ),
    "resolveConnection": (
        'mutation($w: ID!) { resolveConnection(input: {workspaceId: $w, integrationName: "demo", '
        'externalId: "secret-conn"}) { connection { id } } }',
        lambda v: {"w": v["workspace"]},
    ),
    "workspaceIntegrations": (
        "query($w: ID!) { workspaceIntegrations(workspaceId: $w) { edges { node { integrationName } } } }",
        lambda v: {"w": v["workspace"]},
    ),
    "configureWorkspaceIntegration": (
        "mutation($w: ID!) { configureWorkspaceIntegration(input: {workspaceId: $w, "
        'integrationName: "demo", enabled: false}) { id } }',
        lambda v: {"w": v["workspace"]},
    ),
    "webhookEndpoints": (
        "query($w: ID) { webhookEndpoints(workspaceId: $w) { edges { node { id url } } } }",
        lambda v: {"w": v["workspace"]},
    ),
    "webhookEndpoint": (
        "query($id: ID!) { webhookEndpoint(id: $id) { id url } }",
        lambda v: {"id": v["webhook_endpoint"]},
    ),
    "webhookDeliveries": (
        "query($id: ID!) { webhookDeliveries(endpointId: $id) { edges { node { id } } } }",
        lambda v: {"id": v["webhook_endpoint"]},
    ),
    "webhookEvents": ("{ webhookEvents { edges { node { id data } } } }", None),
    "createWebhookEndpoint": (
        "mutation($w: ID!) { createWebhookEndpoint(input: {workspaceId: $w, "
        'url: "http://127.0.0.1:9/mine", eventTypes: [CONNECTION_CREATED]}) { secret } }',
        lambda v: {"w": v["workspace"]},
    ),
    "updateWebhookEndpoint": (
        "mutation($id: ID!) { updateWebhookEndpoint(input: {id: $id, enabled: false}) { id } }",
        lambda v: {"id": v["webhook_endpoint"]},
    ),
    "rotateWebhookSecret": (
        "mutation($id: ID!) { rotateWebhookSecret(input: {id: $id}) { secret } }",
        lambda v: {"id": v["webhook_endpoint"]},
    ),
    "deleteWebhookEndpoint": (
        "mutation($id: ID!) { deleteWebhookEndpoint(id: $id) { deletedId } }",
        lambda v: {"id": v["webhook_endpoint"]},
    ),
    "redeliverWebhookEvent": (
        "mutation($id: ID!) { redeliverWebhookEvent(eventId: $id) { id } }",
        lambda v: {"id": v["webhook_event"]},
    ),
    "connectionSettingsSchema": (
        "query($id: ID!) { connectionSettingsSchema(connectionId: $id) }",
        lambda v: {"id": v["connection"]},
    ),
    "connectionStreams": (
        "query($id: ID!) { connectionStreams(connectionId: $id) { name } }",
        lambda v: {"id": v["connection"]},
    ),
    "createEltSync": (
        "mutation($c: ID!) { createEltSync(input: {connectionId: $c, destinationSchemaName: "
        '"stolen", syncInterval: "0 * * * *"}) { id } }',
        lambda v: {"c": v["connection"]},
    ),
    "eltSyncs": (
        "query($w: ID) { eltSyncs(filter: {workspaceId: $w}) { edges { node { id } } } }",
        lambda v: {"w": v["workspace"]},
    ),
    "eltSync": ("query($id: ID!) { eltSync(id: $id) { id } }", lambda v: {"id": v["sync"]}),
    "updateEltSync": (
        'mutation($id: ID!) { updateEltSync(input: {id: $id, syncInterval: "0 0 * * *"}) { id } }',
        lambda v: {"id": v["sync"]},
    ),
    "addSourceStreams": (
        "mutation($id: ID!) { addSourceStreams(input: {syncId: $id, sourceStreams: "
        '[{name: "deals", syncMode: INCREMENTAL}]}) { id } }',
        lambda v: {"id": v["sync"]},
    ),
    "removeSourceStreams": (
        'mutation($id: ID!) { removeSourceStreams(input: {syncId: $id, names: ["contacts"]}) { id } }',
        lambda v: {"id": v["sync"]},
    ),
    "enableEltSync": ("mutation($id: ID!) { enableEltSync(id: $id) { id } }", lambda v: {"id": v["sync"]}),
    "disableEltSync": ("mutation($id: ID!) { disableEltSync(id: $id) { id } }", lambda v: {"id": v["sync"]}),
    "triggerSyncRun": (
        "mutation($id: ID!) { triggerSyncRun(syncId: $id) { id } }",
        lambda v: {"id": v["sync"]},
    ),
    "syncRuns": (
        "query($id: ID!) { syncRuns(syncId: $id) { edges { node { id } } } }",
        lambda v: {"id": v["sync"]},
    ),
    "syncRun": ("query($id: ID!) { syncRun(id: $id) { id } }", lambda v: {"id": v["run"]}),
    "cancelSyncRun": ("mutation($id: ID!) { cancelSyncRun(runId: $id) { id } }", lambda v: {"id": v["run"]}),
    "deleteEltSync": (
        "mutation($id: ID!) { deleteEltSync(id: $id) { deletedId } }",
        lambda v: {"id": v["sync"]},
    ),
    "createConnectSession": (
        "mutation($w: ID!) { createConnectSession(input: {workspaceId: $w, "
        'integrationName: "demo"}) { token } }',
        lambda v: {"w": v["workspace"]},
    ),
    "connectSession": (
        "query($id: ID!) { connectSession(id: $id) { id status } }",
        lambda v: {"id": v["connect_session"]},
    ),
    "cancelConnectSession": (
        "mutation($id: ID!) { cancelConnectSession(id: $id) { id } }",
        lambda v: {"id": v["connect_session"]},
    ),
    "customIntegrations": (
        "query($w: ID) { customIntegrations(workspaceId: $w) { edges { node { id name } } } }",
        lambda v: {"w": v["workspace"]},
    ),
    "createCustomIntegration": (
        "mutation($w: ID) { createCustomIntegration(input: {workspaceId: $w, definition: {}}) { id } }",
        lambda v: {"w": v["workspace"]},
    ),
    "updateCustomIntegration": (
        "mutation($id: ID!) { updateCustomIntegration(input: {id: $id, definition: {}}) { id } }",
        lambda v: {"id": v["custom_integration"]},
    ),
    "deleteCustomIntegration": (
        "mutation($id: ID!) { deleteCustomIntegration(id: $id) { deletedId } }",
        lambda v: {"id": v["custom_integration"]},
    ),
    "calls": (
        "query($w: ID) { calls(filter: {workspaceId: $w}) { edges { node { id connectionId } } } }",
        lambda v: {"w": v["workspace"]},
    ),
    "auditLog": (
        "query($w: ID) { auditLog(filter: {workspaceId: $w}) { edges { node { id objectId } } } }",
        lambda v: {"w": v["workspace"]},
    ),
    "executeAction": (
        'mutation($w: ID!, $c: ID) { executeAction(input: {integrationName: "kv_store", '
        'action: "get", workspaceId: $w, connectionId: $c, input: {key: "k"}}) { replayed } }',
        lambda v: {"w": v["workspace"], "c": v["connection"]},
    ),
    "mcpServers": (
        "query($w: ID) { mcpServers(workspaceId: $w) { id name tokens { id } } }",
        lambda v: {"w": v["workspace"]},
    ),
    "mcpServer": ("query($id: ID!) { mcpServer(id: $id) { id } }", lambda v: {"id": v["mcp_server"]}),
    "createMcpServer": (
        'mutation($w: ID!) { createMcpServer(input: {workspaceId: $w, name: "x", integrations: ["demo"]}) '
        "{ id } }",
        lambda v: {"w": v["workspace"]},
    ),
    "updateMcpServer": (
        'mutation($id: ID!) { updateMcpServer(input: {id: $id, name: "pwned"}) { id } }',
        lambda v: {"id": v["mcp_server"]},
    ),
    "deleteMcpServer": (
        "mutation($id: ID!) { deleteMcpServer(id: $id) { deletedId } }",
        lambda v: {"id": v["mcp_server"]},
    ),
    "createMcpToken": (
        'mutation($id: ID!) { createMcpToken(input: {mcpServerId: $id, name: "x"}) { secret } }',
        lambda v: {"id": v["mcp_server"]},
    ),
    "revokeMcpToken": (
        "mutation($id: ID!) { revokeMcpToken(id: $id) { id } }",
        lambda v: {"id": v["mcp_token"]},
    ),
    # Connect-token operations act on the token's own session: an API key is FORBIDDEN.
    "connectSessionState": ("{ connectSessionState { id } }", None),
    "selectIntegration": ('mutation { selectIntegration(input: {integrationName: "demo"}) { id } }', None),
    "startOAuth": ("mutation { startOAuth { authorizeUrl } }", None),
    "submitCredentials": ("mutation { submitCredentials(input: {credentials: {}}) { id } }", None),
}

# Lists filtered by another tenant's id may answer NOT_FOUND or an empty page; either is fine.
LISTS = {
    "mcpServers",
    "endUsers",
    "connections",
    "eltSyncs",
    "webhookEndpoints",
    "customIntegrations",
    "calls",
    "auditLog",
}


# Each entry: (document, variables built from the victim's ids). None = no id: the subscription
# follows the caller's own organization (or, for a restricted key, is FORBIDDEN).
SUBSCRIPTIONS = {
    "workspaceUpdated": (
        "subscription($id: ID!) { workspaceUpdated(id: $id) { id name } }",
        lambda v: {"id": v["workspace"]},
    ),
    "connectionStatusChanged": (
        "subscription($w: ID) { connectionStatusChanged(workspaceId: $w) { connectionId } }",
        lambda v: {"w": v["workspace"]},
    ),
    "connectionHealthChanged": (
        "subscription($w: ID) { connectionHealthChanged(workspaceId: $w) { connectionId } }",
        lambda v: {"w": v["workspace"]},
    ),
    "connectSessionUpdated": (
        "subscription($id: ID!) { connectSessionUpdated(id: $id) { id status } }",
        lambda v: {"id": v["connect_session"]},
    ),
    "syncRunUpdated": (
        "subscription($s: ID) { syncRunUpdated(syncId: $s) { id status } }",
        lambda v: {"s": v["sync"]},
    ),
    "eltSyncUpdated": (
        "subscription($w: ID) { eltSyncUpdated(workspaceId: $w) { kind sync { id } } }",
        lambda v: {"w": v["workspace"]},
    ),
}
# The same subscriptions without an id: the whole organization (as far as the caller sees it).
WIDE_SUBSCRIPTIONS = {
    "connectionStatusChanged": "subscription { connectionStatusChanged { connectionId } }",
    "connectionHealthChanged": "subscription { connectionHealthChanged { connectionId } }",
    "syncRunUpdated": "subscription { syncRunUpdated { id status } }",
    "eltSyncUpdated": "subscription { eltSyncUpdated { kind sync { id } } }",
}
# What a connect token may run (on its own session); every other operation is FORBIDDEN to it.
CONNECT_TOKEN_OPERATIONS = {"connectSessionState", "selectIntegration", "startOAuth", "submitCredentials"}


def schema_operations() -> set[str]:
    schema = build_schema()._schema
    return set(schema.query_type.fields) | set(schema.mutation_type.fields)


def schema_subscriptions() -> set[str]:
    return set(build_schema()._schema.subscription_type.fields)


def test_every_operation_is_covered():
    missing = schema_operations() - set(OPERATIONS)
    assert not missing, f"add these operations to OPERATIONS: {sorted(missing)}"
    missing = schema_subscriptions() - set(SUBSCRIPTIONS)
    assert not missing, f"add these subscriptions to SUBSCRIPTIONS: {sorted(missing)}"


async def victim_objects(tenant):
    end_user = await tenant.data(
        'mutation($w: ID!) { createEndUser(input: {workspaceId: $w, externalId: "secret-customer"}) { id } }',
        {"w": tenant.workspace_id},
    )
    key = await tenant.data('mutation { createApiKey(input: {name: "victim key"}) { apiKey { id } } }')
    connection = await tenant.data(
        'mutation($w: ID) { createConnection(input: {integrationName: "demo", authType: NONE, '
        'scope: WORKSPACE, workspaceId: $w, externalId: "secret-conn"}) { id } }',
        {"w": tenant.workspace_id},
    )
    endpoint = await tenant.data(
        "mutation($w: ID!) { createWebhookEndpoint(input: {workspaceId: $w, "
        'url: "http://127.0.0.1:9/victim", eventTypes: [CONNECTION_CREATED]}) '
        "{ endpoint { id } } }",
        {"w": tenant.workspace_id},
    )
    events = await tenant.data("{ webhookEvents { edges { node { id } } } }")
    sync = await tenant.data(
        "mutation($c: ID!) { createEltSync(input: {connectionId: $c, destinationSchemaName: "
        '"victim", syncInterval: "0 * * * *", sourceStreams: [{name: "contacts", '
        "syncMode: INCREMENTAL}]}) { id } }",
        {"c": connection["createConnection"]["id"]},
    )
    run = await tenant.data(
        "mutation($id: ID!) { triggerSyncRun(syncId: $id) { id } }", {"id": sync["createEltSync"]["id"]}
    )
    session = await tenant.data(
        "mutation($w: ID!) { createConnectSession(input: {workspaceId: $w, "
        'integrationName: "demo"}) { session { id } } }',
        {"w": tenant.workspace_id},
    )
    custom = await tenant.data(
        "mutation($w: ID, $d: JSON!) { createCustomIntegration(input: {workspaceId: $w, "
        "definition: $d}) { id } }",
        {"w": tenant.workspace_id, "d": oauth_definition("https://crm.example", name="victim_crm")},
    )
    mcp_server = await tenant.data(
        'mutation($w: ID!) { createMcpServer(input: {workspaceId: $w, name: "victim mcp", '
        'integrations: ["demo"]}) { id } }',
        {"w": tenant.workspace_id},
    )
    mcp_token = await tenant.data(
        'mutation($id: ID!) { createMcpToken(input: {mcpServerId: $id, name: "victim token"}) '
        "{ token { id } } }",
        {"id": mcp_server["createMcpServer"]["id"]},
    )
    return {
        "mcp_server": mcp_server["createMcpServer"]["id"],
        "mcp_token": mcp_token["createMcpToken"]["token"]["id"],
        "custom_integration": custom["createCustomIntegration"]["id"],
        "webhook_endpoint": endpoint["createWebhookEndpoint"]["endpoint"]["id"],
        "webhook_event": events["webhookEvents"]["edges"][0]["node"]["id"],
        "sync": sync["createEltSync"]["id"],
        "run": run["triggerSyncRun"]["id"],
        "connect_session": session["createConnectSession"]["session"]["id"],
        "connection": connection["createConnection"]["id"],
        "workspace": tenant.workspace_id,
        "end_user": end_user["createEndUser"]["id"],
        "api_key": key["createApiKey"]["apiKey"]["id"],
        "organization": tenant.organization_id,
    }


async def walk(caller, victim, secrets, *, expected=None):
    """Run every operation as ``caller`` with the victim's ids: nothing leaks, and every
    operation given an id is refused with ``expected[name]`` (default NOT_FOUND)."""
    expected = expected or {}
    for name, (document, build) in OPERATIONS.items():
        variables = build(victim) if build else None
        body = await caller.graphql(document, variables)
        text = str(body)
        # An error may echo the id the caller itself sent; nothing else of the victim's may show.
        sent = set((variables or {}).values())
        leaked = [value for value in secrets - sent if value in text]
        assert not leaked, f"{name} leaked {leaked}: {body}"
        if name in expected:
            code = expected[name]
            if code is None:
                assert "errors" not in body, (name, body)
            else:
                assert body["errors"][0]["extensions"]["code"] == code, (name, body)
        elif build is not None and name not in LISTS:
            assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND", (name, body)


async def assert_untouched(tenant, victim):
    still = await tenant.data(
        "query($id: ID!) { endUser(id: $id) { externalId } }", {"id": victim["end_user"]}
    )
    assert still["endUser"]["externalId"] == "secret-customer"
    workspace = await tenant.data(
        "query($id: ID!) { workspace(id: $id) { displayName } }", {"id": victim["workspace"]}
    )
    assert workspace["workspace"]["displayName"] != "pwned"
    connection = await tenant.data(
        "query($id: ID!) { connection(id: $id) { externalId } }", {"id": victim["connection"]}
    )
    assert connection["connection"]["externalId"] == "secret-conn"
    sync = await tenant.data("query($id: ID!) { eltSync(id: $id) { syncInterval } }", {"id": victim["sync"]})
    assert sync["eltSync"]["syncInterval"] == "0 * * * *"
    keys = await tenant.data("{ apiKeys { edges { node { revokedAt } } } }")
    assert all(edge["node"]["revokedAt"] is None for edge in keys["apiKeys"]["edges"])
    mcp = await tenant.data(
        "query($id: ID!) { mcpServer(id: $id) { name tokens { revokedAt } } }", {"id": victim["mcp_server"]}
    )
    assert mcp["mcpServer"]["name"] == "victim mcp"
    assert [token["revokedAt"] for token in mcp["mcpServer"]["tokens"]] == [None]


async def test_no_operation_reaches_another_organization(tenant, other_tenant):
    victim = await victim_objects(tenant)
    secrets = set(victim.values()) | {"secret-customer", "victim key", "secret-conn", "victim_crm"}
    await walk(other_tenant, victim, secrets)
    await assert_untouched(tenant, victim)


# -- a workspace-restricted key ---------------------------------------------------------------


async def restricted_caller(tenant):
    """A key of ``tenant``'s organization restricted to a second workspace of its own."""
    from tests.conftest import Tenant

    workspace = await tenant.data('mutation { createWorkspace(input: {name: "mine"}) { id } }')
    workspace_id = workspace["createWorkspace"]["id"]
    key = await tenant.data(
        'mutation($w: ID) { createApiKey(input: {name: "restricted", workspaceId: $w}) { secret } }',
        {"w": workspace_id},
    )
    return Tenant(
        http=tenant.http,
        key=key["createApiKey"]["secret"],
        organization_id=tenant.organization_id,
        workspace_id=workspace_id,
    )


async def organization_objects(tenant):
    """An ORGANIZATION connection with a sync (so workspace-less) and a run of it."""
    connection = await tenant.data(
        'mutation { createConnection(input: {integrationName: "demo", authType: NONE, '
        'scope: ORGANIZATION, externalId: "org-conn"}) { id } }'
    )
    connection_id = connection["createConnection"]["id"]
    sync = await tenant.data(
        "mutation($c: ID!) { createEltSync(input: {connectionId: $c, destinationSchemaName: "
        '"org_wide", syncInterval: "0 * * * *", sourceStreams: [{name: "contacts", '
        "syncMode: INCREMENTAL}]}) { id } }",
        {"c": connection_id},
    )
    sync_id = sync["createEltSync"]["id"]
    # elt_sync.updated of a workspace-less sync: an event no workspace endpoint may hear.
    await tenant.data("mutation($id: ID!) { enableEltSync(id: $id) { id } }", {"id": sync_id})
    run = await tenant.data("mutation($id: ID!) { triggerSyncRun(syncId: $id) { id } }", {"id": sync_id})
    return {"org_connection": connection_id, "org_sync": sync_id, "org_run": run["triggerSyncRun"]["id"]}


async def test_a_restricted_key_reaches_no_other_workspace(tenant):
    caller = await restricted_caller(tenant)
    victim = await victim_objects(tenant)
    # The organization itself is the restricted key's too (``viewer`` shows it).
    secrets = (set(victim.values()) - {victim["organization"]}) | {
        "secret-customer",
        "victim key",
        "secret-conn",
        "victim_crm",
    }
    await walk(caller, victim, secrets)
    await assert_untouched(tenant, victim)


# A restricted key reads an ORGANIZATION connection but never uses or changes it.
ORGANIZATION_CONNECTION = {
    "connection": None,
    "connectionSettingsSchema": "FORBIDDEN",
    "connectionStreams": "FORBIDDEN",
    "createEltSync": "FORBIDDEN",
    "deleteConnection": "FORBIDDEN",
    "testConnection": "FORBIDDEN",
}
RECONNECT = (
    "mutation($w: ID!, $c: ID) { createConnectSession(input: {workspaceId: $w, "
    "reconnectConnectionId: $c}) { token } }"
)


async def test_a_restricted_key_cannot_use_organization_connections_or_their_syncs(tenant):
    caller = await restricted_caller(tenant)
    victim = await victim_objects(tenant)
    wide = await organization_objects(tenant)
    # Every operation, with the organization's connection, sync and run in place of the
    # victim workspace's: the sync and its run are invisible, the connection read-only.
    aimed = {**victim, "connection": wide["org_connection"], "sync": wide["org_sync"], "run": wide["org_run"]}
    secrets = {wide["org_sync"], wide["org_run"], victim["workspace"], "secret-customer"}
    await walk(caller, aimed, secrets, expected=ORGANIZATION_CONNECTION)

    # Reconnecting it (which would let the connect page replace its credentials) is refused.
    body = await caller.graphql(RECONNECT, {"w": caller.workspace_id, "c": wide["org_connection"]})
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", body
    # ... while an unrestricted key still may.
    assert (await tenant.data(RECONNECT, {"w": tenant.workspace_id, "c": wide["org_connection"]}))[
        "createConnectSession"
    ]
    still = await tenant.data("query($id: ID!) { eltSync(id: $id) { id enabled } }", {"id": wide["org_sync"]})
    assert still["eltSync"]["enabled"] is True
    assert (
        await tenant.data(
            "query($id: ID!) { connection(id: $id) { status } }", {"id": wide["org_connection"]}
        )
    )["connection"]["status"] == "ACTIVE"


async def test_a_restricted_workspace_hears_no_events_of_organization_syncs(tenant):
    caller = await restricted_caller(tenant)
    endpoint = await caller.data(
        "mutation($w: ID!) { createWebhookEndpoint(input: {workspaceId: $w, "
        'url: "http://127.0.0.1:9/mine", eventTypes: [ELT_SYNC_UPDATED, SYNC_RUN_STARTED, '
        "CONNECTION_CREATED]}) { endpoint { id } } }",
        {"w": caller.workspace_id},
    )
    endpoint_id = endpoint["createWebhookEndpoint"]["endpoint"]["id"]
    wide = await organization_objects(tenant)
    assert await WebhookEvent.filter(object_id=wide["org_sync"]).exists()
    heard = set(await WebhookDelivery.filter(endpoint_id=endpoint_id).values_list("event_type", flat=True))
    # The ORGANIZATION connection is the workspace's to read, so its creation is heard; the
    # sync on it is not the workspace's.
    assert heard == {"connection.created"}
    listed = await caller.data("{ webhookEvents { edges { node { type } } } }")
    assert {e["node"]["type"] for e in listed["webhookEvents"]["edges"]} == {"CONNECTION_CREATED"}


# -- subscriptions ----------------------------------------------------------------------------


async def _first_message(live_server, key, document, variables=None):
    ws = await GraphQLWebSocket.connect(live_server, f"Bearer {key}")
    assert (await ws.acknowledged())["type"] == "connection_ack"
    await ws.subscribe(document, variables)
    return ws, await ws.receive()


def _error_code(message):
    if message["type"] == "error":
        return message["payload"][0]["extensions"]["code"]
    assert message["type"] == "next", message
    return message["payload"]["errors"][0]["extensions"]["code"]


async def _hears_nothing(ws, secrets, seconds=0.7):
    try:
        while True:
            message = await ws.receive(timeout=seconds)
            leaked = [value for value in secrets if value in str(message)]
            assert not leaked, f"heard {leaked}: {message}"
    except TimeoutError:
        pass


async def _make_noise(tenant, victim):
    """Events on every channel the victim's subscriptions listen to."""
    await tenant.data(
        'mutation($id: ID!) { updateWorkspace(input: {id: $id, displayName: "noise"}) { id } }',
        {"id": victim["workspace"]},
    )
    await tenant.data("mutation($id: ID!) { enableEltSync(id: $id) { id } }", {"id": victim["sync"]})
    await tenant.data("mutation($id: ID!) { testConnection(id: $id) { ok } }", {"id": victim["connection"]})
    await tenant.data("mutation($id: ID!) { cancelSyncRun(runId: $id) { id } }", {"id": victim["run"]})
    await tenant.data(
        "mutation($id: ID!) { cancelConnectSession(id: $id) { id } }", {"id": victim["connect_session"]}
    )


@pytest.mark.parametrize("caller_kind", ["other organization", "restricted key"])
async def test_no_subscription_reaches_another_tenant(live_server, tenant, other_tenant, caller_kind):
    caller = other_tenant if caller_kind == "other organization" else (await restricted_caller(tenant))
    victim = await victim_objects(tenant)
    wide = await organization_objects(tenant)
    secrets = {
        victim["sync"],
        victim["run"],
        victim["connection"],
        victim["connect_session"],
        wide["org_sync"],
        wide["org_run"],
    }
    sockets = []
    for name, (document, build) in SUBSCRIPTIONS.items():
        ws, message = await _first_message(live_server, caller.key, document, build(victim))
        assert _error_code(message) == "NOT_FOUND", (name, message)
        await ws.close()
    for name, document in WIDE_SUBSCRIPTIONS.items():
        if caller_kind == "restricted key":
            # The organization-wide feeds are not a restricted key's.
            ws, message = await _first_message(live_server, caller.key, document)
            assert _error_code(message) == "FORBIDDEN", (name, message)
            await ws.close()
        else:
            # Its own (empty) organization: the victim's events must never arrive.
            ws = await GraphQLWebSocket.connect(live_server, f"Bearer {caller.key}")
            assert (await ws.acknowledged())["type"] == "connection_ack"
            await ws.subscribe(document)
            sockets.append(ws)
    await _make_noise(tenant, victim)
    for ws in sockets:
        await _hears_nothing(ws, secrets)
        await ws.close()


# -- a connect token --------------------------------------------------------------------------


async def test_a_connect_token_runs_only_its_own_sessions_operations(live_server, tenant):
    victim = await victim_objects(tenant)
    created = await tenant.data(
        "mutation($w: ID!) { createConnectSession(input: {workspaceId: $w, "
        'integrationName: "demo"}) { token session { id } } }',
        {"w": tenant.workspace_id},
    )
    token = created["createConnectSession"]["token"]
    for name, (document, build) in OPERATIONS.items():
        if name in CONNECT_TOKEN_OPERATIONS:
            continue
        variables = build(victim) if build else None
        response = await tenant.http.post(
            "/graphql",
            json={"query": document, "variables": variables or {}},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 403, (name, response.text)
        assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN", name
    # Its own session, and only it: the state it reads is its session's.
    state = await tenant.graphql("{ connectSessionState { id } }", key=token)
    assert state["data"]["connectSessionState"]["id"] == (created["createConnectSession"]["session"]["id"])
    # Over WebSocket, only its own session: every other subscription is refused.
    ws = await GraphQLWebSocket.connect(live_server, f"Bearer {token}")
    assert (await ws.acknowledged())["type"] == "connection_ack"
    for name, (document, build) in SUBSCRIPTIONS.items():
        operation = await ws.subscribe(document, build(victim))
        while (message := await ws.receive()).get("id") != operation:
            pass
        expected = "NOT_FOUND" if name == "connectSessionUpdated" else "FORBIDDEN"
        assert _error_code(message) == expected, (name, message)
    for name, document in WIDE_SUBSCRIPTIONS.items():
        operation = await ws.subscribe(document)
        while (message := await ws.receive()).get("id") != operation:
            pass
        assert _error_code(message) == "FORBIDDEN", (name, message)
    await ws.close()
    await assert_untouched(tenant, victim)
