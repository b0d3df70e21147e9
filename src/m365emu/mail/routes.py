"""The Outlook page's Inbox (`/outlook/inbox`): the signed-in mailbox's messages, newest
first, and one message read as its plain-text part, links made clickable.

A message's HTML is not rendered: it came from outside and the page would have to
sanitise it; the plain-text part says the same (s5sync sends both).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup, escape

from m365emu.mail.models import MailStore

_URL = re.compile(r"https?://[^\s<>\"']*[^\s<>\"'.,;:!?)]")  # not a closing full stop


def linked(text: str) -> Markup:
    """Escaped text with each URL as a link."""
    out: list[str] = []
    last = 0
    for found in _URL.finditer(text):
        out.append(str(escape(text[last : found.start()])))
        url = escape(found.group(0))
        out.append(f'<a href="{url}">{url}</a>')
        last = found.end()
    out.append(str(escape(text[last:])))
    return Markup("".join(out))  # noqa: S704 - every piece above is escaped


def install_inbox_routes(
    router: APIRouter,
    mail: MailStore,
    signed_in: Callable[[Request], Any],
    page: Callable[..., HTMLResponse],
    to_signin: Callable[[Request], Response],
) -> None:
    @router.get("/inbox", name="outlook_inbox", response_class=HTMLResponse)
    async def inbox(request: Request) -> Response:
        box = signed_in(request)
        if box is None:
            return to_signin(request)
        return page("inbox.html", request, box=box, messages=mail.inbox(box.email))

    @router.get("/inbox/{number}", name="outlook_message", response_class=HTMLResponse)
    async def message(request: Request, number: int) -> Response:
        box = signed_in(request)
        if box is None:
            return to_signin(request)
        messages = mail.inbox(box.email)
        if not 0 <= number < len(messages):
            return page("inbox.html", request, 404, box=box, messages=messages)
        item = messages[number]
        return page("message.html", request, box=box, item=item, body=linked(item.text))
