"""core.characters: what either side can store, whatever text comes in (R23)."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from s5sync.core.characters import has_surrogates, printable, without_surrogates


def test_control_characters_go_line_breaks_stay_in_lines_and_become_spaces_in_titles() -> None:
    text = "a\x00b\x07c\td\ne\rf\x1b"
    assert printable(text, lines=True) == "abc\td\ne\rf"
    assert printable(text, lines=False) == "abc d e f"


def test_lone_surrogates_become_the_replacement_character() -> None:
    assert printable("x\ud800y", lines=False) == "x\ufffdy"
    assert without_surrogates("\udfff") == "\ufffd"


def test_format_characters_of_emoji_and_bidi_text_are_kept() -> None:
    family = "👨\u200d👩\u200d👧"  # zero-width joiners
    assert printable(family, lines=False) == family
    assert printable("\u202eabc\u202c", lines=False) == "\u202eabc\u202c"


HOSTILE = st.sampled_from(["\x00", "\x1b", "\x7f", "\x85", "\ud800", "\udfff", "\n", "\t"])


@given(st.text(alphabet=st.one_of(st.characters(), HOSTILE)))
def test_printable_text_is_storable_and_stable_R23(text: str) -> None:
    for lines in (True, False):
        clean = printable(text, lines=lines)
        assert printable(clean, lines=lines) == clean
        clean.encode("utf-8")  # no lone surrogate left: every driver can write it
        kept = {c for c in clean if unicodedata.category(c) == "Cc"}
        assert kept <= ({"\n", "\r", "\t"} if lines else set())


@given(st.text(alphabet=st.one_of(st.characters(), HOSTILE)))
def test_surrogates_are_found_exactly_where_a_code_point_is_one_R23(text: str) -> None:
    surrogate = any(0xD800 <= ord(c) <= 0xDFFF for c in text)
    assert has_surrogates(text) is surrogate
    cleaned = without_surrogates(text)
    assert not has_surrogates(cleaned)
    assert len(cleaned) == len(text)
    assert (cleaned == text) is not surrogate
