"""Push, put together (R14b): notifications, wake-ups, the subscription manager and the
System Five watcher of one process.

`PushService.build(services, nudge)` wires the parts on the process's services; the
driver gives `nudge` (the local scheduler's wake, or deferring the users' cycle jobs on
procrastinate). `start()` runs the local driver's background loop: it wakes when a store's
`s5_poll_seconds` have passed, or a sweep or the periods' read is due (`next_wait`), and
polls the stores due (the poll times, periods and watermarks kept in this process,
`store.watch.CachedWatch`: a poll that finds nothing new writes nothing) — no tick every
second. The stores' periods are read again (one small cross-store statement) only when a
store is due by the period known, or `PERIODS_SECONDS` after the last read (new stores),
or at once when the options page saved them in this process (`options_saved`) — so a
period changed anywhere, `s5sync tenant set --s5-poll-seconds` in another process
included, takes effect within one old period, and an idle process reads its stores'
options every 15 s, not every second. It sweeps the subscriptions every `SWEEP_SECONDS`
(30 s, as on procrastinate) — or at once when a lifecycle notification asks, or when a
user becomes active (`sweep_soon`: a heartbeat of a user without a live subscription, a
sign-in, an onboarding, background sync switched on), so a user who opens the dashboard
is subscribed within seconds. On procrastinate the same `watch_store` and `sweep` run as
periodic tasks instead (push_jobs.py), and `sweep_soon` defers the sweep's job at once
(`sweep_elsewhere`).

Lifecycle notifications (learn.microsoft.com "Reduce missing subscriptions and change
notifications"): `reauthorizationRequired` → renew at the next sweep (a revoked user's
renewal fails: R19b, that user alone); `subscriptionRemoved` → the row goes, a new
subscription is made at the next sweep and the user's cycle catches up; `missed` → the
user's cycle catches up through the delta (the subscription stays).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from s5sync.core.cadence import Trouble
from s5sync.outlook.notifications import Lifecycle, NotificationIntake
from s5sync.scheduling.upkeep import Push, SubscriptionManager
from s5sync.scheduling.wakeups import Nudge, WakeUps
from s5sync.settings import Settings
from s5sync.store.subscriptions import SubscriptionRows
from s5sync.store.watch import SLACK, CachedWatch, WatchStore
from s5sync.systemfive.watcher import StoreWatcher, TaskSaves

if TYPE_CHECKING:
    from s5sync.entrypoints.bootstrap import Services

log = logging.getLogger(__name__)

SWEEP_SECONDS = 30.0  # as on procrastinate; a user made active is swept at once
PERIODS_SECONDS = 15.0  # the stores' s5_poll_seconds are read at least this often


def push_for(settings: Settings) -> Push:
    """Where Graph should deliver (`S5SYNC_PUBLIC_URL`), or why push is off: Graph
    delivers only to https URLs it can reach (the demo's emulator may use loopback
    http, `S5SYNC_PUSH_HTTP`)."""
    url = urlsplit(settings.public_url)
    if not settings.public_url or not url.netloc:
        return Push.off("S5SYNC_PUBLIC_URL is not set")
    if url.scheme != "https" and not settings.push_http:
        return Push.off("S5SYNC_PUBLIC_URL is not an https URL Microsoft Graph can reach")
    return Push.at(settings.public_url)


class PushService:
    """The push parts of one process, on its services."""

    def __init__(
        self,
        services: Services,
        nudge: Nudge,
        clock: Callable[[], datetime],
        count: Callable[[str], None],
        *,
        push: Push | None = None,
        sweep_elsewhere: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.clock = clock
        self.sweep_elsewhere = sweep_elsewhere  # the web process on procrastinate
        self.rows = SubscriptionRows(services.db, services.box)
        self.wakeups = WakeUps(self.rows, nudge, clock)
        self.manager = SubscriptionManager(
            self.rows,
            services.subscriptions_for,
            push if push is not None else push_for(services.settings),
            clock,
            self.wakeups.wake_now,
        )
        self.watch = WatchStore(services.db)
        # procrastinate's (any worker may take a store's next poll: the watermark is read
        # and written each time) and the local loop's (its process alone polls: cached).
        self.watcher = StoreWatcher(self.watch, self._saves_for, self.wakeups.note, clock)
        cached = CachedWatch(self.watch)
        self.local_watcher = StoreWatcher(cached, self._saves_for, self.wakeups.note, clock)
        self._services = services
        self.intake = NotificationIntake(self.rows.lookup, self.wakeups.note, self.lifecycle, count)
        self._wake = asyncio.Event()  # the loop waits on it between ticks
        self._sweep_wanted = False  # a lifecycle notification or a newly active user
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._polled: dict[int, datetime] = {}  # the local loop's last poll of each store
        self._periods: dict[int, timedelta] = {}  # each store's s5_poll_seconds, as last read
        self._periods_at: datetime | None = None  # when they were read (None: read them now)

    async def _saves_for(self, tenant_id: int) -> TaskSaves:
        store = await self._services.task_store_for(tenant_id)
        if not isinstance(store, TaskSaves):  # every TaskStore we build is one
            raise TypeError(f"{type(store).__name__} cannot list saved tasks")
        return store

    @property
    def off_reason(self) -> str | None:
        """Why nobody is subscribed by this process now (the health page), or None."""
        return self.manager.off_reason

    async def troubles(self, tenant_id: int) -> dict[int, Trouble]:
        """The store's users whose subscription could not be renewed or made, why, and
        when it is tried again (the health page)."""
        return await self.rows.troubles(tenant_id)

    async def lifecycle(self, event: Lifecycle) -> None:
        key = event.key
        log.info("graph.lifecycle", extra={"user_id": key.user_id, "event": event.event})
        if event.event == "reauthorizationRequired":
            await self.rows.renew_soon(key.tenant_id, key.user_id, self.clock())
        elif event.event == "subscriptionRemoved":
            await self.rows.dropped(key.tenant_id, key.user_id)
            self.intake.forget(key.subscription_id)
            self.wakeups.note(key.user_id)
        else:  # missed: catch up through the delta
            self.wakeups.note(key.user_id)
        self._sweep_soon_here()

    def _sweep_soon_here(self) -> None:
        self._sweep_wanted = True
        self._wake.set()

    async def options_saved(self) -> None:
        """A store's options were saved in this process (the options page): read the
        stores' `s5_poll_seconds` again at once, so a new period takes effect now."""
        self._periods_at = None
        self._wake.set()

    async def sweep_soon(self) -> None:
        """A user became active (R14): sweep now, not at the next periodic sweep — in
        this process's loop, or by deferring the workers' sweep job. A hint: never fails
        the caller (a missed one is the next periodic sweep)."""
        if not self.manager.creating(self.clock()):
            return  # nobody is subscribed by this deployment now: nothing to hurry
        if self._task is not None:
            self._sweep_soon_here()
        elif self.sweep_elsewhere is not None:
            try:
                await self.sweep_elsewhere()
            except Exception as error:
                log.warning("push.sweep_soon_failed", extra={"error": type(error).__name__})

    def _due(self, now: datetime) -> list[int]:
        return [
            tenant_id
            for tenant_id, period in self._periods.items()
            if (last := self._polled.get(tenant_id)) is None or now - last >= period - SLACK
        ]

    def next_wait(self, now: datetime, sweep_in: float) -> float:
        """Seconds until the loop has something to do: the next store due, the periods'
        next read or the next sweep (`sweep_in`), at most `PERIODS_SECONDS`; a wake-up
        (a lifecycle notification, `sweep_soon`, `options_saved`, stop) ends it sooner."""
        if self._periods_at is None:
            return 0.0
        due = [self._periods_at + timedelta(seconds=PERIODS_SECONDS)]
        due += [self._polled.get(t, now) + period for t, period in self._periods.items()]
        wait = min((at - now).total_seconds() for at in due)
        return max(0.0, min(wait, sweep_in, PERIODS_SECONDS))

    async def _read_periods(self, now: datetime) -> None:
        seconds = await self.watch.poll_seconds()
        self._periods = {tenant_id: timedelta(seconds=s) for tenant_id, s in seconds.items()}
        self._polled = {t: at for t, at in self._polled.items() if t in self._periods}
        self._periods_at = now

    async def poll_stores(self) -> int:
        """The local loop's wake-up: poll every store whose `s5_poll_seconds` have passed
        since this process polled it; the users woken. The periods are read again first
        when one looks due by the period known (so a changed period counts from the
        store's next poll on), when `PERIODS_SECONDS` passed, or when `options_saved`."""
        now = self.clock()
        read_at = self._periods_at
        stale = read_at is None or now - read_at >= timedelta(seconds=PERIODS_SECONDS) - SLACK
        if stale or self._due(now):
            await self._read_periods(now)
        woken = 0
        for tenant_id in self._due(now):
            self._polled[tenant_id] = now
            try:
                woken += len(await self.local_watcher.poll(tenant_id))
            except Exception:
                # R17b: one store's System Five down stops only its own watching.
                log.warning("watcher.poll_failed", extra={"tenant_id": tenant_id}, exc_info=True)
        return woken

    def start(self) -> None:
        self.wakeups.start()
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._loop(), name="s5sync-push")

    async def stop(self) -> None:
        """Finish the poll or sweep under way (never cut a database call short), then stop."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None
        await self.wakeups.stop()

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        last_sweep = -SWEEP_SECONDS
        while not self._stopping:
            self._wake.clear()
            try:
                await self.poll_stores()
                due = loop.time() - last_sweep >= SWEEP_SECONDS
                if (self._sweep_wanted or due) and not self._stopping:
                    self._sweep_wanted = False
                    last_sweep = loop.time()
                    await self.manager.sweep()
            except Exception:
                log.exception("push.loop_failed")
            if self._stopping:
                break
            wait = self.next_wait(self.clock(), last_sweep + SWEEP_SECONDS - loop.time())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=max(wait, 0.05))
