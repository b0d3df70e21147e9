"""Gathering one cycle's view of both sides (DESIGN.md "Reading Outlook"; R7b, R16b,
R17b): System Five's push candidates and linked tasks, the Outlook window through its
delta link merged into the cache, deletions confirmed by a GET, the events named beyond
the window, and the lookups `core.recovery` chooses. `CycleEngine` calls these in order;
they hold no state of their own beyond `Gathered`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from s5sync.core.alerts import SYSTEM_FIVE_UNREADABLE
from s5sync.core.decisions import Decision
from s5sync.core.hashing import event_hash
from s5sync.core.payloads import parse_task_ref
from s5sync.core.records import ActivityEntry, CachedEvent, DeltaRecord
from s5sync.core.recovery import (
    relevant,
    with_identity,
)
from s5sync.core.snapshots import EventSnapshot, Link, TaskSnapshot
from s5sync.outlook.categories import CategoryMemo
from s5sync.outlook.errors import (
    NeedsSignIn,
    OutlookError,
    Throttled,
)
from s5sync.sync.apply import marks_removed
from s5sync.sync.ports import (
    CycleStart,
    CycleStore,
    UserPorts,
    WindowRead,
    WindowSave,
)
from s5sync.sync.window import decode_snapshot, delta_window, encode_fields, needs_rebaseline

# The cycle's log lines keep the engine's logger name, as before the split.
log = logging.getLogger("s5sync.sync.engine")

# Graph's answer (400) to an id that is no event id at all (issue 24's emulator, as Graph).
MALFORMED_ID = "ErrorInvalidIdMalformed"


class PhaseMeter:
    """Splits a cycle's Graph requests by phase, from the ports' running count."""

    def __init__(self, ports: UserPorts) -> None:
        self.ports = ports
        self.phases: dict[str, int] = {}
        self.last = self.total()

    def total(self) -> int:
        return sum(self.ports.requests().values())

    def close(self, phase: str) -> None:
        """Charge the requests sent since the last close to `phase`."""
        total = self.total()
        if total > self.last:
            self.phases[phase] = self.phases.get(phase, 0) + total - self.last
        self.last = total


@dataclass
class Gathered:
    """Both sides as read this cycle."""

    tasks: dict[int, TaskSnapshot] = field(default_factory=dict)
    events: dict[str, EventSnapshot] = field(default_factory=dict)
    gone: set[str] = field(default_factory=set)
    # R12d, R16b: `external_ref`s of unlinked push candidates that name no event (404).
    missing: set[str] = field(default_factory=set)
    # R5: linked events beyond the window whose read failed: their tasks wait a cycle.
    unknown: set[str] = field(default_factory=set)
    tasks_readable: bool = True
    events_readable: bool = True
    problems: list[str] = field(default_factory=list)
    retry_at: datetime | None = None
    first_read: bool = False
    deferred: bool = False  # some items wait for the next cycle (R17b)
    window_end: datetime | None = None
    # R23: what Outlook sent that could not be read as it was, said once, when it came.
    bad_input: list[ActivityEntry] = field(default_factory=list)
    removed: set[str] = field(default_factory=set)  # linked events reported '@removed'
    window: WindowSave | None = None  # the merged window, until it is saved
    was_cached: set[str] = field(default_factory=set)  # … of them, those the cache held


async def categories(
    store: CycleStore,
    begun: CycleStart,
    ports: UserPorts,
    decisions: Sequence[Decision],
    *,
    force: bool = False,
) -> None:
    """R3, R6b, R21b: the store's categories exist in the mailbox with their colours.

    The user's row remembers what was ensured (`CategoryMemo`), so an idle cycle asks
    nothing; a new colour is one PATCH; the Removed category is ensured the first time
    an event is to carry it, and recoloured once it was."""
    options = begun.tenant.options
    memo = CategoryMemo.parse(begun.category_ready, options.category_color)
    wanted = [(options.category_name, options.category_color)]
    removed = (options.removed_category_name, options.removed_category_color)
    if memo.known_id(removed[0]) is not None or any(map(marks_removed, decisions)):
        wanted.append(removed)
    before = memo
    for name, color in wanted:
        if force or memo.needs(name, color):  # a resync checks they still exist
            made = await ports.calendar.apply_category(name, color, memo.known_id(name))
            memo = memo.with_category(name, color, made.id)
    if memo != before:
        kept = memo.only((options.category_name, options.removed_category_name))
        await store.mark_category_ready(begun.lease, kept.dump())


async def read_system_five(
    employee_id: int, ports: UserPorts, links: Sequence[Link], seen: Gathered
) -> None:
    """R1 candidates, every linked task, and every task a cached event names."""
    try:
        candidates = await ports.tasks.push_candidates(employee_id)
        seen.tasks = {task.id: task for task in candidates}
        wanted = {link.task_id for link in links if link.task_id is not None}
        wanted |= {
            task_id
            for event in seen.events.values()
            if (task_id := parse_task_ref(event.task_ref)) is not None
        }
        missing = sorted(wanted - seen.tasks.keys())
        if missing:
            seen.tasks.update(await ports.tasks.tasks_by_id(missing))
    except Exception as error:
        # R17b: without System Five nothing is decided this cycle.
        seen.tasks_readable = False
        seen.problems.append(f"{SYSTEM_FIVE_UNREADABLE} ({type(error).__name__})")
        log.warning("cycle.systemfive_unreadable", extra={"error": type(error).__name__})


async def read_outlook(
    store: CycleStore,
    begun: CycleStart,
    now: datetime,
    ports: UserPorts,
    seen: Gathered,
    meter: PhaseMeter,
    *,
    fresh: bool = False,
) -> None:
    """The user's window through its delta link (or read afresh), merged into the cache
    (R8); when Outlook cannot be read, the cache stands in and nothing is imported
    (R17b)."""
    start, end, link = _window_to_read(begun, now, fresh)
    try:
        read = await ports.calendar.read_window(link, start, end)
    except NeedsSignIn:
        raise
    except Throttled as error:
        meter.close("delta")
        seen.events_readable = False
        seen.retry_at = error.retry_at
        seen.problems.append(str(error))
        use_cache(begun.cached, seen)
        return
    except OutlookError as error:
        meter.close("delta")
        seen.events_readable = False
        seen.problems.append(f"Outlook could not be read: {error}")
        use_cache(begun.cached, seen)
        return
    seen.first_read = read.rebaselined
    meter.close("first_read" if read.rebaselined else "delta")
    seen.bad_input.extend(bad_input_entries(read))
    seen.window_end = read.window_end
    await _merge_read(store, begun, now, read, seen)


def _window_to_read(
    begun: CycleStart, now: datetime, fresh: bool
) -> tuple[datetime, datetime, str | None]:
    """The saved delta link and its window, or a new window read from scratch (no link):
    on a resync (R14c), with no link yet, or when the window must move (R8)."""
    options, delta = begun.tenant.options, begun.delta
    if (
        fresh  # R14c: a resync drops the delta link and the window cache
        or delta is None
        or delta.delta_link is None
        or needs_rebaseline(delta.window_start, delta.window_end, now, options)
    ):
        start, end = delta_window(now, options)
        return start, end, None
    return delta.window_start, delta.window_end, delta.delta_link


async def _merge_read(
    store: CycleStore, begun: CycleStart, now: datetime, read: WindowRead, seen: Gathered
) -> None:
    """What was read merged into the cached window, the window to save, and which linked
    events the delta says were removed (to confirm, R7b)."""
    delta, user_id = begun.delta, begun.user.id
    tag = begun.tenant.options.sync_tag
    cached: dict[str, CachedEvent] = dict(begun.cached)
    rejudge = not read.rebaselined and (delta is None or delta.relevance_tag != tag)
    if rejudge:
        # Another sync tag (R21), or a cache from before relevance was kept: every
        # cached event is judged again under this one, once.
        cached = await store.cached(user_id, None)
    elif not read.rebaselined:
        # Delta items may carry only some properties: what the cache held of them.
        unseen = sorted({c.event_id for c in read.changed} - cached.keys())
        cached.update(await store.cached(user_id, unseen))
    merged = merge(cached, read, tag, rejudge=rejudge)
    if read.rebaselined or rejudge:
        upserts = tuple(merged[i] for i in sorted(merged))
    else:
        upserts = tuple(merged[i] for i in sorted({c.event_id for c in read.changed}))
    seen.window = WindowSave(
        DeltaRecord(read.delta_link, read.window_start, read.window_end, now, tag),
        upserts,
        tuple(read.removed),
        rebaselined=read.rebaselined,
    )
    use_cache(merged, seen)
    linked = {link.event_id for link in begun.links if link.event_id is not None}
    seen.removed = set(read.removed) & linked
    seen.was_cached = seen.removed & cached.keys()


async def confirm_removals(
    ports: UserPorts, links: Sequence[Link], seen: Gathered, meter: PhaseMeter
) -> None:
    """R7b: '@removed' may mean "left the window": only a 404 proves a deletion.

    Only events that were in the window are confirmed — cached, or their task starts
    inside it: Graph also reports changes of events it never showed in the window
    (our own writes beyond it), which would cost every such echo a GET (R17). A
    deletion beyond the window shows as a 404 on the task's next update instead.
    """
    tasks_of = {link.event_id: link.task_id for link in links if link.event_id is not None}
    for event_id in sorted(seen.removed):
        task_id = tasks_of.get(event_id)
        task = seen.tasks.get(task_id) if task_id is not None else None
        in_window = event_id in seen.was_cached or (
            task is not None and seen.window_end is not None and task.start < seen.window_end
        )
        if in_window and await ports.calendar.get_event(event_id) is None:
            seen.gone.add(event_id)
    meter.close("confirm")


def merge(
    cached: Mapping[str, CachedEvent], read: WindowRead, tag: str, *, rejudge: bool = False
) -> dict[str, CachedEvent]:
    """Delta items may carry only some properties: merge them into what we had.
    `rejudge`: every other cached event's relevance is judged again under `tag`."""
    merged = {} if read.rebaselined else dict(cached)
    for event_id in read.removed:
        merged.pop(event_id, None)
    changed = {change.event_id for change in read.changed}
    for change in read.changed:
        base = {} if read.rebaselined else dict(merged.get(change.event_id, _EMPTY).data)
        data = {**base, **encode_fields(change.fields)}
        snapshot = decode_snapshot(change.event_id, data)
        merged[change.event_id] = CachedEvent(
            change.event_id,
            data,
            snapshot.change_key,
            event_hash(snapshot),
            relevant(snapshot, tag),
        )
    for event_id, item in merged.items():
        if rejudge and event_id not in changed:
            snapshot = decode_snapshot(event_id, item.data)
            if item.relevant != relevant(snapshot, tag):
                merged[event_id] = replace(item, relevant=not item.relevant)
    return merged


def use_cache(cached: Mapping[str, CachedEvent], seen: Gathered) -> None:
    events = {}
    for event_id, item in cached.items():
        snapshot = decode_snapshot(event_id, item.data)
        events[event_id] = with_identity(snapshot)
    seen.events = events


_EMPTY = CachedEvent("", {}, "", "")


def bad_input_entries(read: WindowRead) -> list[ActivityEntry]:
    """R18, R23: malformed values of delta items (the item is still used, its bad field
    left out) and items that could not be read at all, in words for the activity log."""
    entries = []
    for change in read.changed:
        if change.problems:
            subject = change.fields.get("subject")
            label = subject if isinstance(subject, str) and subject.strip() else change.event_id
            entries.append(
                ActivityEntry(
                    "import",
                    "bad_input",
                    "bad_input",
                    None,
                    change.event_id,
                    label[:120],
                    f"Outlook sent '{label}' with values s5sync cannot use: "
                    + "; ".join(change.problems),
                )
            )
    entries += [
        ActivityEntry("import", "bad_input", "bad_input", None, None, "", f"Outlook: {text}")
        for text in read.unreadable
    ]
    return entries
