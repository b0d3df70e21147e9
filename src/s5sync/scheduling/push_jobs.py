"""Push on procrastinate (R14b): wake-ups as cycle jobs, the watcher and the sweep as tasks.

- `DeferringNudge`: the woken users' cycles become jobs at once (`distributed.defer_now`:
  the user's queueing lock coalesces a burst into one queued job, and the user's lock
  keeps it behind a running cycle — which leaves exactly one more, as Sync now does).
  The web process uses it for notifications; workers for what they see themselves.
- `register_push`: on a worker's app, a periodic `watch` tick (every second) defers one
  `s5sync.watch_store` job per store whose `s5_poll_seconds` have passed, each with the
  store's own lock and queueing lock — a store is never polled by two workers at once,
  and the watermark lives in the database so any worker takes the next poll; and a
  periodic `subscriptions` sweep (every 30 s, one worker at a time), which the web
  process also defers at once when a user becomes active (`DeferringNudge.sweep_now`).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

import procrastinate
from procrastinate import exceptions as job_errors

from s5sync.scheduling.distributed import (
    CONTROL_PRIORITY,
    CONTROL_QUEUE,
    CYCLE_TASK,
    build_app,
    defer_now,
    every,
)
from s5sync.scheduling.push import PushService
from s5sync.settings import Settings

WATCH_TASK = "s5sync.watch_store"
SWEEP_SECONDS = 30
SWEEP_TASK = "s5sync.subscriptions"  # the periodic control task `register_push` names so
SWEEP_LOCK = "s5sync-subscriptions"

Control = Callable[[str, str, Callable[[], Awaitable[object]]], None]


class DeferringNudge:
    """Defers the woken users' cycle jobs on the deployment's procrastinate queue."""

    def __init__(self, app: procrastinate.App) -> None:
        self.app = app
        self._opened: Any = None

    async def __call__(self, user_ids: list[int]) -> None:
        await self._open()
        for user_id in user_ids:
            await defer_now(self.app, user_id)

    async def sweep_now(self) -> None:
        """R14b: a user became active — the workers' subscription sweep runs now, not at
        its next 30-s tick (its queueing lock: one waiting sweep covers every such user)."""
        await self._open()
        job = self.app.configure_task(
            SWEEP_TASK,
            queue=CONTROL_QUEUE,
            lock=SWEEP_LOCK,
            queueing_lock=SWEEP_LOCK,
            priority=CONTROL_PRIORITY,
        )
        with contextlib.suppress(job_errors.AlreadyEnqueued):
            await job.defer_async(timestamp=int(time.time()))

    async def busy_cycles(self) -> int:
        """Cycle jobs running or due now (the bench waits for none before it stops its
        workers)."""
        await self._open()
        row = await self.app.connector.execute_query_one_async(
            "SELECT count(*) AS busy FROM procrastinate_jobs WHERE task_name = %(task)s "
            "AND (status = 'doing' OR (status = 'todo' AND "
            "(scheduled_at IS NULL OR scheduled_at <= now())))",
            task=CYCLE_TASK,
        )
        return int(row["busy"])

    async def _open(self) -> None:
        if self._opened is None and not self._is_open():
            self._opened = await self.app.open_async()

    def _is_open(self) -> bool:
        pool = getattr(self.app.connector, "_async_pool", None)
        return pool is not None

    async def aclose(self) -> None:
        if self._opened is not None:
            await self.app.close_async()
            self._opened = None


def deferring_nudge(settings: Settings) -> DeferringNudge:
    return DeferringNudge(build_app(settings))


def watch_key(tenant_id: int) -> str:
    return f"s5sync-watch-{tenant_id}"


def register_push(app: procrastinate.App, push: PushService, control: Control) -> None:
    """The watcher's and the subscription manager's tasks on a worker's app."""

    @app.task(name=WATCH_TASK, queue=CONTROL_QUEUE, priority=CONTROL_PRIORITY, retry=False)
    async def watch_store(tenant_id: int) -> int:
        woken = len(await push.watcher.poll(tenant_id))
        await push.wakeups.flush()
        return woken

    async def tick() -> None:
        for tenant_id in await push.watch.due(push.clock()):
            job = watch_store.configure(
                lock=watch_key(tenant_id), queueing_lock=watch_key(tenant_id)
            )
            with contextlib.suppress(job_errors.AlreadyEnqueued):
                await job.defer_async(tenant_id=tenant_id)

    async def sweep() -> None:
        await push.manager.sweep()
        await push.wakeups.flush()

    control("watch", every(1), tick)
    control("subscriptions", every(SWEEP_SECONDS), sweep)
