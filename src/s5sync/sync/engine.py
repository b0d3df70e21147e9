"""One user's sync cycle: lease → gather → decide → apply → record (DESIGN.md "The shape").

`CycleEngine.run_user_cycle(user, now)` is the only place the three sides meet, and the
one function every driver calls (`s5sync sync`, the local scheduler, procrastinate
workers). It

1. takes the user's lease (a second cycle of the same user does not run; the fencing
   token then guards every CALENDAREVENT write — R16);
2. gathers: System Five's push candidates and linked tasks; the Outlook window through
   its delta link, merged into `event_cache` in the same transaction as the new link;
   deletions confirmed by a GET (R7b); pending rows and lost links resolved from the
   identities both sides carry (R16b);
3. decides everything at once with the pure core (R15);
4. applies the decisions in a crash-safe order (`writes.py`);
5. records one `sync_run` row and one activity row per decision (R18), and when the
   user is due next.

A side that cannot be read stops only what needs it (R17b); a needs-sign-in error stops
only this user (R19b); a long throttle ends the cycle with the next due time set (R23b).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Protocol

from s5sync.core.alerts import SYSTEM_FIVE_UNREADABLE
from s5sync.core.cadence import push_live
from s5sync.core.decisions import Action, Decision, Reason, Skip, writes
from s5sync.core.eligibility import push_blocker, store_time
from s5sync.core.hashing import event_hash, task_hash
from s5sync.core.payloads import parse_task_ref, task_ref
from s5sync.core.records import ActivityEntry, CachedEvent, DeltaRecord, TenantRecord, UserRecord
from s5sync.core.recovery import (
    links_known_again,
    plan_event_lookups,
    plan_task_lookups,
    relevant,
    with_identity,
)
from s5sync.core.resync import contradicted
from s5sync.core.rules import decide_cycle
from s5sync.core.snapshots import EventSnapshot, Link, LinkState, StoreOptions, TaskSnapshot
from s5sync.core.status import what_failed
from s5sync.core.wording import dated, starts
from s5sync.outlook.categories import CategoryMemo
from s5sync.outlook.errors import (
    GraphRejected,
    MalformedEventId,
    NeedsSignIn,
    OutlookError,
    Throttled,
)
from s5sync.sync.apply import apply_decisions, marks_removed, touches_anything
from s5sync.sync.ports import (
    CycleEnd,
    CycleStart,
    CycleStore,
    Outcome,
    Refusal,
    UserPorts,
    WindowRead,
    WindowSave,
)
from s5sync.sync.window import decode_snapshot, delta_window, encode_fields, needs_rebaseline

log = logging.getLogger(__name__)


def periodic_interval(options: StoreOptions, user: UserRecord, now: datetime) -> timedelta:
    """R14b: while the user's Graph subscription is live the periodic cycle is only the
    safety net (`safety_minutes`); without one, every `interval` as in R14."""
    if push_live(user.push_live_until, now):
        return timedelta(minutes=max(options.safety_minutes, options.interval_minutes))
    return timedelta(minutes=options.interval_minutes)


# The outcomes of a cycle that ran but did not finish everything: said in the activity.
UNFINISHED = frozenset({Outcome.FAILED, Outcome.PARTIAL, Outcome.THROTTLED})

PortsFactory = Callable[[UserRecord, TenantRecord], AbstractAsyncContextManager[UserPorts]]


@dataclass(frozen=True)
class CycleResult:
    """What one cycle did (for `s5sync sync`, the scheduler and tests)."""

    outcome: Outcome
    run_id: int | None = None
    decisions: tuple[Decision, ...] = ()
    entries: tuple[ActivityEntry, ...] = ()
    requests: Mapping[str, int] = field(default_factory=dict)
    next_run_at: datetime | None = None
    error: str | None = None
    # Graph requests by phase (DESIGN.md "Requests per cycle"): `delta` and `writes` are
    # the minimum's; `first_read`, `confirm`, `category` and `recovery` are reported apart.
    phases: Mapping[str, int] = field(default_factory=dict)
    # R14c: the resync request this cycle carried out to the end (None: not a resync,
    # or one that did not finish: the next cycle repairs again).
    resync_of: datetime | None = None
    # Issue 20 item 4: when each task and event named takes place (core.wording).
    starts: Mapping[str, datetime] = field(default_factory=dict)

    @property
    def wrote(self) -> int:
        return len(writes(list(self.decisions)))


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


# Graph's answer (400) to an id that is no event id at all (issue 24's emulator, as Graph).
MALFORMED_ID = "ErrorInvalidIdMalformed"


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


class CycleStores(Protocol):
    """Where a cycle's CALENDAREVENT rows live: `Services` (SQL) or an in-memory fake."""

    def cycle_store(self, tenant_id: int) -> CycleStore: ...


class CycleEngine:
    """Runs cycles for any user of any store, through ports built per user."""

    def __init__(
        self,
        stores: CycleStores,
        ports_for: PortsFactory,
        *,
        holder: str,
        lease_ttl: timedelta = timedelta(minutes=8),
    ) -> None:
        self.stores = stores
        self.ports_for = ports_for
        self.holder = holder
        self.lease_ttl = lease_ttl

    async def run_user_cycle(self, user: UserRecord, now: datetime) -> CycleResult:
        store = self.stores.cycle_store(user.tenant_id)
        started = time.monotonic()
        begun = await store.start(user.id, self.holder, now, self.lease_ttl)
        if begun is Refusal.NOT_ONBOARDED:
            return CycleResult(Outcome.NOT_ONBOARDED, error="the user is not onboarded (R20)")
        if begun is Refusal.BUSY:
            return CycleResult(Outcome.BUSY, error="a cycle of this user is already running")
        seen = Gathered()
        spent: list[UserPorts] = []
        try:
            async with self.ports_for(begun.user, begun.tenant) as ports:
                spent.append(ports)
                result = await self._cycle(store, begun, now, ports, seen)
        except NeedsSignIn as error:
            # R19b: this user stops until they sign in again; nobody else is affected.
            result = CycleResult(Outcome.NEEDS_SIGN_IN, begun.run_id, error=str(error))
        except Exception as error:  # R23: a cycle never crashes the scheduler
            log.exception("cycle.failed", extra={"user_id": user.id})
            result = CycleResult(
                Outcome.FAILED, begun.run_id, error=f"{type(error).__name__}: {error}"
            )
        if spent and not result.requests:
            # A cycle that stopped early still reports what it cost (R18).
            result = replace(result, requests=dict(spent[0].requests()))
        return await self._record(store, begun, now, result, started, seen.window)

    async def _cycle(
        self,
        store: CycleStore,
        begun: CycleStart,
        now: datetime,
        ports: UserPorts,
        seen: Gathered,
    ) -> CycleResult:
        options, user, lease = begun.tenant.options, begun.user, begun.lease
        links: Sequence[Link] = begun.links
        assert user.employee_id is not None
        # R14c: a resync reads the window from scratch and compares every pair.
        resync = user.resync_requested_at is not None
        meter = PhaseMeter(ports)
        await self._read_outlook(store, begun, now, ports, seen, meter, fresh=resync)
        await self._read_system_five(user.employee_id, ports, links, seen)
        if seen.tasks_readable and seen.removed:
            await self._confirm_removals(ports, links, seen, meter)
        dropped: tuple[Link, ...] = ()
        if resync and seen.tasks_readable and seen.events_readable:
            links, dropped = await self._check_mapping(store, begun, links, seen)
        if seen.tasks_readable and seen.events_readable:
            await self._recover(user, now, seen.window_end, options, ports, links, seen)
            await self._read_beyond_window(
                user.employee_id, now, ports, links, seen, everything=resync
            )
            meter.close("recovery")
        decisions = decide_cycle(
            seen.tasks.values(),
            seen.events.values(),
            links,
            options,
            now,
            employee_id=user.employee_id,
            gone_event_ids=frozenset(seen.gone),
            missing_event_ids=frozenset(seen.missing),
            unknown_event_ids=frozenset(seen.unknown),
            tasks_readable=seen.tasks_readable,
            events_readable=seen.events_readable,
            resync=resync,
        )
        if seen.events_readable:
            await self._categories(store, begun, ports, decisions, force=resync)
            meter.close("category")
        if seen.window is not None and touches_anything(decisions):
            # The cache and its delta link are saved before anything is written (a cycle
            # that writes nothing saves them with its run record instead: one transaction).
            await store.save_window(lease, seen.window)
            seen.window = None
        applied = await apply_decisions(
            store, user, lease, now, options, ports, decisions, links, seen.events
        )
        meter.close("writes")
        outcome = Outcome.OK
        if not (seen.tasks_readable and seen.events_readable) or applied.failures or seen.deferred:
            throttled = seen.retry_at is not None or applied.retry_at is not None
            outcome = Outcome.THROTTLED if throttled else Outcome.PARTIAL
        problems = [*seen.problems, *applied.failures]
        said = [resync_summary(user, applied.entries, dropped, outcome)] if resync else []
        return CycleResult(
            outcome,
            begun.run_id,
            tuple(decisions),
            (*seen.bad_input, *applied.entries, *said),
            dict(ports.requests()),
            next_run_at=seen.retry_at or applied.retry_at,
            error="; ".join(problems) or None,
            phases=meter.phases,
            resync_of=user.resync_requested_at if resync and outcome is Outcome.OK else None,
            starts=starts(decisions, seen.tasks, seen.events),
        )

    @staticmethod
    async def _check_mapping(
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

    @staticmethod
    async def _categories(
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

    async def _read_system_five(
        self, employee_id: int, ports: UserPorts, links: Sequence[Link], seen: Gathered
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

    async def _read_outlook(
        self,
        store: CycleStore,
        begun: CycleStart,
        now: datetime,
        ports: UserPorts,
        seen: Gathered,
        meter: PhaseMeter,
        *,
        fresh: bool = False,
    ) -> None:
        options, delta, user_id = begun.tenant.options, begun.delta, begun.user.id
        if (
            fresh  # R14c: a resync drops the delta link and the window cache
            or delta is None
            or delta.delta_link is None
            or needs_rebaseline(delta.window_start, delta.window_end, now, options)
        ):
            start, end = delta_window(now, options)
            link = None
        else:
            start, end, link = delta.window_start, delta.window_end, delta.delta_link
        try:
            read = await ports.calendar.read_window(link, start, end)
        except NeedsSignIn:
            raise
        except Throttled as error:
            meter.close("delta")
            seen.events_readable = False
            seen.retry_at = error.retry_at
            seen.problems.append(str(error))
            self._use_cache(begun.cached, seen)
            return
        except OutlookError as error:
            meter.close("delta")
            seen.events_readable = False
            seen.problems.append(f"Outlook could not be read: {error}")
            self._use_cache(begun.cached, seen)
            return
        seen.first_read = read.rebaselined
        meter.close("first_read" if read.rebaselined else "delta")
        seen.bad_input.extend(bad_input_entries(read))
        seen.window_end = read.window_end
        tag = options.sync_tag
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
        merged = self._merge(cached, read, tag, rejudge=rejudge)
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
        self._use_cache(merged, seen)
        linked = {link.event_id for link in begun.links if link.event_id is not None}
        seen.removed = set(read.removed) & linked
        seen.was_cached = seen.removed & cached.keys()

    async def _confirm_removals(
        self, ports: UserPorts, links: Sequence[Link], seen: Gathered, meter: PhaseMeter
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

    @staticmethod
    async def _read_beyond_window(
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

    @staticmethod
    async def _named_events(
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

    @staticmethod
    def _merge(
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

    @staticmethod
    def _use_cache(cached: Mapping[str, CachedEvent], seen: Gathered) -> None:
        events = {}
        for event_id, item in cached.items():
            snapshot = decode_snapshot(event_id, item.data)
            events[event_id] = with_identity(snapshot)
        seen.events = events

    async def _recover(
        self,
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
        await self._named_events(ports, linked_events, set(chosen.by_event_id), seen)
        refs = list(chosen.by_task_ref)
        if refs:
            try:
                found = await ports.calendar.find_by_task_refs([task_ref(t) for t in refs])
            except NeedsSignIn:
                raise
            except OutlookError as error:
                # R16, R17b: a task whose event cannot be looked up is not pushed this
                # cycle (it might exist); everything else goes on.
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

    async def _record(
        self,
        store: CycleStore,
        begun: CycleStart,
        now: datetime,
        result: CycleResult,
        started: float,
        window: WindowSave | None,
    ) -> CycleResult:
        """R18: one sync_run row, the activity, and when the user is due next."""
        interval = periodic_interval(begun.tenant.options, begun.user, now)
        next_run = max(result.next_run_at or now + interval, now + timedelta(seconds=30))
        skips = [d for d in result.decisions if isinstance(d, Skip)]
        entries = [e for e in result.entries if e.action != Action.SKIP]
        said: set[tuple[str, str]] = set()
        for d in skips:
            if tuple(d.key) in begun.previous_skips:
                continue
            if d.reason is Reason.RECURRING:
                # Issue 20: a series' occurrences are one line, not one per occurrence.
                if (d.reason.value, d.label) in said:
                    continue
                said.add((d.reason.value, d.label))
            entries.append(skip_entry(d))
        if result.outcome is Outcome.NEEDS_SIGN_IN:
            entries.append(
                ActivityEntry(
                    "both",
                    "stopped",
                    "needs_sign_in",
                    None,
                    None,
                    "",
                    "Microsoft 365 no longer accepts your sign-in: sign in again "
                    "to resume syncing.",
                )
            )
        elif result.outcome in UNFINISHED and result.error:
            entries.append(
                ActivityEntry(
                    "both",
                    result.outcome.value,
                    None,
                    None,
                    None,
                    "",
                    # Issue 20 item 3: plain words first, the next try in store time.
                    f"{what_failed(result.error)}: this sync did not finish everything; "
                    f"s5sync tries again {store_time(next_run, begun.tenant.options)} and "
                    f"nothing is lost (details: {result.error}).",
                )
            )
        # Issue 20 item 4: each line says when its task or event takes place.
        options = begun.tenant.options
        entries = [
            replace(e, message=dated(e.message, e.subject, when(result.starts, e), options))
            for e in entries
        ]
        finished = now + timedelta(seconds=time.monotonic() - started)
        counts = {
            "decisions": len(result.decisions),
            "writes": result.wrote,
            "skips": len(skips),
            "graph_requests": sum(result.requests.values()),
            # DESIGN.md "Requests per cycle": what the minimum counts, and what is apart.
            **{f"requests_{phase}": n for phase, n in result.phases.items()},
        }
        status = "needs_sign_in" if result.outcome is Outcome.NEEDS_SIGN_IN else "active"
        await store.finish(
            begun.lease,
            CycleEnd(
                run_id=begun.run_id,
                now=now,
                finished_at=finished,
                outcome=result.outcome,
                status=status,
                next_run_at=next_run,
                counts=counts,
                graph_requests=result.requests,
                # R18: a sync that decided nothing (a side unreadable, a failure) keeps
                # the standing skips, so they are not said again after it (issue 20).
                skip_keys=[list(d.key) for d in skips]
                if result.decisions or result.outcome is Outcome.OK
                else [list(k) for k in begun.previous_skips],
                entries=entries,
                error=result.error,
                window=window,
                resync_of=result.resync_of,
            ),
        )
        return replace(result, entries=tuple(entries), next_run_at=next_run)


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


REPAIRS = frozenset({"resync_repaired", "resync_restored", "recovered_link"})


def resync_summary(
    user: UserRecord, done: Sequence[ActivityEntry], dropped: Sequence[Link], outcome: Outcome
) -> ActivityEntry:
    """R14c, R18: what a resync (repair) did, in one line after its own lines."""
    repaired = sum(1 for e in done if e.reason in REPAIRS) + len(dropped)
    by = user.resync_requested_by
    asked = "you" if by == user.email else (by or "the operator")
    if outcome is not Outcome.OK:
        message = (
            f"The repair asked by {asked} did not finish; it goes on at the next sync. "
            "Nothing was deleted or sent twice."
        )
    else:
        what = (
            "nothing needed repairing"
            if not repaired
            else f"{repaired} {'thing was' if repaired == 1 else 'things were'} repaired"
        )
        message = (
            f"Repair asked by {asked}: Outlook was read again, every link checked against "
            f"both sides and every future synced task compared with its event; {what}. "
            "Nothing was deleted or sent twice."
        )
    return ActivityEntry("both", "resync", "resync", None, None, "", message)


def when(found: Mapping[str, datetime], e: ActivityEntry) -> datetime | None:
    """The start of the task (else the event) an activity line names."""
    if e.task_id is not None and f"t:{e.task_id}" in found:
        return found[f"t:{e.task_id}"]
    return found.get(f"e:{e.event_id}") if e.event_id is not None else None


def skip_entry(skip: Skip) -> ActivityEntry:
    return ActivityEntry(
        skip.direction.value,
        Action.SKIP.value,
        skip.reason.value,
        skip.task_id,
        skip.event_id,
        skip.label,
        skip.describe(),
    )
