"""The hosted connect page, the embed check and the widget files as HTTP responses."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import re
from datetime import UTC, datetime, timedelta

from server.connect.models import ConnectSession
from server.web import widget
from tests.connect.conftest import HOST_ORIGIN, create_session


def _page_data(html: str) -> dict:
    found = re.search(r'<script id="weir-data" type="application/json">(.*?)</script>', html, re.S)
    return json.loads(found.group(1))


async def test_connect_page_is_branded_and_framable_only_by_allowed_origins(acme):
    created = await create_session(acme, allowedIntegrations=["testkey", "testdb", "testoauth"])
    response = await acme.http.get(
        "/connect", params={"token": created["token"], "mode": "modal", "origin": HOST_ORIGIN}
    )
    assert response.status_code == 200
    csp = response.headers["content-security-policy"]
    assert f"frame-ancestors {HOST_ORIGIN}" in csp and "script-src 'self'" in csp
    # No URL ever goes to another origin; same-origin so the OAuth form post carries an Origin.
    assert response.headers["referrer-policy"] == "same-origin"
    assert '<meta name="referrer" content="same-origin">' in response.text
    assert response.headers["cache-control"] == "no-store"
    assert created["token"] not in response.text
    data = _page_data(response.text)
    assert data["hostOrigin"] == HOST_ORIGIN and data["mode"] == "modal"
    assert data["workspace"] == {
        "displayName": "Acme Analytics",
        "logoUrl": None,
        "primaryColor": "#6d28d9",
        "theme": "LIGHT",
    }
    by_name = {i["name"]: i for i in data["integrations"]}
    assert by_name["testkey"]["formAuthType"] == "SECRET_TEXT"
    assert by_name["testoauth"]["oauth"] is True and by_name["testoauth"]["formAuthType"] is None
    assert by_name["testdb"]["authFieldsSchema"]["properties"]["sslmode"]["enum"] == ["disable", "require"]


async def test_connect_page_refuses_an_origin_not_allowed(acme):
    created = await create_session(acme, integrationName="testkey")
    response = await acme.http.get(
        "/connect", params={"token": created["token"], "mode": "inline", "origin": "https://evil.example"}
    )
    assert response.status_code == 403
    assert f"frame-ancestors {HOST_ORIGIN}" in response.headers["content-security-policy"]
    data = _page_data(response.text)
    assert data["errorCode"] == "ORIGIN_NOT_ALLOWED" and data["hostOrigin"] is None


async def test_connect_page_for_an_unknown_or_expired_token(acme):
    unknown = await acme.http.get("/connect", params={"token": "weir_ct_nope"})
    assert unknown.status_code == 401
    assert "frame-ancestors 'none'" in unknown.headers["content-security-policy"]
    created = await create_session(acme, integrationName="testkey")
    await ConnectSession.filter(id=created["session"]["id"]).update(
        expires_at=datetime.now(UTC) - timedelta(seconds=1)
    )
    expired = await acme.http.get("/connect", params={"token": created["token"]})
    assert expired.status_code == 410 and _page_data(expired.text)["errorCode"] == "EXPIRED"


async def test_embed_check_names_the_problem(acme):
    created = await create_session(acme, integrationName="testkey")
    token = created["token"]

    async def check(body: str, origin: str) -> dict:
        response = await acme.http.post(
            "/connect/check", content=body, headers={"Origin": origin, "Content-Type": "text/plain"}
        )
        assert response.headers["access-control-allow-origin"] == "*"
        return response.json()

    assert await check(token, HOST_ORIGIN) == {
        "ok": True,
        "code": None,
        # The session's progress, which the widget follows while a popup looks closed.
        "sessionId": created["session"]["id"],
        "status": "PENDING",
        "connectionId": None,
        "errorCode": None,
    }
    assert (await check(token, "https://evil.example"))["code"] == "ORIGIN_NOT_ALLOWED"
    assert (await check("weir_ct_forged", HOST_ORIGIN))["code"] == "TOKEN_INVALID"
    await ConnectSession.filter(id=created["session"]["id"]).update(
        expires_at=datetime.now(UTC) - timedelta(seconds=1)
    )
    assert (await check(token, HOST_ORIGIN))["code"] == "TOKEN_EXPIRED"


async def test_embed_check_reports_how_the_session_ended(acme):
    # (A completed session's connectionId is followed end to end in
    # tests/browser/test_connect_widget_fallbacks.py.)
    created = await create_session(acme, integrationName="testkey")
    await ConnectSession.filter(id=created["session"]["id"]).update(
        status="FAILED", error_code="ACCESS_DENIED"
    )
    response = await acme.http.post(
        "/connect/check",
        content=created["token"],
        headers={"Origin": HOST_ORIGIN, "Content-Type": "text/plain"},
    )
    body = response.json()
    assert (body["ok"], body["status"], body["errorCode"], body["connectionId"]) == (
        True,
        "FAILED",
        "ACCESS_DENIED",
        None,
    )
    forged = await acme.http.post("/connect/check", content="weir_ct_forged", headers={"Origin": HOST_ORIGIN})
    assert forged.json() == {"ok": False, "code": "TOKEN_INVALID"}  # nothing about any session


async def test_connect_page_speaks_the_requested_language(acme):
    created = await create_session(acme, integrationName="testkey")
    params = {"token": created["token"], "mode": "inline", "origin": HOST_ORIGIN}
    german = await acme.http.get("/connect", params={**params, "locale": "de-AT,en"})
    assert '<html lang="de" dir="ltr"' in german.text
    data = _page_data(german.text)
    assert data["locale"] == "de" and data["messages"]["connect"] == "Verbinden"
    assert "<title>Mit Acme Analytics verbinden</title>" in german.text
    # Without the option, the browser's Accept-Language decides; Arabic is right to left.
    arabic = await acme.http.get("/connect", params=params, headers={"Accept-Language": "ar-EG,ar;q=0.9"})
    assert '<html lang="ar" dir="rtl"' in arabic.text
    english = await acme.http.get("/connect", params=params, headers={"Accept-Language": "xx"})
    assert '<html lang="en" dir="ltr"' in english.text


async def test_server_messages_come_from_the_catalog(acme):
    unknown = await acme.http.get("/connect", params={"token": "weir_ct_nope", "locale": "fr"})
    assert _page_data(unknown.text)["errorMessage"] == (
        "Ce lien de connexion n’est pas valide. Demandez-en un nouveau à l’application."
    )
    refused = await acme.http.post(
        "/oauth/authorize",
        data={"token": "x", "state": "y"},
        headers={"Origin": "https://evil.example", "Accept-Language": "es"},
    )
    assert refused.status_code == 403
    assert _page_data(refused.text)["errorMessage"].startswith("Este inicio de sesión solo puede empezar")


async def test_return_address_is_kept_only_on_the_host_origin_in_redirect_mode(acme):
    created = await create_session(acme, integrationName="testkey")

    async def return_url(mode: str, value: str, origin: str = HOST_ORIGIN) -> str | None:
        response = await acme.http.get(
            "/connect",
            params={"token": created["token"], "mode": mode, "origin": origin, "return": value},
        )
        return _page_data(response.text).get("returnUrl")

    assert (
        await return_url("redirect", f"{HOST_ORIGIN}/settings?tab=apps") == f"{HOST_ORIGIN}/settings?tab=apps"
    )
    assert await return_url("redirect", "https://evil.example/steal") is None
    assert await return_url("redirect", f"{HOST_ORIGIN}.evil.example/") is None
    assert await return_url("redirect", "javascript:alert(1)") is None
    assert await return_url("redirect", f"{HOST_ORIGIN}/a\nb") is None  # a control character
    assert await return_url("redirect", f"{HOST_ORIGIN}/" + "a" * 3000) is None
    assert await return_url("modal", f"{HOST_ORIGIN}/settings") is None
    assert await return_url("redirect", "https://evil.example/", origin="https://evil.example") is None


async def test_widget_is_served_versioned_with_cache_headers_and_cors(client):
    response = await client.get("/widget/v1/weir.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["cache-control"] == f"public, max-age={widget.VERSIONED_MAX_AGE}"
    assert response.headers["access-control-allow-origin"] == "*"
    again = await client.get("/widget/v1/weir.js", headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304
    latest = await client.get("/widget/weir.js")
    assert latest.content == response.content
    assert latest.headers["cache-control"] == f"public, max-age={widget.LATEST_MAX_AGE}"
    assert (await client.get("/widget/v2/weir.js")).status_code == 404
    assert (await client.get("/widget/v1/../server/config.py")).status_code == 404


async def test_widget_is_small_and_its_sri_hash_matches_what_is_served(client):
    body = (await client.get("/widget/v1/weir.js")).content
    assert len(gzip.compress(body, 9)) < 10 * 1024
    expected = "sha384-" + base64.b64encode(hashlib.sha384(body).digest()).decode()
    assert widget.sri_hash() == expected
    snippet = widget.snippet("https://weir.example.com")
    assert f'integrity="{expected}"' in snippet and 'crossorigin="anonymous"' in snippet
    print(snippet)


async def test_oauth_is_offered_only_with_an_oauth_app(acme):
    from server.integrations.models import WorkspaceIntegration

    created = await create_session(acme, allowedIntegrations=["testoauth", "testkey"])
    await WorkspaceIntegration.all().delete()
    response = await acme.http.get("/connect", params={"token": created["token"]})
    by_name = {i["name"]: i for i in _page_data(response.text)["integrations"]}
    assert by_name["testoauth"]["oauth"] is False
    assert (await create_session(acme))["session"]["allowedIntegrations"] == ["testdb", "testkey"]


def test_docs_snippets_pin_the_current_widget():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    snippet = r'/widget/v1/weir\.js" integrity="(sha384-[^"]+)"'
    page = root / "docs" / "connect-widget.md"
    assert re.findall(snippet, page.read_text()), (
        "docs/connect-widget.md must show the widget snippet with its integrity hash"
    )
    # Any other page (or the README) that shows the snippet must pin the current file too.
    pinned = {
        found
        for path in [root / "README.md", *sorted((root / "docs").glob("*.md"))]
        for found in re.findall(snippet, path.read_text())
    }
    assert pinned == {widget.sri_hash()}, (
        "weir.js changed: print the new snippet with `python -m server.web.widget <public url>`"
    )


async def test_page_data_carries_logos_and_parameters_schemas(acme, provider, monkeypatch):
    from tests.connect.support import SHOP_PARAMETERS, install_parameter_connectors

    install_parameter_connectors(monkeypatch, provider.base_url)
    created = await create_session(acme, allowedIntegrations=["testshop", "testdesk", "testkey"])
    response = await acme.http.get("/connect", params={"token": created["token"]})
    data = _page_data(response.text)
    by_name = {i["name"]: i for i in data["integrations"]}
    assert by_name["testshop"]["parametersSchema"] == SHOP_PARAMETERS
    assert by_name["testdesk"]["parametersSchema"]["properties"]["subdomain"]["examples"] == ["acme"]
    assert by_name["testkey"]["parametersSchema"] is None
    # Catalog entries use Weir's logo route; a custom integration its own https logo.
    assert by_name["testkey"]["logoUrl"] == "http://weir.test/logos/testkey.svg"
    assert by_name["testdesk"]["logoUrl"] == "https://logo.invalid/testdesk.svg"
    assert data["presetParameters"] == {}


async def test_a_custom_logo_that_is_not_https_is_not_used(acme, provider, monkeypatch):
    import dataclasses

    from tests.connect.support import install_parameter_connectors, parameters_key_connector

    plain = parameters_key_connector()
    plain.SPEC = dataclasses.replace(plain.SPEC, logo_url="http://logo.example/desk.svg")
    install_parameter_connectors(monkeypatch, provider.base_url, plain)
    created = await create_session(acme, integrationName="testdesk")
    response = await acme.http.get("/connect", params={"token": created["token"]})
    # Weir's own logo route instead (which file is the catalog's business).
    logo_url = _page_data(response.text)["integrations"][0]["logoUrl"]
    assert re.fullmatch(r"http://weir\.test/logos/[a-z0-9_]+\.svg", logo_url)


async def test_the_oauth_callback_keeps_the_connect_pages_language(acme, provider):
    from urllib.parse import parse_qsl, urlsplit

    from tests.connect.conftest import SELECT, START, WEIR_ORIGIN, consent

    created = await create_session(acme, integrationName="testoauth")
    await acme.graphql(SELECT, {"name": "testoauth"}, key=created["token"])
    url = (await acme.graphql(START, {"popup": False}, key=created["token"]))["data"]["startOAuth"][
        "authorizeUrl"
    ]
    state = dict(parse_qsl(urlsplit(url).query))["state"]
    # The connect page's form sends its language along; the launch page speaks it ...
    launched = await acme.http.post(
        "/oauth/authorize",
        data={"token": created["token"], "state": state, "locale": "ja"},
        headers={"Origin": WEIR_ORIGIN, "Accept-Language": "de"},
    )
    assert launched.status_code == 200 and '<html lang="ja"' in launched.text
    assert _page_data(launched.text)["messages"]["opening_sign_in"] == "サインインページを開いています"
    # ... and so does the callback, in another request, through a cookie scoped to it.
    finished = await acme.http.get("/oauth/callback", params=await consent(url))
    assert finished.status_code == 200 and '<html lang="ja"' in finished.text
    assert _page_data(finished.text)["status"] == "COMPLETED"


async def test_page_data_names_the_account_for_the_success_event(acme):
    # The widget's success event says which account was connected, in the host's own terms.
    named = await create_session(
        acme, integrationName="testkey", connectionName="Jane's CRM", externalId="crm-main"
    )
    data = _page_data((await acme.http.get("/connect", params={"token": named["token"]})).text)
    assert data["account"] == {"displayName": "Jane's CRM", "externalId": "crm-main"}
    assert data["selected"] == "testkey"
    plain = await create_session(acme, integrationName="testkey")
    data = _page_data((await acme.http.get("/connect", params={"token": plain["token"]})).text)
    assert data["account"] == {"displayName": None, "externalId": None}
