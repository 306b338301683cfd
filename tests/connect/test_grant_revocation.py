"""Deleting an OAuth connection, or its end user, revokes the grant at the provider (RFC 7009),
best effort: a provider that refuses or cannot be reached never undoes or fails the deletion."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import httpx

from server import counters
from server.connections.models import Connection
from server.crypto import load_key_ring
from server.integrations import catalog, grant_revocation
from server.integrations.models import WorkspaceIntegration
from tests.connect.conftest import SELECT, SUBMIT, connect_with_oauth, create_session

DELETE_CONNECTION = "mutation($id: ID!) { deleteConnection(id: $id) { deletedId } }"
DELETE_END_USER = "mutation($id: ID!) { deleteEndUser(id: $id) { deletedId } }"
CREATE_KEY_CONNECTION = """
mutation($input: CreateConnectionInput!) { createConnection(input: $input) { id } }"""


async def _revocations() -> dict[str, float]:
    series = counters.by_labels(await counters.read(), "weir_oauth_revocations_total")
    return {dict(labels)["outcome"]: value for labels, value in series.items()}


async def _oauth_connection(acme: Any, external_id: str = "u1") -> Connection:
    session = await connect_with_oauth(acme, endUserExternalId=external_id)
    return await Connection.get(id=session["connectionId"])


async def test_deleting_a_connection_revokes_its_refresh_token_at_the_provider(acme, provider, settings):
    connection = await _oauth_connection(acme)
    credentials = grant_revocation.connections.load_credentials(
        key_ring=load_key_ring(settings), connection=connection
    )
    assert credentials["refresh_token"] in provider.refresh_tokens

    deleted = await acme.data(DELETE_CONNECTION, {"id": connection.id})
    assert deleted["deleteConnection"]["deletedId"] == connection.id
    assert provider.revocations == [
        {
            "client_id": provider.client_id,
            "token": credentials["refresh_token"],
            "token_type_hint": "refresh_token",
        }
    ]
    assert credentials["refresh_token"] not in provider.refresh_tokens  # the grant is gone
    assert await Connection.filter(id=connection.id).count() == 0
    assert await _revocations() == {"revoked": 1}


async def test_an_access_token_alone_is_revoked_when_there_is_no_refresh_token(acme, provider, settings):
    provider.send_refresh_token = False
    connection = await _oauth_connection(acme)
    access = grant_revocation.connections.load_credentials(
        key_ring=load_key_ring(settings), connection=connection
    )["access_token"]
    await acme.data(DELETE_CONNECTION, {"id": connection.id})
    assert [(r["token"], r["token_type_hint"]) for r in provider.revocations] == [(access, "access_token")]
    assert access not in provider.access_tokens


async def test_a_provider_that_refuses_or_is_away_leaves_the_deletion_standing(acme, provider):
    refused, away = await _oauth_connection(acme, "u1"), await _oauth_connection(acme, "u2")
    provider.revoke_status = 503
    await acme.data(DELETE_CONNECTION, {"id": refused.id})
    assert len(provider.revocations) == 1

    # A revocation URL nothing listens on (the discard port of loopback).
    await WorkspaceIntegration.filter(workspace_id=acme.workspace_id, integration_name="testoauth").update(
        revocation_url="http://127.0.0.1:9/revoke"
    )
    body = await acme.graphql(DELETE_CONNECTION, {"id": away.id})
    assert body["data"]["deleteConnection"]["deletedId"] == away.id, body
    assert await Connection.filter(id__in=[refused.id, away.id]).count() == 0
    assert await _revocations() == {"refused": 1, "unreachable": 1}


async def test_deleting_an_end_user_revokes_each_of_its_oauth_grants(acme, provider):
    first = await _oauth_connection(acme, "u1")
    second = await _oauth_connection(acme, "u1")
    other = await _oauth_connection(acme, "u2")
    assert first.end_user_id == second.end_user_id != other.end_user_id
    # An API-key connection of the same end user has nothing to revoke.
    token = (await create_session(acme, integrationName="testkey", endUserExternalId="u1"))["token"]
    await acme.graphql(SELECT, {"name": "testkey"}, key=token)
    done = await acme.graphql(SUBMIT, {"credentials": {"secret_text": "sk_good"}}, key=token)
    key_connection = done["data"]["submitCredentials"]["connectionId"]
    assert (await Connection.get(id=key_connection)).end_user_id == first.end_user_id

    await acme.data(DELETE_END_USER, {"id": first.end_user_id})
    assert len(provider.revocations) == 2
    assert await Connection.filter(id__in=[first.id, second.id, key_connection]).count() == 0
    assert await Connection.filter(id=other.id).count() == 1  # another end user's grant stays
    assert await _revocations() == {"revoked": 2}


async def test_another_organization_cannot_delete_a_connection_nor_trigger_its_revocation(
    acme, provider, other_tenant
):
    connection = await _oauth_connection(acme)
    body = await other_tenant.graphql(DELETE_CONNECTION, {"id": connection.id})
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    body = await other_tenant.graphql(DELETE_END_USER, {"id": connection.end_user_id})
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert provider.revocations == []
    assert await Connection.filter(id=connection.id).count() == 1


async def test_no_revocation_url_means_no_call(acme, provider, monkeypatch):
    connection = await _oauth_connection(acme)
    module = catalog.CONNECTORS["testoauth"]
    spec = module.SPEC
    monkeypatch.setattr(module, "SPEC", replace(spec, oauth=replace(spec.oauth, revocation_url=None)))
    await acme.data(DELETE_CONNECTION, {"id": connection.id})
    assert provider.revocations == []
    assert await Connection.filter(id=connection.id).count() == 0
    assert await _revocations() == {}


async def test_revocations_are_bounded_in_time_and_in_number_at_once(acme, provider, settings):
    """A slow provider costs each grant at most the timeout, four at a time."""
    connection = await _oauth_connection(acme)
    pending = await grant_revocation.pending_revocation(
        settings=settings, key_ring=load_key_ring(settings), connection=connection
    )
    assert pending is not None
    timeouts: list[float] = []
    running, most = 0, 0

    async def slow(request: httpx.Request) -> httpx.Response:
        nonlocal running, most
        timeouts.append(request.extensions["timeout"]["read"])
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.05)
        running -= 1
        raise httpx.ReadTimeout("no answer", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(slow)) as http:
        outcomes = await grant_revocation.revoke_all(http=http, pending=[pending] * 9)
    assert outcomes == ["unreachable"] * 9
    assert timeouts == [grant_revocation.REVOKE_TIMEOUT_SECONDS] * 9
    assert most == grant_revocation.REVOKE_CONCURRENCY
