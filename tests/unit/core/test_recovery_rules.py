"""Rebuilding the mapping from both sides, and partial reads (R15, R16, R16b, R17b)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from s5sync.core.decisions import (
    AdoptEvent,
    AdoptTask,
    CreateEvent,
    CreateTask,
    MarkTaskDeleted,
    RemovedMark,
    Skip,
    UpdateEvent,
    UpdateTask,
)
from s5sync.core.hashing import event_hash, task_hash
from s5sync.core.payloads import parse_task_ref, task_ref
from s5sync.core.reasons import Direction, Reason
from s5sync.core.snapshots import Link, LinkState, Origin, TaskKind
from support.core_builders import NOW, decide, edited, event, link, only, task


def test_event_carrying_a_task_identity_is_adopted_never_created_again_R16b() -> None:
    t = task()
    e = event("ev-p", subject="Visit Smith", task_ref=task_ref(1))
    decisions = decide([t], [e], [])
    assert [type(d) for d in decisions] == [AdoptEvent, UpdateEvent]
    adopt = decisions[0]
    assert isinstance(adopt, AdoptEvent)
    assert (adopt.task_id, adopt.event_id, adopt.origin) == (1, "ev-p", Origin.S5)
    assert adopt.event_hash == event_hash(e)
    assert adopt.reason is Reason.RECOVERED_LINK
    assert adopt.describe() == "Reconnected task 'Visit Smith' to its existing Outlook event"
    update = decisions[1]
    assert isinstance(update, UpdateEvent)
    assert update.event_id == "ev-p"


def test_pending_push_row_resolved_by_the_event_found_R16() -> None:
    t = task()
    pending = Link(1, None, Origin.S5, LinkState.PENDING, transaction_id="tx-9")
    e = event("ev-p", subject="Visit Smith", task_ref=task_ref(1))
    decisions = decide([t], [e], [pending])
    assert [type(d) for d in decisions] == [AdoptEvent, UpdateEvent]


def test_pending_push_row_without_event_resends_with_its_transaction_id_R16() -> None:
    pending = Link(1, None, Origin.S5, LinkState.PENDING, transaction_id="tx-9")
    decision = only(decide([task()], [], [pending]))
    assert isinstance(decision, CreateEvent)
    assert decision.transaction_id == "tx-9"


def test_task_carrying_an_event_id_is_adopted_as_it_is_never_imported_again_R16b() -> None:
    """Issue 23: the adopted pair records both sides as they are now and changes nothing
    (the task as staff saved it is not overwritten by the event it came from)."""
    e = event()
    t = task(kind=TaskKind.OUTLOOK, sync=False, title="Lunch with Bob", external_ref="ev-1")
    decisions = decide([t], [e], [])
    assert [type(d) for d in decisions] == [AdoptTask]
    adopt = decisions[0]
    assert isinstance(adopt, AdoptTask)
    assert adopt.task_hash == task_hash(t)
    assert adopt.event_hash == event_hash(e)
    assert adopt.change_key == e.change_key
    assert adopt.direction is Direction.IMPORT
    assert adopt.describe() == "Reconnected event 'Lunch with Bob' to its existing System Five task"
    assert not any(isinstance(d, CreateTask) for d in decisions)


def test_pending_import_row_resolved_by_the_task_found_R16() -> None:
    e = event()
    t = task(kind=TaskKind.OUTLOOK, sync=False, external_ref="ev-1")
    pending = Link(None, "ev-1", Origin.OUTLOOK, LinkState.PENDING)
    decisions = decide([t], [e], [pending])
    assert [type(d) for d in decisions] == [AdoptTask, UpdateTask]


def test_pending_import_row_without_task_creates_it_once_R16() -> None:
    pending = Link(None, "ev-1", Origin.OUTLOOK, LinkState.PENDING)
    assert isinstance(only(decide([], [event()], [pending])), CreateTask)


def test_imported_task_turned_synced_with_lost_link_pushes_to_its_event_R12d_R16b() -> None:
    t = task(kind=TaskKind.DELIVERY, external_ref="ev-far")
    decisions = decide([t], [], [])
    assert [type(d) for d in decisions] == [AdoptTask]
    assert not any(isinstance(d, CreateEvent) for d in decisions)


def test_event_naming_a_deleted_task_is_not_imported_R11b_R16b() -> None:
    e = event(subject="Visit Smith [sync]", task_ref=task_ref(5))
    skip = only(decide([], [e], []))
    assert isinstance(skip, Skip)
    assert skip.reason is Reason.DELETED_IN_SYSTEM_FIVE
    untagged = replace(e, subject="Visit Smith")
    assert decide([], [untagged], []) == []


def test_copied_pushed_event_is_a_plain_event_R16() -> None:
    t = task()
    original = event("ev-p", subject="Visit Smith", task_ref=task_ref(1))
    copy = event("ev-copy", subject="Visit Smith [sync]", task_ref=task_ref(1))
    decision = only(decide([t], [original, copy], [link(t, original)]))
    assert isinstance(decision, CreateTask)
    assert decision.event_id == "ev-copy"


def test_identity_of_another_kind_is_ignored_R16b() -> None:
    assert parse_task_ref("s5sync-task:12") == 12
    assert parse_task_ref(None) is None
    assert parse_task_ref("other:12") is None
    assert parse_task_ref("s5sync-task:") is None
    assert parse_task_ref("s5sync-task:１２") is None  # full-width digits
    e = event(subject="Lunch [sync]", task_ref="someone-else:1")
    assert isinstance(only(decide([], [e], [])), CreateTask)


def test_task_linked_elsewhere_is_not_adopted_by_its_external_ref_R16b() -> None:
    e = event()
    t = task(kind=TaskKind.OUTLOOK, sync=False, external_ref="ev-1")
    other = event("ev-2", subject="Other")
    decisions = decide([t], [e, other], [link(t, other, origin=Origin.OUTLOOK)])
    assert not any(isinstance(d, AdoptTask | AdoptEvent) for d in decisions)


def test_event_linked_elsewhere_is_not_adopted_by_an_external_ref_R16b() -> None:
    e = event()
    owner = task(2, kind=TaskKind.OUTLOOK, sync=False, external_ref="ev-1")
    stray = task(3, kind=TaskKind.OUTLOOK, sync=False, external_ref="ev-1")
    assert decide([owner, stray], [e], [link(owner, e, origin=Origin.OUTLOOK)]) == []


def test_unreadable_system_five_stops_everything_R17b() -> None:
    assert decide([task()], [event()], [], tasks_readable=False) == []


def test_unreadable_outlook_stops_import_and_tagged_pushes_only_R17b() -> None:
    untagged_task = task(1)
    tagged_task = task(2)
    plain = event("ev-a", subject="Visit Smith", task_ref=task_ref(1))
    tagged = event("ev-b", subject="Visit Smith [sync]", task_ref=task_ref(2))
    links = [link(untagged_task, plain), link(tagged_task, tagged)]
    changed = [replace(untagged_task, notes="n"), replace(tagged_task, notes="n")]
    new_event = event("ev-new", subject="New [sync]")
    decisions = decide(changed, [plain, tagged, new_event], links, events_readable=False)
    assert [(type(d), getattr(d, "task_id", None)) for d in decisions] == [(UpdateEvent, 1)]
    edited_tagged = edited(tagged, subject="Visit Smith moved [sync]")
    assert decide([tagged_task], [edited_tagged], links[1:], events_readable=False) == []


def test_push_decisions_come_before_import_decisions_R15() -> None:
    e = event("ev-a", subject="Lunch [sync]")
    decisions = decide([task(1)], [e])
    assert [d.direction for d in decisions] == [Direction.PUSH, Direction.IMPORT]


def test_one_now_for_every_rule_R15() -> None:
    t = task(start=NOW + timedelta(minutes=1))
    e = event(start=NOW + timedelta(minutes=1))
    later = NOW + timedelta(minutes=1)
    assert [type(d) for d in decide([t], [e])] == [CreateEvent, CreateTask]
    assert all(isinstance(d, Skip) for d in decide([t], [e], now=later))


def test_task_deleted_while_its_event_is_beyond_the_cache_is_marked_R6_R6b_R11b() -> None:
    t = task()
    e = event("ev-far", subject="Visit Smith", task_ref=task_ref(1))
    decision = only(decide([], [], [link(t, e)]))
    # R6b: the shell reads the event's own categories before adding the Removed one.
    removed = RemovedMark("Removed from System Five", None)
    assert decision == MarkTaskDeleted(1, "ev-far", "(deleted task)", removed=removed)
