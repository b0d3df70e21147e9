"""Event bodies as Exchange stores them (graph.md §1; user-post-events.md examples).

HTML sent by a client is sanitised (Outlook strips potentially unsafe HTML unless the
client sends `Prefer: outlook.allow-unsafe-html`; the emulator always strips, with nh3)
and wrapped in `<html><head><meta …></head><body>…</body></html>` with CRLF line breaks,
like the recurring-event example of user-post-events.md. Text bodies are kept as text.
`Prefer: outlook.body-content-type="text"` renders HTML as text (BeautifulSoup's
get_text); asking for "html" on a text body wraps the escaped text. bodyPreview is the
first 255 characters of the text with white space collapsed.

Not emulated: Exchange's exact HTML rewriting (it also adds style blocks and rewrites
some tags); the emulator's rewriting is different but just as lossy, which is what a
client that hashes bodies must survive.
"""

from __future__ import annotations

import html
import re

import nh3
from bs4 import BeautifulSoup

_HEAD = (
    '<html>\r\n<head>\r\n<meta http-equiv="Content-Type" content="text/html; charset=utf-8">'
    "\r\n</head>\r\n<body>\r\n"
)
_TAIL = "\r\n</body>\r\n</html>\r\n"
_BODY = re.compile(r"<body[^>]*>(.*)</body>", re.IGNORECASE | re.DOTALL)
_SPACE = re.compile(r"\s+")

PREVIEW_LENGTH = 255


def store_html(content: str) -> str:
    """Sanitised and wrapped, as Exchange hands it back."""
    match = _BODY.search(content)
    inner = match.group(1) if match else content
    clean = nh3.clean(inner, link_rel="noopener noreferrer").strip()
    return f"{_HEAD}{clean}{_TAIL}"


def inner_html(stored: str) -> str:
    match = _BODY.search(stored)
    return (match.group(1) if match else stored).strip()


def html_to_text(stored: str) -> str:
    soup = BeautifulSoup(inner_html(stored), "html.parser")
    for br in soup.find_all("br"):
        br.replace_with("\n")
    text = soup.get_text("\n")
    lines = [line.strip() for line in text.splitlines()]
    return "\r\n".join(line for line in lines if line)


def text_to_html(text: str) -> str:
    escaped = html.escape(text).replace("\r\n", "\n").replace("\n", "<br>\r\n")
    return f"{_HEAD}{escaped}{_TAIL}"


def preview(content_type: str, stored: str) -> str:
    text = html_to_text(stored) if content_type == "html" else stored
    return _SPACE.sub(" ", text).strip()[:PREVIEW_LENGTH]


def render(content_type: str, stored: str, wanted: str | None) -> tuple[str, str]:
    """(contentType, content) for the answer, honouring outlook.body-content-type."""
    if wanted == "text" and content_type == "html":
        return "text", html_to_text(stored)
    if wanted == "html" and content_type == "text":
        return "html", text_to_html(stored)
    return content_type, stored
