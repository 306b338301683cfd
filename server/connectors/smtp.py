"""SMTP: a connection-only integration (username and password, plus the server's address) whose
check logs in to the server.

Python, not a catalog definition: SMTP is not an HTTP API.

``smtplib`` is blocking, so the login runs in a worker thread with a timeout. ``security`` picks
how the password is protected: ``STARTTLS`` (port 587), ``TLS`` from the first byte (port 465), or
``NONE``, which sends it in clear and is only for servers on a trusted network.

The server's name is resolved and checked by the outbound guard first (``context.outbound``);
the socket then goes to a checked address while TLS still names the server.

One action, ``send_email``: SMTP's one operation. Every header value is refused if it holds a
line break (header injection); Bcc recipients get the message but never appear in it.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import smtplib
import ssl
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from email.headerregistry import Address as MailAddress
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, make_msgid
from typing import Any

from server.connectors.base import ActionInputError, ActionSpec, CheckResult, ConnectorContext, ConnectorSpec
from server.connectors.http import ProviderAuthError, ProviderError, ProviderUnreachable
from server.connectors.schemas import form, port, secret
from server.http import redact
from server.outbound import Address, open_socket

TIMEOUT = 15.0

# -- actions (``executeAction``): what send_email takes and returns; it runs below ``check`` --

MAX_RECIPIENTS = 100  # to, cc and bcc together
MAX_PER_FIELD = 50
MAX_BODY_CHARS = 1_000_000
_ADDRESS = {
    "type": "string",
    "minLength": 3,
    "maxLength": 400,
    "description": "An address (ada@example.com) or a name and an address (Ada <ada@example.com>).",
}
_ADDRESSES = {"type": "array", "items": _ADDRESS, "maxItems": MAX_PER_FIELD, "default": []}

SEND_EMAIL = ActionSpec(
    name="send_email",
    display_name="Send an email",
    description=f"Send one message through the SMTP server, in plain text, HTML or both, to at most "
    f"{MAX_RECIPIENTS} recipients in all (to, cc and bcc).",
    input_schema={
        "type": "object",
        "properties": {
            "from": _ADDRESS,
            "to": {**_ADDRESSES, "minItems": 1},
            "cc": _ADDRESSES,
            "bcc": {**_ADDRESSES, "description": "Receive the message without appearing in it."},
            "reply_to": _ADDRESS,
            "subject": {"type": "string", "maxLength": 998},
            "text": {"type": "string", "maxLength": MAX_BODY_CHARS},
            "html": {"type": "string", "maxLength": MAX_BODY_CHARS},
        },
        "required": ["from", "to", "subject"],
        "anyOf": [{"required": ["text"]}, {"required": ["html"]}],
        "additionalProperties": False,
    },
    output_schema={
        "type": "object",
        "properties": {
            "message_id": {"type": "string", "description": "The Message-ID header, with its <>."},
            "accepted": {"type": "array", "items": {"type": "string"}},
            "rejected": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"address": {"type": "string"}, "reason": {"type": "string"}},
                    "required": ["address", "reason"],
                },
                "description": "Recipients the server refused while accepting others.",
            },
        },
        "required": ["message_id", "accepted", "rejected"],
    },
)

SPEC = ConnectorSpec(
    name="smtp",
    display_name="SMTP",
    category="EMAIL",
    auth_types=("BASIC_AUTH",),
    description="Send email through any SMTP server that accepts a login.",
    docs_url="https://datatracker.ietf.org/doc/html/rfc4954",
    auth_fields_schema=form(
        {
            "host": {
                "type": "string",
                "title": "Server",
                "minLength": 1,
                "description": "Host name of the SMTP server, e.g. smtp.example.com.",
            },
            "port": port(587),
            "security": {
                "type": "string",
                "title": "Security",
                "default": "STARTTLS",
                "enum": ["STARTTLS", "TLS", "NONE"],
                "description": "STARTTLS (usually port 587), TLS from the start "
                "(port 465), or NONE (trusted networks only).",
            },
            "username": {"type": "string", "title": "Username", "minLength": 1},
            "password": secret("Password"),
        },
        required=["host", "port", "username", "password"],
    ),
    actions=(SEND_EMAIL,),
)


class _PinnedSMTP(smtplib.SMTP):
    """``smtplib.SMTP`` whose socket goes to a checked address; the host name it was given
    stays the name for EHLO's peer and for STARTTLS (SNI and the certificate check)."""

    def __init__(self, address: Address, host: str, port: int, timeout: float) -> None:
        self.address = address
        super().__init__(host, port, timeout=timeout)

    def _get_socket(self, host: str, port: int, timeout: float) -> Any:  # smtplib's own hook
        return open_socket(self.address, port, timeout)


class _PinnedSMTPSSL(smtplib.SMTP_SSL):
    def __init__(
        self, address: Address, host: str, port: int, timeout: float, context: ssl.SSLContext
    ) -> None:
        self.address = address
        super().__init__(host, port, timeout=timeout, context=context)

    def _get_socket(self, host: str, port: int, timeout: float) -> Any:
        return self.context.wrap_socket(open_socket(self.address, port, timeout), server_hostname=host)


@contextlib.contextmanager
def session(
    credentials: Mapping[str, Any], address: Address, timeout: float = TIMEOUT
) -> Iterator[smtplib.SMTP]:
    """A logged-in client connected to ``address`` (checked), secured as configured; it quits
    on the way out. Raises what smtplib raises."""
    host, port = str(credentials.get("host")), int(credentials.get("port") or 587)
    security = str(credentials.get("security") or "STARTTLS").upper()
    tls = ssl.create_default_context()
    if security == "TLS":
        client: smtplib.SMTP = _PinnedSMTPSSL(address, host, port, timeout, tls)
    else:
        client = _PinnedSMTP(address, host, port, timeout)
    try:
        client.ehlo()
        if security == "STARTTLS":
            client.starttls(context=tls)
            client.ehlo()
        client.login(str(credentials.get("username")), str(credentials.get("password") or ""))
        yield client
    finally:
        try:
            client.quit()
        except smtplib.SMTPException:
            client.close()


def login(credentials: Mapping[str, Any], address: Address, timeout: float = TIMEOUT) -> None:
    """Log in and quit."""
    with session(credentials, address, timeout):
        pass


async def check(context: ConnectorContext, credentials: dict[str, Any]) -> CheckResult:
    """Log in to the server with the credentials."""
    try:
        async with asyncio.timeout(TIMEOUT):
            addresses = await context.outbound.resolve(
                str(credentials.get("host") or ""), int(credentials.get("port") or 587)
            )
        await asyncio.wait_for(asyncio.to_thread(login, credentials, addresses[0]), TIMEOUT + 5)
    except smtplib.SMTPAuthenticationError as exc:
        reason = (
            exc.smtp_error.decode(errors="replace")
            if isinstance(exc.smtp_error, bytes)
            else str(exc.smtp_error)
        )
        return CheckResult(
            ok=False, message=redact(f"login refused ({exc.smtp_code}): {reason}", credentials)
        )
    except smtplib.SMTPNotSupportedError as exc:
        return CheckResult(ok=False, message=redact(f"the server does not offer this: {exc}", credentials))
    except (smtplib.SMTPException, ssl.SSLError, OSError, TimeoutError) as exc:
        # An SMTP reply means a server answered; a socket or TLS failure means none did.
        return CheckResult(
            ok=False,
            message=redact(
                f"could not log in to {credentials.get('host')}:{credentials.get('port')}: "
                f"{type(exc).__name__}: {exc}",
                credentials,
            ),
            reachable=isinstance(exc, smtplib.SMTPResponseException),
        )
    return CheckResult(
        ok=True, message="logged in", account_label=f"{credentials.get('username')}@{credentials.get('host')}"
    )


# -- actions: running send_email ----------------------------------------------------------

_LINE_BREAKS = re.compile(r"[\r\n\x00]")
_NAMED = re.compile(r"^\s*(?P<name>[^<>]*?)\s*<(?P<address>[^<>]*)>\s*$")
_ADDR_SPEC = re.compile(r"^[^\s@<>(),;:\\\"\[\]]+@[^\s@<>(),;:\\\"\[\]]+$")


def _header_text(path: str, value: str) -> str:
    if _LINE_BREAKS.search(value):
        raise ActionInputError(path, "may not contain a line break (CR or LF) or a NUL character")
    return value


def _address(path: str, value: str) -> MailAddress:
    """``ada@example.com`` or ``Ada <ada@example.com>`` as an address for a header."""
    _header_text(path, value)
    named = _NAMED.match(value)
    name, spec = (
        (named.group("name").strip().strip('"'), named.group("address").strip())
        if named
        else ("", value.strip())
    )
    # Messages never quote the value: an action's input is a customer's data.
    if not _ADDR_SPEC.match(spec):
        raise ActionInputError(path, "is not an email address")
    try:
        return MailAddress(display_name=name, addr_spec=spec)
    except (ValueError, IndexError):
        raise ActionInputError(path, "is not an email address") from None


def _addresses(field: str, values: Sequence[str]) -> list[MailAddress]:
    return [_address(f"{field}.{i}", value) for i, value in enumerate(values)]


def compose(input: Mapping[str, Any]) -> tuple[EmailMessage, str, list[str]]:
    """The message, the envelope sender and the envelope recipients (Bcc among them, never
    in the headers)."""
    sender = _address("from", str(input["from"]))
    to, cc, bcc = (_addresses(f, list(input.get(f) or [])) for f in ("to", "cc", "bcc"))
    if len(to) + len(cc) + len(bcc) > MAX_RECIPIENTS:
        raise ActionInputError("to", f"at most {MAX_RECIPIENTS} recipients in all (to, cc and bcc)")
    message = EmailMessage(policy=SMTP_POLICY)
    message["From"] = sender
    message["To"] = to
    if cc:
        message["Cc"] = cc
    if input.get("reply_to"):
        message["Reply-To"] = _address("reply_to", str(input["reply_to"]))
    message["Subject"] = _header_text("subject", str(input.get("subject") or ""))
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(domain=sender.domain)
    text, html = input.get("text"), input.get("html")
    if text is not None:
        message.set_content(str(text))
        if html is not None:
            message.add_alternative(str(html), subtype="html")
    else:
        message.set_content(str(html), subtype="html")
    recipients = list(dict.fromkeys(a.addr_spec for a in (*to, *cc, *bcc)))
    return message, sender.addr_spec, recipients


def _reply(code: int, text: bytes | str) -> str:
    return f"{code} {text.decode(errors='replace') if isinstance(text, bytes) else text}"


def _send(
    credentials: Mapping[str, Any],
    address: Address,
    message: EmailMessage,
    sender: str,
    recipients: list[str],
) -> dict[str, tuple[int, bytes]]:
    with session(credentials, address) as client:
        return client.send_message(message, from_addr=sender, to_addrs=recipients)


async def run_action(context: ConnectorContext, action: str, input: dict[str, Any]) -> Any:
    """``send_email``: log in, send, quit."""
    if action != "send_email":
        raise ActionInputError("action", f"SMTP has no action {action!r}")
    message, sender, recipients = compose(input)
    credentials = context.credentials
    try:
        async with asyncio.timeout(TIMEOUT):
            addresses = await context.outbound.resolve(
                str(credentials.get("host") or ""), int(credentials.get("port") or 587)
            )
        refused = await asyncio.wait_for(
            asyncio.to_thread(_send, credentials, addresses[0], message, sender, recipients), TIMEOUT * 2
        )
    except smtplib.SMTPAuthenticationError as exc:
        raise ProviderAuthError(
            0, redact(f"login refused: {_reply(exc.smtp_code, exc.smtp_error)}", credentials)
        ) from None
    except smtplib.SMTPRecipientsRefused as exc:
        reasons = "; ".join(f"{who}: {_reply(*why)}" for who, why in exc.recipients.items())
        raise ProviderError(
            0, redact(f"the server refused every recipient ({reasons})", credentials)
        ) from None
    except smtplib.SMTPSenderRefused as exc:
        raise ProviderError(
            0,
            redact(
                f"the server refused the sender {exc.sender}: {_reply(exc.smtp_code, exc.smtp_error)}",
                credentials,
            ),
        ) from None
    except smtplib.SMTPResponseException as exc:
        raise ProviderError(
            0, redact(f"the server refused the message: {_reply(exc.smtp_code, exc.smtp_error)}", credentials)
        ) from None
    except smtplib.SMTPNotSupportedError as exc:
        raise ProviderError(0, redact(f"the server does not offer this: {exc}", credentials)) from None
    except (smtplib.SMTPException, ssl.SSLError, OSError, TimeoutError) as exc:
        raise ProviderUnreachable(
            0,
            redact(
                f"could not send through {credentials.get('host')}:{credentials.get('port')}: "
                f"{type(exc).__name__}",
                credentials,
            ),
        ) from None
    rejected = [{"address": who, "reason": _reply(*why)} for who, why in refused.items()]
    return {
        "message_id": str(message["Message-ID"]),
        "accepted": [r for r in recipients if r not in refused],
        "rejected": rejected,
    }
