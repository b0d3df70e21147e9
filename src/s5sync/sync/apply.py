"""Applying one cycle's decisions in an order that is safe at every crash point (R16).

DESIGN.md "Writing without duplicates":
- push: the `pending` link row (with the event's `transactionId`) is committed *before*
  the POST; the event carries the task's identity, so a crash after the POST is resolved
  next cycle by that identity, never by posting blindly again;
- import: the `pending` row (with the event id) is committed before the task is
  inserted with `external_ref` = event id, which System Five keeps unique;
- every CALENDAREVENT write is fenced by the user's lease;
- System Five writes are optimistic (`updated_at` as seen); a task saved meanwhile is
  decided again next cycle;
- the hashes stored after a write are those of what the server returned, so our own
  writes are not seen as changes next cycle (R17).

Decisions come adoptions first, then push, then import (R15). One item that fails is
reported and the rest goes on (R23).

The order lives in `sync/event_writes.py` (events) and `sync/task_writes.py` (tasks);
CALENDAREVENT-only decisions in `sync/adoptions.py`; the Graph writes' shapes in
`sync/patches.py`; the cycle's state in `sync/writer.py`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from s5sync.core.decisions import (
    CreateEvent,
    CreateTask,
    Decision,
    MarkTaskDeleted,
    UpdateEvent,
    UpdateTask,
)
from s5sync.core.records import Lease, UserRecord
from s5sync.core.snapshots import EventSnapshot, Link, StoreOptions
from s5sync.sync.adoptions import marks_removed, touches_anything, write_link_only
from s5sync.sync.event_writes import write_events
from s5sync.sync.ports import (
    CycleStore,
    UserPorts,
)
from s5sync.sync.task_writes import create_task, update_task
from s5sync.sync.writer import Applied, LinkIndex, UnsavedWindow, Writer

__all__ = ["Applied", "apply_decisions", "marks_removed", "touches_anything"]


async def apply_decisions(
    store: CycleStore,
    user: UserRecord,
    lease: Lease,
    now: datetime,
    options: StoreOptions,
    ports: UserPorts,
    decisions: Sequence[Decision],
    links: Sequence[Link],
    events: Mapping[str, EventSnapshot],
    unsaved: UnsavedWindow | None = None,
) -> Applied:
    """Apply every decision; returns the activity and the failures. `unsaved.window`,
    when set, is saved before the first write (`Writer.begin`, `Writer.window_first`)."""
    writer = Writer(store, user, lease, now, ports, LinkIndex(links), unsaved)
    await write_link_only(writer, decisions)
    creates = [d for d in decisions if isinstance(d, CreateEvent)]
    updates = [d for d in decisions if isinstance(d, UpdateEvent)]
    marks = [d for d in decisions if isinstance(d, MarkTaskDeleted) and d.removed is not None]
    if creates or updates or marks:
        await write_events(writer, creates, updates, events, marks)
    for decision in decisions:
        if isinstance(decision, CreateTask):
            await create_task(writer, decision)
        elif isinstance(decision, UpdateTask):
            await update_task(writer, decision)
    return writer.done
