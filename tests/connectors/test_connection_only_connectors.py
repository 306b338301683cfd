"""Credential checks of the integrations without streams, each against its emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from server.config import Settings
from server.connectors import smtp
from server.connectors.base import ConnectorContext
from server.connectors.registry import get_connector
from server.outbound import Policy
from tests.emulators import airtable as airtable_emulator
from tests.emulators import freshsales as freshsales_emulator
from tests.emulators import openai as openai_emulator
from tests.emulators import sendgrid as sendgrid_emulator
from tests.emulators import slack as slack_emulator
from tests.emulators.common import serve
from tests.emulators.smtp import PASSWORD, USERNAME, smtp_server


@pytest.fixture
async def served(request) -> AsyncIterator[tuple]:
    """(emulator, base URL) for the emulator class named by the test's parameter."""
    emulator = request.param()
    async with serve(emulator.app) as url:
        yield emulator, url


def context(http: httpx.AsyncClient, url: str, credentials: dict, refresh=None):
    # The emulators are on loopback: the outbound policy of a development deployment.
    return ConnectorContext(
        http=http,
        base_url=url,
        credentials=credentials,
        refresh_credentials=refresh,
        outbound=Policy.from_settings(Settings()),
    )


slack, openai, sendgrid, freshsales, airtable = (
    get_connector(name) for name in ("slack", "openai", "sendgrid", "freshsales", "airtable")
)


def oauth(token: str) -> dict:
    return {"access_token": token, "refresh_token": "xoxe-1-refresh", "expires_at": None, "token_type": "bot"}


# -- Slack -----------------------------------------------------------------------------------


@pytest.mark.parametrize("served", [slack_emulator.SlackEmulator], indirect=True)
async def test_slack_check_accepts_a_valid_token(http, served):
    _, url = served
    credentials = oauth(slack_emulator.TOKEN)
    result = await slack.check(context(http, f"{url}/api", credentials), credentials)
    assert result.ok and result.account_label == "Weir Emulated"


@pytest.mark.parametrize("served", [slack_emulator.SlackEmulator], indirect=True)
async def test_slack_check_reads_ok_false_from_a_200(http, served):
    _, url = served
    credentials = oauth("xoxb-not-a-valid-token-at-all")
    result = await slack.check(context(http, f"{url}/api", credentials), credentials)
    assert not result.ok and result.message == "the provider refused the call: invalid_auth"


@pytest.mark.parametrize("served", [slack_emulator.SlackEmulator], indirect=True)
async def test_slack_check_refreshes_an_expired_token_once(http, served, refresher):
    emulator, url = served
    emulator.controls.expire(slack_emulator.TOKEN)
    emulator.controls.tokens.add("xoxe.xoxb-fresh-token-0002")
    refresh = refresher(oauth("xoxe.xoxb-fresh-token-0002"))
    credentials = oauth(slack_emulator.TOKEN)
    result = await slack.check(context(http, f"{url}/api", credentials, refresh), credentials)
    assert result.ok and refresh.calls == 1


@pytest.mark.parametrize("served", [slack_emulator.SlackEmulator], indirect=True)
async def test_slack_check_waits_out_a_rate_limit(http, served):
    emulator, url = served
    emulator.controls.rate_limit_once()
    credentials = oauth(slack_emulator.TOKEN)
    result = await slack.check(context(http, f"{url}/api", credentials), credentials)
    assert result.ok and len(emulator.controls.calls) == 2


# -- OpenAI ----------------------------------------------------------------------------------


@pytest.mark.parametrize("served", [openai_emulator.OpenAIEmulator], indirect=True)
async def test_openai_check_lists_models(http, served):
    _, url = served
    credentials = {"secret_text": openai_emulator.KEY}
    result = await openai.check(context(http, url, credentials), credentials)
    assert result.ok and result.message == "the credentials are valid"


@pytest.mark.parametrize("served", [openai_emulator.OpenAIEmulator], indirect=True)
async def test_openai_check_refuses_a_bad_key_without_its_fragments(http, served):
    _, url = served
    credentials = {"secret_text": "sk-proj-wrongwrongwrongwrong9876"}
    result = await openai.check(context(http, url, credentials), credentials)
    assert not result.ok and result.message.startswith("HTTP 401: Incorrect API key provided")
    assert "9876" not in result.message and "sk-pro" not in result.message


# -- SendGrid --------------------------------------------------------------------------------


@pytest.mark.parametrize("served", [sendgrid_emulator.SendGridEmulator], indirect=True)
async def test_sendgrid_check_accepts_a_key_that_may_send(http, served):
    _, url = served
    credentials = {"secret_text": sendgrid_emulator.KEY}
    result = await sendgrid.check(context(http, url, credentials), credentials)
    assert result.ok


@pytest.mark.parametrize("served", [sendgrid_emulator.SendGridEmulator], indirect=True)
async def test_sendgrid_check_refuses_a_key_without_mail_send(http, served):
    _, url = served
    credentials = {"secret_text": sendgrid_emulator.READ_ONLY_KEY}
    result = await sendgrid.check(context(http, url, credentials), credentials)
    assert not result.ok and "mail.send" in result.message


@pytest.mark.parametrize("served", [sendgrid_emulator.SendGridEmulator], indirect=True)
async def test_sendgrid_check_refuses_a_bad_key(http, served):
    _, url = served
    credentials = {"secret_text": "SG.bad.key-that-does-not-exist"}
    result = await sendgrid.check(context(http, url, credentials), credentials)
    assert not result.ok and result.message == "HTTP 401: authorization required"


# -- Freshsales ------------------------------------------------------------------------------


@pytest.mark.parametrize("served", [freshsales_emulator.FreshsalesEmulator], indirect=True)
async def test_freshsales_check_lists_owners(http, served):
    _, url = served
    credentials = {"base_url": "https://acme.myfreshworks.com/crm/sales", "api_key": freshsales_emulator.KEY}
    result = await freshsales.check(context(http, f"{url}/crm/sales", credentials), credentials)
    assert result.ok


@pytest.mark.parametrize("served", [freshsales_emulator.FreshsalesEmulator], indirect=True)
async def test_freshsales_check_refuses_a_bad_key(http, served):
    _, url = served
    credentials = {"base_url": "https://acme.freshsales.io", "api_key": "not-the-key-123456"}
    result = await freshsales.check(context(http, f"{url}/crm/sales", credentials), credentials)
    assert not result.ok and result.message == "HTTP 401: Incorrect or expired API key"


async def test_freshsales_base_url_comes_from_the_credentials_and_stays_on_freshworks(http):
    sent = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(str(request.url))
        return httpx.Response(200, json={"users": []})

    client = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    ctx = ConnectorContext(http=client, base_url=None)
    for base in ("https://acme.myfreshworks.com/crm/sales", "https://mycompany.freshsales.io"):
        assert (await freshsales.check(ctx, {"base_url": base, "api_key": "k" * 10})).ok
    assert sent == [
        "https://acme.myfreshworks.com/crm/sales/api/selector/owners",
        "https://mycompany.freshsales.io/api/selector/owners",
    ]
    for evil in ("https://evil.com/x", "https://acme.freshsales.io.evil.com", "https://a@acme.freshsales.io"):
        refused = await freshsales.check(ctx, {"base_url": evil, "api_key": "k" * 10})
        assert not refused.ok and refused.message == "the credential field base_url is not valid"
    assert len(sent) == 2


# -- Airtable --------------------------------------------------------------------------------


@pytest.mark.parametrize("served", [airtable_emulator.AirtableEmulator], indirect=True)
async def test_airtable_check_reads_whoami_with_a_personal_token(http, served):
    emulator, url = served
    credentials = {"secret_text": airtable_emulator.TOKEN}
    result = await airtable.check(context(http, url, credentials), credentials)
    assert result.ok and result.account_label == "owner@example.com"
    assert [c.split("?")[0] for c in emulator.controls.calls] == ["GET /v0/meta/whoami"]


@pytest.mark.parametrize("served", [airtable_emulator.AirtableEmulator], indirect=True)
async def test_airtable_check_reads_whoami_with_an_oauth_token(http, served):
    _, url = served
    credentials = oauth(airtable_emulator.TOKEN)
    result = await airtable.check(context(http, url, credentials), credentials)
    assert result.ok and result.account_label == "owner@example.com"


@pytest.mark.parametrize("served", [airtable_emulator.AirtableEmulator], indirect=True)
async def test_airtable_check_refuses_a_bad_token(http, served):
    _, url = served
    credentials = {"secret_text": "patNope.0000000000"}
    result = await airtable.check(context(http, url, credentials), credentials)
    assert not result.ok and result.message == "HTTP 401: Authentication required"


# -- SMTP ------------------------------------------------------------------------------------


def smtp_credentials(port: int, **changes) -> dict:
    return {
        "username": USERNAME,
        "password": PASSWORD,
        "host": "127.0.0.1",
        "port": port,
        "security": "NONE",
        **changes,
    }


async def test_smtp_check_logs_in(http):
    with smtp_server() as server:
        credentials = smtp_credentials(server.port)
        result = await smtp.check(context(http, "", credentials), credentials)
    assert result.ok and server.logins == [USERNAME]


async def test_smtp_check_reports_a_refused_login_without_the_password(http):
    with smtp_server() as server:
        credentials = smtp_credentials(server.port, password="wrong-password-42")
        result = await smtp.check(context(http, "", credentials), credentials)
    assert not result.ok and result.message.startswith("login refused (535)")
    assert "wrong-password-42" not in result.message


async def test_smtp_check_refuses_starttls_when_the_server_lacks_it(http):
    with smtp_server() as server:
        credentials = smtp_credentials(server.port, security="STARTTLS")
        result = await smtp.check(context(http, "", credentials), credentials)
    assert not result.ok and "STARTTLS" in result.message and server.logins == []


async def test_smtp_check_reports_an_unreachable_server(http):
    from tests.emulators.common import free_port

    credentials = smtp_credentials(free_port())
    result = await smtp.check(context(http, "", credentials), credentials)
    assert not result.ok and result.message.startswith("could not log in to 127.0.0.1")
