"""The sync tag in an event subject: literal, case-insensitive match and removal (R8, R12).

The tag is a store option (R21) typed by an administrator, so it is text, never a pattern:
`[Sync]` matches `[sync]`, but `[sync ]` and `sync` do not, and regex metacharacters in a
custom tag (`(s5)`, `.*`) are just characters. No regular expression is ever built from
it. Letter case is compared window by window with `str.casefold`, so the positions found
are positions in the original subject.
"""

from __future__ import annotations


def _spans(subject: str, tag: str) -> list[tuple[int, int]]:
    """Non-overlapping (start, end) spans where `tag` occurs in `subject`, ignoring case."""
    if not tag:
        return []
    wanted = tag.casefold()
    size = len(tag)
    spans: list[tuple[int, int]] = []
    index = 0
    while index + size <= len(subject):
        if subject[index : index + size].casefold() == wanted:
            spans.append((index, index + size))
            index += size
        else:
            index += 1
    return spans


def has_tag(subject: str | None, tag: str) -> bool:
    """R8: does the subject carry the tag, in any letter case?"""
    return subject is not None and bool(_spans(subject, tag))


def remove_tag(subject: str, tag: str) -> str:
    """R9: the subject without every occurrence of the tag, whitespace tidied where it was.

    The pieces around each removed tag are joined by one space; whitespace elsewhere in
    the subject is kept as the user typed it.
    """
    pieces: list[str] = []
    last = 0
    for start, end in _spans(subject, tag):
        pieces.append(subject[last:start])
        last = end
    pieces.append(subject[last:])
    if len(pieces) == 1:
        return subject.strip()
    tidy = [piece.strip() for piece in pieces]
    return " ".join(piece for piece in tidy if piece)


def keep_tag(title: str, previous_subject: str | None, tag: str) -> str:
    """R5, R12: the subject to push for `title`, keeping the tag the user put on the event.

    The tag is put back as the user wrote it (its letter case), in front when it stood in
    front, else at the end. Without a tag in the previous subject the title is the subject.
    """
    if previous_subject is None:
        return title
    spans = _spans(previous_subject, tag)
    if not spans:
        return title
    start, end = spans[0]
    written = previous_subject[start:end]
    if not previous_subject[:start].strip():
        return f"{written} {title}".strip()
    return f"{title} {written}".strip()
