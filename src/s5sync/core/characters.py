"""Characters neither side can keep, removed before a value is written (R23).

PostgreSQL refuses NUL in text, Exchange stores items as XML 1.0 (which cannot carry C0
control characters), and a lone UTF-16 surrogate (valid in JSON's `\\ud800` escape, so
Graph answers may carry one) cannot be encoded as UTF-8 by any database driver. So text
written to System Five or to Outlook keeps only printable characters: control characters
are dropped — except line breaks and tabs where the value has lines (notes, bodies), which
become spaces in a one-line value (titles, subjects) — and lone surrogates become U+FFFD.
Format characters (bidi marks, zero-width joiners in emoji) are text, and are kept.

Every string of every Graph answer and System Five row passes here (issue 25: a
character-by-character scan was a quarter of a 5-change cycle's CPU), so the common
case is decided in C: an ASCII string has no surrogate, and any other has one exactly
when strict UTF-8 refuses to encode it; a printable string has neither kind.
"""

from __future__ import annotations

import unicodedata

LINE_CHARACTERS = frozenset("\n\r\t")
REPLACEMENT = "\ufffd"


def printable(text: str, *, lines: bool) -> str:
    """`text` with control characters removed and lone surrogates replaced."""
    if text.isprintable():  # no control character, and no surrogate (category Cs)
        return text
    out = []
    for char in text:
        category = unicodedata.category(char)
        if char in LINE_CHARACTERS:
            out.append(char if lines else " ")
        elif category == "Cc":
            continue
        elif category == "Cs":
            out.append(REPLACEMENT)
        else:
            out.append(char)
    return "".join(out)


def has_surrogates(text: str) -> bool:
    """Whether `text` holds a surrogate code point (U+D800–U+DFFF), which no UTF-8
    encoder writes."""
    if text.isascii():
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def without_surrogates(text: str) -> str:
    """`text` with every lone surrogate replaced by U+FFFD (JSON decoders keep them)."""
    if not has_surrogates(text):
        return text
    return "".join(REPLACEMENT if 0xD800 <= ord(c) <= 0xDFFF else c for c in text)
