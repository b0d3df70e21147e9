"""The Outlook writes of a cycle's decisions, as the Graph port takes them: creates and
updates (`EventWrite`; R5, R5b: the user's categories and text are kept) and R6b's
categories-only marks. Events beyond the cached window are read here (R7b: an id Graph
cannot read goes to repair, never taken as a deletion).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from s5sync.core.decisions import (
    CreateEvent,
    MarkTaskDeleted,
    UpdateEvent,
)
from s5sync.core.eventbody import body_html, user_text
from s5sync.core.hashing import body_text
from s5sync.core.snapshots import EventSnapshot
from s5sync.outlook.errors import MalformedEventId
from s5sync.sync.ports import (
    CategoriesWrite,
    EventUpdate,
    EventWrite,
    UserPorts,
)


def event_write(
    d: CreateEvent | UpdateEvent, categories: tuple[str, ...], txid: str | None
) -> EventWrite:
    p = d.payload
    return EventWrite(
        subject=p.subject,
        body_html=p.body_html,
        start=p.start,
        end=p.end,
        reminder_minutes=p.reminder_minutes,
        categories=categories,
        task_ref=p.task_ref,
        transaction_id=txid,
        is_all_day=p.is_all_day,
        location=p.location,
    )


async def update_batch(
    ports: UserPorts,
    updates: Sequence[UpdateEvent],
    events: Mapping[str, EventSnapshot],
    damaged: list[UpdateEvent],
) -> tuple[list[tuple[UpdateEvent, EventUpdate]], list[UpdateEvent]]:
    """The PATCHes to send, and the updates whose event is already known to be gone
    (those whose stored id Graph cannot read go to `damaged`: R7b, R16b)."""
    batch: list[tuple[UpdateEvent, EventUpdate]] = []
    gone: list[UpdateEvent] = []
    for d in updates:
        cached = events.get(d.event_id)
        categories = d.payload.categories
        if categories is None:
            # Beyond the cached window: read the event's own categories to keep them (R5).
            try:
                current = cached or await ports.calendar.get_event(d.event_id)
            except MalformedEventId:
                damaged.append(d)
                continue
            if current is None:
                gone.append(d)
                continue
            kept = current.categories
            categories = kept if d.payload.category in kept else (*kept, d.payload.category)
            if cached is None:
                # R5b: the user's text around s5sync's block is kept here too.
                around = user_text(body_text(current))
                body = body_html(d.payload.notes, d.payload.maps_url, around)
                d = replace(d, payload=replace(d.payload, body_html=body))
        change_key = cached.change_key if cached is not None else None
        batch.append((d, EventUpdate(d.event_id, change_key, event_write(d, categories, None))))
    return batch, gone


async def mark_batch(
    ports: UserPorts, marks: Sequence[MarkTaskDeleted], events: Mapping[str, EventSnapshot]
) -> tuple[list[tuple[MarkTaskDeleted, EventUpdate]], list[MarkTaskDeleted]]:
    """R6b: the categories-only PATCHes, and the marks with nothing to write (the event is
    gone, or carries the Removed category already: it is added once)."""
    batch: list[tuple[MarkTaskDeleted, EventUpdate]] = []
    settled: list[MarkTaskDeleted] = []
    for d in marks:
        mark, event_id = d.removed, d.event_id
        assert mark is not None
        assert event_id is not None
        categories, change_key = mark.categories, mark.change_key
        if categories is None:
            # Beyond the cached window: its own categories are read to keep them (R5).
            try:
                current = events.get(event_id) or await ports.calendar.get_event(event_id)
            except MalformedEventId:
                current = None  # R7b: a damaged stored id; the mark is given up, not retried
            if current is None or mark.category in current.categories:
                settled.append(d)
                continue
            categories, change_key = (*current.categories, mark.category), current.change_key
        batch.append((d, EventUpdate(event_id, change_key or None, CategoriesWrite(categories))))
    return batch, settled
