"""System Five → Outlook as tables: snapshots in, decisions with reasons out (R1–R7b)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from s5sync.core.decisions import (
    CreateEvent,
    MarkDeletedInOutlook,
    MarkTaskDeleted,
    Recorded,
    Skip,
    UpdateEvent,
)
from s5sync.core.eventbody import END, START
from s5sync.core.hashing import task_hash
from s5sync.core.html_text import html_to_text
from s5sync.core.mapslink import SENTINEL
from s5sync.core.payloads import task_ref
from s5sync.core.reasons import Direction, Reason
from s5sync.core.snapshots import EventSnapshot, LinkState, Origin, StoreOptions, TaskKind
from support.core_builders import (
    BILL_TO,
    NOW,
    OPTIONS,
    SHIP_TO,
    decide,
    edited,
    event,
    link,
    only,
    task,
)


def pushed_event(subject: str = "Visit Smith", **changes: Any) -> EventSnapshot:
    return event("ev-p", subject=subject, task_ref=task_ref(1), **changes)


def test_ticked_customer_task_is_sent_as_a_new_event_R1() -> None:
    decision = only(decide([task()]))
    assert isinstance(decision, CreateEvent)
    assert decision.reason is Reason.NEW_SYNCED_TASK
    assert decision.direction is Direction.PUSH
    assert decision.payload.subject == "Visit Smith"
    assert decision.payload.start == NOW + timedelta(days=1)
    assert decision.payload.reminder_minutes == 15
    assert decision.payload.task_ref == "s5sync-task:1"
    assert decision.task_hash == task_hash(task())
    assert decision.transaction_id is None


@pytest.mark.parametrize("kind", [TaskKind.SERVICE, TaskKind.INTERNAL, TaskKind.OUTLOOK])
def test_other_kinds_with_sync_ticked_are_skipped_R1(kind: TaskKind) -> None:
    decision = only(decide([task(kind=kind)]))
    assert isinstance(decision, Skip)
    assert decision.reason is Reason.NOT_SYNCABLE_KIND


def test_task_of_another_employee_or_unticked_is_not_a_candidate_at_all_R1() -> None:
    assert decide([task(employee_id=99), task(2, sync=False)]) == []


@pytest.mark.parametrize(
    ("offset", "sent"),
    [(timedelta(0), False), (timedelta(seconds=-1), False), (timedelta(seconds=1), True)],
)
def test_only_tasks_starting_after_now_are_sent_R2(offset: timedelta, sent: bool) -> None:
    decision = only(decide([task(start=NOW + offset)]))
    if sent:
        assert isinstance(decision, CreateEvent)
    else:
        assert isinstance(decision, Skip)
        assert decision.reason is Reason.START_PASSED


def test_update_is_not_sent_once_the_start_has_passed_R2() -> None:
    t = task(start=NOW - timedelta(hours=1))
    e = pushed_event()
    changed = replace(t, title="Visit Smith again")
    decision = only(decide([changed], [e], [link(t, e)]))
    assert isinstance(decision, Skip)
    assert decision.reason is Reason.START_PASSED
    assert decision.record == Recorded(task_hash=task_hash(changed))


def test_new_event_carries_the_store_category_R3() -> None:
    options = StoreOptions(category_name="From S5")
    decision = only(decide([task()], options=options))
    assert isinstance(decision, CreateEvent)
    assert decision.payload.categories == ("From S5",)
    assert decision.payload.category == "From S5"


@pytest.mark.parametrize(
    ("kind", "bill_to", "ship_to", "expected"),
    [
        (
            TaskKind.DELIVERY,
            BILL_TO,
            SHIP_TO,
            "9+Dock+Rd%2C+Unit+4%2C+Shelbyville%2C+IL+62565%2C+US",
        ),
        (TaskKind.DELIVERY, BILL_TO, None, "1+Main+St%2C+Springfield%2C+IL+62701%2C+US"),
        (TaskKind.CUSTOMER, BILL_TO, SHIP_TO, "1+Main+St%2C+Springfield%2C+IL+62701%2C+US"),
        (TaskKind.CUSTOMER, None, SHIP_TO, None),
        (TaskKind.DELIVERY, None, None, None),
    ],
)
def test_body_links_to_the_right_address_R4(
    kind: TaskKind, bill_to: object, ship_to: object, expected: str | None
) -> None:
    t = task(kind=kind, bill_to=bill_to, ship_to=ship_to)  # type: ignore[arg-type]
    decision = only(decide([t]))
    assert isinstance(decision, CreateEvent)
    text = html_to_text(decision.payload.body_html)
    # R5b: the notes and the link sit inside s5sync's own block.
    if expected is None:
        assert SENTINEL not in text
        assert text == f"{START}\nBring samples\n{END}"
    else:
        url = f"https://www.google.com/maps/search/?api=1&query={expected}"
        assert text == f"{START}\nBring samples\n\n{SENTINEL}\n{url}\n{END}"


def test_changed_task_overwrites_owned_fields_and_puts_the_category_back_R5() -> None:
    t = task()
    e = pushed_event(categories=("Red", "Mine"))
    two = timedelta(hours=2)
    changed = replace(t, title="Visit Smith (moved)", start=t.start + two, end=t.end + two)
    decision = only(decide([changed], [e], [link(t, e)]))
    assert isinstance(decision, UpdateEvent)
    assert decision.reason is Reason.TASK_CHANGED
    assert decision.event_id == "ev-p"
    assert decision.payload.subject == "Visit Smith (moved)"
    assert decision.payload.start == t.start + timedelta(hours=2)
    # R5: the user's own categories stay, s5sync's is put back.
    assert decision.payload.categories == ("Red", "Mine", OPTIONS.category_name)
    assert decision.task_hash == task_hash(changed)


def test_update_keeps_the_users_categories_when_ours_is_there_R5() -> None:
    t = task()
    e = pushed_event(categories=(OPTIONS.category_name, "Mine"))
    decision = only(decide([replace(t, notes="new")], [e], [link(t, e)]))
    assert isinstance(decision, UpdateEvent)
    assert decision.payload.categories == (OPTIONS.category_name, "Mine")


def test_update_of_an_event_beyond_the_cache_lets_the_shell_add_the_category_R5() -> None:
    t = task(start=NOW + timedelta(days=60))
    e = pushed_event()
    decision = only(decide([replace(t, notes="new")], [], [link(t, e)]))
    assert isinstance(decision, UpdateEvent)
    assert decision.payload.categories is None
    assert decision.payload.category == OPTIONS.category_name


def test_unchanged_task_writes_nothing_R5_R17() -> None:
    t = task()
    e = pushed_event()
    assert decide([t], [e], [link(t, e)]) == []


@pytest.mark.parametrize(
    ("position", "subject", "expected"),
    [
        ("end", "Visit Smith [SYNC]", "Visit Smith moved [SYNC]"),
        ("front", "[Sync] Visit Smith", "[Sync] Visit Smith moved"),
    ],
)
def test_tagged_pushed_event_keeps_its_tag_on_later_pushes_R5_R12(
    position: str, subject: str, expected: str
) -> None:
    t = task()
    e = pushed_event(subject=subject)
    decision = only(decide([replace(t, title="Visit Smith moved")], [e], [link(t, e)]))
    assert isinstance(decision, UpdateEvent), position
    assert decision.payload.subject == expected


def test_unticked_task_keeps_event_and_stops_updates_R6() -> None:
    t = task()
    e = pushed_event()
    unticked = replace(t, sync=False, title="Changed after unticking")
    decision = only(decide([unticked], [e], [link(t, e)]))
    assert isinstance(decision, Skip)
    assert decision.reason is Reason.SYNC_UNTICKED
    assert decision.record == Recorded(task_hash=task_hash(unticked))
    # Once recorded, nothing more is said or done while it stays unticked.
    stored = replace(link(t, e), task_hash=task_hash(unticked))
    assert decide([unticked], [e], [stored]) == []
    # Ticked again: the next change is sent to the same event.
    again = replace(unticked, sync=True)
    update = only(decide([again], [e], [stored]))
    assert isinstance(update, UpdateEvent)
    assert update.event_id == "ev-p"


def test_task_deleted_in_system_five_keeps_the_event_R6() -> None:
    t = task()
    e = pushed_event()
    decision = only(decide([], [e], [link(t, e)]))
    assert isinstance(decision, MarkTaskDeleted)
    assert decision.reason is Reason.DELETED_IN_SYSTEM_FIVE
    assert "kept" in decision.describe()


OURS = "Received From System5"
REMOVED = "Removed from System Five"


@pytest.mark.parametrize(
    ("origin", "categories", "options", "gone", "marked"),
    [
        # A pushed event gets the Removed category beside the user's own (R6b) ...
        (Origin.S5, (OURS, "Blue"), OPTIONS, False, (OURS, "Blue", REMOVED)),
        # ... an imported task pushed back to its event (R12d) too ...
        (Origin.OUTLOOK, (OURS,), OPTIONS, False, (OURS, REMOVED)),
        # ... but not an event the user made and never got s5sync's category (R11b),
        (Origin.OUTLOOK, ("Blue",), OPTIONS, False, None),
        # nor one that has it already (added once),
        (Origin.S5, (OURS, REMOVED.upper()), OPTIONS, False, None),
        # nor one deleted in Outlook, nor when the store switched the option off.
        (Origin.S5, (OURS,), OPTIONS, True, None),
        (Origin.S5, (OURS,), replace(OPTIONS, removed_category=False), False, None),
    ],
)
def test_deleted_task_marks_its_pushed_event_removed_R6b(
    origin: Origin,
    categories: tuple[str, ...],
    options: StoreOptions,
    gone: bool,
    marked: tuple[str, ...] | None,
) -> None:
    t = task()
    e = pushed_event(categories=categories)
    decisions = decide(
        [],
        [e],
        [link(t, e, origin=origin)],
        options=options,
        gone={"ev-p"} if gone else frozenset(),
    )
    decision = only(decisions)
    assert isinstance(decision, MarkTaskDeleted)
    if marked is None:
        assert decision.removed is None
    else:
        assert decision.removed is not None
        assert decision.removed.categories == marked
        assert decision.removed.change_key == "ck-1"
        assert REMOVED in decision.describe()


def test_deleted_task_waits_for_outlook_before_marking_its_event_R6b_R17b() -> None:
    t = task()
    e = pushed_event()
    assert decide([], [e], [link(t, e)], events_readable=False) == []


def test_task_moved_to_another_employee_stops_updates_and_marks_its_event_R1_R6_R6b() -> None:
    t = task()
    e = pushed_event(categories=(OURS,))
    moved = replace(t, employee_id=99, title="Visit Smith for Jane")
    decision = only(decide([moved], [e], [link(t, e)]))
    assert isinstance(decision, MarkTaskDeleted)
    assert decision.reason is Reason.OTHER_EMPLOYEE
    assert decision.removed is not None
    assert decision.removed.categories == (OURS, REMOVED)
    assert "another employee's task" in decision.describe()


def test_a_remapped_users_events_wait_for_outlook_before_being_marked_R6b_R17b() -> None:
    t = task()
    e = pushed_event()
    moved = replace(t, employee_id=99)
    assert decide([moved], [e], [link(t, e)], events_readable=False) == []


def test_an_unchanged_task_of_another_employee_is_marked_once_R6b() -> None:
    t = task()
    e = pushed_event(categories=(OURS, REMOVED))
    decision = only(decide([replace(t, employee_id=99)], [e], [link(t, e)]))
    assert isinstance(decision, MarkTaskDeleted)
    assert decision.removed is None  # already carries it: only the link stops


def test_outlook_edits_to_a_pushed_event_without_tag_are_ignored_R7() -> None:
    t = task()
    e = pushed_event()
    assert e.start is not None
    moved = edited(e, start=e.start + timedelta(hours=3), subject="Visit Smith (my notes)")
    decision = only(decide([t], [moved], [link(t, e)]))
    assert isinstance(decision, Skip)
    assert decision.reason is Reason.NO_TAG
    # Standing (said once): the link keeps s5sync's last hash, for R5b's next push.
    assert decision.record is None


def test_pushed_event_edited_in_outlook_is_still_overwritten_when_the_task_changes_R5_R7() -> None:
    t = task()
    e = pushed_event()
    three = timedelta(hours=3)
    moved = edited(e, start=t.start + three, end=t.end + three, reminder_minutes=15)
    decisions = decide([replace(t, notes="new")], [moved], [link(t, e)])
    update = only(decisions)
    assert isinstance(update, UpdateEvent)
    # R5b: overwriting what was edited in Outlook is said, in store time (New York).
    assert update.overwrote == ("time Thu 26 Nov 13:00–14:00",)
    assert "edited in Outlook" in update.describe()
    assert "time Thu 26 Nov 13:00–14:00" in update.describe()


def test_new_change_key_with_same_owned_fields_is_not_a_change_R7_R17() -> None:
    t = task()
    e = pushed_event()
    opened = edited(e, categories=("Mine",))
    assert decide([t], [opened], [link(t, e)]) == []


def test_event_deleted_in_outlook_is_marked_and_not_recreated_R7b() -> None:
    t = task()
    e = pushed_event()
    decision = only(decide([t], [], [link(t, e)], gone={"ev-p"}))
    assert isinstance(decision, MarkDeletedInOutlook)
    assert decision.reason is Reason.DELETED_IN_OUTLOOK
    assert "will not be sent to Outlook again" in decision.describe()
    deleted = link(t, e, state=LinkState.OUTLOOK_DELETED)
    changed = replace(t, title="Visit Smith moved")
    later = only(decide([changed], [], [deleted]))
    assert isinstance(later, Skip)
    assert later.reason is Reason.DELETED_IN_OUTLOOK
    assert later.record == Recorded(task_hash=task_hash(changed))
    recorded = replace(deleted, task_hash=task_hash(changed))
    assert decide([changed], [], [recorded]) == []


def test_removed_event_not_confirmed_gone_is_not_taken_as_deleted_R7b() -> None:
    t = task(start=NOW + timedelta(days=40))
    e = pushed_event()
    assert decide([t], [], [link(t, e)]) == []


def test_deleted_in_outlook_link_of_an_unticked_task_says_nothing_R7b() -> None:
    t = task()
    deleted = link(t, pushed_event(), state=LinkState.OUTLOOK_DELETED)
    assert decide([replace(t, sync=False, title="x")], [], [deleted]) == []


def test_task_with_end_before_start_is_skipped_R23() -> None:
    t = task(hours=-1)
    decision = only(decide([t]))
    assert isinstance(decision, Skip)
    assert decision.reason is Reason.BAD_TIME
    e = pushed_event()
    update = only(decide([t], [e], [link(task(), e)]))
    assert isinstance(update, Skip)
    assert update.reason is Reason.BAD_TIME


def test_blank_title_is_sent_as_no_title_R23() -> None:
    decision = only(decide([task(title="   ")]))
    assert isinstance(decision, CreateEvent)
    assert decision.payload.subject == "(no title)"
    assert decision.label == "(no title)"


def test_time_notes_from_the_connector_travel_with_the_decision_R23() -> None:
    t = replace(task(), time_notes=("02:30 does not exist",))
    decision = only(decide([t]))
    assert isinstance(decision, CreateEvent)
    assert decision.notes == ("02:30 does not exist",)


def test_origin_of_update_reason_for_imported_task_turned_synced_R12d() -> None:
    t = task(kind=TaskKind.OUTLOOK, sync=False, external_ref="ev-i")
    e = event("ev-i", subject="Fit kitchen [sync]")
    turned = replace(t, kind=TaskKind.DELIVERY, sync=True)
    decision = only(decide([turned], [e], [link(t, e, origin=Origin.OUTLOOK)]))
    assert isinstance(decision, UpdateEvent)
    assert decision.event_id == "ev-i"
    assert decision.reason is Reason.IMPORTED_TASK_NOW_SYNCED
    assert decision.payload.subject == "Visit Smith [sync]"


def test_location_is_the_linked_address_on_the_first_send_only_R4b() -> None:
    delivery = task(kind=TaskKind.DELIVERY, ship_to=SHIP_TO)
    create = only(decide([delivery]))
    assert isinstance(create, CreateEvent)
    assert create.payload.location == "9 Dock Rd, Unit 4, Shelbyville, IL 62565, US"
    e = pushed_event()
    update = only(decide([replace(delivery, title="Moved")], [e], [link(delivery, e)]))
    assert isinstance(update, UpdateEvent)
    assert update.payload.location is None  # R5: the location is the user's now
    no_address = only(decide([task(bill_to=None)]))
    assert isinstance(no_address, CreateEvent)
    assert no_address.payload.location is None
