"""The emulated Inbox (issue 21): a delivered message is kept per recipient, newest first,
and is shown as escaped text with its links clickable (never its HTML)."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage

from m365emu.mail.models import MailStore
from m365emu.mail.routes import linked

NOW = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)


def message(subject: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = "s5sync@contoso.example"
    mail["Subject"] = subject
    mail.set_content("Open https://sync.test/admin now")
    mail.add_alternative("<p>Open it</p>", subtype="html")
    return mail


def test_a_delivered_message_is_in_its_recipients_inbox_newest_first() -> None:
    store = MailStore(lambda: NOW)
    store.deliver("Alice@Contoso.example", message("first"))
    store.deliver("alice@contoso.example", message("second"))
    assert [m.subject for m in store.inbox("ALICE@contoso.example")] == ["second", "first"]
    assert store.inbox("bob@contoso.example") == []
    assert store.inbox("alice@contoso.example")[0].received_at == NOW
    store.clear()
    assert store.inbox("alice@contoso.example") == []


def test_message_text_is_escaped_and_its_links_clickable() -> None:
    shown = str(linked("<script>x</script> see https://sync.test/admin?a=1&b=2."))
    assert "<script>" not in shown
    assert '<a href="https://sync.test/admin?a=1&amp;b=2">' in shown
