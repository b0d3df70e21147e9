"""The link block's strip is the inverse of its build, for any text (R4, R12)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from s5sync.core.html_text import html_to_text, normalise_text, text_to_html
from s5sync.core.mapslink import build_html, build_text, maps_url, strip_block
from s5sync.core.tag import has_tag, keep_tag, remove_tag

# Printable text with the whitespace users type; control characters are not text.
TEXT = st.text(
    st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from(["\n", "\t", " ", "\r"]),
    max_size=200,
)
ADDRESS = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=60)


@given(TEXT, ADDRESS)
def test_strip_undoes_build_for_any_text_R4_R12(notes: str, address: str) -> None:
    assert strip_block(build_text(notes, maps_url(address))) == notes


@given(TEXT, ADDRESS)
def test_strip_undoes_build_through_html_for_any_text_R4_R12(notes: str, address: str) -> None:
    html = build_html(notes, maps_url(address))
    assert strip_block(html_to_text(html)) == normalise_text(notes)


@given(TEXT)
def test_text_survives_html_as_normalised_text_R9(text: str) -> None:
    assert html_to_text(text_to_html(text)) == normalise_text(text)
    assert normalise_text(normalise_text(text)) == normalise_text(text)


@given(TEXT)
def test_text_without_a_block_is_left_alone_R12(text: str) -> None:
    assert strip_block(text) == text or "Directions (s5sync)" in text


@given(st.text(max_size=40), st.sampled_from(["[sync]", "[SYNC]", "(s5)", ".*", "[a-z]"]))
def test_removed_tag_is_gone_and_kept_tag_round_trips_R8_R12(title: str, tag: str) -> None:
    title = remove_tag(title, tag)
    assert not has_tag(title, tag)
    subject = keep_tag(title or "x", f"Meeting {tag.swapcase()}", tag)
    assert has_tag(subject, tag)
    assert remove_tag(subject, tag) == (title or "x").strip()
