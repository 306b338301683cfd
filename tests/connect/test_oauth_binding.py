"""The OAuth flow is bound to the browser that started it (RFC 9700 §4.7).

``acme.http`` plays the end user's browser (it keeps cookies); a second client on the same app
plays another browser that has the callback URL (replayed from a log, a history, a forwarded
link) but not the binding cookie.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from http.cookies import SimpleCookie
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from server.connect import binding
from server.connect.models import ConnectSession
from server.connections.models import Connection
from tests.connect.conftest import (
    SELECT,
    SESSION,
    START,
    consent,
    create_session,
    launch,
    page_data,
    start_oauth,
)


@pytest.fixture
async def other_browser(app) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://weir.test") as http:
        yield http


async def _authorize_url(tenant, token: str) -> str:
    """startOAuth only: the flow exists, no browser is bound to it yet."""
    await tenant.graphql(SELECT, {"name": "testoauth"}, key=token)
    started = await tenant.graphql(START, {"popup": False}, key=token)
    return started["data"]["startOAuth"]["authorizeUrl"]


def _set_cookie(response: httpx.Response) -> SimpleCookie:
    cookie = SimpleCookie()
    for header in response.headers.get_list("set-cookie"):
        cookie.load(header)
    return cookie


async def test_callback_from_another_browser_is_refused_and_the_user_still_finishes(
    acme, provider, other_browser
):
    created = await create_session(
        acme, integrationName="testoauth", redirectUri="https://app.example.com/connected"
    )
    params = await consent(await start_oauth(acme, created["token"]))

    replayed = await other_browser.get("/oauth/callback", params=params)
    assert replayed.status_code == 403
    data = page_data(replayed.text)
    assert data["errorCode"] == "BROWSER_MISMATCH" and data["status"] == "FAILED"
    assert "different browser" in data["errorMessage"]
    # The other browser learns nothing of the session and changes nothing.
    assert "sessionId" not in data and "redirectUrl" not in data
    assert data["workspace"]["displayName"] == "Weir"
    assert await Connection.all().count() == 0 and not provider.token_requests
    row = await ConnectSession.get(id=created["session"]["id"])
    assert row.status == "CONNECTING" and row.oauth_verifier_encrypted is not None

    finished = await acme.http.get("/oauth/callback", params=params)
    assert finished.status_code == 200 and page_data(finished.text)["status"] == "COMPLETED"
    session = (await acme.data(SESSION, {"id": created["session"]["id"]}))["connectSession"]
    assert session["status"] == "COMPLETED" and await Connection.all().count() == 1


async def test_a_forwarded_authorize_url_cannot_finish_in_the_receivers_browser(
    acme, provider, other_browser
):
    # The holder of a connect token starts a flow and sends the provider's URL to a victim,
    # who consents in their own browser: their account must not land in the sender's session.
    created = await create_session(acme, integrationName="testoauth")
    url = await _authorize_url(acme, created["token"])
    page = await other_browser.get("/oauth/callback", params=await consent(url))
    assert page.status_code == 403 and "different browser" in page.text
    assert await Connection.all().count() == 0 and not provider.token_requests


async def test_the_cookie_of_another_flow_does_not_bind(acme, provider, other_browser):
    first = await create_session(acme, integrationName="testoauth")
    first_url = await start_oauth(acme, first["token"])
    second = await create_session(acme, integrationName="testoauth")
    second_url = await _authorize_url(acme, second["token"])
    first_state = dict(parse_qsl(urlsplit(first_url).query))["state"]
    second_state = dict(parse_qsl(urlsplit(second_url).query))["state"]
    own = acme.http.cookies.get(binding.cookie_name(first_state))
    assert own
    # The first flow's valid cookie, presented under the second flow's name.
    other_browser.cookies.set(
        binding.cookie_name(second_state), own, domain="weir.test", path="/oauth/callback"
    )
    page = await other_browser.get("/oauth/callback", params=await consent(second_url))
    assert page.status_code == 403
    assert await Connection.all().count() == 0


async def test_the_binding_cookie_is_httponly_lax_and_scoped_to_the_callback(acme, settings):
    created = await create_session(acme, integrationName="testoauth")
    url = await _authorize_url(acme, created["token"])
    launched = await launch(acme.http, created["token"], url)
    assert launched.status_code == 200
    assert launched.headers["referrer-policy"] == "no-referrer"
    assert launched.headers["cache-control"] == "no-store"
    assert page_data(launched.text)["view"] == "launch"
    cookies = _set_cookie(launched)
    state = dict(parse_qsl(urlsplit(url).query))["state"]
    morsel = cookies[binding.cookie_name(state)]
    assert morsel["httponly"] and morsel["samesite"].lower() == "lax"
    assert morsel["path"] == "/oauth/callback" and not morsel["secure"]
    assert 0 < int(morsel["max-age"]) <= settings.connect_session_ttl_seconds
    assert state not in morsel.value and created["token"] not in morsel.value


async def test_the_binding_cookie_is_secure_behind_https(acme, app, settings):
    app.state.runtime.services.settings = settings.replace(public_url="https://weir.test")
    created = await create_session(acme, integrationName="testoauth")
    url = await _authorize_url(acme, created["token"])
    launched = await launch(acme.http, created["token"], url, Origin="https://weir.test")
    assert launched.status_code == 200
    state = dict(parse_qsl(urlsplit(url).query))["state"]
    assert _set_cookie(launched)[binding.cookie_name(state)]["secure"]


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Origin": "null", "Sec-Fetch-Site": "cross-site"},
        {"Origin": "", "Sec-Fetch-Site": "same-site"},
    ],
)
async def test_authorize_refuses_a_post_from_another_site(acme, provider, headers):
    created = await create_session(acme, integrationName="testoauth")
    url = await _authorize_url(acme, created["token"])
    refused = await launch(acme.http, created["token"], url, **headers)
    assert refused.status_code == 403
    assert page_data(refused.text)["errorCode"] == "CROSS_SITE_REQUEST"
    assert "set-cookie" not in refused.headers and not acme.http.cookies
    # Nothing was spent: the connect page can still launch the same flow.
    assert (await launch(acme.http, created["token"], url)).status_code == 200


async def test_authorize_accepts_a_same_origin_fetch_site_without_origin(acme, provider):
    # A page with a no-referrer policy posts with Origin: null; the browser's Sec-Fetch-Site
    # still says where the post came from.
    created = await create_session(acme, integrationName="testoauth")
    url = await _authorize_url(acme, created["token"])
    launched = await launch(
        acme.http, created["token"], url, Origin="null", **{"Sec-Fetch-Site": "same-origin"}
    )
    assert launched.status_code == 200 and "set-cookie" in launched.headers


async def test_authorize_binds_only_the_flow_in_flight_of_the_token(acme, provider):
    created = await create_session(acme, integrationName="testoauth")
    url = await _authorize_url(acme, created["token"])
    state = dict(parse_qsl(urlsplit(url).query))["state"]
    other = await create_session(acme, integrationName="testoauth")

    async def post(data: dict[str, str], **headers: str) -> httpx.Response:
        return await acme.http.post(
            "/oauth/authorize", data=data, headers={"Origin": "http://weir.test", **headers}
        )

    wrong_state = await post({"token": created["token"], "state": state[:-3] + "xx.t"})
    assert wrong_state.status_code == 409
    assert page_data(wrong_state.text)["errorCode"] == "STATE_UNKNOWN"
    not_its_flow = await post({"token": other["token"], "state": state})
    assert not_its_flow.status_code == 409
    bad_token = await post({"token": "weir_ct_nope", "state": state})
    assert bad_token.status_code == 401
    assert page_data(bad_token.text)["errorCode"] == "TOKEN_EXPIRED"
    as_json = await acme.http.post(
        "/oauth/authorize",
        json={"token": created["token"], "state": state},
        headers={"Origin": "http://weir.test"},
    )
    assert as_json.status_code == 400
    too_big = await post({"token": created["token"], "state": state, "pad": "x" * 5000})
    assert too_big.status_code == 400
    assert not acme.http.cookies
    # A new startOAuth replaces the flow: the old state no longer binds.
    newer = await _authorize_url(acme, created["token"])
    assert (await launch(acme.http, created["token"], url)).status_code == 409
    assert (await launch(acme.http, created["token"], newer)).status_code == 200


async def test_authorize_is_post_only(acme):
    assert (await acme.http.get("/oauth/authorize")).status_code == 405


async def test_authorize_after_the_oauth_app_was_removed_is_a_readable_refusal(acme, provider):
    from server.integrations.models import WorkspaceIntegration

    created = await create_session(acme, integrationName="testoauth")
    url = await _authorize_url(acme, created["token"])
    await WorkspaceIntegration.all().delete()
    refused = await launch(acme.http, created["token"], url)
    assert refused.status_code == 409
    assert page_data(refused.text)["errorCode"] == "OAUTH_NOT_CONFIGURED"
    assert "set-cookie" not in refused.headers
