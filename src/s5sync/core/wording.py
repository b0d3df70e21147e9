"""When an activity line's task or event takes place, said in the line (issue 20 item 4,
R18): two tasks with the same title are told apart by their date and time, in the
store's time zone with no zone name, at the end of the line ("Sent 'Deliver sofa' to
Outlook as a new event: … — Thu 26 Nov 10:00").

`starts` gathers the start of every item a cycle's decisions name — the values being
written for creates and updates (a moved task is said at its new time), otherwise the
item as read — keyed `t:<task id>` and `e:<event id>`; `dated` adds it to a line that
names an item by its quoted subject.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from s5sync.core.decisions import CreateEvent, CreateTask, Decision, UpdateEvent, UpdateTask
from s5sync.core.eligibility import store_time
from s5sync.core.snapshots import EventSnapshot, StoreOptions, TaskSnapshot


def starts(
    decisions: Iterable[Decision],
    tasks: Mapping[int, TaskSnapshot],
    events: Mapping[str, EventSnapshot],
) -> dict[str, datetime]:
    """The start of every task and event the decisions name."""
    found: dict[str, datetime] = {}
    for d in decisions:
        task_id, event_id = getattr(d, "task_id", None), getattr(d, "event_id", None)
        written: datetime | None = None
        if isinstance(d, CreateEvent | UpdateEvent):
            written = d.payload.start
        elif isinstance(d, CreateTask | UpdateTask):
            written = d.draft.start
        task = tasks.get(task_id) if task_id is not None else None
        event = events.get(event_id) if event_id is not None else None
        start = written or (task.start if task is not None else None)
        start = start or (event.start if event is not None else None)
        if start is None:
            continue
        if task_id is not None:
            found.setdefault(f"t:{task_id}", start)
        if event_id is not None:
            found.setdefault(f"e:{event_id}", start)
    return found


def dated(message: str, subject: str, start: datetime | None, options: StoreOptions) -> str:
    """The line with the item's date and time at its end."""
    if start is None or not subject or f"'{subject}'" not in message:
        return message
    return f"{message} — {store_time(start, options)}"
