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
4. applies the decisions in a crash-safe order (`sync/apply.py`);
5. records one `sync_run` row and one activity row per decision (R18), and when the
   user is due next.

The steps live beside it: reading both sides in `sync/gather.py`, the lookups the core's
recovery choice asks for in `sync/lookups.py`, recording in `sync/record.py`; this module
only runs them in order.

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

from s5sync.core.decisions import Decision, writes
from s5sync.core.records import ActivityEntry, Outcome, TenantRecord, UserRecord
from s5sync.core.rules import decide_cycle
from s5sync.core.snapshots import Link
from s5sync.core.wording import starts
from s5sync.outlook.errors import (
    NeedsSignIn,
)
from s5sync.sync.apply import apply_decisions, touches_anything
from s5sync.sync.gather import (
    Gathered,
    PhaseMeter,
    categories,
    confirm_removals,
    read_outlook,
    read_system_five,
)
from s5sync.sync.lookups import check_mapping, read_beyond_window, recover
from s5sync.sync.ports import CycleStart, CycleStore, Refusal, UserPorts
from s5sync.sync.record import record, resync_summary
from s5sync.sync.writer import Applied

log = logging.getLogger(__name__)


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
        return await record(store, begun, now, result, started, seen.window)

    async def _cycle(
        self,
        store: CycleStore,
        begun: CycleStart,
        now: datetime,
        ports: UserPorts,
        seen: Gathered,
    ) -> CycleResult:
        """Read both sides, decide, save the window, apply (the order of DESIGN.md "The
        shape"); R14c: a resync reads the window from scratch and compares every pair."""
        user, lease = begun.user, begun.lease
        resync = user.resync_requested_at is not None
        meter = PhaseMeter(ports)
        links, dropped = await _read_both_sides(store, begun, now, ports, seen, meter, resync)
        decisions = _decide(begun, now, links, seen, resync)
        if seen.events_readable:
            await categories(store, begun, ports, decisions, force=resync)
            meter.close("category")
        # The cache and its delta link are saved before anything is written, in the first
        # write's transaction (a cycle that writes nothing saves them with its run record
        # instead: one transaction; issue 25).
        unsaved = seen if touches_anything(decisions) else None
        options = begun.tenant.options
        applied = await apply_decisions(
            store, user, lease, now, options, ports, decisions, links, seen.events, unsaved
        )
        meter.close("writes")
        return _result(begun, decisions, applied, seen, ports, meter, dropped, resync)


async def _read_both_sides(
    store: CycleStore,
    begun: CycleStart,
    now: datetime,
    ports: UserPorts,
    seen: Gathered,
    meter: PhaseMeter,
    resync: bool,
) -> tuple[Sequence[Link], tuple[Link, ...]]:
    """Outlook (its delta), System Five, deletions confirmed (R7b), the mapping checked on
    a resync (R14c, R16b) and what the recovery choice asks for (R16b); the links to
    decide with, and those a resync dropped."""
    user = begun.user
    links: Sequence[Link] = begun.links
    assert user.employee_id is not None
    await read_outlook(store, begun, now, ports, seen, meter, fresh=resync)
    await read_system_five(user.employee_id, ports, links, seen)
    if seen.tasks_readable and seen.removed:
        await confirm_removals(ports, links, seen, meter)
    dropped: tuple[Link, ...] = ()
    if resync and seen.tasks_readable and seen.events_readable:
        links, dropped = await check_mapping(store, begun, links, seen)
    if seen.tasks_readable and seen.events_readable:
        options = begun.tenant.options
        await recover(user, now, seen.window_end, options, ports, links, seen)
        await read_beyond_window(user.employee_id, now, ports, links, seen, everything=resync)
        meter.close("recovery")
    return links, dropped


def _decide(
    begun: CycleStart, now: datetime, links: Sequence[Link], seen: Gathered, resync: bool
) -> list[Decision]:
    """The core's decisions on what was read (R15)."""
    assert begun.user.employee_id is not None
    return decide_cycle(
        seen.tasks.values(),
        seen.events.values(),
        links,
        begun.tenant.options,
        now,
        employee_id=begun.user.employee_id,
        gone_event_ids=frozenset(seen.gone),
        missing_event_ids=frozenset(seen.missing),
        unknown_event_ids=frozenset(seen.unknown),
        tasks_readable=seen.tasks_readable,
        events_readable=seen.events_readable,
        resync=resync,
    )


def _result(
    begun: CycleStart,
    decisions: list[Decision],
    applied: Applied,
    seen: Gathered,
    ports: UserPorts,
    meter: PhaseMeter,
    dropped: tuple[Link, ...],
    resync: bool,
) -> CycleResult:
    """How the cycle ended (R17b: partial or throttled when a side or a write failed)."""
    user = begun.user
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
