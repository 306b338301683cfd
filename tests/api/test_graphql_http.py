"""GraphQL over HTTP: media types, status codes, GET, authentication, limits, error codes."""

import json

import pytest

from tests.conftest import client_for, make_tenant

VIEWER = "{ viewer { organization { name } } }"
CREATE_WORKSPACE = "mutation($name: String!) { createWorkspace(input: {name: $name}) { id } }"


def auth(tenant):
    return {"Authorization": f"Bearer {tenant.key}"}


async def test_post_json_answers_with_application_json_by_default(tenant):
    response = await tenant.http.post("/graphql", json={"query": VIEWER}, headers=auth(tenant))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"data": {"viewer": {"organization": {"name": "Acme"}}}}


async def test_graphql_response_json_is_used_when_accepted(tenant):
    headers = {**auth(tenant), "Accept": "application/graphql-response+json, application/json;q=0.9"}
    response = await tenant.http.post("/graphql", json={"query": VIEWER}, headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/graphql-response+json")


async def test_a_request_error_is_400_with_graphql_response_json_and_200_with_json(tenant):
    broken = {"query": "{ viewer { "}
    modern = await tenant.http.post(
        "/graphql",
        json=broken,
        headers={**auth(tenant), "Accept": "application/graphql-response+json"},
    )
    assert modern.status_code == 400
    assert "data" not in modern.json()
    assert modern.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    legacy = await tenant.http.post("/graphql", json=broken, headers=auth(tenant))
    assert legacy.status_code == 200
    assert legacy.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_unknown_field_is_a_bad_request(tenant):
    body = await tenant.graphql("{ viewer { nope } }")
    assert body["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert "nope" in body["errors"][0]["message"]


async def test_a_body_that_is_not_json_media_is_415(tenant):
    response = await tenant.http.post(
        "/graphql", content=VIEWER, headers={**auth(tenant), "Content-Type": "text/plain"}
    )
    assert response.status_code == 415
    assert response.json()["errors"][0]["extensions"]["code"] == "UNSUPPORTED_MEDIA_TYPE"


async def test_malformed_json_is_400(tenant):
    response = await tenant.http.post(
        "/graphql", content="{nope", headers={**auth(tenant), "Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["errors"][0]["message"]


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({}, "'query' must be a non-empty string"),
        ({"query": VIEWER, "variables": [1]}, "'variables' must be an object"),
        ({"query": VIEWER, "operationName": 3}, "'operationName' must be a string"),
    ],
)
async def test_malformed_parameters_are_400(tenant, payload, message):
    response = await tenant.http.post("/graphql", json=payload, headers=auth(tenant))
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == message


async def test_an_operation_name_the_document_lacks_is_400_and_named(tenant):
    response = await tenant.http.post(
        "/graphql",
        json={"query": "query A { viewer { organization { id } } }", "operationName": "B"},
        headers=auth(tenant),
    )
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["message"] == "the document has no operation named 'B'"
    assert error["extensions"]["code"] == "BAD_REQUEST"


async def test_several_operations_need_an_operation_name(tenant):
    query = "query A { viewer { organization { id } } } query C { __typename }"
    unnamed = await tenant.http.post("/graphql", json={"query": query}, headers=auth(tenant))
    named = await tenant.http.post(
        "/graphql", json={"query": query, "operationName": "C"}, headers=auth(tenant)
    )

    assert unnamed.status_code == 200 and "data" not in unnamed.json()
    error = unnamed.json()["errors"][0]
    assert "operationName" in error["message"] and error["extensions"]["code"] == "BAD_REQUEST"
    assert named.json() == {"data": {"__typename": "Query"}}


async def test_an_unacceptable_accept_header_is_406(tenant):
    response = await tenant.http.post(
        "/graphql", json={"query": VIEWER}, headers={**auth(tenant), "Accept": "text/csv"}
    )
    assert response.status_code == 406
    assert response.json()["errors"][0]["extensions"]["code"] == "NOT_ACCEPTABLE"


async def test_get_runs_queries(tenant):
    response = await tenant.http.get("/graphql", params={"query": VIEWER}, headers=auth(tenant))
    assert response.status_code == 200
    assert response.json()["data"]["viewer"]["organization"]["name"] == "Acme"


async def test_get_never_runs_a_mutation(tenant):
    response = await tenant.http.get(
        "/graphql",
        params={"query": CREATE_WORKSPACE, "variables": json.dumps({"name": "via-get"})},
        headers=auth(tenant),
    )
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"
    names = await tenant.data("{ workspaces { edges { node { name } } } }")
    assert [e["node"]["name"] for e in names["workspaces"]["edges"]] == ["default"]


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "OPTIONS", "PROPFIND"])
async def test_other_methods_are_405_method_not_allowed_with_allow(tenant, method):
    response = await tenant.http.request(method, "/graphql", json={"query": VIEWER}, headers=auth(tenant))
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["errors"][0]
    assert error["extensions"] == {"code": "METHOD_NOT_ALLOWED"}
    assert method in error["message"]


async def test_a_subscription_over_http_says_where_subscriptions_run(tenant):
    response = await tenant.http.post(
        "/graphql", json={"query": "subscription { eltSyncUpdated { sync { id } } }"}, headers=auth(tenant)
    )
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_REQUEST" and "WebSocket" in error["message"]


async def test_an_unexpected_exception_in_the_handler_is_internal_with_a_request_id(
    tenant, monkeypatch, caplog
):
    from server.api.schema import WeirSchema

    async def broken(self, *args, **kwargs):
        raise RuntimeError("could not reach 10.0.0.7 as weir:hunter2")

    monkeypatch.setattr(WeirSchema, "execute", broken)
    response = await tenant.http.post(
        "/graphql", json={"query": VIEWER}, headers={**auth(tenant), "X-Request-ID": "req-777"}
    )
    assert response.status_code == 500
    assert response.json() == {
        "errors": [
            {
                "message": "Internal error (request id req-777)",
                "extensions": {"code": "INTERNAL", "requestId": "req-777"},
            }
        ]
    }
    assert "hunter2" not in response.text and "10.0.0.7" not in response.text
    logged = [r for r in caplog.records if r.name == "weir.graphql"]
    assert logged and logged[0].request_id == "req-777" and logged[0].exc_info
    assert "req-777" in logged[0].getMessage()


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer weir_sk_wrong"},
        {"Authorization": "Basic abc"},
        {"x-api-key": "not-a-key"},
    ],
)
async def test_a_missing_or_wrong_key_is_401_unauthenticated(client, tenant, headers):
    response = await client.post("/graphql", json={"query": VIEWER}, headers=headers)
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_the_x_api_key_header_works_like_bearer(client, tenant):
    response = await client.post("/graphql", json={"query": VIEWER}, headers={"x-api-key": tenant.key})
    assert response.status_code == 200
    assert response.json()["data"]["viewer"]["organization"]["name"] == "Acme"


async def test_an_oversized_body_is_413(tenant, settings):
    padding = "x" * (settings.max_body_bytes + 10)
    response = await tenant.http.post(
        "/graphql", json={"query": VIEWER, "variables": {"pad": padding}}, headers=auth(tenant)
    )
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


async def test_query_depth_is_limited(settings):
    shallow = "{ endUsers { edges { node { id } } } }"
    deep = "{ endUsers { edges { node { workspace { name } } } } }"
    async with client_for(settings.replace(graphql_max_depth=3)) as http:
        tenant = await make_tenant(http, "Deep")
        assert (await tenant.graphql(shallow)).get("errors") is None
        body = await tenant.graphql(deep)
    assert body["errors"][0]["extensions"]["code"] == "LIMIT_EXCEEDED"
    assert "exceeds maximum operation depth" in body["errors"][0]["message"]


async def test_aliases_are_limited(tenant, settings):
    aliases = " ".join(f"a{i}: __typename" for i in range(settings.graphql_max_aliases + 1))
    body = await tenant.graphql("{ " + aliases + " }")
    assert body["errors"][0]["extensions"]["code"] == "LIMIT_EXCEEDED"
    assert "aliases" in body["errors"][0]["message"]


async def test_tokens_are_limited(tenant, settings):
    fields = " ".join("__typename" for _ in range(settings.graphql_max_tokens + 1))
    body = await tenant.graphql("{ " + fields + " }")
    assert body["errors"][0]["extensions"]["code"] == "LIMIT_EXCEEDED"
    assert "token" in body["errors"][0]["message"].lower()


async def test_an_unexpected_exception_is_internal_with_a_request_id_and_no_details(
    tenant, monkeypatch, caplog
):
    from server.orgs import service

    async def explode(**kwargs):
        raise RuntimeError("password=hunter2 at /srv/weir/secret.py line 3")

    monkeypatch.setattr(service, "get_organization", explode)
    response = await tenant.http.post(
        "/graphql",
        json={"query": VIEWER},
        headers={**auth(tenant), "X-Request-ID": "req-12345"},
    )
    error = response.json()["errors"][0]
    assert error["extensions"] == {"code": "INTERNAL", "requestId": "req-12345"}
    assert "hunter2" not in response.text and "Traceback" not in response.text
    assert response.headers["x-request-id"] == "req-12345"
    logged = [r for r in caplog.records if r.name == "weir.api"]
    assert logged and logged[0].request_id == "req-12345" and logged[0].exc_info


async def test_graphiql_is_served_outside_production(client):
    response = await client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


async def test_graphiql_and_introspection_are_off_when_configured(settings):
    production = settings.replace(env="production", graphql_introspection=False)
    async with client_for(production) as http:
        ide = await http.get("/graphql", headers={"Accept": "text/html"})
        assert ide.status_code == 406
        tenant = await make_tenant(http, "Prod")
        body = await tenant.graphql("{ __schema { queryType { name } } }")
    assert body["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert "introspection" in body["errors"][0]["message"].lower()
