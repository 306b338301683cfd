"""An SMTP server with AUTH (aiosmtpd) on a free loopback port, for the SMTP connector's check.

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


@dataclass
class SmtpServer:
    host: str
    port: int
    logins: list[str] = field(default_factory=list)


class _Handler:
    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd's name)
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
        _Handler(), hostname=served.host, port=served.port, authenticator=authenticate, auth_require_tls=False
    )
    controller.start()
    try:
        yield served
    finally:
        controller.stop()
