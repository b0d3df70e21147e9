"""The activity log in a store employee's words (issue 20 item 4, R18): one row per reason,
times in the store's time zone (New York here, never UTC or a zone name), and the arrow
of each line pointing from the side where the change happened."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from s5sync.core.decisions import Decision
from s5sync.core.payloads import task_ref
from s5sync.core.reasons import Direction, Reason
from s5sync.core.snapshots import EventType, Origin, TaskKind
from support.core_builders import NOW, decide, edited, event, link, only, task

JARGON = ("cycle", "both", "UTC", "America/", "singleInstance", "occurrence", "Outlook type")


def case(reason: str) -> tuple[Decision, str, Direction]:
    t = task()
    e = event("ev-p", subject="Visit Smith", task_ref=task_ref(1))
    if reason == "new_synced_task":
        return only(decide([t])), "Sent 'Visit Smith' to Outlook", Direction.PUSH
    if reason == "task_changed":
        d = only(decide([replace(t, title="Visit Smith at 3")], [e], [link(t, e)]))
        return d, "Updated Outlook event 'Visit Smith at 3'", Direction.PUSH
    if reason == "new_tagged_event":
        return only(decide([], [event()])), "Imported 'Lunch with Bob [sync]'", Direction.IMPORT
    if reason == "deleted_in_system_five":
        d = only(decide([], [e], [link(t, e)]))
        return d, "was deleted in System Five: its Outlook event is kept", Direction.PUSH
    if reason == "deleted_in_outlook":
        d = only(decide([t], [], [link(t, e)], gone={"ev-p"}))
        return d, "was deleted in Outlook: the task is kept", Direction.IMPORT
    if reason == "start_passed":
        late = event(start=NOW - timedelta(hours=1))
        return only(decide([], [late])), "it started Wed 25 Nov 09:00", Direction.IMPORT
    if reason == "outside_window":
        far = event(start=NOW + timedelta(days=20))
        text = "it ends Tue 15 Dec 11:00; it will be imported when it is within 14 days"
        return only(decide([], [far])), text, Direction.IMPORT
    if reason == "recurring":
        series = event(subject="Standup [sync]", type=EventType.OCCURRENCE)
        return only(decide([], [series])), "it repeats", Direction.IMPORT
    if reason == "sync_unticked":
        d = only(decide([replace(t, sync=False)], [e], [link(t, e)]))
        return d, "its Outlook event is kept as it is and no longer updated", Direction.PUSH
    if reason == "not_syncable_kind":
        d = only(decide([task(kind=TaskKind.SERVICE)]))
        return d, "not a Customer or Delivery task", Direction.PUSH
    if reason == "no_tag":
        d = only(decide([t], [edited(e, subject="Visit Smith (mine)")], [link(t, e)]))
        return d, "not sent back without the sync tag", Direction.IMPORT
    if reason == "cancelled":
        return only(decide([], [event(is_cancelled=True)])), "cancelled", Direction.IMPORT
    raise AssertionError(reason)


REASONS = [
    "new_synced_task",
    "task_changed",
    "new_tagged_event",
    "deleted_in_system_five",
    "deleted_in_outlook",
    "start_passed",
    "outside_window",
    "recurring",
    "sync_unticked",
    "not_syncable_kind",
    "no_tag",
    "cancelled",
]


@pytest.mark.parametrize("reason", REASONS)
def test_each_reason_reads_plainly_in_store_time_with_the_right_arrow_R18(reason: str) -> None:
    decision, words, direction = case(reason)
    assert decision.reason.value == reason
    sentence = decision.describe()
    assert words in sentence, sentence
    assert decision.direction is direction
    for jargon in JARGON:
        assert jargon not in sentence, (jargon, sentence)


def test_deleted_task_in_system_five_of_an_imported_event_points_from_system_five_R11b() -> None:
    e = event()
    t = task(kind=TaskKind.OUTLOOK, sync=False, external_ref="ev-1")
    decision = only(decide([], [e], [link(t, e, origin=Origin.OUTLOOK)]))
    assert decision.reason is Reason.DELETED_IN_SYSTEM_FIVE
    assert decision.direction is Direction.PUSH
