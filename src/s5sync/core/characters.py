"""Characters neither side can keep, removed before a value is written (R23).

PostgreSQL refuses NUL in text, Exchange stores items as XML 1.0 (which cannot carry C0
control characters), and a lone UTF-16 surrogate (valid in JSON's `\\ud800` escape, so
Graph answers may carry one) cannot be encoded as UTF-8 by any database driver. So text
written to System Five or to Outlook keeps only printable characters: control characters
are dropped — except line breaks and tabs where the value has lines (notes, bodies), which
become spaces in a one-line value (titles, subjects) — and lone surrogates become U+FFFD.
Format characters (bidi marks, zero-width joiners in emoji) are text, and are kept.
"""

from __future__ import annotations

import unicodedata

LINE_CHARACTERS = frozenset("\n\r\t")
REPLACEMENT = "\ufffd"


def printable(text: str, *, lines: bool) -> str:
    """`text` with control characters removed and lone surrogates replaced."""
    if text.isprintable() and not any(0xD800 <= ord(c) <= 0xDFFF for c in text):
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


def without_surrogates(text: str) -> str:
    """`text` with every lone surrogate replaced by U+FFFD (JSON decoders keep them)."""
    if not any(0xD800 <= ord(c) <= 0xDFFF for c in text):
        return text
    return "".join(REPLACEMENT if 0xD800 <= ord(c) <= 0xDFFF else c for c in text)
