"""Outlook → System Five as tables: snapshots in, decisions with reasons out (R8–R12d, R23)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from s5sync.core.decisions import (
    CreateTask,
    Decision,
    MarkDeletedInOutlook,
    MarkTaskDeleted,
    Recorded,
    Skip,
    UpdateEvent,
    UpdateTask,
)
from s5sync.core.hashing import event_hash, task_hash
from s5sync.core.mapslink import build_html, maps_url
from s5sync.core.payloads import drafted_task, imported_task, task_ref
from s5sync.core.reasons import Direction, Reason
from s5sync.core.snapshots import (
    EventType,
    LinkState,
    Origin,
    StoreOptions,
    TaskDraft,
    TaskKind,
)
from support.core_builders import EMPLOYEE, NOW, decide, edited, event, link, only, task

WINDOW_END = NOW + timedelta(days=14)


def created(decisions: Sequence[Decision]) -> CreateTask:
    decision = only(decisions)
    assert isinstance(decision, CreateTask), decision
    return decision


def skipped(decisions: Sequence[Decision], reason: Reason) -> Skip:
    decision = only(decisions)
    assert isinstance(decision, Skip), decision
    assert decision.reason is reason
    return decision


def test_tagged_single_event_in_window_becomes_a_review_task_R8_R9() -> None:
    e = event(
        subject="Lunch with Bob [sync]",
        body="<p>Agenda:<br>1. food</p>",
        body_is_html=True,
        reminder_minutes=30,
    )
    decision = created(decide([], [e]))
    assert decision.reason is Reason.NEW_TAGGED_EVENT
    assert decision.direction is Direction.IMPORT
    assert decision.employee_id == EMPLOYEE
    assert e.start is not None
    assert e.end is not None
    assert decision.draft == TaskDraft("Lunch with Bob", "Agenda:\n1. food", e.start, e.end, 30)
    assert decision.event_hash == event_hash(e)
    assert decision.change_key == "ck-1"
    future = imported_task(decision.draft, EMPLOYEE, "ev-1")
    assert future.kind is TaskKind.OUTLOOK
    assert future.sync is False
    assert future.needs_review is True
    assert decision.predicted_task_hash == task_hash(future)


def test_reminder_off_means_no_alarm_R9() -> None:
    assert created(decide([], [event(reminder_minutes=None)])).draft.alarm_minutes is None


@pytest.mark.parametrize(
    ("subject", "tagged"),
    [
        ("Lunch [sync]", True),
        ("Lunch [SYNC]", True),
        ("[Sync] Lunch", True),
        ("Lunch[sYnC]today", True),
        ("Lunch [sync ]", False),
        ("Lunch sync", False),
        ("Lunch [synced]", False),
        ("Lunch", False),
        (None, False),
    ],
)
def test_tag_in_any_letter_case_and_tag_like_text_R8(subject: str | None, tagged: bool) -> None:
    decisions = decide([], [event(subject=subject)])
    assert (len(decisions) == 1 and isinstance(decisions[0], CreateTask)) is tagged
    assert tagged or decisions == []


@pytest.mark.parametrize("tag", ["(s5)", ".*", "[a-z]+", "\\d", "s5|sync"])
def test_regex_metacharacters_in_a_custom_tag_are_literal_R8(tag: str) -> None:
    options = StoreOptions(sync_tag=tag)
    assert decide([], [event(subject="Anything at all")], options=options) == []
    decision = created(decide([], [event(subject=f"Lunch {tag.upper()}")], options=options))
    assert decision.draft.title == "Lunch"


@pytest.mark.parametrize(
    ("event_type", "detail"),
    [
        (EventType.OCCURRENCE, "occurrence"),
        (EventType.EXCEPTION, "exception"),
        (EventType.SERIES_MASTER, "seriesMaster"),
    ],
)
def test_recurring_events_are_skipped_with_their_reason_R8(
    event_type: EventType, detail: str
) -> None:
    e = event(subject="Weekly standup [sync]", type=event_type)
    decision = skipped(decide([], [e]), Reason.RECURRING)
    # Issue 20: in a store employee's words, no Graph type names.
    assert detail not in decision.describe()
    assert decision.describe() == (
        "Skipped 'Weekly standup [sync]': it repeats, and only single events become "
        "System Five tasks"
    )


@pytest.mark.parametrize(
    ("start_offset", "end_offset", "reason"),
    [
        (timedelta(0), timedelta(hours=1), Reason.START_PASSED),
        (timedelta(seconds=1), timedelta(hours=1), None),
        (timedelta(days=13), timedelta(days=14), None),
        (timedelta(days=13), timedelta(days=14, seconds=1), Reason.OUTSIDE_WINDOW),
        (timedelta(hours=-1), timedelta(hours=1), Reason.START_PASSED),
    ],
)
def test_window_edges_exactly_at_now_and_now_plus_14_days_R8(
    start_offset: timedelta, end_offset: timedelta, reason: Reason | None
) -> None:
    e = event(start=NOW + start_offset, end=NOW + end_offset)
    decisions = decide([], [e])
    if reason is None:
        created(decisions)
    else:
        skipped(decisions, reason)


def test_event_entering_the_window_as_now_moves_is_imported_then_R8() -> None:
    e = event(start=NOW + timedelta(days=15), hours=2)
    skip = skipped(decide([], [e]), Reason.OUTSIDE_WINDOW)
    assert "will be imported when it is within 14 days" in skip.describe()
    later = NOW + timedelta(days=1, hours=2)
    created(decide([], [e], now=later))


def test_import_window_is_a_store_option_R8() -> None:
    e = event(start=NOW + timedelta(days=3))
    skipped(decide([], [e], options=StoreOptions(import_window_days=2)), Reason.OUTSIDE_WINDOW)


def test_cancelled_events_are_skipped_R12c() -> None:
    skipped(decide([], [event(is_cancelled=True)]), Reason.CANCELLED)


def test_all_day_event_spans_whole_store_days_across_a_dst_change_R12c() -> None:
    # US DST ends on 2026-11-01: that store day lasts 25 hours.
    e = event(
        start=datetime(2026, 10, 31, tzinfo=UTC),
        end=datetime(2026, 11, 2, tzinfo=UTC),
        is_all_day=True,
    )
    decision = created(decide([], [e], now=datetime(2026, 10, 25, tzinfo=UTC)))
    assert decision.draft.start == datetime(2026, 10, 31, 4, tzinfo=UTC)  # 00:00 EDT
    assert decision.draft.end == datetime(2026, 11, 2, 5, tzinfo=UTC)  # 00:00 EST
    assert decision.draft.end - decision.draft.start == timedelta(hours=49)


def test_all_day_event_with_an_unknown_store_zone_is_skipped_R12c_R23() -> None:
    e = event(is_all_day=True)
    decision = skipped(
        decide([], [e], options=StoreOptions(time_zone="Mars/Olympus")), Reason.BAD_TIME
    )
    assert "Mars/Olympus" in decision.detail


def test_changed_imported_event_overwrites_its_task_and_flags_review_R10() -> None:
    e = event()
    t = task(
        kind=TaskKind.OUTLOOK,
        sync=False,
        title="Lunch with Bob",
        notes="Agenda",
        start=e.start,
        external_ref="ev-1",
    )
    later = edited(e, subject="Lunch with Bob and Ann [sync]", reminder_minutes=5)
    decision = only(decide([t], [later], [link(t, e, origin=Origin.OUTLOOK)]))
    assert isinstance(decision, UpdateTask)
    assert decision.reason is Reason.EVENT_CHANGED
    assert decision.draft.title == "Lunch with Bob and Ann"
    assert decision.draft.alarm_minutes == 5
    assert decision.seen_updated_at == t.updated_at
    assert decision.replaced is None
    assert decision.event_hash == event_hash(later)
    assert decision.predicted_task_hash == task_hash(drafted_task(t, decision.draft))


def test_imported_event_that_lost_its_tag_is_not_imported_again_R10() -> None:
    e = event()
    t = task(kind=TaskKind.OUTLOOK, sync=False, external_ref="ev-1")
    later = edited(e, subject="Lunch with Bob")
    skip = skipped(decide([t], [later], [link(t, e, origin=Origin.OUTLOOK)]), Reason.NO_TAG)
    # A standing skip (said once by the shell): the link keeps the last synced hash, so
    # a push knows what it overwrites (R5b).
    assert skip.record is None


def test_changed_imported_event_outside_the_window_waits_for_it_R8_R10() -> None:
    e = event()
    t = task(kind=TaskKind.OUTLOOK, sync=False, external_ref="ev-1")
    away = edited(e, start=NOW + timedelta(days=20), end=NOW + timedelta(days=20, hours=1))
    links = [link(t, e, origin=Origin.OUTLOOK)]
    skip = skipped(decide([t], [away], links), Reason.OUTSIDE_WINDOW)
    assert skip.record is None
    assert skip.task_id == t.id
    decision = only(decide([t], [away], links, now=NOW + timedelta(days=7)))
    assert isinstance(decision, UpdateTask)


def test_event_deleted_in_outlook_never_deletes_the_task_R11() -> None:
    e = event()
    t = task(kind=TaskKind.OUTLOOK, sync=False, external_ref="ev-1")
    decision = only(decide([t], [], [link(t, e, origin=Origin.OUTLOOK)], gone={"ev-1"}))
    assert isinstance(decision, MarkDeletedInOutlook)
    assert "the task is kept" in decision.describe()


def test_task_deleted_in_system_five_is_not_recreated_and_logged_R11b() -> None:
    e = event()
    t = task(kind=TaskKind.OUTLOOK, sync=False, external_ref="ev-1")
    imported = link(t, e, origin=Origin.OUTLOOK)
    decision = only(decide([], [e], [imported]))
    assert isinstance(decision, MarkTaskDeleted)
    assert decision.describe() == (
        "'Lunch with Bob [sync]' was deleted in System Five: its Outlook event is kept "
        "and will not be imported again"
    )
    dead = replace(imported, state=LinkState.TASK_DELETED)
    assert decide([], [e], [dead]) == []
    later = edited(e, subject="Lunch moved [sync]")
    skip = skipped(decide([], [later], [dead]), Reason.DELETED_IN_SYSTEM_FIVE)
    assert skip.record == Recorded(event_hash=event_hash(later), change_key="ck-2")
    assert skip.describe() == ("Skipped 'Lunch moved [sync]': the task was deleted in System Five")


def test_tagged_pushed_event_updates_its_own_task_with_the_link_stripped_R12() -> None:
    t = task(title="Visit Smith", notes="Bring samples")
    url = maps_url("1 Main St, Springfield, IL 62701, US")
    e = event(
        "ev-p",
        subject="Visit Smith",
        body=build_html(t.notes, url),
        body_is_html=True,
        start=t.start,
        task_ref=task_ref(1),
        reminder_minutes=15,
    )
    rewritten = (
        "<html><body><div>Bring samples<br><br></div>" + build_html("", url) + "</body></html>"
    )
    tagged = edited(e, subject="Visit Smith at 10 [sync]", body=rewritten)
    decision = only(decide([t], [tagged], [link(t, e)]))
    assert isinstance(decision, UpdateTask)
    assert decision.task_id == 1  # its own task, never a second one
    assert decision.reason is Reason.TAG_ADDED_TO_PUSHED_EVENT
    assert decision.draft.title == "Visit Smith at 10"
    assert decision.draft.notes == "Bring samples"
    # The next push keeps the tag in the subject, and one link block in the body.
    stored = replace(
        link(t, e),
        task_hash=decision.predicted_task_hash,
        event_hash=event_hash(tagged),
        change_key="ck-2",
    )
    after = drafted_task(t, decision.draft)
    moved = replace(after, notes="Bring samples and brochures")
    push = only(decide([moved], [tagged], [stored]))
    assert isinstance(push, UpdateEvent)
    assert push.payload.subject == "Visit Smith at 10 [sync]"
    assert push.payload.body_html.count("Directions (s5sync)") == 1


def test_both_sides_changed_outlook_wins_and_keeps_the_replaced_values_R12b() -> None:
    e = event()
    t = task(kind=TaskKind.DELIVERY, title="Lunch with Bob", external_ref="ev-1")
    changed_task = replace(t, title="Lunch with Robert", notes="call first")
    changed_event = edited(e, subject="Lunch with Bob at noon [sync]")
    decision = only(decide([changed_task], [changed_event], [link(t, e, origin=Origin.OUTLOOK)]))
    assert isinstance(decision, UpdateTask)
    assert decision.reason is Reason.CONFLICT_OUTLOOK_WINS
    assert decision.draft.title == "Lunch with Bob at noon"
    assert decision.replaced is not None
    assert decision.replaced.title == "Lunch with Robert"
    assert decision.replaced.notes == "call first"
    sentence = decision.describe()
    assert "both sides changed; Outlook wins" in sentence
    assert "replaced System Five values: title 'Lunch with Robert'" in sentence


def test_imported_task_turned_into_a_synced_delivery_pushes_to_its_own_event_R12d() -> None:
    e = event()
    t = task(kind=TaskKind.OUTLOOK, sync=False, external_ref="ev-1", title="Lunch with Bob")
    turned = replace(t, kind=TaskKind.DELIVERY, sync=True)
    decision = only(decide([turned], [e], [link(t, e, origin=Origin.OUTLOOK)]))
    assert isinstance(decision, UpdateEvent)
    assert decision.event_id == "ev-1"
    assert decision.payload.subject == "Lunch with Bob [sync]"


@pytest.mark.parametrize("subject", ["[sync]", "  [SYNC]  ", "[sync][sync]"])
def test_subject_that_is_only_the_tag_becomes_no_title_R23(subject: str) -> None:
    decision = created(decide([], [event(subject=subject)]))
    assert decision.draft.title == "(no title)"
    assert decision.adapted == (Reason.NO_TITLE,)
    assert "no title" in decision.describe()


def test_too_long_title_and_notes_are_cut_with_a_visible_marker_R23() -> None:
    e = event(subject="x" * 150 + " [sync]", body="y" * 5000)
    decision = created(decide([], [e]))
    assert decision.adapted == (Reason.ADAPTED_TOO_LONG,)
    assert len(decision.draft.title) == 100
    assert decision.draft.title.endswith("…")
    assert len(decision.draft.notes) == 4000
    assert decision.draft.notes.endswith("…[cut by s5sync]")
    assert decision.draft.adaptations == (
        "title cut to 100 characters",
        "notes cut to 4000 characters",
    )
    assert "text cut to fit System Five" in decision.describe()


def test_too_long_notes_alone_are_cut_R23() -> None:
    decision = created(decide([], [event(body="y" * 4001)]))
    assert decision.adapted == (Reason.ADAPTED_TOO_LONG,)


@pytest.mark.parametrize(
    ("changes", "detail"),
    [
        ({"start": None}, "no start or end time"),
        ({"end": None}, "no start or end time"),
        ({"end": NOW + timedelta(days=1)}, "ends before it starts"),
    ],
)
def test_unusable_times_are_skipped_and_the_cycle_goes_on_R23(
    changes: dict[str, object], detail: str
) -> None:
    bad = replace(event("ev-bad"), **changes)  # type: ignore[arg-type]
    decisions = decide([], [bad, event("ev-good")])
    assert [type(d) for d in decisions] == [Skip, CreateTask]
    skip = decisions[0]
    assert isinstance(skip, Skip)
    assert skip.reason is Reason.BAD_TIME
    assert skip.detail == detail


def test_broken_html_body_is_imported_as_text_R23() -> None:
    e = event(body="<div><p>Gate code <b>1234<p>Ring twice</div></span>", body_is_html=True)
    assert created(decide([], [e])).draft.notes == "Gate code 1234\nRing twice"


def test_event_microseconds_are_dropped_for_system_five_R9() -> None:
    e = event(start=NOW + timedelta(days=1, microseconds=5))
    assert created(decide([], [e])).draft.start == NOW + timedelta(days=1)


def test_every_users_calendar_is_handled_on_its_own_R8() -> None:
    e = event(subject="Team visit [sync]")
    first = created(decide([], [e]))
    second = created(decide([], [replace(e, id="ev-in-another-mailbox")]))
    assert first.event_id != second.event_id


def test_pushed_event_untouched_is_never_imported_R12_R17() -> None:
    t = task()
    e = event("ev-p", subject="Visit Smith [sync]", task_ref=task_ref(1))
    assert decide([t], [e], [link(t, e)]) == []


def test_all_day_imported_event_becomes_timed_when_its_task_is_pushed_R12c_R12d() -> None:
    e = event(start=datetime(2026, 11, 30, tzinfo=UTC), hours=24, is_all_day=True)
    decision = created(decide([], [e]))
    t = replace(imported_task(decision.draft, EMPLOYEE, "ev-1"), id=5, needs_review=False)
    turned = replace(t, kind=TaskKind.DELIVERY, sync=True)
    update = only(decide([turned], [e], [link(t, e, origin=Origin.OUTLOOK)]))
    assert isinstance(update, UpdateEvent)
    assert update.payload.is_all_day is False
    assert update.payload.start == datetime(2026, 11, 30, 5, tzinfo=UTC)
    assert update.payload.end == datetime(2026, 12, 1, 5, tzinfo=UTC)
