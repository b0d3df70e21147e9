"""Event bodies between HTML and plain text (R9, R10, R12; DESIGN.md "Change detection").

Outlook bodies are HTML that Exchange rewrites at will (wrappers, styles, entities), so
s5sync never compares HTML: it compares the *text* a reader sees, normalised the same way
whichever side it came from. BeautifulSoup (MIT) parses any HTML, broken or not, without
I/O (R23: broken HTML never stops a cycle).

Normalised text: line ends are `\\n`; inside a line every run of whitespace is one space
and the line is stripped; at most one blank line in a row; no blank lines at either end.
Line ends in HTML source are spaces to a reader (except in `<pre>`); `<br>` and block
elements end lines. `text_to_html` writes text so that
`html_to_text(text_to_html(t)) == normalise_text(t)`.

Parsing is the cost (issue 25: most of the rules' CPU in a cycle with changes), and a
cycle turns the same bodies into text again and again — the event's hash each cycle,
the predicted hash after a write — so `html_to_text` keeps the texts of the last
`CACHED_BODIES` bodies it saw (an LRU keyed by the body itself, whose hash Python keeps
with the string). It is a pure function, so a cached answer is the answer; bodies
longer than `CACHED_LONGEST` characters are parsed every time, to bound the memory.
"""

from __future__ import annotations

from functools import lru_cache
from html import escape

from bs4 import BeautifulSoup
from bs4.element import NavigableString, Tag

# Elements that start a new line when rendered; their text is set off by line breaks.
BLOCKS = frozenset(
    {
        "address",
        "article",
        "blockquote",
        "dd",
        "div",
        "dl",
        "dt",
        "footer",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "tr",
        "ul",
    }
)
# Elements whose content is never shown to a reader.
HIDDEN = frozenset({"head", "script", "style", "title", "template"})


def _unix_lines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _line_break(out: list[str]) -> None:
    """Start a new line unless the text already stands at the start of one."""
    for piece in reversed(out):
        shown = piece.rstrip(" \t")
        if shown:
            if not shown.endswith("\n"):
                out.append("\n")
            return


def normalise_text(text: str) -> str:
    """Plain text as compared and stored: tidy lines, at most one blank line in a row."""
    lines = [" ".join(line.split()) for line in _unix_lines(text).split("\n")]
    kept: list[str] = []
    for line in lines:
        if not line and (not kept or not kept[-1]):
            continue
        kept.append(line)
    while kept and not kept[-1]:
        kept.pop()
    return "\n".join(kept)


def _render(node: Tag, out: list[str], pre: bool = False) -> None:
    for child in node.children:
        if isinstance(child, Tag):
            name = child.name.lower()
            if name in HIDDEN:
                continue
            if name == "br":
                out.append("\n")
            elif name in BLOCKS:
                _line_break(out)
                _render(child, out, pre or name == "pre")
                _line_break(out)
            else:
                _render(child, out, pre)
        elif type(child) is NavigableString:
            # Comments, doctypes and CDATA are NavigableString subclasses: not text.
            # A line end in HTML source is a space to a reader, except inside <pre>.
            out.append(str(child) if pre else str(child).replace("\n", " "))


CACHED_BODIES = 4096
CACHED_LONGEST = 32_768


def html_to_text(html: str) -> str:
    """R9: the text a reader sees in an HTML body, normalised."""
    if len(html) > CACHED_LONGEST:
        return _parsed(html)
    return _cached(html)


def _parsed(html: str) -> str:
    soup = BeautifulSoup(_unix_lines(html), "html.parser")
    out: list[str] = []
    _render(soup, out)
    return normalise_text("".join(out))


_cached = lru_cache(maxsize=CACHED_BODIES)(_parsed)


def text_to_html(text: str) -> str:
    """Plain text as an HTML fragment: escaped, one `<br>` per line break."""
    lines = _unix_lines(text).split("\n")
    return "<br>".join(escape(line, quote=False) for line in lines)
