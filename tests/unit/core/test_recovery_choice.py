"""The recovery choice and the relevance rules as tables (R16, R16b, R12d, R17, R23b):
`core.recovery` decides which lookups a cycle makes; the shell only performs them."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from s5sync.core.payloads import task_ref
from s5sync.core.recovery import (
    TaskLookups,
    links_known_again,
    plan_event_lookups,
    plan_task_lookups,
    relevant,
    task_of_transaction,
    transaction_id,
    transaction_prefix,
    with_identity,
)
from s5sync.core.snapshots import EventSnapshot, Link, LinkState, Origin, TaskSnapshot
from support.core_builders import EMPLOYEE, NOW, event, link, task

TAG = "[sync]"
WINDOW_END = NOW + timedelta(days=14)
BEYOND = NOW + timedelta(days=20)
STARTED = NOW - timedelta(hours=1)


def pending_push(task_id: int) -> Link:
    return Link(task_id, None, Origin.S5, LinkState.PENDING)


def pending_import(event_id: str) -> Link:
    return Link(None, event_id, Origin.OUTLOOK, LinkState.PENDING)


def by_id(*tasks: TaskSnapshot) -> dict[int, TaskSnapshot]:
    return {t.id: t for t in tasks}


# -- step 1: System Five by `external_ref` ---------------------------------------------------


@pytest.mark.parametrize(
    ("links", "events", "external_refs", "pending"),
    [
        ([], [], (), ()),
        ([], [event("ev-1", subject="Lunch")], (), ()),  # untagged: never looked up (R8)
        ([], [event("ev-1", subject="Lunch [SYNC]")], ("ev-1",), ()),
        ([pending_import("ev-2")], [], ("ev-2",), ("ev-2",)),
        (
            [pending_import("ev-2")],
            [event("ev-1", subject="Lunch [sync]")],
            ("ev-1", "ev-2"),
            ("ev-2",),
        ),
        # a linked tagged event is known already
        ([link(task(), event("ev-1"))], [event("ev-1", subject="Lunch [sync]")], (), ()),
    ],
)
def test_which_events_system_five_is_asked_about_R16b(
    links: list[Link],
    events: list[EventSnapshot],
    external_refs: tuple[str, ...],
    pending: tuple[str, ...],
) -> None:
    chosen = plan_task_lookups(links, {}, events, TAG, NOW)
    assert chosen.external_refs == external_refs
    assert chosen.pending_import == frozenset(pending)


@pytest.mark.parametrize(
    ("tasks", "expected"),
    [
        (by_id(task(1)), {1}),
        (by_id(task(1, start=STARTED)), set()),  # R2: started, never pushed again (R23b)
        ({}, set()),  # deleted: never pushed again
    ],
)
def test_a_pending_push_row_is_looked_up_only_while_its_task_may_be_pushed_R23b(
    tasks: dict[int, TaskSnapshot], expected: set[int]
) -> None:
    assert plan_task_lookups([pending_push(1)], tasks, [], TAG, NOW).pending_push == expected


def test_the_tasks_the_cache_names_are_noted_before_lookups_R16b() -> None:
    events = [event("ev-1", task_ref=task_ref(3)), event("ev-2")]
    assert plan_task_lookups([], {}, events, TAG, NOW).in_cache == {3, None}


# -- step 2: were the links lost? ----------------------------------------------------------


@pytest.mark.parametrize(
    ("found", "pending", "expected"),
    [
        ({}, frozenset(), False),
        ({"ev-1": task(1)}, frozenset(), True),
        ({"ev-1": task(1, employee_id=EMPLOYEE + 1)}, frozenset(), False),  # not theirs
        ({"ev-1": task(1)}, frozenset({"ev-1"}), False),  # a pending import row: no loss
    ],
)
def test_an_unlinked_event_whose_own_task_exists_says_links_were_lost_R16b(
    found: dict[str, TaskSnapshot], pending: frozenset[str], expected: bool
) -> None:
    assert links_known_again(found, pending, EMPLOYEE) is expected


# -- step 3: Outlook by identity and by id --------------------------------------------------


def event_lookups(
    tasks: list[TaskSnapshot],
    *,
    links: list[Link] | None = None,
    events: list[EventSnapshot] | None = None,
    window_end: datetime | None = WINDOW_END,
    known_again: bool = False,
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    links, events = links or [], events or []
    first = plan_task_lookups(links, by_id(*tasks), events, TAG, NOW)
    chosen = plan_event_lookups(
        first,
        links,
        by_id(*tasks),
        events,
        employee_id=EMPLOYEE,
        now=NOW,
        window_end=window_end,
        known_again=known_again,
    )
    return chosen.by_task_ref, chosen.by_event_id


@pytest.mark.parametrize(
    ("case", "lookups", "expected"),
    [
        ("idle, in the window: the cache suffices (R17)", {"tasks": [task(1)]}, ()),
        ("beyond the window", {"tasks": [task(1, start=BEYOND)]}, (1,)),
        ("no window read", {"tasks": [task(1)], "window_end": None}, (1,)),
        ("links known lost", {"tasks": [task(1)], "known_again": True}, (1,)),
        (
            "an event of ours no link names",
            {"tasks": [task(1)], "events": [event("ev-9", task_ref=task_ref(7))]},
            (1,),
        ),
        (
            "the cache names it already",
            {"tasks": [task(1, start=BEYOND)], "events": [event("ev-1", task_ref=task_ref(1))]},
            (),
        ),
        ("started (R2)", {"tasks": [task(1, start=STARTED)], "window_end": None}, ()),
        ("not ticked (R1)", {"tasks": [task(1, sync=False)], "window_end": None}, ()),
        (
            "another employee's",
            {"tasks": [task(1, employee_id=EMPLOYEE + 1)], "window_end": None},
            (),
        ),
        (
            "linked",
            {"tasks": [task(1, start=BEYOND)], "links": [link(task(1), event("ev-1"))]},
            (),
        ),
        (
            "a pending push row, in the window",
            {"tasks": [task(1)], "links": [pending_push(1)]},
            (1,),
        ),
        ("several, in order", {"tasks": [task(2), task(1)], "window_end": None}, (1, 2)),
    ],
)
def test_which_tasks_events_outlook_is_asked_for_by_identity_R16b_R23b(
    case: str, lookups: dict[str, object], expected: tuple[int, ...]
) -> None:
    by_task_ref, _ = event_lookups(**lookups)  # type: ignore[arg-type]
    assert by_task_ref == expected, case


@pytest.mark.parametrize(
    ("tasks", "expected"),
    [
        ([task(1, external_ref="ev-7")], (1,)),
        ([task(1)], ()),
        ([task(1, external_ref="ev-7", start=STARTED)], ()),
        ([task(1, external_ref="ev-7", sync=False)], ()),
    ],
)
def test_an_unlinked_task_naming_an_event_reads_that_event_by_id_R12d(
    tasks: list[TaskSnapshot], expected: tuple[int, ...]
) -> None:
    assert event_lookups(tasks)[1] == expected


def test_the_lookup_plan_is_a_value() -> None:
    first = plan_task_lookups([], {}, [], TAG, NOW)
    assert first == TaskLookups((), frozenset(), frozenset(), frozenset())


# -- identities and relevance ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "task_id"),
    [
        ("s5sync-1-2-42", 42),
        (transaction_id(3, 9, 17), 17),
        ("s5sync-1-2", None),
        ("s5sync-1-2-x", None),
        ("other-1-2-3", None),
        ("s5sync-1-2-٣", None),  # a non-ASCII digit is no id of ours
        ("", None),
    ],
)
def test_a_transaction_id_names_its_task_R16_R16b(value: str, task_id: int | None) -> None:
    assert task_of_transaction(value) == task_id


def test_a_transaction_id_is_one_per_user_and_task_R16() -> None:
    assert transaction_id(3, 9, 17) == "s5sync-3-9-17"
    assert transaction_id(3, 9, 17).startswith(transaction_prefix(3, 9))


@pytest.mark.parametrize(
    ("e", "expected"),
    [
        (event("ev-1", task_ref=task_ref(5)), task_ref(5)),
        (event("ev-1", transaction_id="s5sync-1-2-5"), task_ref(5)),
        (event("ev-1", transaction_id="s5sync-8-8-5"), task_ref(5)),  # any user row's
        (event("ev-1", task_ref=task_ref(5), transaction_id="s5sync-1-2-6"), task_ref(5)),
        (event("ev-1", transaction_id="someone-else"), None),
        (event("ev-1"), None),
    ],
)
def test_an_events_identity_comes_from_its_property_or_our_transaction_id_R16b(
    e: EventSnapshot, expected: str | None
) -> None:
    assert with_identity(e).task_ref == expected


@pytest.mark.parametrize(
    ("e", "expected"),
    [
        (event("ev-1", subject="Lunch [sync]"), True),
        (event("ev-1", subject="Lunch [SYNC]"), True),
        (event("ev-1", subject="Lunch"), False),
        (event("ev-1", subject=None), False),
        (event("ev-1", subject="Visit", task_ref=task_ref(1)), True),
        (event("ev-1", subject="Visit", transaction_id="s5sync-1-2-3"), True),
    ],
)
def test_only_tagged_or_identified_unlinked_events_are_relevant_R8_R16b(
    e: EventSnapshot, expected: bool
) -> None:
    assert relevant(e, TAG) is expected
