"""The sync tag, the maps-link block and HTML as text (R4, R8, R9, R12, R23)."""

from __future__ import annotations

import pytest

from s5sync.core.html_text import (
    CACHED_BODIES,
    CACHED_LONGEST,
    _cached,
    html_to_text,
    normalise_text,
    text_to_html,
)
from s5sync.core.mapslink import (
    SENTINEL,
    build_html,
    build_text,
    chosen_address,
    maps_url,
    one_line,
    strip_block,
    task_maps_url,
)
from s5sync.core.snapshots import Address, TaskKind
from s5sync.core.tag import has_tag, keep_tag, remove_tag
from support.core_builders import BILL_TO, SHIP_TO, task

URL = maps_url("1 Main St, Springfield")


@pytest.mark.parametrize(
    ("subject", "tag", "expected"),
    [
        ("Lunch [sync]", "[sync]", True),
        ("Lunch [Sync]", "[sync]", True),
        ("LUNCH [SYNC]", "[sync]", True),
        ("Lunch [sync ]", "[sync]", False),
        ("Lunch sync", "[sync]", False),
        ("Lunch", "", False),
        (None, "[sync]", False),
        ("Straße [ß]", "[SS]", False),
        ("Price $5.00 (s5)", "(S5)", True),
        ("Price $5.00 s5", "(s5)", False),
        ("anything", ".*", False),
        ("a.*b", ".*", True),
    ],
)
def test_tag_is_literal_text_in_any_letter_case_R8(
    subject: str | None, tag: str, expected: bool
) -> None:
    assert has_tag(subject, tag) is expected


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Lunch [sync]", "Lunch"),
        ("[SYNC] Lunch", "Lunch"),
        ("Lunch  [sync]  with Bob", "Lunch with Bob"),
        ("Lunch[sync]with Bob", "Lunch with Bob"),
        ("[sync][Sync]", ""),
        ("  Lunch  with   Bob ", "Lunch  with   Bob"),
        ("Lunch [sync ] x", "Lunch [sync ] x"),
    ],
)
def test_tag_removal_tidies_the_whitespace_where_it_was_R9(subject: str, expected: str) -> None:
    assert remove_tag(subject, "[sync]") == expected


@pytest.mark.parametrize(
    ("previous", "expected"),
    [
        (None, "Visit"),
        ("Visit old", "Visit"),
        ("Visit old [SYNC]", "Visit [SYNC]"),
        ("  [Sync] Visit old", "[Sync] Visit"),
    ],
)
def test_pushed_subject_keeps_the_users_tag_R12(previous: str | None, expected: str) -> None:
    assert keep_tag("Visit", previous, "[sync]") == expected


def test_address_choice_per_kind_R4() -> None:
    assert chosen_address(task(kind=TaskKind.DELIVERY, ship_to=SHIP_TO)) == SHIP_TO
    assert chosen_address(task(kind=TaskKind.DELIVERY, ship_to=None)) == BILL_TO
    assert chosen_address(task(kind=TaskKind.CUSTOMER, ship_to=SHIP_TO)) == BILL_TO
    assert chosen_address(task(kind=TaskKind.SERVICE)) is None


def test_one_line_address_and_url_encoding_R4() -> None:
    address = Address(3, "bill_to", " 5  Rue  d'Arc ", "", "Paris", "", "75001", "FR")
    assert one_line(address) == "5 Rue d'Arc, Paris, 75001, FR"
    assert maps_url("5 Rue & Co, Paris") == (
        "https://www.google.com/maps/search/?api=1&query=5+Rue+%26+Co%2C+Paris"
    )


def test_empty_address_gives_no_link_R4() -> None:
    assert task_maps_url(task(bill_to=Address(4, "bill_to"))) is None


def test_block_is_built_as_html_and_recognised_as_text_after_rewriting_R4_R12() -> None:
    html = build_html("Bring <samples> & tea", URL)
    assert f'<a href="{URL.replace("&", "&amp;")}">' in html
    text = html_to_text(html)
    assert text == f"Bring <samples> & tea\n\n{SENTINEL}\n{URL}"
    assert strip_block(text) == "Bring <samples> & tea"
    outlook = (
        '<html><head><meta charset="utf-8"><style>p {margin:0}</style></head><body>'
        '<div class="elementToProof">Bring &lt;samples&gt; &amp; tea</div><div><br></div>'
        f'<div>{SENTINEL.replace("—", "&mdash;")}</div><div><a href="{URL}" '
        f'data-auth="NotApplicable">{URL}</a></div></body></html>'
    )
    assert strip_block(html_to_text(outlook)) == "Bring <samples> & tea"


def test_block_alone_and_no_block_R4_R12() -> None:
    assert html_to_text(build_html("", URL)) == f"{SENTINEL}\n{URL}"
    assert build_html("notes", None) == "notes"
    assert strip_block("no block here") == "no block here"
    assert strip_block(build_text("", URL)) == ""


def test_only_the_last_block_is_stripped_and_text_after_it_kept_R12() -> None:
    older = build_text("notes", URL)
    assert strip_block(build_text(older, URL)) == older
    assert strip_block(f"notes\n\n{SENTINEL}\n{URL}\nuser line") == "notes\nuser line"
    assert strip_block(f"notes\n\n{SENTINEL}\n{URL}\n  ") == "notes"


@pytest.mark.parametrize(
    "text",
    [
        f"{SENTINEL}\nnot a url",
        f"{SENTINEL} {URL}",
        f"{SENTINEL}\n{URL} tail",
        SENTINEL,
    ],
)
def test_sentinel_without_its_url_line_is_user_text_R12(text: str) -> None:
    assert strip_block(text) == text


def test_sentinel_line_found_before_a_false_one_R12() -> None:
    text = f"a\n\n{SENTINEL}\n{URL}\n{SENTINEL} is a phrase"
    assert strip_block(text) == f"a\n{SENTINEL} is a phrase"


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<p>One</p><p>Two</p>", "One\nTwo"),
        ("<ul><li>a</li><li>b</li></ul>", "a\nb"),
        ("<div>Hi&nbsp;&nbsp;there<br/>you</div>", "Hi there\nyou"),
        ("<html><head><title>T</title><script>x()</script></head><body>Body</body></html>", "Body"),
        ("<!-- comment -->Text<![CDATA[ raw ]]>", "Text"),
        ("<P>Upper</P>", "Upper"),
        ("<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>", "ab\nc"),
        ("line\r\none\rtwo", "line one two"),
        ("<b>unclosed <i>tags", "unclosed tags"),
        ("", ""),
        ("<div>a</div>\n  <div>b</div>", "a\nb"),
        ("<pre>keep\nlines</pre>after", "keep\nlines\nafter"),
        ("<p>source\nwrapped</p>", "source wrapped"),
    ],
)
def test_html_bodies_become_the_text_a_reader_sees_R9_R23(html: str, text: str) -> None:
    assert html_to_text(html) == text


def test_text_round_trips_through_html_as_normalised_text_R9() -> None:
    text = "  a  & <b>\r\n\r\n\r\nc\td\n"
    assert text_to_html(text) == "  a  &amp; &lt;b&gt;<br><br><br>c\td<br>"
    assert html_to_text(text_to_html(text)) == normalise_text(text) == "a & <b>\n\nc d"


def test_a_body_is_parsed_once_while_it_is_among_the_last_bodies_seen_R9() -> None:
    body = "<div>Bring the <b>ladder</b></div><p>Gate code 4711</p>"
    before = _cached.cache_info()
    assert html_to_text(body) == "Bring the ladder\nGate code 4711"
    assert html_to_text(body) == "Bring the ladder\nGate code 4711"
    after = _cached.cache_info()
    assert after.hits >= before.hits + 1
    assert after.maxsize == CACHED_BODIES


def test_a_long_body_is_parsed_each_time_and_reads_the_same_R9() -> None:
    words = "word " * (CACHED_LONGEST // 5 + 1)
    body = f"<p>{words}</p><p>end</p>"
    assert len(body) > CACHED_LONGEST
    before = _cached.cache_info().currsize
    assert html_to_text(body) == f"{words.strip()}\nend"
    assert _cached.cache_info().currsize == before
