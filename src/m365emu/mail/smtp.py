"""An SMTP server that hands every accepted message to a `deliver` callback (aiosmtpd).

Like Exchange Online's SMTP AUTH endpoint it offers STARTTLS (with the emulator's TLS
files) and, when given a username, requires AUTH over TLS; unlike it, it relays nothing
anywhere: each recipient's copy goes to `deliver(recipient, message)` — the emulator
puts it in that mailbox's Inbox, a test keeps it in a list.

Not emulated: size limits beyond aiosmtpd's, DSNs, SPF/DKIM, rate limits.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Callable
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

Deliver = Callable[[str, EmailMessage], None]


class MailSink:
    """aiosmtpd handler: parse the message once, deliver a copy per recipient."""

    def __init__(self, deliver: Deliver) -> None:
        self.deliver = deliver
        self.raw: list[bytes] = []  # every accepted message as sent (tests read it)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.original_content or envelope.content
        data = content if isinstance(content, bytes) else str(content).encode()
        self.raw.append(data)
        message = message_from_bytes(data, policy=policy.default)
        assert isinstance(message, EmailMessage)
        for recipient in envelope.rcpt_tos:
            self.deliver(recipient.lower(), message)
        return "250 Message accepted for delivery"


class _Password:
    def __init__(self, username: str, password: str) -> None:
        self.username = username.encode()
        self.password = password.encode()

    def __call__(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and data.login == self.username
            and data.password == self.password
        )
        return AuthResult(success=ok)


def tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(cert), str(key))
    return context


async def serve_smtp(
    sink: MailSink,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    sock: socket.socket | None = None,
    cert: Path | None = None,
    key: Path | None = None,
    username: str = "",
    password: str = "",
) -> asyncio.Server:
    """An SMTP server on the running loop: STARTTLS required when a certificate is
    given, AUTH (over TLS) required when a username is. Close it to take it down."""
    options: dict[str, Any] = {"hostname": "localhost", "enable_SMTPUTF8": True}
    if cert is not None and key is not None:
        options.update(tls_context=tls_context(cert, key), require_starttls=True)
    if username:
        options.update(
            authenticator=_Password(username, password), auth_required=True, auth_require_tls=True
        )
    loop = asyncio.get_running_loop()
    if sock is not None:  # already bound (the demo binds every port before it starts)
        return await loop.create_server(lambda: SMTP(sink, **options), sock=sock)
    return await loop.create_server(lambda: SMTP(sink, **options), host, port)
