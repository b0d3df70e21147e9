"""Builders of snapshots for the core's table tests: one user, one store, one `now`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence, Set
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from s5sync.core.decisions import Decision
from s5sync.core.hashing import event_hash, task_hash
from s5sync.core.rules import decide_cycle
from s5sync.core.snapshots import (
    Address,
    EventSnapshot,
    Link,
    LinkState,
    Origin,
    StoreOptions,
    TaskKind,
    TaskSnapshot,
)

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
EMPLOYEE = 7
OPTIONS = StoreOptions()
BILL_TO = Address(1, "bill_to", "1 Main St", "", "Springfield", "IL", "62701", "US")
SHIP_TO = Address(2, "ship_to", "9 Dock Rd", "Unit 4", "Shelbyville", "IL", "62565", "US")


def task(
    id: int = 1,
    *,
    kind: TaskKind = TaskKind.CUSTOMER,
    title: str = "Visit Smith",
    notes: str = "Bring samples",
    start: datetime | None = None,
    hours: float = 1,
    alarm_minutes: int | None = 15,
    sync: bool = True,
    needs_review: bool = False,
    external_ref: str | None = None,
    updated_at: str = "2026-11-20T10:00:00",
    bill_to: Address | None = BILL_TO,
    ship_to: Address | None = None,
    employee_id: int = EMPLOYEE,
) -> TaskSnapshot:
    begin = NOW + timedelta(days=1) if start is None else start
    return TaskSnapshot(
        id=id,
        employee_id=employee_id,
        kind=kind,
        title=title,
        notes=notes,
        start=begin,
        end=begin + timedelta(hours=hours),
        alarm_minutes=alarm_minutes,
        sync=sync,
        needs_review=needs_review,
        external_ref=external_ref,
        updated_at=updated_at,
        customer_name="Smith",
        bill_to=bill_to,
        ship_to=ship_to,
    )


def event(
    id: str = "ev-1",
    *,
    subject: str | None = "Lunch with Bob [sync]",
    body: str = "Agenda",
    start: datetime | None = None,
    hours: float = 1,
    end: datetime | None = None,
    change_key: str = "ck-1",
    **changes: Any,
) -> EventSnapshot:
    begin = NOW + timedelta(days=2) if start is None else start
    finish = begin + timedelta(hours=hours) if end is None else end
    return EventSnapshot(
        id=id,
        subject=subject,
        body=body,
        start=begin,
        end=finish,
        change_key=change_key,
        **changes,
    )


def link(
    t: TaskSnapshot,
    e: EventSnapshot,
    *,
    origin: Origin = Origin.S5,
    state: LinkState = LinkState.ACTIVE,
) -> Link:
    """A link as stored after both sides were last in step."""
    return Link(
        t.id,
        e.id,
        origin,
        state,
        task_hash=task_hash(t),
        event_hash=event_hash(e),
        change_key=e.change_key,
    )


def edited(e: EventSnapshot, change_key: str = "ck-2", **changes: Any) -> EventSnapshot:
    """The event after the user saved it in Outlook (a new changeKey)."""
    return replace(e, change_key=change_key, **changes)


def decide(
    tasks: Iterable[TaskSnapshot] = (),
    events: Iterable[EventSnapshot] = (),
    links: Iterable[Link] = (),
    *,
    now: datetime = NOW,
    options: StoreOptions = OPTIONS,
    gone: Set[str] = frozenset(),
    missing: Set[str] = frozenset(),
    tasks_readable: bool = True,
    events_readable: bool = True,
) -> list[Decision]:
    return decide_cycle(
        tasks,
        events,
        links,
        options,
        now,
        employee_id=EMPLOYEE,
        gone_event_ids=gone,
        missing_event_ids=missing,
        tasks_readable=tasks_readable,
        events_readable=events_readable,
    )


def only(decisions: Sequence[Decision]) -> Decision:
    assert len(decisions) == 1, decisions
    return decisions[0]
