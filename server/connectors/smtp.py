"""SMTP: a connection-only integration (username and password, plus the server's address) whose
check logs in to the server.

Python, not a catalog definition: SMTP is not an HTTP API.

``smtplib`` is blocking, so the login runs in a worker thread with a timeout. ``security`` picks
how the password is protected: ``STARTTLS`` (port 587), ``TLS`` from the first byte (port 465), or
``NONE``, which sends it in clear and is only for servers on a trusted network.

The server's name is resolved and checked by the outbound guard first (``context.outbound``);
the socket then goes to a checked address while TLS still names the server.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from collections.abc import Mapping
from typing import Any

from server.connectors.base import CheckResult, ConnectorContext, ConnectorSpec
from server.connectors.schemas import form, port, secret
from server.http import redact
from server.outbound import Address, open_socket

TIMEOUT = 15.0

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


def login(credentials: Mapping[str, Any], address: Address, timeout: float = TIMEOUT) -> None:
    """Connect to ``address`` (checked), secure the session as configured, log in and quit;
    raise what smtplib raises."""
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
    finally:
        try:
            client.quit()
        except smtplib.SMTPException:
            client.close()


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
