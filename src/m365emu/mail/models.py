"""The emulated mailboxes' Inbox: messages delivered by the emulator's SMTP server.

Keyed by recipient address (lower case), newest first. Kept in memory only: a demo's
mail is for reading now (the calendar state is what persists). `POST /_emulator/reset`
empties it.

Not emulated: folders other than the Inbox, read/unread, replies, the Graph `/messages`
API (s5sync never reads mail).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage


@dataclass(frozen=True)
class InboxMessage:
    received_at: datetime
    sender: str
    subject: str
    text: str
    html: str


class MailStore:
    """Every mailbox's Inbox."""

    def __init__(self, clock: Callable[[], datetime] | None = None) -> None:
        self._lock = threading.Lock()
        self._boxes: dict[str, list[InboxMessage]] = {}
        self.clock = clock

    def deliver(self, recipient: str, message: EmailMessage) -> None:
        text = message.get_body(("plain",))
        html = message.get_body(("html",))
        received = self.clock() if self.clock is not None else datetime.now(UTC)
        item = InboxMessage(
            received_at=received,
            sender=str(message.get("From", "")),
            subject=str(message.get("Subject", "")),
            text=str(text.get_content()) if text is not None else "",
            html=str(html.get_content()) if html is not None else "",
        )
        with self._lock:
            self._boxes.setdefault(recipient.lower(), []).insert(0, item)

    def inbox(self, email: str) -> list[InboxMessage]:
        with self._lock:
            return list(self._boxes.get(email.lower(), []))

    def clear(self) -> None:
        with self._lock:
            self._boxes.clear()
