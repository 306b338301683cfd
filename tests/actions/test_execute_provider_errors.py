"""A provider's trouble is an error a client can act on: a 401 is refreshed once and retried, a
401 after the refresh puts the connection in ERROR (REAUTHORIZATION_REQUIRED), a 429 is
RATE_LIMITED with retryAfter, a 4xx is PROVIDER_ERROR with providerStatus. Never INTERNAL."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from server.actions import failures
from server.calls.models import CallLog
from server.connections.models import Connection
from server.connectors import http as provider_http
from server.errors import ProviderFailed, ProviderUnavailable, RateLimited
from tests.actions.conftest import MESSAGE, Acme, failure, oauth_connection
from tests.emulators.oauth_provider import OAuthProvider


async def test_a_401_is_refreshed_once_and_the_call_succeeds(
    acme: Acme, provider: OAuthProvider, messages: Any
) -> None:
    connection_id = await oauth_connection(acme, provider, fresh=False, scope="WORKSPACE")

    done = await acme.executed(connectionId=connection_id)

    assert done["output"]["id"] == 1
    assert [r["grant_type"] for r in provider.token_requests] == ["refresh_token"]
    assert (messages.refused, messages.requests) == (1, 2)
    assert (await Connection.get(id=connection_id)).status == "ACTIVE"


async def test_a_401_after_the_refresh_needs_reauthorization(
    acme: Acme, provider: OAuthProvider, messages: Any
) -> None:
    connection_id = await oauth_connection(acme, provider, scope="WORKSPACE")
    messages.refuse_every_token = True

    refused = failure(await acme.execute(connectionId=connection_id))

    assert refused["extensions"] == {"code": "REAUTHORIZATION_REQUIRED"}
    assert "invalid_auth" in refused["message"]
    assert len(provider.token_requests) == 1  # refreshed once, then gave up
    connection = await Connection.get(id=connection_id)
    assert connection.status == "ERROR"
    assert "reconnect" in (connection.status_reason or "")
    assert "invalid_auth" in (connection.status_reason or "")
    status = (
        await acme.tenant.data(
            "query($id: ID!) { connection(id: $id) { status statusReason } }", {"id": connection_id}
        )
    )["connection"]
    assert status["status"] == "ERROR"


async def test_a_refused_refresh_token_needs_reauthorization(
    acme: Acme, provider: OAuthProvider, messages: Any
) -> None:
    connection_id = await oauth_connection(acme, provider, fresh=False, scope="WORKSPACE")
    provider.refuse_refresh = True

    refused = failure(await acme.execute(connectionId=connection_id))

    assert refused["extensions"]["code"] == "REAUTHORIZATION_REQUIRED"
    assert (await Connection.get(id=connection_id)).status == "ERROR"
    assert messages.sent == []


async def test_a_429_is_rate_limited_with_retry_after(acme: Acme, messages: Any) -> None:
    connection_id = await acme.connection(scope="WORKSPACE", workspaceId=acme.workspace_id)
    messages.retry_after = 120  # longer than Weir waits inside one call

    refused = failure(await acme.execute(connectionId=connection_id))

    assert refused["extensions"] == {"code": "RATE_LIMITED", "retryAfter": 120}
    assert messages.sent == []


@pytest.mark.parametrize("status", [400, 404, 422])
async def test_a_provider_4xx_is_a_provider_error_with_its_status(
    acme: Acme, messages: Any, status: int
) -> None:
    connection_id = await acme.connection(scope="WORKSPACE", workspaceId=acme.workspace_id)
    messages.error_status = status

    refused = failure(await acme.execute(connectionId=connection_id))

    assert refused["extensions"] == {"code": "PROVIDER_ERROR", "providerStatus": status}
    assert "channel_not_found" in refused["message"]
    logged = await CallLog.get(organization_id=acme.tenant.organization_id)
    assert (logged.status, logged.error_code, logged.http_status) == ("FAILED", "PROVIDER_ERROR", status)


async def test_no_credential_reaches_an_error_message(
    acme: Acme, provider: OAuthProvider, messages: Any
) -> None:
    connection_id = await oauth_connection(acme, provider, scope="WORKSPACE")
    messages.refuse_every_token = True

    refused = failure(await acme.execute(connectionId=connection_id))
    connection = await Connection.get(id=connection_id)

    for token in provider.access_tokens | provider.refresh_tokens:
        assert token not in refused["message"]
        assert token not in (connection.status_reason or "")
    assert MESSAGE["text"] not in refused["message"]


# -- the translation itself, for failures a loopback test cannot cheaply cause -------------------


async def test_nothing_answering_is_provider_unreachable() -> None:
    for cause in (
        provider_http.ProviderUnreachable(0, "could not reach the provider (ConnectError)"),
        httpx.ConnectError("refused"),
        TimeoutError(),
    ):
        translated = await failures.translate(
            cause, provider="Test", connection=None, bus=None, retry_after_header=None, timeout_seconds=120
        )
        assert isinstance(translated, ProviderUnavailable), cause


async def test_a_python_connector_s_raise_for_status_is_a_provider_error() -> None:
    response = httpx.Response(409, request=httpx.Request("POST", "https://api.example.com/x"))
    cause = httpx.HTTPStatusError("conflict", request=response.request, response=response)

    translated = await failures.translate(
        cause, provider="Test", connection=None, bus=None, retry_after_header=None, timeout_seconds=120
    )

    assert isinstance(translated, ProviderFailed)
    assert translated.provider_status == 409


@pytest.mark.parametrize(
    ("known", "header", "expected"),
    [
        (2.2, None, 3),  # what the rate budget knew wins
        (None, "30", 30),
        (None, "0", 1),
        (None, "Wed, 21 Oct 2015 07:28:00 GMT", 1),  # a date in the past: retry now
        (None, "soon", None),
        (None, "inf", None),
        (None, None, None),
    ],
)
async def test_retry_after_comes_from_the_budget_or_the_provider(
    known: float | None, header: str | None, expected: int | None
) -> None:
    cause = provider_http.ProviderRateLimited(429, "slow down")
    if known is not None:
        cause.retry_after = known  # type: ignore[attr-defined]

    translated = await failures.translate(
        cause, provider="Test", connection=None, bus=None, retry_after_header=header, timeout_seconds=120
    )

    assert isinstance(translated, RateLimited)
    assert translated.retry_after == expected
