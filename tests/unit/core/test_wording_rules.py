"""When an activity line's task or event takes place (issue 20 item 4, R18): the values
being written for creates and updates, otherwise the item as read; said in the store's
time zone with no zone name, only on lines that name an item."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from s5sync.core.decisions import CreateTask, Skip, UpdateEvent
from s5sync.core.payloads import task_ref
from s5sync.core.reasons import Direction, Reason
from s5sync.core.snapshots import StoreOptions
from s5sync.core.wording import dated, starts
from support.core_builders import NOW, decide, event, link, only, task

NEW_YORK = StoreOptions(time_zone="America/New_York")


def test_a_moved_task_is_said_at_its_new_time_and_an_import_at_its_events() -> None:
    t = task()
    e = event("ev-p", subject="Visit Smith", task_ref=task_ref(1))
    moved = replace(t, start=t.start + timedelta(hours=2), end=t.end + timedelta(hours=2))
    update = only(decide([moved], [e], [link(t, e)]))
    assert isinstance(update, UpdateEvent)
    imported = only(decide([], [event()]))
    assert isinstance(imported, CreateTask)
    found = starts([update, imported], {1: t}, {"ev-p": e})
    assert found == {"t:1": moved.start, "e:ev-p": moved.start, "e:ev-1": event().start}


def test_a_skip_is_said_at_the_time_of_the_item_as_read() -> None:
    skip = Skip(Reason.SYNC_UNTICKED, Direction.PUSH, "Visit Smith", task_id=1)
    assert starts([skip], {1: task()}, {}) == {"t:1": task().start}


def test_the_time_is_the_stores_wall_clock_with_no_zone_name() -> None:
    line = dated("Sent 'Visit' to Outlook as a new event", "Visit", NOW, NEW_YORK)
    assert line == "Sent 'Visit' to Outlook as a new event — Wed 25 Nov 10:00"
    paris = StoreOptions(time_zone="Europe/Paris")
    assert dated("Sent 'Visit' to Outlook", "Visit", NOW, paris).endswith("Wed 25 Nov 16:00")


def test_lines_that_name_no_item_or_have_no_time_are_left_as_they_are() -> None:
    assert dated("Repair asked by you", "", NOW, NEW_YORK) == "Repair asked by you"
    assert dated("Sent 'Visit' to Outlook", "Visit", None, NEW_YORK) == "Sent 'Visit' to Outlook"
    assert dated("Something else", "Visit", NOW, NEW_YORK) == "Something else"
