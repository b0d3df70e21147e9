"""Writing tasks into System Five (R10, R11, R16): an import's pending row (the event
id) is committed before the task is inserted with `external_ref` = event id, which
System Five keeps unique; updates are optimistic (`updated_at` as seen, R12).
"""

from __future__ import annotations

from dataclasses import replace

from s5sync.core.decisions import (
    CreateTask,
    UpdateTask,
)
from s5sync.core.hashing import task_hash
from s5sync.core.snapshots import Link, LinkState, Origin
from s5sync.sync.ports import (
    WriteConflict,
)
from s5sync.sync.writer import Writer, entry


async def create_task(w: Writer, d: CreateTask) -> None:
    async with w.begin() as unit:
        if w.index.find(None, d.event_id) is None:
            pending = Link(None, d.event_id, Origin.OUTLOOK, LinkState.PENDING)
            await w.save(unit, pending)
    try:
        # R16b: idempotent per external_ref, by the port's contract: the event's task,
        # when System Five holds it already, comes back instead of a second one.
        task = await w.ports.tasks.create_imported_task(d.employee_id, d.draft, d.event_id)
    except Exception as error:  # R23: one item never stops the cycle
        w.done.failures.append(f"'{d.label}' could not be imported ({type(error).__name__})")
        w.done.entries.append(
            entry(
                d,
                f"'{d.label}' could not be imported into System Five: "
                f"{type(error).__name__}; it will be tried again",
            )
        )
        return
    async with w.begin() as unit:
        await w.save(unit, d.link(task))
    w.done.entries.append(replace(entry(d), task_id=task.id))  # linked (issue 20)


async def update_task(w: Writer, d: UpdateTask) -> None:
    await w.window_first()  # the window before System Five's write (R16)
    try:
        result = await w.ports.tasks.update_task_from_event(d.task_id, d.seen_updated_at, d.draft)
    except Exception as error:  # R23
        w.done.failures.append(f"'{d.label}' could not be updated ({type(error).__name__})")
        w.done.entries.append(
            entry(
                d,
                f"Task '{d.label}' could not be updated in System Five: "
                f"{type(error).__name__}; it will be tried again",
            )
        )
        return
    if isinstance(result, WriteConflict):
        w.done.entries.append(
            entry(
                d,
                f"Task '{d.label}' was saved in System Five meanwhile: it will be "
                "decided again on the next sync",
            )
        )
        return
    async with w.begin() as unit:
        link = w.index.find(d.task_id, d.event_id)
        if link is not None:
            await w.save(
                unit,
                replace(
                    link,
                    task_hash=task_hash(result),
                    event_hash=d.event_hash,
                    change_key=d.change_key,
                ),
            )
    w.done.entries.append(entry(d))
