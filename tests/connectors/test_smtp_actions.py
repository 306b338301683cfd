"""The SMTP connector's ``send_email`` action against the SMTP emulator (aiosmtpd)."""

from __future__ import annotations

import email
from email.policy import default as default_policy

import httpx
import pytest
from jsonschema import Draft202012Validator

from server.config import Settings
from server.connectors import smtp
from server.connectors.base import ActionInputError, ConnectorContext
from server.connectors.http import ProviderAuthError, ProviderError, ProviderUnreachable
from server.outbound import Policy
from tests.emulators.common import free_port
from tests.emulators.smtp import PASSWORD, USERNAME, smtp_server


def credentials(port: int, **changes) -> dict:
    return {
        "username": USERNAME,
        "password": PASSWORD,
        "host": "127.0.0.1",
        "port": port,
        "security": "NONE",
        **changes,
    }


def context(credentials: dict, outbound: Policy | None = None) -> ConnectorContext:
    # The emulator is on loopback: the outbound policy of a development deployment.
    return ConnectorContext(
        http=httpx.AsyncClient(),
        base_url=None,
        credentials=credentials,
        outbound=outbound or Policy.from_settings(Settings()),
        caller="action",
    )


def mail(**changes) -> dict:
    return {
        "from": "Weir Mailer <mailer@example.com>",
        "to": ["ada@example.com", "Grace Hopper <grace@example.org>"],
        "subject": "Quarterly numbers — ready",
        "text": "Hello,\nthe numbers are in.\n",
        **changes,
    }


def test_the_action_schemas_are_valid_json_schema():
    action = smtp.SPEC.action("send_email")
    assert [a.name for a in smtp.SPEC.actions] == ["send_email"] and not action.read_only
    Draft202012Validator.check_schema(action.input_schema)
    Draft202012Validator.check_schema(action.output_schema)
    validator = Draft202012Validator(action.input_schema)
    assert validator.is_valid(mail())
    assert not validator.is_valid({k: v for k, v in mail().items() if k != "text"})  # no body
    assert not validator.is_valid(mail(to=[]))
    assert not validator.is_valid(mail(to=[f"p{n}@example.com" for n in range(51)]))


async def test_send_email_delivers_text_and_html_and_hides_bcc():
    with smtp_server() as server:
        result = await smtp.run_action(
            context(credentials(server.port)),
            "send_email",
            mail(
                cc=["carol@example.com"],
                bcc=["secret-watcher@example.net"],
                reply_to="Support <support@example.com>",
                html="<p>the numbers are in</p>",
            ),
        )
    Draft202012Validator(smtp.SPEC.action("send_email").output_schema).validate(result)
    assert result["accepted"] == [
        "ada@example.com",
        "grace@example.org",
        "carol@example.com",
        "secret-watcher@example.net",
    ]
    assert result["rejected"] == [] and result["message_id"].endswith("@example.com>")
    [delivery] = server.deliveries
    assert delivery.mail_from == "mailer@example.com"
    assert sorted(delivery.rcpt_tos) == sorted(result["accepted"])
    message = email.message_from_bytes(delivery.content, policy=default_policy)
    assert message["From"] == "Weir Mailer <mailer@example.com>"
    assert message["To"] == "ada@example.com, Grace Hopper <grace@example.org>"
    assert message["Cc"] == "carol@example.com" and message["Reply-To"] == "Support <support@example.com>"
    assert message["Subject"] == "Quarterly numbers — ready"
    assert message["Message-ID"] == result["message_id"]
    assert "secret-watcher" not in delivery.content.decode()  # Bcc: in the envelope only
    # On the wire lines end in CRLF (RFC 5322).
    assert message.get_body(("plain",)).get_content() == "Hello,\r\nthe numbers are in.\r\n"
    assert message.get_body(("html",)).get_content().strip() == "<p>the numbers are in</p>"


async def test_html_only():
    with smtp_server() as server:
        html_only = {k: v for k, v in mail(html="<b>hi</b>").items() if k != "text"}
        await smtp.run_action(context(credentials(server.port)), "send_email", html_only)
    message = email.message_from_bytes(server.deliveries[0].content, policy=default_policy)
    assert message.get_content_type() == "text/html"


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"subject": "Hi\r\nBcc: victim@example.com"}, "subject"),
        ({"subject": "Hi\nX-Injected: 1"}, "subject"),
        ({"from": "mailer@example.com\r\nBcc: victim@example.com"}, "from"),
        ({"to": ["ada@example.com", "bob@example.com\nBcc: victim@example.com"]}, "to.1"),
        ({"cc": ["carol@example.com\r"]}, "cc.0"),
        ({"bcc": ["dan@example.com\x00"]}, "bcc.0"),
        ({"reply_to": "support@example.com\r\nX-Evil: 1"}, "reply_to"),
    ],
)
async def test_line_breaks_in_headers_are_refused_naming_the_field(changes, path):
    with smtp_server() as server:
        with pytest.raises(ActionInputError) as refused:
            await smtp.run_action(context(credentials(server.port)), "send_email", mail(**changes))
    assert refused.value.path == path and "line break" in refused.value.message
    assert server.deliveries == [] and server.logins == []  # refused before connecting


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"from": "not an address"}, "from"),
        ({"to": ["ada@example.com", "two@@example.com"]}, "to.1"),
        ({"cc": ["Name <>"]}, "cc.0"),
        (
            {
                "to": [f"p{n}@example.com" for n in range(50)],
                "cc": [f"c{n}@example.com" for n in range(50)],
                "bcc": ["one-too-many@example.com"],
            },
            "to",
        ),
    ],
)
async def test_bad_addresses_are_refused_naming_the_field(changes, path):
    with pytest.raises(ActionInputError) as refused:
        await smtp.run_action(context(credentials(free_port())), "send_email", mail(**changes))
    assert refused.value.path == path
    assert "example.com" not in refused.value.message and "not an address" not in refused.value.message


async def test_some_recipients_refused_are_reported_the_rest_delivered():
    with smtp_server() as server:
        server.refused_recipients.add("grace@example.org")
        result = await smtp.run_action(context(credentials(server.port)), "send_email", mail())
    assert result["accepted"] == ["ada@example.com"]
    [rejected] = result["rejected"]
    assert rejected["address"] == "grace@example.org" and rejected["reason"].startswith("550 5.1.1")
    assert server.deliveries[0].rcpt_tos == ["ada@example.com"]


async def test_every_recipient_refused_is_a_provider_error():
    with smtp_server() as server:
        server.refused_recipients.update({"ada@example.com", "grace@example.org"})
        with pytest.raises(ProviderError) as refused:
            await smtp.run_action(context(credentials(server.port)), "send_email", mail())
    assert "refused every recipient" in str(refused.value) and "User unknown" in str(refused.value)
    assert server.deliveries == []


async def test_a_refused_sender_is_a_provider_error():
    with smtp_server() as server:
        server.refused_senders.add("mailer@example.com")
        with pytest.raises(ProviderError) as refused:
            await smtp.run_action(context(credentials(server.port)), "send_email", mail())
    assert "refused the sender mailer@example.com: 553" in str(refused.value)


async def test_a_refused_login_is_an_auth_error_without_the_password():
    secret = "wrong-password-0987654321"
    with smtp_server() as server:
        with pytest.raises(ProviderAuthError) as refused:
            await smtp.run_action(context(credentials(server.port, password=secret)), "send_email", mail())
    assert "535" in str(refused.value) and secret not in str(refused.value)
    assert server.deliveries == []


async def test_an_unreachable_server_or_a_refused_address_is_unreachable():
    with pytest.raises(ProviderUnreachable):
        await smtp.run_action(context(credentials(free_port())), "send_email", mail())
    with smtp_server() as server:
        with pytest.raises(ProviderUnreachable) as refused:
            # Without a development policy, loopback is not an allowed destination.
            await smtp.run_action(context(credentials(server.port), Policy()), "send_email", mail())
    assert server.logins == [] and PASSWORD not in str(refused.value)
