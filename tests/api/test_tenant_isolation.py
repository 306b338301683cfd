"""Another organization's objects are invisible: every operation, called with their ids, is NOT_FOUND.

``OPERATIONS`` must name every query and mutation of the schema (a test checks it), so a new
operation cannot be added without saying how it stays inside its tenant.
"""

from server.api.schema import build_schema

# Each entry: (document, variables built from the victim's ids). None = no id to leak through.
OPERATIONS = {
    "viewer": ("{ viewer { organization { id } } }", None),
    "integrations": ("{ integrations { name } }", None),
    "integration": ('{ integration(name: "demo") { name } }', None),
    "workspaces": ("{ workspaces { edges { node { id } } } }", None),
    "workspace": ("query($id: ID!) { workspace(id: $id) { id } }", lambda v: {"id": v["workspace"]}),
    "endUsers": ("query($w: ID) { endUsers(workspaceId: $w) { edges { node { id } } } }",
                 lambda v: {"w": v["workspace"]}),
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
    "deleteEndUser": ("mutation($id: ID!) { deleteEndUser(id: $id) { deletedId } }",
                      lambda v: {"id": v["end_user"]}),
    "createApiKey": (
        'mutation($w: ID) { createApiKey(input: {name: "x", workspaceId: $w}) { secret } }',
        lambda v: {"w": v["workspace"]},
    ),
    "revokeApiKey": ("mutation($id: ID!) { revokeApiKey(id: $id) { id } }",
                     lambda v: {"id": v["api_key"]}),
    "connections": (
        "query($w: ID) { connections(filter: {workspaceId: $w}) { edges { node { id externalId } } } }",
        lambda v: {"w": v["workspace"]},
    ),
    "connection": ("query($id: ID!) { connection(id: $id) { id } }", lambda v: {"id": v["connection"]}),
    "createConnection": (
        "mutation($w: ID) { createConnection(input: {integrationName: \"demo\", authType: NONE, "
        "scope: WORKSPACE, workspaceId: $w}) { id } }",
        lambda v: {"w": v["workspace"]},
    ),
    "deleteConnection": ("mutation($id: ID!) { deleteConnection(id: $id) { deletedId } }",
                         lambda v: {"id": v["connection"]}),
    "testConnection": ("mutation($id: ID!) { testConnection(id: $id) { ok } }",
                       lambda v: {"id": v["connection"]}),
    "resolveConnection": (
        "mutation($w: ID!) { resolveConnection(input: {workspaceId: $w, integrationName: \"demo\", "
        "externalId: \"secret-conn\"}) { connection { id } } }",
        lambda v: {"w": v["workspace"]},
    ),
    "workspaceIntegrations": (
        "query($w: ID!) { workspaceIntegrations(workspaceId: $w) { edges { node { integrationName } } } }",
        lambda v: {"w": v["workspace"]},
    ),
    "configureWorkspaceIntegration": (
        "mutation($w: ID!) { configureWorkspaceIntegration(input: {workspaceId: $w, "
        "integrationName: \"demo\", enabled: false}) { id } }",
        lambda v: {"w": v["workspace"]},
    ),
    "webhookEndpoints": (
        "query($w: ID) { webhookEndpoints(workspaceId: $w) { edges { node { id url } } } }",
        lambda v: {"w": v["workspace"]},
    ),
    "webhookEndpoint": ("query($id: ID!) { webhookEndpoint(id: $id) { id url } }",
                        lambda v: {"id": v["webhook_endpoint"]}),
    "webhookDeliveries": (
        "query($id: ID!) { webhookDeliveries(endpointId: $id) { edges { node { id } } } }",
        lambda v: {"id": v["webhook_endpoint"]},
    ),
    "webhookEvents": ("{ webhookEvents { edges { node { id data } } } }", None),
    "createWebhookEndpoint": (
        "mutation($w: ID!) { createWebhookEndpoint(input: {workspaceId: $w, "
        "url: \"http://127.0.0.1:9/mine\", eventTypes: [CONNECTION_CREATED]}) { secret } }",
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
    "createEltSync": (
        "mutation($c: ID!) { createEltSync(input: {connectionId: $c, destinationSchemaName: "
        "\"stolen\", syncInterval: \"0 * * * *\"}) { id } }",
        lambda v: {"c": v["connection"]},
    ),
    "eltSyncs": ("query($w: ID) { eltSyncs(filter: {workspaceId: $w}) { edges { node { id } } } }",
                 lambda v: {"w": v["workspace"]}),
    "eltSync": ("query($id: ID!) { eltSync(id: $id) { id } }", lambda v: {"id": v["sync"]}),
    "updateEltSync": (
        "mutation($id: ID!) { updateEltSync(input: {id: $id, syncInterval: \"0 0 * * *\"}) "
        "{ id } }",
        lambda v: {"id": v["sync"]},
    ),
    "addSourceStreams": (
        "mutation($id: ID!) { addSourceStreams(input: {syncId: $id, sourceStreams: "
        "[{name: \"deals\", syncMode: INCREMENTAL}]}) { id } }",
        lambda v: {"id": v["sync"]},
    ),
    "removeSourceStreams": (
        "mutation($id: ID!) { removeSourceStreams(input: {syncId: $id, names: [\"contacts\"]}) "
        "{ id } }",
        lambda v: {"id": v["sync"]},
    ),
    "enableEltSync": ("mutation($id: ID!) { enableEltSync(id: $id) { id } }",
                      lambda v: {"id": v["sync"]}),
    "disableEltSync": ("mutation($id: ID!) { disableEltSync(id: $id) { id } }",
                       lambda v: {"id": v["sync"]}),
    "triggerSyncRun": ("mutation($id: ID!) { triggerSyncRun(syncId: $id) { id } }",
                       lambda v: {"id": v["sync"]}),
    "syncRuns": ("query($id: ID!) { syncRuns(syncId: $id) { edges { node { id } } } }",
                 lambda v: {"id": v["sync"]}),
    "syncRun": ("query($id: ID!) { syncRun(id: $id) { id } }", lambda v: {"id": v["run"]}),
    "cancelSyncRun": ("mutation($id: ID!) { cancelSyncRun(runId: $id) { id } }",
                      lambda v: {"id": v["run"]}),
    "deleteEltSync": ("mutation($id: ID!) { deleteEltSync(id: $id) { deletedId } }",
                      lambda v: {"id": v["sync"]}),
    "createConnectSession": (
        "mutation($w: ID!) { createConnectSession(input: {workspaceId: $w, "
        "integrationName: \"demo\"}) { token } }",
        lambda v: {"w": v["workspace"]},
    ),
    "connectSession": ("query($id: ID!) { connectSession(id: $id) { id status } }",
                       lambda v: {"id": v["connect_session"]}),
    "cancelConnectSession": ("mutation($id: ID!) { cancelConnectSession(id: $id) { id } }",
                             lambda v: {"id": v["connect_session"]}),
    # Connect-token operations act on the token's own session: an API key is FORBIDDEN.
    "connectSessionState": ("{ connectSessionState { id } }", None),
    "selectIntegration": (
        'mutation { selectIntegration(input: {integrationName: "demo"}) { id } }', None),
    "startOAuth": ("mutation { startOAuth { authorizeUrl } }", None),
    "submitCredentials": ("mutation { submitCredentials(input: {credentials: {}}) { id } }", None),
}

# Lists filtered by another tenant's id may answer NOT_FOUND or an empty page; either is fine.
LISTS = {"endUsers", "connections", "eltSyncs", "webhookEndpoints"}


def schema_operations() -> set[str]:
    schema = build_schema()._schema
    return set(schema.query_type.fields) | set(schema.mutation_type.fields)


def test_every_operation_is_covered():
    missing = schema_operations() - set(OPERATIONS)
    assert not missing, f"add these operations to OPERATIONS: {sorted(missing)}"


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
        'mutation($w: ID!) { createWebhookEndpoint(input: {workspaceId: $w, '
        'url: "http://127.0.0.1:9/victim", eventTypes: [CONNECTION_CREATED]}) '
        '{ endpoint { id } } }',
        {"w": tenant.workspace_id},
    )
    events = await tenant.data("{ webhookEvents { edges { node { id } } } }")
    sync = await tenant.data(
        'mutation($c: ID!) { createEltSync(input: {connectionId: $c, destinationSchemaName: '
        '"victim", syncInterval: "0 * * * *", sourceStreams: [{name: "contacts", '
        'syncMode: INCREMENTAL}]}) { id } }',
        {"c": connection["createConnection"]["id"]},
    )
    run = await tenant.data("mutation($id: ID!) { triggerSyncRun(syncId: $id) { id } }",
                            {"id": sync["createEltSync"]["id"]})
    session = await tenant.data(
        'mutation($w: ID!) { createConnectSession(input: {workspaceId: $w, '
        'integrationName: "demo"}) { session { id } } }',
        {"w": tenant.workspace_id},
    )
    return {
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


async def test_no_operation_reaches_another_organization(tenant, other_tenant):
    victim = await victim_objects(tenant)
    secrets = set(victim.values()) | {"secret-customer", "victim key", "secret-conn"}
    for name, (document, build) in OPERATIONS.items():
        variables = build(victim) if build else None
        body = await other_tenant.graphql(document, variables)
        text = str(body)
        # An error may echo the id the caller itself sent; nothing else of the victim's may show.
        sent = set((variables or {}).values())
        leaked = [value for value in secrets - sent if value in text]
        assert not leaked, f"{name} leaked {leaked}: {body}"
        if build is not None and name not in LISTS:
            assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND", (name, body)
    # The victim's data is untouched.
    still = await tenant.data("query($id: ID!) { endUser(id: $id) { externalId } }",
                              {"id": victim["end_user"]})
    assert still["endUser"]["externalId"] == "secret-customer"
    workspace = await tenant.data("query($id: ID!) { workspace(id: $id) { displayName } }",
                                  {"id": victim["workspace"]})
    assert workspace["workspace"]["displayName"] != "pwned"
    connection = await tenant.data("query($id: ID!) { connection(id: $id) { externalId } }",
                                   {"id": victim["connection"]})
    assert connection["connection"]["externalId"] == "secret-conn"
    sync = await tenant.data("query($id: ID!) { eltSync(id: $id) { syncInterval } }",
                             {"id": victim["sync"]})
    assert sync["eltSync"]["syncInterval"] == "0 * * * *"
    keys = await tenant.data("{ apiKeys { edges { node { revokedAt } } } }")
    assert all(edge["node"]["revokedAt"] is None for edge in keys["apiKeys"]["edges"])
