"""Which lookups find lost or pending links again, before anything new is created (R16,
R16b, R12d, R23b) — decided here; the cycle shell (`sync.engine`) only performs them.

A cycle reads the window cache and System Five, then asks:

1. `plan_task_lookups`: which events to look up in System Five by `external_ref`
   (pending import rows, unlinked tagged events — cheap SQL, so a half-restored
   database never imports twice), and, noted before those answers arrive, the pending
   push rows whose task may still be pushed and the tasks whose events the cache names;
2. `links_known_again`: whether those answers show the links were lost (one of this
   user's own tasks names an unlinked event);
3. `plan_event_lookups`: which tasks' events to look up in Outlook by the identity the
   event carries (one batched request, only when such a task would be pushed now, so
   an idle cycle stays one request, R17, R23b), and which tasks name an event by id
   (R12d, read once by id).

Identities: `with_identity` reads the task from our own `transactionId` when a delta
item carries no extended property; `relevant` says whether an unlinked cached event can
matter to the rules at all. The `transactionId` format is here too.

Table tests: tests/unit/core/test_recovery_choice.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from s5sync.core.eligibility import push_blocker
from s5sync.core.payloads import parse_task_ref, task_ref
from s5sync.core.snapshots import EventSnapshot, Link, LinkState, TaskSnapshot
from s5sync.core.tag import has_tag

# -- the transactionId s5sync sends (R16: Exchange drops a repeated create) -----------------


def transaction_prefix(tenant_id: int, user_id: int) -> str:
    """The start of every `transactionId` s5sync sends for this user row."""
    return f"s5sync-{tenant_id}-{user_id}-"


def transaction_id(tenant_id: int, user_id: int, task_id: int) -> str:
    """R16: one deterministic `transactionId` per (user, task) — a retried or repeated
    create is dropped by Exchange, and the id names the task for R16b recovery."""
    return f"{transaction_prefix(tenant_id, user_id)}{task_id}"


def task_of_transaction(transaction_id: str) -> int | None:
    """R16b: the task id in a `transactionId` s5sync sent (for any user row), or None."""
    parts = transaction_id.split("-")
    if len(parts) != 4 or parts[0] != "s5sync":
        return None
    if not all(p.isascii() and p.isdigit() for p in parts[1:]):
        return None
    return int(parts[3])


# -- identities ---------------------------------------------------------------------------


def with_identity(event: EventSnapshot) -> EventSnapshot:
    """R16b: delta items carry no extended property, but our own `transactionId` names
    the task too — use it when the property is not there.

    Any s5sync transaction id counts, not only this user row's: after a lost or restored
    CALENDAREVENT database the user comes back with another row id, and their events
    must still be found (the calendar is theirs alone, and task ids are the store's)."""
    if event.task_ref is not None or not event.transaction_id:
        return event
    task_id = task_of_transaction(event.transaction_id)
    return event if task_id is None else replace(event, task_ref=task_ref(task_id))


def relevant(event: EventSnapshot, tag: str) -> bool:
    """Whether an unlinked cached event can matter to the rules: it carries the sync tag
    (R8) or an identity of ours (R16b). The rules ignore every other unlinked event, so a
    cycle never reads them (issue 12: cost grows with changes, not the window's size)."""
    return has_tag(event.subject, tag) or with_identity(event).task_ref is not None


# -- the recovery choice ------------------------------------------------------------------


@dataclass(frozen=True)
class TaskLookups:
    """Step 1's choice, and what step 3 needs noted before System Five answers."""

    external_refs: tuple[str, ...]  # event ids to look up by `external_ref`, in order
    pending_import: frozenset[str]  # events of pending import rows
    pending_push: frozenset[int]  # tasks of pending push rows that may still be pushed
    in_cache: frozenset[int | None]  # tasks the cached events name


@dataclass(frozen=True)
class EventLookups:
    """Step 3's choice."""

    by_task_ref: tuple[int, ...]  # tasks whose event is looked up by identity, batched
    by_event_id: tuple[int, ...]  # unlinked pushable tasks that name an event (R12d)


def plan_task_lookups(
    links: Sequence[Link],
    tasks: Mapping[int, TaskSnapshot],
    events: Iterable[EventSnapshot],
    tag: str,
    now: datetime,
) -> TaskLookups:
    """R16b: pending import rows and unlinked tagged events are looked up by
    `external_ref`. R23b: only a pending push row whose task may still be pushed (R2)
    needs its event found — one of a task that started or was deleted would cost every
    cycle a request, and nothing is ever pushed for it again."""
    events = list(events)
    linked_events = {link.event_id for link in links if link.event_id is not None}
    pending_push = frozenset(
        link.task_id
        for link in links
        if link.state is LinkState.PENDING
        and link.task_id is not None
        and not link.event_id
        and (task := tasks.get(link.task_id)) is not None
        and task.start > now
    )
    pending_import = frozenset(
        link.event_id
        for link in links
        if link.state is LinkState.PENDING and link.task_id is None and link.event_id
    )
    tagged = {e.id for e in events if e.id not in linked_events and has_tag(e.subject, tag)}
    return TaskLookups(
        external_refs=tuple(sorted(pending_import | tagged)),
        pending_import=pending_import,
        pending_push=pending_push,
        in_cache=frozenset(parse_task_ref(e.task_ref) for e in events),
    )


def links_known_again(
    found: Mapping[str, TaskSnapshot], pending_import: frozenset[str], employee_id: int | None
) -> bool:
    """R16b: an unlinked event whose task exists says the links were lost — but only
    this user's own task says so; another employee's task with that `external_ref` is
    never adopted. `found`: event id → the task System Five named for it."""
    return any(
        task.employee_id == employee_id and event_id not in pending_import
        for event_id, task in found.items()
    )


def plan_event_lookups(
    first: TaskLookups,
    links: Sequence[Link],
    tasks: Mapping[int, TaskSnapshot],
    events: Iterable[EventSnapshot],
    *,
    employee_id: int | None,
    now: datetime,
    window_end: datetime | None,
    known_again: bool,
) -> EventLookups:
    """R16b: pending push rows, and unlinked tasks whose event could not be in the window
    cache (links lost, or the task lies beyond the window), are looked up by the
    identity their event carries — only tasks the rules would push now (R1, R2); inside
    the window the cache's own identities suffice. R12d: an unlinked pushable task that
    names an event is read by that id.

    Links were lost (emptied, restored, half-written) when the window holds an event of
    ours that no link names, or an unlinked event whose task exists (`known_again`);
    only then can an unlinked task in the window have an event outside the cache, or a
    cached event without the identity the lookup reads. A user who never had a link
    pays no lookup (R23b)."""
    linked_tasks = {link.task_id for link in links if link.task_id is not None}
    linked_events = {link.event_id for link in links if link.event_id is not None}
    mapping_lost = known_again or any(
        e.task_ref is not None and e.id not in linked_events for e in events
    )
    pushable = [
        task
        for task in tasks.values()
        if task.id not in linked_tasks
        and task.start > now
        and push_blocker(task, employee_id or 0) is None
    ]
    unlinked = {
        task.id
        for task in pushable
        if mapping_lost or window_end is None or task.start >= window_end
    }
    return EventLookups(
        by_task_ref=tuple(
            sorted(t for t in (first.pending_push | unlinked) - first.in_cache if t is not None)
        ),
        by_event_id=tuple(sorted(task.id for task in pushable if task.external_ref is not None)),
    )
