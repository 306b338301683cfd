"""An SMTP server with AUTH (aiosmtpd) on a free loopback port, for the SMTP connector's check
and its ``send_email`` action: it keeps what it accepted, and refuses the senders and recipients
a test lists with the replies Postfix gives (553 and 550, RFC 5321 section 4.2).

aiosmtpd runs its own event loop in a thread, which suits the connector: its login is blocking
``smtplib`` in a worker thread too.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.emulators.common import free_port

USERNAME = "mailer@example.com"
PASSWORD = "smtp-emulator-password-0001"


@dataclass(frozen=True)
class Delivery:
    """One message the server accepted: the envelope and the message as sent."""

    mail_from: str
    rcpt_tos: list[str]
    content: bytes


@dataclass
class SmtpServer:
    host: str
    port: int
    logins: list[str] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    refused_senders: set[str] = field(default_factory=set)
    refused_recipients: set[str] = field(default_factory=set)


class _Handler:
    def __init__(self, served: SmtpServer) -> None:
        self.served = served

    async def handle_MAIL(self, server, session, envelope, address, mail_options) -> str:  # noqa: N802
        if address in self.served.refused_senders:
            return f"553 5.7.1 <{address}>: Sender address rejected: not owned by user"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:  # noqa: N802
        if address in self.served.refused_recipients:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown in local recipient table"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd's name)
        self.served.deliveries.append(
            Delivery(mail_from=envelope.mail_from, rcpt_tos=list(envelope.rcpt_tos), content=envelope.content)
        )
        return "250 Message accepted for delivery"


@contextlib.contextmanager
def smtp_server(username: str = USERNAME, password: str = PASSWORD) -> Iterator[SmtpServer]:
    """A server that accepts exactly ``username``/``password`` over AUTH PLAIN or LOGIN, without
    TLS (the connector's ``security: NONE``)."""
    served = SmtpServer(host="127.0.0.1", port=free_port())

    def authenticate(server, session, envelope, mechanism, auth_data) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        served.logins.append(auth_data.login.decode())
        ok = auth_data.login.decode() == username and auth_data.password.decode() == password
        # handled=False: aiosmtpd then answers 535 itself (handled=True would leave it silent).
        return AuthResult(success=ok, handled=False)

    controller = Controller(
        _Handler(served),
        hostname=served.host,
        port=served.port,
        authenticator=authenticate,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield served
    finally:
        controller.stop()
