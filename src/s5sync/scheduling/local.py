"""The local scheduler (R14; DESIGN.md "Scheduling"): an asyncio task in the web process.

Every few seconds — or at once when woken by *Sync now* — it asks the directory which
users are due (onboarded, signed in, heartbeat within 2 minutes or background sync on,
`next_run_at` passed or Sync now pressed) and runs their cycles, a few at a time,
through the one `run_user_cycle` every driver uses. A user already running here is not
started twice; across processes the cycle's own lease is the guarantee. Sync now pressed
during a cycle leaves `sync_now_requested` set, so one more cycle runs right after.
Once an hour it also prunes each store's activity and cycle records older than the
store's retention (R21b). Chores (alerts by e-mail, R21d) run beside the cycles as
tasks of their own, each at its own pace and one at a time: a slow mail server never
delays a cycle.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from s5sync.core.records import UserRecord
from s5sync.store.directory import Directory
from s5sync.store.scope import TenantScope

log = logging.getLogger(__name__)

CycleRunner = Callable[[UserRecord], Awaitable[object]]


@dataclass(frozen=True)
class Chore:
    """Work beside the cycles, every `every` (e.g. `Alerts.run`)."""

    name: str
    every: timedelta
    run: Callable[[], Awaitable[object]]


class LocalScheduler:
    """Runs due users' cycles in this process until stopped."""

    def __init__(
        self,
        directory: Directory,
        run_cycle: CycleRunner,
        clock: Callable[[], datetime],
        *,
        tick_seconds: float = 5.0,
        concurrency: int = 3,
        prune_every: timedelta = timedelta(hours=1),
        chores: Sequence[Chore] = (),
    ) -> None:
        self.directory = directory
        self.run_cycle = run_cycle
        self.clock = clock
        self.tick_seconds = tick_seconds
        self.concurrency = concurrency
        self.running: dict[int, asyncio.Task[None]] = {}
        self.last_tick: datetime | None = None
        self.prune_every = prune_every
        self.last_prune: datetime | None = None
        self.chores = tuple(chores)
        self._chore_tasks: dict[str, asyncio.Task[None]] = {}
        self._chore_last: dict[str, datetime] = {}
        self._wake = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        self._stopping = False

    def start(self) -> None:
        if self._loop_task is None:
            self._stopping = False
            self._loop_task = asyncio.create_task(self._loop(), name="s5sync-scheduler")

    async def wake(self) -> None:
        """Sync now: look for due users at once."""
        self._wake.set()

    async def stop(self, grace_seconds: float = 30.0) -> None:
        """Stop looking for work and let running cycles finish (or cancel them after
        `grace_seconds`; a cancelled cycle is safe — its pending rows resolve next time)."""
        self._stopping = True
        self._wake.set()
        if self._loop_task is not None:
            await self._loop_task
            self._loop_task = None
        for chore in self._chore_tasks.values():
            chore.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*self._chore_tasks.values(), return_exceptions=True)
        if self.running:
            _, pending = await asyncio.wait(list(self.running.values()), timeout=grace_seconds)
            for task in pending:
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(*pending, return_exceptions=True)

    @property
    def alive(self) -> bool:
        return self._loop_task is not None and not self._loop_task.done()

    async def tick(self) -> list[int]:
        """Start the cycles of due users that fit; returns the ids started."""
        self.last_tick = self.clock()
        free = self.concurrency - len(self.running)
        if free <= 0:
            return []
        due = await self.directory.due_users(self.last_tick, limit=free + len(self.running))
        started: list[int] = []
        for user in due:
            if len(started) >= free:
                break
            if user.id in self.running:
                continue
            self.running[user.id] = asyncio.create_task(self._run(user), name=f"cycle-{user.id}")
            started.append(user.id)
        return started

    async def prune(self) -> int:
        """R21b: drop each store's activity and cycle records older than its retention."""
        now = self.last_prune = self.clock()
        removed = 0
        for tenant in await self.directory.tenants():
            cutoff = now - timedelta(days=tenant.options.retention_days)
            async with TenantScope(
                self.directory.db, self.directory.box, tenant.id
            ).begin() as unit:
                removed += await unit.runs.prune(cutoff)
                # R21d: the audit trail and sent mails are kept as long as the activity.
                removed += await unit.audit.prune(cutoff)
                removed += await unit.alerts.prune_outbox(cutoff)
        return removed

    def start_chores(self) -> None:
        """Start each chore that is due and not running."""
        now = self.clock()
        for chore in self.chores:
            last = self._chore_last.get(chore.name)
            running = self._chore_tasks.get(chore.name)
            if (running is not None and not running.done()) or (
                last is not None and now - last < chore.every
            ):
                continue
            self._chore_last[chore.name] = now
            self._chore_tasks[chore.name] = asyncio.create_task(
                self._chore(chore), name=f"chore-{chore.name}"
            )

    async def _chore(self, chore: Chore) -> None:
        try:
            await chore.run()
        except Exception:
            log.exception("scheduler.chore_failed", extra={"chore": chore.name})

    async def _run(self, user: UserRecord) -> None:
        try:
            await self.run_cycle(user)
        except Exception:
            # R23: one user's failure never stops the scheduler; the cycle records it.
            log.exception("scheduler.cycle_failed", extra={"user_id": user.id})
        finally:
            self.running.pop(user.id, None)
            self._wake.set()  # a slot is free; Sync now may have queued one more

    async def _loop(self) -> None:
        while not self._stopping:
            # Cleared before the tick, not after: a wake (Sync now, stop) that arrives
            # during the tick is kept and ends the next wait at once.
            self._wake.clear()
            try:
                await self.tick()
                self.start_chores()
                if self.last_prune is None or self.clock() - self.last_prune >= self.prune_every:
                    await self.prune()
            except Exception:
                log.exception("scheduler.tick_failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.tick_seconds)
