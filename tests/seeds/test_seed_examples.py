"""Every request example of the seed systems' docs (/work/shared/seeds, see docs/seeds-mapping.md)
that Weir supports, sent as its GraphQL equivalent, with the result the seed shows.

Each test names the seed request it replays. Field values are the seeds' own where Weir can take
them; a secret the seed shows as ``sk-...`` is the emulator's, so checks really reach a provider.
"""

from __future__ import annotations

from typing import Any

from tests.conftest import Tenant
from tests.emulators import airtable as airtable_emulator
from tests.emulators import freshsales as freshsales_emulator
from tests.emulators import openai as openai_emulator
from tests.emulators import slack as slack_emulator

CONNECTION_FIELDS = """
    id integrationName authType scope externalId displayName status credentialPreview
    workspace { id } endUser { id externalId }
"""
CREATE_CONNECTION = f"""
mutation($i: CreateConnectionInput!) {{ createConnection(input: $i) {{ {CONNECTION_FIELDS} }} }}
"""
CONNECT_TOKEN = """
mutation($i: CreateConnectSessionInput!) {
  createConnectSession(input: $i) {
    token connectUrl expiresAt
    session { id status integrationName connectionName externalId redirectUri endUser { id } }
  }
}
"""
SESSION = f"""
query($id: ID!) {{
  connectSession(id: $id) {{
    id status errorCode errorMessage connectionId connection {{ {CONNECTION_FIELDS} }}
  }}
}}
"""
POLL = "query { connectSessionState { id status connectionId errorCode } }"
SUBMIT = """
mutation($i: SubmitCredentialsInput!) {
  submitCredentials(input: $i) { status connectionId errorCode errorMessage }
}
"""
CREATE_END_USER = """
mutation($i: CreateEndUserInput!) {
  createEndUser(input: $i) { id externalId displayName workspace { id } }
}
"""
RESOLVE = f"""
mutation($i: ResolveConnectionInput!) {{
  resolveConnection(input: $i) {{ resolvedBy connection {{ {CONNECTION_FIELDS} }} }}
}}
"""
LIST = f"""
query($f: ConnectionFilter) {{
  connections(filter: $f, first: 50) {{ edges {{ node {{ {CONNECTION_FIELDS} }} }} }}
}}
"""
DELETE = "mutation($id: ID!) { deleteConnection(id: $id) { deletedId } }"
AUTH_FIELDS = "query($name: String!) { integration(name: $name) { authTypes authFieldsSchema } }"


async def _create(seeds: Tenant, **fields: Any) -> dict[str, Any]:
    return (await seeds.data(CREATE_CONNECTION, {"i": fields}))["createConnection"]


def _error(body: dict[str, Any]) -> dict[str, Any]:
    assert body.get("data") is None or not any(body["data"].values()), body
    return body["errors"][0]


async def _submit_openai_key(seeds: Tenant, token: str, key: str) -> dict[str, Any]:
    """What the connect page sends for an API key typed into the form (``submitCredentials``)."""
    return await seeds.graphql(
        SUBMIT, {"i": {"integrationName": "openai", "credentials": {"secret_text": key}}}, key=token
    )


async def _submit_the_good_key(seeds: Tenant, token: str) -> None:
    submitted = await _submit_openai_key(seeds, token, openai_emulator.KEY)
    assert submitted.get("data") and submitted["data"]["submitCredentials"]["status"] == "COMPLETED", (
        submitted
    )


# -- Weavz: POST /api/v1/connect/token, GET /connect/session/:id, POST /connect/session/poll --


async def test_connect_token_for_slack_takes_the_seed_fields(seeds: Tenant) -> None:
    """POST /connect/token {integrationName, connectionName, externalId, workspaceId}."""
    created = (
        await seeds.data(
            CONNECT_TOKEN,
            {
                "i": {
                    "integrationName": "slack",
                    "connectionName": "My Slack Workspace",
                    "externalId": "tenant_123_slack",
                    "workspaceId": seeds.workspace_id,
                }
            },
        )
    )["createConnectSession"]

    # The seed's response: {token, connectUrl, expiresAt}; the connect URL carries the token.
    assert created["token"] and created["expiresAt"]
    assert created["connectUrl"].startswith("http://weir.test/")
    assert created["session"]["status"] == "PENDING"
    assert created["session"]["integrationName"] == "slack"
    assert created["session"]["connectionName"] == "My Slack Workspace"
    assert created["session"]["externalId"] == "tenant_123_slack"

    # GET /connect/session/:id with the API key: PENDING until the user finishes.
    session = (await seeds.data(SESSION, {"id": created["session"]["id"]}))["connectSession"]
    assert session["status"] == "PENDING" and session["connection"] is None

    # POST /connect/session/poll {token}: the token alone reads its own session.
    polled = await seeds.graphql(POLL, key=created["token"])
    assert polled["data"]["connectSessionState"] == {
        "id": created["session"]["id"],
        "status": "PENDING",
        "connectionId": None,
        "errorCode": None,
    }


async def test_a_completed_session_returns_the_connection_with_the_seed_name_and_external_id(
    seeds: Tenant,
) -> None:
    """The session of a connect token, once the user typed an API key: COMPLETED, with
    ``connection.id`` (the seed's ``session.connection.id`` and ``connectionId``)."""
    created = (
        await seeds.data(
            CONNECT_TOKEN,
            {
                "i": {
                    "integrationName": "openai",
                    "connectionName": "OpenAI Production",
                    "externalId": "tenant_123_openai",
                    "workspaceId": seeds.workspace_id,
                }
            },
        )
    )["createConnectSession"]
    await _submit_the_good_key(seeds, created["token"])

    polled = (await seeds.graphql(POLL, key=created["token"]))["data"]["connectSessionState"]
    session = (await seeds.data(SESSION, {"id": created["session"]["id"]}))["connectSession"]
    assert session["status"] == polled["status"] == "COMPLETED"
    connection = session["connection"]
    assert connection["id"] == session["connectionId"] == polled["connectionId"]
    assert connection["displayName"] == "OpenAI Production"
    assert connection["externalId"] == "tenant_123_openai"
    # A connect token names a workspace and no end user: the connection is the workspace's.
    assert connection["scope"] == "WORKSPACE" and connection["workspace"] == {"id": seeds.workspace_id}


async def test_a_refused_key_in_the_connect_flow_can_be_typed_again(seeds: Tenant) -> None:
    """The seeds' ``failed`` session with ``session.error``: in Weir a key the provider refuses
    is ``VALIDATION_FAILED`` on the form field and the session stays open for another try;
    ``FAILED`` (with ``errorCode``) is for what the user cannot retry in the form (OAuth)."""
    created = (
        await seeds.data(
            CONNECT_TOKEN, {"i": {"integrationName": "openai", "workspaceId": seeds.workspace_id}}
        )
    )["createConnectSession"]
    refused = await _submit_openai_key(seeds, created["token"], "sk-proj-not-the-key-0000")
    error = _error(refused)
    assert error["extensions"]["code"] == "VALIDATION_FAILED"
    assert error["extensions"]["fields"][0]["field"] == "input.credentials.secret_text"
    session = (await seeds.data(SESSION, {"id": created["session"]["id"]}))["connectSession"]
    assert session["status"] == "CONNECTING" and session["connection"] is None

    await _submit_the_good_key(seeds, created["token"])


# -- Weavz: POST /api/v1/connections ---------------------------------------------------------


async def test_secret_text_connection_as_the_seed_sends_it(seeds: Tenant, emulators) -> None:
    """POST /connections {type: SECRET_TEXT, integrationName: openai, externalId, displayName,
    secretText}: no workspace, no end user, so organization-wide, as in the seeds."""
    found, _ = emulators
    connection = await _create(
        seeds,
        authType="SECRET_TEXT",
        integrationName="openai",
        externalId="tenant_123_openai",
        displayName="OpenAI Production",
        secretText=openai_emulator.KEY,
        check=True,
    )
    assert connection["integrationName"] == "openai" and connection["authType"] == "SECRET_TEXT"
    assert connection["externalId"] == "tenant_123_openai"
    assert connection["displayName"] == "OpenAI Production"
    assert connection["status"] == "ACTIVE"
    assert connection["scope"] == "ORGANIZATION"
    assert connection["workspace"] is None and connection["endUser"] is None
    assert openai_emulator.KEY not in str(connection)
    assert connection["credentialPreview"] == "sk-...0001"
    assert found.openai.controls.calls, "check=true reached the provider"


async def test_the_second_secret_text_example_too(seeds: Tenant) -> None:
    """The reference page's variant: externalId my_openai, displayName Production OpenAI."""
    connection = await _create(
        seeds,
        authType="SECRET_TEXT",
        integrationName="openai",
        externalId="my_openai",
        displayName="Production OpenAI",
        secretText=openai_emulator.KEY,
    )
    assert (connection["externalId"], connection["displayName"], connection["scope"]) == (
        "my_openai",
        "Production OpenAI",
        "ORGANIZATION",
    )


async def test_freshsales_custom_auth_takes_base_url_and_api_key(seeds: Tenant, emulators) -> None:
    """POST /connections {type: CUSTOM_AUTH, integrationName: freshsales, props: {base_url, api_key}},
    checked against the emulator (the configured base URL stands in for the account's)."""
    found, _ = emulators
    schema = (await seeds.data(AUTH_FIELDS, {"name": "freshsales"}))["integration"]["authFieldsSchema"]
    assert set(schema["required"]) == {"base_url", "api_key"}
    connection = await _create(
        seeds,
        authType="CUSTOM_AUTH",
        integrationName="freshsales",
        externalId="tenant_123_freshsales",
        displayName="Freshsales CRM",
        props={"base_url": "https://mycompany.freshsales.io", "api_key": freshsales_emulator.KEY},
        check=True,
    )
    assert connection["authType"] == "CUSTOM_AUTH" and connection["status"] == "ACTIVE"
    assert (connection["externalId"], connection["displayName"], connection["scope"]) == (
        "tenant_123_freshsales",
        "Freshsales CRM",
        "ORGANIZATION",
    )
    assert freshsales_emulator.KEY not in str(connection)
    assert found.freshsales.controls.calls, "check=true reached the provider"


async def test_airtable_custom_auth_takes_the_seeds_token(seeds: Tenant, emulators) -> None:
    """POST /connections {type: CUSTOM_AUTH, integrationName: airtable, props: {token}}, exactly
    as the seeds send it, checked against the emulator; the token is never shown again."""
    found, _ = emulators
    schema = (await seeds.data(AUTH_FIELDS, {"name": "airtable"}))["integration"]["authFieldsSchema"]
    assert schema["required"] == ["token"] and schema["properties"]["token"]["writeOnly"]
    connection = await _create(
        seeds,
        authType="CUSTOM_AUTH",
        integrationName="airtable",
        externalId="my_airtable",
        displayName="My Airtable",
        props={"token": airtable_emulator.TOKEN},
        check=True,
    )
    assert connection["authType"] == "CUSTOM_AUTH" and connection["status"] == "ACTIVE"
    assert (connection["externalId"], connection["displayName"]) == ("my_airtable", "My Airtable")
    assert airtable_emulator.TOKEN not in str(connection)
    assert [call.split("?")[0] for call in found.airtable.controls.calls] == ["GET /v0/meta/whoami"]


async def test_platform_oauth2_with_an_imported_access_token(seeds: Tenant, emulators) -> None:
    """POST /connections {type: PLATFORM_OAUTH2, integrationName: slack, workspaceId, externalId,
    displayName, accessToken}: the workspace's connection, checked with Slack."""
    found, _ = emulators
    connection = await _create(
        seeds,
        authType="PLATFORM_OAUTH2",
        integrationName="slack",
        workspaceId=seeds.workspace_id,
        externalId="conn_customer_789_slack",
        displayName="Customer 789 Shared Slack",
        accessToken=slack_emulator.TOKEN,
        check=True,
    )
    assert connection["authType"] == "PLATFORM_OAUTH2" and connection["status"] == "ACTIVE"
    assert connection["scope"] == "WORKSPACE" and connection["workspace"] == {"id": seeds.workspace_id}
    assert connection["externalId"] == "conn_customer_789_slack"
    assert slack_emulator.TOKEN not in str(connection)
    assert found.slack.controls.calls

    # POST /connections/resolve {integrationName, workspaceId, externalId}.
    resolved = (
        await seeds.data(
            RESOLVE,
            {
                "i": {
                    "integrationName": "slack",
                    "workspaceId": seeds.workspace_id,
                    "externalId": "conn_customer_789_slack",
                }
            },
        )
    )["resolveConnection"]
    assert resolved["resolvedBy"] == "EXTERNAL_ID" and resolved["connection"]["id"] == connection["id"]


async def test_scope_examples_organization_and_workspace(seeds: Tenant) -> None:
    """The reference's scope examples: ``scope: ORGANIZATION`` and ``scope: WORKSPACE`` with
    ``workspaceId`` (credentials added, which the fragments leave out)."""
    team = await _create(
        seeds,
        authType="PLATFORM_OAUTH2",
        integrationName="slack",
        displayName="Team Slack",
        scope="ORGANIZATION",
        accessToken=slack_emulator.TOKEN,
    )
    production = await _create(
        seeds,
        authType="PLATFORM_OAUTH2",
        integrationName="slack",
        displayName="Production Slack",
        scope="WORKSPACE",
        workspaceId=seeds.workspace_id,
        accessToken=slack_emulator.TOKEN,
    )
    assert (team["scope"], team["workspace"]) == ("ORGANIZATION", None)
    assert (production["scope"], production["workspace"]) == ("WORKSPACE", {"id": seeds.workspace_id})


# -- the scope a connection gets when none is named ------------------------------------------


async def test_without_scope_an_end_user_makes_it_a_user_connection(seeds: Tenant) -> None:
    """ "pass endUserId when creating a connection, [and] that connection is linked to the end user"."""
    end_user = (
        await seeds.data(
            CREATE_END_USER, {"i": {"workspaceId": seeds.workspace_id, "externalId": "user_456"}}
        )
    )["createEndUser"]
    connection = await _create(
        seeds,
        authType="SECRET_TEXT",
        integrationName="openai",
        endUserId=end_user["id"],
        secretText=openai_emulator.KEY,
    )
    assert connection["scope"] == "USER"
    assert connection["endUser"] == {"id": end_user["id"], "externalId": "user_456"}
    assert connection["workspace"] == {"id": seeds.workspace_id}


async def test_without_scope_a_workspace_makes_it_a_workspace_connection(seeds: Tenant) -> None:
    connection = await _create(
        seeds,
        authType="SECRET_TEXT",
        integrationName="openai",
        workspaceId=seeds.workspace_id,
        secretText=openai_emulator.KEY,
    )
    assert connection["scope"] == "WORKSPACE" and connection["workspace"] == {"id": seeds.workspace_id}


async def test_without_scope_a_workspace_restricted_key_gets_its_own_workspace(seeds: Tenant) -> None:
    """A restricted key may not create organization-wide connections, so the default narrows to
    its workspace instead of failing (or of widening)."""
    restricted = (
        await seeds.data(
            "mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { secret } }",
            {"i": {"name": "restricted", "workspaceId": seeds.workspace_id}},
        )
    )["createApiKey"]["secret"]
    body = await seeds.graphql(
        CREATE_CONNECTION,
        {"i": {"authType": "SECRET_TEXT", "integrationName": "openai", "secretText": openai_emulator.KEY}},
        key=restricted,
    )
    assert "errors" not in body, body
    connection = body["data"]["createConnection"]
    assert connection["scope"] == "WORKSPACE" and connection["workspace"] == {"id": seeds.workspace_id}

    # Naming ORGANIZATION explicitly is still refused for such a key.
    refused = await seeds.graphql(
        CREATE_CONNECTION,
        {
            "i": {
                "authType": "SECRET_TEXT",
                "integrationName": "openai",
                "secretText": openai_emulator.KEY,
                "scope": "ORGANIZATION",
            }
        },
        key=restricted,
    )
    assert _error(refused)["extensions"]["code"] == "FORBIDDEN"


async def test_an_explicit_user_scope_still_needs_its_end_user(seeds: Tenant) -> None:
    body = await seeds.graphql(
        CREATE_CONNECTION,
        {
            "i": {
                "authType": "SECRET_TEXT",
                "integrationName": "openai",
                "secretText": openai_emulator.KEY,
                "scope": "USER",
            }
        },
    )
    error = _error(body)
    assert error["extensions"]["code"] == "VALIDATION_FAILED"
    assert "input.endUserId" in str(error["extensions"])


async def test_the_same_external_id_twice_in_the_default_scope_is_a_conflict(seeds: Tenant) -> None:
    fields = {
        "authType": "SECRET_TEXT",
        "integrationName": "openai",
        "externalId": "tenant_123_openai",
        "secretText": openai_emulator.KEY,
    }
    await _create(seeds, **fields)
    again = await seeds.graphql(CREATE_CONNECTION, {"i": fields})
    assert _error(again)["extensions"]["code"] == "CONFLICT"


# -- Weavz: end users and their connect token ------------------------------------------------


async def test_end_user_then_its_connect_token_links_the_connection(seeds: Tenant) -> None:
    """POST /end-users {workspaceId, externalId, displayName}, then POST
    /end-users/:id/connect-token {integrationName}: the connection is the end user's."""
    end_user = (
        await seeds.data(
            CREATE_END_USER,
            {
                "i": {
                    "workspaceId": seeds.workspace_id,
                    "externalId": "user_456",
                    "displayName": "Alice Johnson",
                }
            },
        )
    )["createEndUser"]
    assert (end_user["externalId"], end_user["displayName"]) == ("user_456", "Alice Johnson")

    created = (
        await seeds.data(
            CONNECT_TOKEN,
            {
                "i": {
                    "workspaceId": end_user["workspace"]["id"],
                    "endUserId": end_user["id"],
                    "integrationName": "openai",
                }
            },
        )
    )["createConnectSession"]
    assert created["connectUrl"] and created["session"]["endUser"] == {"id": end_user["id"]}
    await _submit_the_good_key(seeds, created["token"])

    # GET /end-users/:id lists the end user's connections: connections(filter: {endUserId}).
    listed = (await seeds.data(LIST, {"f": {"endUserId": end_user["id"]}}))["connections"]["edges"]
    assert [edge["node"]["scope"] for edge in listed] == ["USER"]
    assert listed[0]["node"]["endUser"]["externalId"] == "user_456"

    # The seeds pass the host's user id as endUserId; Weir calls it endUserExternalId.
    resolved = (
        await seeds.data(
            RESOLVE,
            {
                "i": {
                    "integrationName": "openai",
                    "workspaceId": seeds.workspace_id,
                    "endUserExternalId": "user_456",
                }
            },
        )
    )["resolveConnection"]
    assert resolved["resolvedBy"] == "END_USER" and resolved["connection"]["id"] == listed[0]["node"]["id"]


async def test_connect_token_can_name_the_end_user_by_the_hosts_id(seeds: Tenant) -> None:
    """The seeds' end users are auto-created by the connect flow when new: Weir's
    ``endUserExternalId`` on a connect token creates the end user it names."""
    created = (
        await seeds.data(
            CONNECT_TOKEN,
            {
                "i": {
                    "workspaceId": seeds.workspace_id,
                    "integrationName": "slack",
                    "endUserExternalId": "user_789",
                    "endUserDisplayName": "Bob",
                }
            },
        )
    )["createConnectSession"]
    users = await seeds.data("query { endUsers(first: 10) { edges { node { id externalId displayName } } } }")
    nodes = [edge["node"] for edge in users["endUsers"]["edges"]]
    assert [(node["externalId"], node["displayName"]) for node in nodes] == [("user_789", "Bob")]
    assert created["session"]["endUser"] == {"id": nodes[0]["id"]}


# -- Weavz: resolve by external id, list, filter, delete -------------------------------------


async def test_resolve_an_organization_connection_by_external_id(seeds: Tenant) -> None:
    """Create with externalId user_456, then POST /connections/resolve {integrationName,
    externalId} (Weir also asks for the workspace that is asking)."""
    created = await _create(
        seeds,
        authType="SECRET_TEXT",
        integrationName="openai",
        externalId="user_456",
        displayName="User 456 OpenAI Key",
        secretText=openai_emulator.KEY,
    )
    resolved = (
        await seeds.data(
            RESOLVE,
            {"i": {"integrationName": "openai", "externalId": "user_456", "workspaceId": seeds.workspace_id}},
        )
    )["resolveConnection"]
    assert resolved["resolvedBy"] == "EXTERNAL_ID"
    assert resolved["connection"]["id"] == created["id"]
    assert resolved["connection"]["displayName"] == "User 456 OpenAI Key"


async def test_resolve_rejects_a_match_of_another_workspace(seeds: Tenant) -> None:
    """ "Cross-workspace or cross-user matches are rejected"."""
    other = (
        await seeds.data(
            "mutation($i: CreateWorkspaceInput!) { createWorkspace(input: $i) { id } }",
            {"i": {"name": "staging"}},
        )
    )["createWorkspace"]["id"]
    await _create(
        seeds,
        authType="PLATFORM_OAUTH2",
        integrationName="slack",
        workspaceId=other,
        externalId="conn_customer_789_slack",
        accessToken=slack_emulator.TOKEN,
    )
    body = await seeds.graphql(
        RESOLVE,
        {
            "i": {
                "integrationName": "slack",
                "workspaceId": seeds.workspace_id,
                "externalId": "conn_customer_789_slack",
            }
        },
    )
    assert _error(body)["extensions"]["code"] == "FORBIDDEN"


async def test_list_filter_and_delete_connections(seeds: Tenant) -> None:
    """GET /connections, GET /connections?integrationName=slack, DELETE /connections/:id."""
    openai = await _create(
        seeds, authType="SECRET_TEXT", integrationName="openai", secretText=openai_emulator.KEY
    )
    slack = await _create(
        seeds, authType="PLATFORM_OAUTH2", integrationName="slack", accessToken=slack_emulator.TOKEN
    )

    everything = (await seeds.data(LIST))["connections"]["edges"]
    assert [edge["node"]["id"] for edge in everything] == [openai["id"], slack["id"]]
    only_slack = (await seeds.data(LIST, {"f": {"integrationName": "slack"}}))["connections"]["edges"]
    assert [edge["node"]["id"] for edge in only_slack] == [slack["id"]]

    deleted = await seeds.data(DELETE, {"id": slack["id"]})
    assert deleted["deleteConnection"]["deletedId"] == slack["id"]
    remaining = (await seeds.data(LIST))["connections"]["edges"]
    assert [edge["node"]["id"] for edge in remaining] == [openai["id"]]


# -- Weld Connect: connection bridge with a redirect URI -------------------------------------


async def test_connection_bridge_is_a_connect_session_with_a_redirect_uri(seeds: Tenant) -> None:
    """POST /openapi/connection_bridges {redirect_uri, integration_id: hubspot} -> a URL to send
    the user to; Weir needs the redirect URI on the workspace's allow-list first."""
    await seeds.data(
        "mutation($i: UpdateWorkspaceInput!) { updateWorkspace(input: $i) { id } }",
        {"i": {"id": seeds.workspace_id, "allowedRedirectUris": ["https://your-app.com/callback"]}},
    )
    created = (
        await seeds.data(
            CONNECT_TOKEN,
            {
                "i": {
                    "workspaceId": seeds.workspace_id,
                    "integrationName": "hubspot",
                    "redirectUri": "https://your-app.com/callback",
                }
            },
        )
    )["createConnectSession"]
    assert created["connectUrl"].startswith("http://weir.test/")
    assert created["session"]["redirectUri"] == "https://your-app.com/callback"

    elsewhere = await seeds.graphql(
        CONNECT_TOKEN,
        {
            "i": {
                "workspaceId": seeds.workspace_id,
                "integrationName": "hubspot",
                "redirectUri": "https://evil.example/callback",
            }
        },
    )
    assert _error(elsewhere)["extensions"]["code"] == "VALIDATION_FAILED"


# -- Weld Connect: settings schema, ELT sync, source streams, enable -------------------------

SETTINGS_SCHEMA = "query($id: ID!) { connectionSettingsSchema(connectionId: $id) }"
SYNC_FIELDS = (
    "id connectionId destinationSchemaName settings syncInterval enabled nextRunAt sourceStreams { name }"
)
CREATE_SYNC = f"mutation($i: CreateEltSyncInput!) {{ createEltSync(input: $i) {{ {SYNC_FIELDS} }} }}"
ADD_STREAMS = f"mutation($i: AddSourceStreamsInput!) {{ addSourceStreams(input: $i) {{ {SYNC_FIELDS} }} }}"
ENABLE = f"mutation($id: ID!) {{ enableEltSync(id: $id) {{ {SYNC_FIELDS} }} }}"


async def test_weld_elt_sync_flow(seeds: Tenant) -> None:
    """GET /connections/:id/settings, POST /elt_syncs {connection_id, destination_schema_name,
    elt_settings, sync_interval}, POST /elt_syncs/:id/source_streams {source_streams: [{name}]},
    POST /elt_syncs/:id/enable."""
    connection = await _create(
        seeds,
        authType="PLATFORM_OAUTH2",
        integrationName="hubspot",
        workspaceId=seeds.workspace_id,
        accessToken="hubspot-imported-access-token",
    )
    schema = (await seeds.data(SETTINGS_SCHEMA, {"id": connection["id"]}))["connectionSettingsSchema"]
    assert schema["type"] == "object"

    sync = (
        await seeds.data(
            CREATE_SYNC,
            {
                "i": {
                    "connectionId": connection["id"],
                    "destinationSchemaName": "hubspot_data",
                    "settings": {},
                    "syncInterval": "0 * * * *",
                }
            },
        )
    )["createEltSync"]
    # "This creates the sync, but does not enable it yet."
    assert sync["enabled"] is False and sync["nextRunAt"] is None
    assert (sync["destinationSchemaName"], sync["syncInterval"]) == ("hubspot_data", "0 * * * *")

    added = (
        await seeds.data(
            ADD_STREAMS,
            {"i": {"syncId": sync["id"], "sourceStreams": [{"name": "contacts", "syncMode": "INCREMENTAL"}]}},
        )
    )["addSourceStreams"]
    assert [stream["name"] for stream in added["sourceStreams"]] == ["contacts"]

    enabled = (await seeds.data(ENABLE, {"id": sync["id"]}))["enableEltSync"]
    assert enabled["enabled"] is True and enabled["nextRunAt"] is not None
