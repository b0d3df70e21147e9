"""Recording one cycle (R18): its run row, its activity (skips said once, a series
once), its outcome's line, and when the user is due next (R14, R14b, R23b).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from s5sync.core.cadence import push_live
from s5sync.core.decisions import Skip
from s5sync.core.eligibility import store_time
from s5sync.core.reasons import Action, Reason
from s5sync.core.records import ActivityEntry, Outcome, UserRecord
from s5sync.core.snapshots import Link, StoreOptions
from s5sync.core.status import what_failed
from s5sync.core.wording import dated
from s5sync.sync.ports import CycleEnd, CycleStart, CycleStore, WindowSave

if TYPE_CHECKING:
    from s5sync.sync.engine import CycleResult

# The outcomes of a cycle that ran but did not finish everything: said in the activity.
UNFINISHED = frozenset({Outcome.FAILED, Outcome.PARTIAL, Outcome.THROTTLED})


def periodic_interval(options: StoreOptions, user: UserRecord, now: datetime) -> timedelta:
    """R14b: while the user's Graph subscription is live the periodic cycle is only the
    safety net (`safety_minutes`); without one, every `interval` as in R14."""
    if push_live(user.push_live_until, now):
        return timedelta(minutes=max(options.safety_minutes, options.interval_minutes))
    return timedelta(minutes=options.interval_minutes)


async def record(
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
    entries = activity(begun, result, skips, next_run)
    counts = {
        "decisions": len(result.decisions),
        "writes": result.wrote,
        "skips": len(skips),
        "graph_requests": sum(result.requests.values()),
        # DESIGN.md "Requests per cycle": what the minimum counts, and what is apart.
        **{f"requests_{phase}": n for phase, n in result.phases.items()},
    }
    await store.finish(
        begun.lease,
        CycleEnd(
            run_id=begun.run_id,
            now=now,
            finished_at=now + timedelta(seconds=time.monotonic() - started),
            outcome=result.outcome,
            status="needs_sign_in" if result.outcome is Outcome.NEEDS_SIGN_IN else "active",
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


def activity(
    begun: CycleStart, result: CycleResult, skips: Sequence[Skip], next_run: datetime
) -> list[ActivityEntry]:
    """R18: the cycle's lines — its writes, the skips not said before (a series once),
    and its outcome's line — each saying when its task or event takes place."""
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
    outcome = outcome_entry(result, next_run, begun.tenant.options)
    if outcome is not None:
        entries.append(outcome)
    # Issue 20 item 4: each line says when its task or event takes place.
    options = begun.tenant.options
    return [
        replace(e, message=dated(e.message, e.subject, when(result.starts, e), options))
        for e in entries
    ]


def outcome_entry(
    result: CycleResult, next_run: datetime, options: StoreOptions
) -> ActivityEntry | None:
    """The line a cycle that stopped or did not finish everything ends with."""
    if result.outcome is Outcome.NEEDS_SIGN_IN:
        return ActivityEntry(
            "both",
            "stopped",
            "needs_sign_in",
            None,
            None,
            "",
            "Microsoft 365 no longer accepts your sign-in: sign in again to resume syncing.",
        )
    if result.outcome in UNFINISHED and result.error:
        return ActivityEntry(
            "both",
            result.outcome.value,
            None,
            None,
            None,
            "",
            # Issue 20 item 3: plain words first, the next try in store time.
            f"{what_failed(result.error)}: this sync did not finish everything; "
            f"s5sync tries again {store_time(next_run, options)} and nothing is lost "
            f"(details: {result.error}).",
        )
    return None


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
