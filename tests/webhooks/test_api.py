"""The webhook operations over GraphQL: endpoints, secrets, deliveries, events, replay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from server.webhooks.models import WebhookEndpoint
from tests.conftest import client_for, make_tenant
from tests.webhooks.helpers import SECRET_KEY

CREATE = """mutation($input: CreateWebhookEndpointInput!) {
  createWebhookEndpoint(input: $input) {
    secret
    endpoint { id url description eventTypes enabled disabledReason workspace { id } }
  }
}"""
UPDATE = """mutation($input: UpdateWebhookEndpointInput!) {
  updateWebhookEndpoint(input: $input) { id url eventTypes enabled disabledReason disabledAt }
}"""
ROTATE = """mutation($input: RotateWebhookSecretInput!) {
  rotateWebhookSecret(input: $input) { secret endpoint { id previousSecretExpiresAt } }
}"""
DELETE = "mutation($id: ID!) { deleteWebhookEndpoint(id: $id) { deletedId } }"
ENDPOINTS = """query($w: ID, $first: Int, $after: String) {
  webhookEndpoints(workspaceId: $w, first: $first, after: $after) {
    edges { node { id url } } pageInfo { hasNextPage endCursor }
  }
}"""
ENDPOINT = "query($id: ID!) { webhookEndpoint(id: $id) { id enabled } }"
DELIVERIES = """query($id: ID!, $status: WebhookDeliveryStatus) {
  webhookDeliveries(endpointId: $id, status: $status) {
    edges { node {
      id eventId eventType status attemptCount nextAttemptAt completedAt lastError
      attempts { at statusCode latencyMs responseExcerpt error }
    } }
  }
}"""
EVENTS = """query($since: DateTime, $types: [WebhookEventType!], $first: Int, $after: String) {
  webhookEvents(since: $since, types: $types, first: $first, after: $after) {
    edges { node { id type objectId workspaceId createdAt data } }
    pageInfo { hasNextPage endCursor }
  }
}"""
REDELIVER = """mutation($id: ID!) {
  redeliverWebhookEvent(eventId: $id) { id eventId status }
}"""
CREATE_CONNECTION = """mutation($w: ID!, $secret: String!) {
  createConnection(input: {integrationName: "openai", authType: SECRET_TEXT, scope: WORKSPACE,
                           workspaceId: $w, secretText: $secret}) { id }
}"""
DELETE_CONNECTION = "mutation($id: ID!) { deleteConnection(id: $id) { deletedId } }"


def test_every_event_type_is_in_the_schema():
    from server.api.webhooks import WebhookEventType
    from server.webhooks.payloads import EVENT_TYPES

    assert [member.value for member in WebhookEventType] == list(EVENT_TYPES)


def _input(tenant, url, **extra):
    return {
        "input": {
            "workspaceId": tenant.workspace_id,
            "url": url,
            "eventTypes": ["CONNECTION_CREATED", "CONNECTION_DELETED"],
            **extra,
        }
    }


def _code(body):
    return body["errors"][0]["extensions"]["code"]


async def test_an_endpoint_is_created_with_a_secret_shown_once(tenant, receiver):
    created = (await tenant.data(CREATE, _input(tenant, receiver.url, description="billing")))[
        "createWebhookEndpoint"
    ]
    endpoint = created["endpoint"]
    assert created["secret"].startswith("whsec_")
    assert endpoint["url"] == receiver.url
    assert endpoint["eventTypes"] == ["CONNECTION_CREATED", "CONNECTION_DELETED"]
    assert endpoint["enabled"] and endpoint["workspace"]["id"] == tenant.workspace_id
    row = await WebhookEndpoint.get(id=endpoint["id"])
    assert created["secret"] not in row.secret_encrypted
    listed = await tenant.data(ENDPOINTS, {"w": tenant.workspace_id})
    assert [e["node"]["id"] for e in listed["webhookEndpoints"]["edges"]] == [endpoint["id"]]
    secretless = await tenant.graphql(
        "query($id: ID!) { webhookEndpoint(id: $id) { secret } }", {"id": endpoint["id"]}
    )
    assert _code(secretless) == "BAD_REQUEST"


async def test_bad_input_names_the_field(tenant, receiver):
    body = await tenant.graphql(CREATE, _input(tenant, "ftp://example.com/x"))
    assert _code(body) == "VALIDATION_FAILED"
    assert body["errors"][0]["extensions"]["fields"][0]["field"] == "input.url"
    body = await tenant.graphql(CREATE, _input(tenant, receiver.url, eventTypes=[]))
    assert body["errors"][0]["extensions"]["fields"][0]["field"] == "input.eventTypes"


async def test_production_refuses_a_loopback_url(settings, receiver):
    async with client_for(settings.replace(env="production")) as http:
        tenant = await make_tenant(http, "Acme")
        body = await tenant.graphql(CREATE, _input(tenant, receiver.url))
    assert _code(body) == "VALIDATION_FAILED"
    assert body["errors"][0]["extensions"]["fields"][0]["field"] == "input.url"


async def test_deliveries_events_and_replay_are_visible(tenant, receiver, dispatcher):
    receiver.script = [503]
    created = (await tenant.data(CREATE, _input(tenant, receiver.url)))["createWebhookEndpoint"]
    endpoint_id = created["endpoint"]["id"]
    connection = await tenant.data(CREATE_CONNECTION, {"w": tenant.workspace_id, "secret": SECRET_KEY})
    connection_id = connection["createConnection"]["id"]
    await dispatcher.run()

    pending = await tenant.data(DELIVERIES, {"id": endpoint_id, "status": "PENDING"})
    [node] = [e["node"] for e in pending["webhookDeliveries"]["edges"]]
    assert node["eventType"] == "CONNECTION_CREATED" and node["attemptCount"] == 1
    assert node["nextAttemptAt"] is not None and node["lastError"] == "HTTP 503"
    [attempt] = node["attempts"]
    assert attempt["statusCode"] == 503 and attempt["responseExcerpt"] == "answer 503"
    assert attempt["latencyMs"] >= 0 and attempt["error"] is None

    dispatcher.clock.advance(minutes=1)
    await dispatcher.run()
    done = await tenant.data(DELIVERIES, {"id": endpoint_id, "status": "SUCCEEDED"})
    [node] = [e["node"] for e in done["webhookDeliveries"]["edges"]]
    assert [a["statusCode"] for a in node["attempts"]] == [503, 200]
    assert node["nextAttemptAt"] is None and node["completedAt"] is not None

    await tenant.data(DELETE_CONNECTION, {"id": connection_id})
    events = (await tenant.data(EVENTS, {}))["webhookEvents"]["edges"]
    assert [e["node"]["type"] for e in events] == ["CONNECTION_CREATED", "CONNECTION_DELETED"]
    assert events[0]["node"]["data"]["id"] == connection_id
    assert events[0]["node"]["data"]["credentialPreview"]
    assert SECRET_KEY not in str(events)
    only_deleted = await tenant.data(EVENTS, {"types": ["CONNECTION_DELETED"]})
    assert len(only_deleted["webhookEvents"]["edges"]) == 1
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert (await tenant.data(EVENTS, {"since": later}))["webhookEvents"]["edges"] == []
    page = (await tenant.data(EVENTS, {"first": 1}))["webhookEvents"]
    assert page["pageInfo"]["hasNextPage"]
    rest = await tenant.data(EVENTS, {"first": 1, "after": page["pageInfo"]["endCursor"]})
    assert rest["webhookEvents"]["edges"][0]["node"]["type"] == "CONNECTION_DELETED"

    replayed = await tenant.data(REDELIVER, {"id": events[0]["node"]["id"]})
    [delivery] = replayed["redeliverWebhookEvent"]
    assert delivery["status"] == "PENDING" and delivery["eventId"] == events[0]["node"]["id"]
    await dispatcher.drain()
    ids = [r.headers["weir-event-id"] for r in receiver.received]
    assert ids.count(events[0]["node"]["id"]) == 3  # 503, 200, then the replay


async def test_disable_rotate_and_delete(tenant, receiver):
    created = (await tenant.data(CREATE, _input(tenant, receiver.url)))["createWebhookEndpoint"]
    endpoint_id = created["endpoint"]["id"]
    paused = await tenant.data(
        UPDATE, {"input": {"id": endpoint_id, "enabled": False, "eventTypes": ["SYNC_RUN_FAILED"]}}
    )
    assert paused["updateWebhookEndpoint"]["enabled"] is False
    assert paused["updateWebhookEndpoint"]["disabledReason"]
    assert paused["updateWebhookEndpoint"]["eventTypes"] == ["SYNC_RUN_FAILED"]
    resumed = await tenant.data(UPDATE, {"input": {"id": endpoint_id, "enabled": True}})
    assert resumed["updateWebhookEndpoint"]["disabledReason"] is None

    rotated = (await tenant.data(ROTATE, {"input": {"id": endpoint_id}}))["rotateWebhookSecret"]
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != created["secret"]
    assert rotated["endpoint"]["previousSecretExpiresAt"] is not None
    at_once = await tenant.data(ROTATE, {"input": {"id": endpoint_id, "graceSeconds": 0}})
    assert at_once["rotateWebhookSecret"]["endpoint"]["previousSecretExpiresAt"] is None

    assert (await tenant.data(DELETE, {"id": endpoint_id}))["deleteWebhookEndpoint"] == {
        "deletedId": endpoint_id
    }
    assert _code(await tenant.graphql(ENDPOINT, {"id": endpoint_id})) == "NOT_FOUND"


async def test_another_tenant_sees_nothing(tenant, other_tenant, receiver, dispatcher):
    created = (await tenant.data(CREATE, _input(tenant, receiver.url)))["createWebhookEndpoint"]
    endpoint_id = created["endpoint"]["id"]
    await tenant.data(CREATE_CONNECTION, {"w": tenant.workspace_id, "secret": SECRET_KEY})
    [event] = (await tenant.data(EVENTS, {}))["webhookEvents"]["edges"]
    for document, variables in [
        (ENDPOINT, {"id": endpoint_id}),
        (DELIVERIES, {"id": endpoint_id}),
        (UPDATE, {"input": {"id": endpoint_id, "enabled": False}}),
        (ROTATE, {"input": {"id": endpoint_id}}),
        (DELETE, {"id": endpoint_id}),
        (REDELIVER, {"id": event["node"]["id"]}),
    ]:
        assert _code(await other_tenant.graphql(document, variables)) == "NOT_FOUND", document
    assert _code(await other_tenant.graphql(CREATE, _input(tenant, receiver.url))) == "NOT_FOUND"
    assert (await other_tenant.data(EVENTS, {}))["webhookEvents"]["edges"] == []
    assert (await other_tenant.data(ENDPOINTS, {}))["webhookEndpoints"]["edges"] == []


async def test_webhook_reads_take_the_fast_path_with_graphql_cores_json(
    app, tenant, receiver, dispatcher, monkeypatch
):
    from server.api.execution import FastExecutor
    from tests.api.test_fast_execution import Executors

    fallbacks: list[str] = []
    original = FastExecutor.execute_with_graphql_core

    def recorded(self, serially=None):  # type: ignore[no-untyped-def]
        fallbacks.append(self.operation.operation.value)
        return original(self, serially)

    receiver.script = [503]
    created = (await tenant.data(CREATE, _input(tenant, receiver.url)))["createWebhookEndpoint"]
    endpoint_id = created["endpoint"]["id"]
    connection = await tenant.data(CREATE_CONNECTION, {"w": tenant.workspace_id, "secret": SECRET_KEY})
    await tenant.data(DELETE_CONNECTION, {"id": connection["createConnection"]["id"]})
    await dispatcher.drain()
    dispatcher.clock.advance(minutes=1)
    await dispatcher.drain()
    monkeypatch.setattr(FastExecutor, "execute_with_graphql_core", recorded)
    executors = Executors(app, tenant.key)
    for query, variables in [
        (ENDPOINTS, {"w": tenant.workspace_id}),
        (ENDPOINT, {"id": endpoint_id}),
        (DELIVERIES, {"id": endpoint_id}),
        (DELIVERIES, {"id": endpoint_id, "status": "SUCCEEDED"}),
        (EVENTS, {"types": ["CONNECTION_CREATED"]}),
        (EVENTS, {"first": 1}),
    ]:
        fast, reference = await executors.both(query, variables)
        assert fast == reference, (query, variables)
        assert '"errors"' not in fast
    assert fallbacks == []
