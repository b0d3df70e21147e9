"""Resync (repair) of one user, decided purely (R14c, R16b, R6b; issue 21 item 2).

A resync cycle reads Outlook's window again from scratch (the delta link and the window
cache are dropped), and then:

- `contradicted`: checks the mapping against both sides — an active row whose event
  carries the identity of *another* task (R16b) is wrong; it is dropped, and the
  identities link both tasks again (adoption, or a lookup), never a second event;
- `repair`: compares every future ticked task of the user with its event as it is in
  Outlook, and re-pushes it where the owned fields differ (a task edited behind a
  stale hash, an event edited in Outlook) — the user's text outside s5sync's block and
  every field s5sync does not own are kept (R5, R5b);
- `restore`: an event stopped and marked "Removed from System Five" because its task
  was another employee's (a remap that was undone, R6b) is that task's again: the
  Removed category comes off, the task's values go on, the link is active again.

Never a deletion and never a second event (R6, R7b, R16): an event deleted in Outlook
stays deleted, a deleted task's event stays marked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime

from s5sync.core.decisions import UpdateEvent
from s5sync.core.eligibility import push_blocker, task_label
from s5sync.core.hashing import body_text, task_hash
from s5sync.core.html_text import html_to_text
from s5sync.core.payloads import (
    event_payload,
    overwritten,
    parse_task_ref,
    predicted_event_hash,
)
from s5sync.core.reasons import Reason
from s5sync.core.snapshots import EventSnapshot, Link, LinkState, StoreOptions, TaskSnapshot


def contradicted(links: Iterable[Link], events: Mapping[str, EventSnapshot]) -> tuple[Link, ...]:
    """R16b: the mapping rows that the event's own identity contradicts."""
    wrong = []
    for link in links:
        if link.task_id is None or link.event_id is None or link.state is not LinkState.ACTIVE:
            continue
        event = events.get(link.event_id)
        named = parse_task_ref(event.task_ref) if event is not None else None
        if named is not None and named != link.task_id:
            wrong.append(link)
    return tuple(wrong)


def pushable_now(task: TaskSnapshot, employee_id: int, now: datetime) -> bool:
    """R1, R2, R23: a task the rules would send now."""
    return (
        push_blocker(task, employee_id) is None
        and task.unreadable is None
        and task.start > now
        and task.end >= task.start
    )


def _words(text: str) -> str:
    """Body text compared word by word: Exchange (and the text view Graph gives of an
    HTML body) changes line breaks and blank lines, never the words."""
    return " ".join(text.split())


def differs(task: TaskSnapshot, event: EventSnapshot, options: StoreOptions) -> bool:
    """Whether the event's owned fields (R5) or s5sync's category (R3) are not the
    task's as a push would write them."""
    payload = event_payload(task, event, options, new=False)
    ours = options.category_name.casefold()
    written = (payload.subject, payload.start, payload.end, payload.reminder_minutes, False)
    found = (event.subject, event.start, event.end, event.reminder_minutes, event.is_all_day)
    return (
        written != found
        or _words(html_to_text(payload.body_html)) != _words(body_text(event))
        or all(c.casefold() != ours for c in event.categories)
    )


def repair(
    task: TaskSnapshot, event: EventSnapshot, options: StoreOptions, now: datetime, employee_id: int
) -> UpdateEvent | None:
    """R14c: the update that makes the event match its task again, or None."""
    if not pushable_now(task, employee_id, now) or not differs(task, event, options):
        return None
    payload = event_payload(task, event, options, new=False)
    return UpdateEvent(
        task.id,
        event.id,
        task_label(task),
        payload,
        task_hash(task),
        predicted_event_hash(payload),
        Reason.RESYNC_REPAIRED,
        overwrote=overwritten(event, payload, options),
    )


def restore(
    link: Link,
    task: TaskSnapshot,
    event: EventSnapshot,
    options: StoreOptions,
    now: datetime,
    employee_id: int,
) -> UpdateEvent | None:
    """R6b, R14c: a stopped event whose task is this employee's again goes live again."""
    if link.state is not LinkState.TASK_DELETED or not pushable_now(task, employee_id, now):
        return None
    payload = event_payload(task, event, options, new=False)
    removed = options.removed_category_name.casefold()
    kept = tuple(c for c in payload.categories or () if c.casefold() != removed)
    payload = replace(payload, categories=kept)
    return UpdateEvent(
        task.id,
        event.id,
        task_label(task),
        payload,
        task_hash(task),
        predicted_event_hash(payload),
        Reason.RESYNC_RESTORED,
        restores=True,
    )
