"""Sending e-mail over SMTP with aiosmtplib (R21d): the `Mailer` port and its adapter.

Any relay works (Azure Communication Services, SendGrid, Exchange Online SMTP AUTH, a
local Postfix): STARTTLS on 587 by default or implicit TLS (`S5SYNC_SMTP_TLS`, 465),
optional AUTH, a private CA (`S5SYNC_SMTP_CA_BUNDLE`, else `S5SYNC_CA_BUNDLE`). Each
message is plain text with an HTML alternative and a stable `Message-ID` (the outbox
row's), so a relay or mailbox that dedupes by it drops the rare resend after a crash
between "sent" and "recorded".

Errors: `MailError` (the server could not be reached or refused the message); its text
names the server and the reason class, never the password.
"""

from __future__ import annotations

import hashlib
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Protocol

import aiosmtplib

from s5sync.settings import Settings


class MailError(Exception):
    """The message was not handed to the mail server; try again later."""


@dataclass(frozen=True)
class OutgoingMail:
    recipient: str
    subject: str
    text: str
    html: str
    message_id: str


class Mailer(Protocol):
    sender: str

    async def send(self, mail: OutgoingMail) -> None:
        """Hand one message to the mail server, or raise `MailError`."""


def mime(mail: OutgoingMail, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.recipient
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = mail.message_id
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to alerts
    message.set_content(mail.text)
    message.add_alternative(mail.html, subtype="html")
    return message


def message_id(dedupe_key: str, sender: str) -> str:
    """Stable per outbox row: a resend carries the same id (RFC 5322 3.6.4)."""
    domain = sender.rpartition("@")[2] or "s5sync.invalid"
    digest = hashlib.sha256(dedupe_key.encode()).hexdigest()[:32]
    return f"<s5sync.{digest}@{domain}>"


class SmtpMailer:
    """`Mailer` over SMTP, one connection per delivery round."""

    def __init__(self, settings: Settings) -> None:
        self.sender = settings.mail_from
        self.host = settings.smtp_host
        self.port = settings.smtp_port
        self.username = settings.smtp_username
        self.password = settings.smtp_password.get_secret_value()
        self.implicit_tls = settings.smtp_tls
        self.starttls = settings.smtp_starttls and not settings.smtp_tls
        self.timeout = settings.smtp_timeout_seconds
        bundle = settings.smtp_ca_bundle or settings.ca_bundle
        self.tls_context = ssl.create_default_context(
            cafile=str(bundle) if bundle is not None else None
        )

    async def send(self, mail: OutgoingMail) -> None:
        try:
            await aiosmtplib.send(
                mime(mail, self.sender),
                hostname=self.host,
                port=self.port,
                username=self.username or None,
                password=self.password or None,
                use_tls=self.implicit_tls,
                start_tls=self.starttls,
                tls_context=self.tls_context,
                timeout=self.timeout,
            )
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            raise MailError(f"{self.host}:{self.port}: {type(error).__name__}") from None
