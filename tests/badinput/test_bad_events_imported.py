"""Bad and hostile events from Outlook, through MSAL, Graph over TLS and System Five (R23).

Each event is created in the user's calendar over Graph as Outlook would; the cycle runs
through the real connectors. Each is imported adapted, or skipped, with the reason in the
activity log (R18), and a good task and a good tagged event of the same cycle still sync.
The catalogue in docs/reliability.md lists every case with its test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from support.badinput_world import World, messages, utc


@dataclass(frozen=True)
class Case:
    """An event (Graph create body) and what the cycle must make of it."""

    event: dict[str, Any]
    says: str  # a piece of the activity entry about it
    title: str | None  # the imported task's title; None: not imported
    starts_at: str | None = None
    notes_check: str | None = None  # a name in NOTES_CHECKS


def event(
    subject: str, start: str = "2026-11-28T15:00:00", end: str = "2026-11-28T16:00:00", **extra: Any
) -> dict[str, Any]:
    return {"subject": subject, "start": utc(start), "end": utc(end), **extra}


def html(content: str) -> dict[str, str]:
    return {"contentType": "html", "content": content}


HOSTILE_HTML = (
    "<script>alert('x')</script><style>p{color:red}</style>"
    "<img src=x onerror=alert(1)><a href='javascript:alert(2)'>Call first</a>"
    "<iframe src='https://evil.example'></iframe><p>Bring the ladder</p>"
)
BROKEN_HTML = "<div><p>Bring <b>tools<table><tr><td>spare fuse</div></p></td><<>>&bogus;"

CASES: dict[str, Case] = {
    "tag_only_subject_is_imported_as_no_title_R23": Case(
        event("[sync]"), "no title, named (no title)", "(no title)"
    ),
    "whitespace_and_tag_subject_is_imported_as_no_title_R23": Case(
        event("  \t [sync] \t  "), "no title, named (no title)", "(no title)"
    ),
    "tag_in_capitals_is_still_the_tag_R8": Case(
        event("[SYNC] Fit blinds"), "Imported '[SYNC] Fit blinds'", "Fit blinds"
    ),
    "subject_over_100_characters_is_cut_with_a_mark_R23": Case(
        event("M" * 150 + " [sync]"), "text cut to fit System Five", "M" * 99 + "…"
    ),
    "subject_of_exactly_100_characters_is_kept_whole_R23": Case(
        event("N" * 100 + " [sync]"), "the event carries the sync tag", "N" * 100
    ),
    "one_megabyte_body_is_cut_to_4000_characters_R23": Case(
        event("Big body [sync]", body=html("<p>" + "y" * 1_000_000 + "</p>")),
        "text cut to fit System Five",
        "Big body",
        notes_check="cut_to_4000",
    ),
    "body_of_exactly_4000_characters_is_kept_whole_R23": Case(
        event("Full body [sync]", body={"contentType": "text", "content": "z" * 4000}),
        "the event carries the sync tag",
        "Full body",
        notes_check="exactly_4000",
    ),
    "body_of_4001_characters_is_cut_R23": Case(
        event("Long body [sync]", body={"contentType": "text", "content": "z" * 4001}),
        "text cut to fit System Five",
        "Long body",
        notes_check="cut_to_4000",
    ),
    "broken_html_body_becomes_its_text_R23": Case(
        event("Broken html [sync]", body=html(BROKEN_HTML)),
        "Imported 'Broken html [sync]'",
        "Broken html",
        notes_check="broken_text",
    ),
    "hostile_html_body_becomes_inert_text_R23": Case(
        event("Hostile html [sync]", body=html(HOSTILE_HTML)),
        "Imported 'Hostile html [sync]'",
        "Hostile html",
        notes_check="hostile_text",
    ),
    "html_in_the_subject_is_kept_as_text_R23": Case(
        event("<script>alert(1)</script><b>Visit</b> [sync]"),
        "Imported '<script>alert(1)</script><b>Visit</b> [sync]'",
        "<script>alert(1)</script><b>Visit</b>",
    ),
    "sql_in_the_subject_is_kept_as_text_R23": Case(
        event("Robert'); DROP TABLE task;-- [sync]"),
        "Imported 'Robert'); DROP TABLE task;-- [sync]'",
        "Robert'); DROP TABLE task;--",
    ),
    "odata_quotes_in_the_subject_are_kept_R23": Case(
        event("O'Brien's ' or 1 eq 1 [sync]"), "Imported 'O'Brien", "O'Brien's ' or 1 eq 1"
    ),
    "nul_and_control_characters_are_removed_from_the_subject_R23": Case(
        event("Fix\x00 the\x07 door\x1b [sync]"),
        "carries the sync tag; control characters removed",
        "Fix the door",
    ),
    "control_characters_are_removed_from_the_body_lines_kept_R23": Case(
        event("Control body [sync]", body={"contentType": "text", "content": "a\x00b\x0bc\nd\te"}),
        "Imported 'Control body [sync]' from Outlook as a new task flagged for review: "
        "the event carries the sync tag; control characters removed",
        "Control body",
        notes_check="controls_removed",
    ),
    "emoji_subject_is_imported_verbatim_R23": Case(
        event("🎉🚚 Deliver cake 🍰 [sync]"),
        "Imported '🎉🚚 Deliver cake 🍰",
        "🎉🚚 Deliver cake 🍰",
    ),
    "emoji_subject_over_100_characters_is_cut_by_characters_R23": Case(
        event("🍰" * 150 + " [sync]"), "text cut to fit System Five", "🍰" * 99 + "…"
    ),
    "right_to_left_subject_is_imported_verbatim_R23": Case(
        event("موعد تسليم الأريكة [sync]"), "Imported 'موعد", "موعد تسليم الأريكة"
    ),
    "bidi_override_characters_are_kept_as_text_R23": Case(
        event("\u202eevil\u202c order [sync]"), "Imported '\u202eevil", "\u202eevil\u202c order"
    ),
    "zero_length_event_becomes_a_zero_length_task_R23": Case(
        event("Zero length [sync]", "2026-11-28T15:00:00", "2026-11-28T15:00:00"),
        "Imported 'Zero length [sync]'",
        "Zero length",
        starts_at="2026-11-28T10:00:00",
    ),
    "sixty_day_event_is_skipped_as_beyond_the_window_R8_R23": Case(
        event("Sixty days [sync]", "2026-11-28T15:00:00", "2027-01-27T15:00:00"),
        "Not imported yet: 'Sixty days [sync]': it ends Wed 27 Jan 10:00; it will be imported "
        "when it is within 14 days",
        None,
    ),
    "event_ending_exactly_at_the_window_edge_is_imported_R8": Case(
        event("At the edge [sync]", "2026-12-09T14:00:00", "2026-12-09T15:00:00"),
        "Imported 'At the edge [sync]'",
        "At the edge",
    ),
    "event_ending_a_second_past_the_window_is_skipped_R8": Case(
        event("Past the edge [sync]", "2026-12-09T14:00:00", "2026-12-09T15:00:01"),
        "Not imported yet: 'Past the edge [sync]'",
        None,
    ),
    "event_starting_at_the_sync_time_is_skipped_R8": Case(
        event("Starts now [sync]", "2026-11-25T15:00:00", "2026-11-25T16:00:00"),
        "Skipped 'Starts now [sync]': start has passed",
        None,
    ),
    "windows_time_zone_names_are_read_R9_R23": Case(
        {
            "subject": "Pacific call [sync]",
            "start": {"dateTime": "2026-11-28T09:00:00", "timeZone": "Pacific Standard Time"},
            "end": {"dateTime": "2026-11-28T10:00:00", "timeZone": "Pacific Standard Time"},
            "originalStartTimeZone": "Pacific Standard Time",
            "originalEndTimeZone": "Pacific Standard Time",
        },
        "Imported 'Pacific call [sync]'",
        "Pacific call",
        starts_at="2026-11-28T12:00:00",
    ),
    "another_windows_time_zone_name_is_read_R9_R23": Case(
        {
            "subject": "Berlin call [sync]",
            "start": {"dateTime": "2026-11-28T16:00:00", "timeZone": "W. Europe Standard Time"},
            "end": {"dateTime": "2026-11-28T17:00:00", "timeZone": "W. Europe Standard Time"},
        },
        "Imported 'Berlin call [sync]'",
        "Berlin call",
        starts_at="2026-11-28T10:00:00",
    ),
    "iana_time_zone_names_are_read_R9_R23": Case(
        {
            "subject": "Paris call [sync]",
            "start": {"dateTime": "2026-11-28T16:00:00", "timeZone": "Europe/Paris"},
            "end": {"dateTime": "2026-11-28T17:00:00", "timeZone": "Europe/Paris"},
        },
        "Imported 'Paris call [sync]'",
        "Paris call",
        starts_at="2026-11-28T10:00:00",
    ),
}

NOTES_CHECKS: dict[str, Callable[[str], bool]] = {
    "cut_to_4000": lambda notes: len(notes) == 4000 and notes.endswith("[cut by s5sync]"),
    "exactly_4000": lambda notes: notes == "z" * 4000,
    "broken_text": lambda notes: all(w in notes for w in ("Bring", "tools", "spare fuse")),
    "hostile_text": lambda notes: (
        "Bring the ladder" in notes
        and "<script" not in notes
        and "alert" not in notes
        and "color:red" not in notes
    ),
    "controls_removed": lambda notes: notes in ("ab c\nd e", "abc\nd e"),
}


@pytest.mark.parametrize("name", list(CASES))
async def test_bad_event_is_adapted_or_skipped_and_the_cycle_goes_on_R23(
    world: World, name: str
) -> None:
    case = CASES[name]
    world.with_good_items()
    world.post_event(case.event)
    result = await world.cycle()
    assert result.outcome == "ok", result.error
    text = messages(result)
    assert case.says in text, text
    world.assert_good_items_synced(result)
    imported = world.imported()
    if case.title is None:
        assert set(imported) == {"Good visit"}
        return
    assert case.title in imported, sorted(imported)
    task = imported[case.title]
    assert task.needs_review
    if case.starts_at is not None:
        assert task.starts_at == case.starts_at
    if case.notes_check is not None:
        assert NOTES_CHECKS[case.notes_check](task.notes), task.notes[:200]
    # R17: the adapted task is not taken as a change next cycle.
    again = await world.cycle(datetime(2026, 11, 25, 15, 10, tzinfo=UTC))
    assert again.wrote == 0, messages(again)


async def test_recurring_tagged_series_is_skipped_with_its_reason_R8_R23(world: World) -> None:
    world.with_good_items()
    world.post_event(
        {
            **event("Weekly stand-up [sync]"),
            "recurrence": {
                "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["saturday"]},
                "range": {"type": "numbered", "startDate": "2026-11-28", "numberOfOccurrences": 3},
            },
        }
    )
    result = await world.cycle()
    assert "Skipped 'Weekly stand-up [sync]': it repeats" in messages(result)
    world.assert_good_items_synced(result)
    assert set(world.imported()) == {"Good visit"}


def all_day(subject: str, first: str, after_last: str) -> dict[str, Any]:
    return {
        "subject": subject,
        "isAllDay": True,
        "start": {"dateTime": f"{first}T00:00:00", "timeZone": "Eastern Standard Time"},
        "end": {"dateTime": f"{after_last}T00:00:00", "timeZone": "Eastern Standard Time"},
    }


@pytest.mark.parametrize(
    ("name", "now", "first", "after_last", "hours"),
    [
        (
            "all_day_on_the_spring_forward_day_lasts_23_hours_R12c_R23",
            "2027-03-10",
            "2027-03-14",
            "2027-03-15",
            23,
        ),
        (
            "all_day_on_the_fall_back_day_lasts_25_hours_R12c_R23",
            "2027-11-03",
            "2027-11-07",
            "2027-11-08",
            25,
        ),
        (
            "three_day_all_day_event_across_dst_spans_whole_days_R12c_R23",
            "2027-03-10",
            "2027-03-13",
            "2027-03-16",
            71,
        ),
    ],
)
async def test_all_day_event_across_dst_becomes_whole_store_days_R12c_R23(
    world: World, name: str, now: str, first: str, after_last: str, hours: int
) -> None:
    moment = datetime.fromisoformat(f"{now}T15:00:00+00:00")
    day = (moment.date().replace(day=moment.day + 2)).isoformat()
    world.with_good_items(f"{day}T10:00:00", f"{day}T11:00:00")
    world.post_event(all_day("Stocktake [sync]", first, after_last))
    result = await world.cycle(moment)
    assert "Imported 'Stocktake [sync]'" in messages(result), messages(result)
    world.assert_good_items_synced(result)
    task = world.imported()["Stocktake"]
    assert (task.starts_at, task.ends_at) == (f"{first}T00:00:00", f"{after_last}T00:00:00")
    start = datetime.fromisoformat(task.starts_at).replace(tzinfo=ZoneInfo("America/New_York"))
    end = datetime.fromisoformat(task.ends_at).replace(tzinfo=ZoneInfo("America/New_York"))
    # Aware datetimes of one zone subtract as wall times: compare the instants.
    assert (end.astimezone(UTC) - start.astimezone(UTC)).total_seconds() == hours * 3600
