"""The lookups a cycle makes beyond its delta read (R14c, R16, R16b, R5): the pending
rows and lost links `core.recovery` chooses to resolve, the linked tasks' events outside
the window, and the mapping rows a resync finds contradicted. The choices are the core's;
these only perform them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from s5sync.core.eligibility import push_blocker
from s5sync.core.hashing import task_hash
from s5sync.core.payloads import task_ref
from s5sync.core.records import UserRecord
from s5sync.core.recovery import (
    links_known_again,
    plan_event_lookups,
    plan_task_lookups,
    with_identity,
)
from s5sync.core.resync import contradicted
from s5sync.core.snapshots import Link, LinkState, StoreOptions
from s5sync.outlook.errors import (
    GraphRejected,
    MalformedEventId,
    NeedsSignIn,
    OutlookError,
    Throttled,
)
from s5sync.sync.gather import MALFORMED_ID, Gathered
from s5sync.sync.ports import (
    CycleStart,
    CycleStore,
    UserPorts,
)


async def check_mapping(
    store: CycleStore, begun: CycleStart, links: Sequence[Link], seen: Gathered
) -> tuple[Sequence[Link], tuple[Link, ...]]:
    """R14c, R16b: mapping rows the events' own identities contradict are dropped
    (the identities link both tasks again this cycle, never to a second event)."""
    wrong = contradicted(links, seen.events)
    if not wrong:
        return links, ()
    async with store.link_writes(begun.lease) as rows:
        for link in wrong:
            await rows.delete(begun.user.id, link)
    return [link for link in links if link not in wrong], wrong


async def read_beyond_window(
    employee_id: int,
    now: datetime,
    ports: UserPorts,
    links: Sequence[Link],
    seen: Gathered,
    *,
    everything: bool = False,
) -> None:
    """R5, R12: a changed task about to be pushed to an event the window cache does not
    hold (beyond the window) reads that event first — its subject may carry the
    user's tag, which the update keeps. Found by the long reliability profile (issue
    23). One GET per such task, only when it changed (R23b: never on an idle cycle);
    a 404 is a deletion (R7b); a failed read holds the task back one cycle (R17b).
    `everything` (a resync, R14c): every such task's event, changed or not, and the
    stopped ones that may be restored."""
    states = (LinkState.ACTIVE, LinkState.TASK_DELETED) if everything else (LinkState.ACTIVE,)
    for link in links:
        task = seen.tasks.get(link.task_id) if link.task_id is not None else None
        if (
            task is None
            or link.event_id is None
            or link.state not in states
            or link.event_id in seen.events
            or link.event_id in seen.gone
            or task.unreadable is not None
            or task.start <= now
            or push_blocker(task, employee_id) is not None
            or (task_hash(task) == link.task_hash and not everything)
        ):
            continue
        try:
            event = await ports.calendar.get_event(link.event_id)
        except NeedsSignIn:
            raise
        except MalformedEventId:
            continue  # R7b, R16b: a damaged stored id; apply relinks it (relinking.py)
        except OutlookError as error:
            seen.unknown.add(link.event_id)
            seen.deferred = True
            seen.problems.append(f"Outlook could not be read: {error}")
            continue
        if event is None:
            seen.gone.add(link.event_id)
        else:
            seen.events[event.id] = with_identity(event)


async def named_events(
    ports: UserPorts, linked_events: set[str], named: set[int], seen: Gathered
) -> None:
    """R12d, R16b: an unlinked task about to be pushed that names an event (its
    `external_ref`) not in the window is pushed to that event — so the event is read
    once, by id; one that does not exist (404) is said and the task sent as new."""
    for task_id in sorted(named):
        ref = seen.tasks[task_id].external_ref
        if ref is None or ref in seen.events or ref in linked_events:
            continue
        try:
            event = await ports.calendar.get_event(ref)
        except NeedsSignIn:
            raise
        except OutlookError as error:
            if not (isinstance(error, GraphRejected) and error.code == MALFORMED_ID):
                seen.tasks.pop(task_id, None)  # R16: not pushed while it might exist
                seen.deferred = True
                seen.problems.append(f"Outlook could not be read: {error}")
                continue
            event = None  # another tool's `external_ref` that is no event id at all
        if event is None:
            seen.missing.add(ref)
        else:
            seen.events[event.id] = with_identity(event)


async def recover(
    user: UserRecord,
    now: datetime,
    window_end: datetime | None,
    options: StoreOptions,
    ports: UserPorts,
    links: Sequence[Link],
    seen: Gathered,
) -> None:
    """R16b: resolve pending rows and lost links before anything new is created. The
    choice of what to look up is `core.recovery`'s (table-tested); this performs it.

    - events: pending push rows, and unlinked tasks whose event could not be in the
      window cache (links lost, or the task lies beyond the window), are
      looked up by the identity their event carries — one batched request, only when
      there is such a task that the rules would push now (R1, R2: a task whose start
      has passed is never sent, so it is never looked up, and an idle cycle stays one
      request, R17); inside the window the cache's own identities suffice;
    - tasks: pending import rows and unlinked tagged events are looked up by
      `external_ref` (cheap SQL, so a half-restored database never imports twice).
    """
    first = plan_task_lookups(links, seen.tasks, seen.events.values(), options.sync_tag, now)
    found_tasks = {}
    for event_id in first.external_refs:
        task = await ports.tasks.task_by_external_ref(event_id)
        if task is not None:
            seen.tasks.setdefault(task.id, task)
            found_tasks[event_id] = task
    known_again = links_known_again(found_tasks, first.pending_import, user.employee_id)
    chosen = plan_event_lookups(
        first,
        links,
        seen.tasks,
        seen.events.values(),
        employee_id=user.employee_id,
        now=now,
        window_end=window_end,
        known_again=known_again,
    )
    linked_events = {link.event_id for link in links if link.event_id is not None}
    await named_events(ports, linked_events, set(chosen.by_event_id), seen)
    if chosen.by_task_ref:
        await events_by_identity(ports, list(chosen.by_task_ref), seen)


async def events_by_identity(ports: UserPorts, refs: list[int], seen: Gathered) -> None:
    """R16b: the events that carry these tasks' identity, in one batched search; a task
    whose event cannot be looked up is not pushed this cycle (R16, R17b: it might exist),
    everything else goes on."""
    try:
        found = await ports.calendar.find_by_task_refs([task_ref(t) for t in refs])
    except NeedsSignIn:
        raise
    except OutlookError as error:
        for task_id in refs:
            seen.tasks.pop(task_id, None)
        seen.deferred = True
        seen.problems.append(f"Outlook could not be searched: {error}")
        if isinstance(error, Throttled):
            seen.retry_at = error.retry_at
        found = {}
    for event in found.values():
        known = seen.events.get(event.id)
        if known is None:
            seen.events[event.id] = with_identity(event)
        elif known.task_ref is None:
            # R16b: delta items carry no extended property; the lookup does.
            seen.events[event.id] = replace(known, task_ref=event.task_ref)
