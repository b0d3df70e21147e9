"""A cycle's rows written through the cycle's own store path (`CycleStore.start`,
`save_window` and `finish`), for tests that need run records, activity, a saved window
or a finished cycle's outcome without running a whole cycle (issue 18: one access layer
per table, no test-only repository methods)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from s5sync.core.records import ActivityEntry, CachedEvent, DeltaRecord, Outcome
from s5sync.sync.ports import CycleEnd, CycleStart, CycleStore, WindowSave

TTL = timedelta(minutes=5)


async def start_cycle(
    store: CycleStore, user_id: int, at: datetime, ttl: timedelta = TTL
) -> CycleStart | None:
    """Take the user's lease and open its run at `at`; None when refused."""
    begun = await store.start(user_id, "test", at, ttl)
    return begun if isinstance(begun, CycleStart) else None


async def finish_cycle(
    store: CycleStore,
    begun: CycleStart,
    at: datetime,
    *,
    outcome: Outcome = Outcome.OK,
    next_run_at: datetime | None = None,
    entries: Sequence[ActivityEntry] = (),
    error: str | None = None,
) -> None:
    """End the cycle `begun` at `at` as the engine does: its run, activity, outcome."""
    await store.finish(
        begun.lease,
        CycleEnd(
            run_id=begun.run_id,
            now=at,
            finished_at=at,
            outcome=outcome,
            status="active",
            next_run_at=next_run_at or at + timedelta(minutes=10),
            counts={},
            graph_requests={},
            skip_keys=[],
            entries=list(entries),
            error=error,
        ),
    )


async def record_cycle(
    store: CycleStore,
    user_id: int,
    at: datetime,
    *,
    entries: Sequence[ActivityEntry] = (),
    outcome: Outcome = Outcome.OK,
    error: str | None = None,
) -> None:
    """One whole cycle of the (onboarded) user at `at`."""
    begun = await start_cycle(store, user_id, at)
    assert begun is not None, "the user's lease is held or the user is not onboarded"
    await finish_cycle(store, begun, at, outcome=outcome, entries=entries, error=error)


async def save_window(
    store: CycleStore,
    user_id: int,
    at: datetime,
    delta: DeltaRecord,
    upserts: Sequence[CachedEvent] = (),
) -> None:
    """One whole cycle of the (onboarded) user at `at` that read `upserts` into its
    window and saved `delta` with them, as a delta read does."""
    begun = await start_cycle(store, user_id, at)
    assert begun is not None, "the user's lease is held or the user is not onboarded"
    await store.save_window(begun.lease, WindowSave(delta, tuple(upserts)))
    await finish_cycle(store, begun, at)
