"""The distributed scheduler on procrastinate (DESIGN.md "Scheduling"; R14, R16, R23b).

`S5SYNC_SCHEDULER=procrastinate`: any number of `s5sync worker` processes share one
PostgreSQL job queue. Three tasks:

- the **dispatcher** (periodic, every `dispatch_seconds`): lists the users due before its
  next tick and defers one `run_cycle` job per user, one by one, with `lock` and
  `queueing_lock` both keyed by the user, so a user is never queued twice nor run twice
  by the queue (`AlreadyEnqueued` is handled per user; `batch_defer` would fail whole).
  Users due at a known time run at that time; users with no rhythm yet (never run, or
  left waiting for more than an interval while no worker ran) get a fixed phase within
  the interval from their id, so a cold start of many users spreads evenly over the
  interval instead of arriving at once. Sync now runs at once;
- **run_cycle**: re-checks the user is still due and runs the one `run_user_cycle` every
  driver calls. The job queue is never the guarantee: the cycle's own lease and fencing
  token are (R16), and procrastinate's retries are off — a throttled cycle records its
  own next due time (R23b);
- the **reaper** (periodic): jobs left `doing` by a worker that stopped sending
  heartbeats (killed) are finished as `aborted` (`JobManager.get_stalled_jobs`), so the
  user's `lock` no longer blocks the next cycle, and the user's lease is cleared once
  it has expired. The lease lasts less than the interval (0.9 × interval, at most 8
  minutes), so a killed cycle never costs the user more than one interval.

Nothing is built at import: `build_app(settings)` (queue.py) makes the procrastinate
app, and `DistributedScheduler` registers the tasks on it for one worker process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import procrastinate
from procrastinate import exceptions as job_errors
from procrastinate.jobs import Status

from s5sync.core.records import UserRecord
from s5sync.scheduling.queue import apply_schema as apply_schema  # re-exported
from s5sync.scheduling.queue import build_app as build_app
from s5sync.scheduling.queue import procrastinate_dsn as procrastinate_dsn
from s5sync.store.directory import Directory
from s5sync.sync import holders

if TYPE_CHECKING:
    from s5sync.alerts.service import Alerts
    from s5sync.scheduling.push import PushService

log = logging.getLogger(__name__)

CYCLE_TASK = "s5sync.run_cycle"
CYCLE_QUEUE = "cycles"
CONTROL_QUEUE = "control"
CONTROL_PRIORITY = 10  # dispatcher and reaper go before waiting cycles
DISPATCH_SECONDS = 30
REAP_SECONDS = 30
RETRY_SECONDS = 5.0  # a worker whose database went away tries again this often
GOLDEN = (math.sqrt(5) - 1) / 2  # consecutive ids land far apart in the interval


def every(seconds: int) -> str:
    """A cron line (6th column = seconds) firing every `seconds`."""
    if 0 < seconds < 60 and 60 % seconds == 0:
        return f"* * * * * */{seconds}"
    if seconds % 60 == 0 and 60 % (seconds // 60) == 0:
        return f"*/{seconds // 60} * * * *"
    raise ValueError(f"{seconds} s does not divide a minute or an hour evenly")


def user_key(user_id: int) -> str:
    return f"s5sync-user-{user_id}"


def holder_name() -> str:
    """The lease holder written on the user row: which process runs the cycle (its
    host, id and start time: sync/holders.py)."""
    return holders.holder_name("worker")


def cycle_job(app: procrastinate.App, user_id: int) -> Any:
    """The user's cycle job, to defer now: one queued per user, one running per user."""
    key = user_key(user_id)
    return app.configure_task(CYCLE_TASK, queue=CYCLE_QUEUE, lock=key, queueing_lock=key)


async def bring_forward(app: procrastinate.App, user_id: int) -> None:
    """Sync now (or a change, R14b) on a user whose job waits for later: replace it with
    one for now. A job waiting for now, or running, already covers it (the running one
    leaves `sync_now_requested` for the one queued behind it)."""
    key = user_key(user_id)
    waiting = await app.job_manager.list_jobs_async(queueing_lock=key, status="todo")
    for job in waiting:
        later = job.scheduled_at is not None and job.scheduled_at > datetime.now(UTC)
        if job.id is None or not later:
            continue
        if await app.job_manager.cancel_job_by_id_async(job.id, delete_job=True):
            # Another dispatcher may have done the same: one job is enough.
            with contextlib.suppress(job_errors.AlreadyEnqueued):
                await cycle_job(app, user_id).defer_async(user_id=user_id)


async def defer_now(app: procrastinate.App, user_id: int) -> None:
    """R14b: the user's cycle as soon as a worker is free (coalesced by the queueing lock)."""
    try:
        await cycle_job(app, user_id).defer_async(user_id=user_id)
    except job_errors.AlreadyEnqueued:
        await bring_forward(app, user_id)


@dataclass
class DispatchReport:
    due: int = 0
    deferred: int = 0
    already: int = 0
    later: int = 0


@dataclass
class ReapReport:
    jobs: int = 0
    leases: int = 0


class DistributedScheduler:
    """The three tasks of one worker process, bound to its cycle engine.

    `clock` is the cycles' clock and `speed` how many of its seconds pass per real
    second (1 in production; tests run a faster clock so an interval takes seconds)."""

    def __init__(
        self,
        app: procrastinate.App,
        directory: Directory,
        engine: Any,
        *,
        clock: Callable[[], datetime],
        speed: float = 1.0,
        dispatch_seconds: int = DISPATCH_SECONDS,
        reap_seconds: int = REAP_SECONDS,
        stalled_after: float = 60.0,
        batch: int = 20_000,
        alerts: Alerts | None = None,
        push: PushService | None = None,
    ) -> None:
        self.app = app
        self.directory = directory
        self.engine = engine
        self.clock = clock
        self.speed = speed
        self.dispatch_seconds = dispatch_seconds
        self.stalled_after = stalled_after
        self.batch = batch
        self.running = False  # procrastinate's worker runs (issue 22: /healthz)
        self.alerts = alerts
        self.push = push
        self._register(every(dispatch_seconds), every(reap_seconds))

    def _register(self, dispatch_cron: str, reap_cron: str) -> None:
        @self.app.task(name=CYCLE_TASK, queue=CYCLE_QUEUE, retry=False)
        async def run_cycle(user_id: int) -> str:
            return await self.run_cycle(user_id)

        self._control("dispatch", dispatch_cron, self.dispatch)
        self._control("reap", reap_cron, self.reap)
        if self.alerts is not None:  # R21d: decided and delivered by one worker a minute
            self._control("alerts", every(60), self.alerts.run)
        if self.push is not None:  # R14b: the System Five watcher and the subscriptions
            from s5sync.scheduling.push_jobs import register_push

            register_push(self.app, self.push, self._control)

        self.cycle_task = run_cycle

    def _control(self, name: str, cron: str, action: Callable[[], Awaitable[object]]) -> None:
        """A periodic control task: one at a time across workers, never queued twice."""

        @self.app.periodic(cron=cron, periodic_id=name)
        @self.app.task(
            name=f"s5sync.{name}",
            queue=CONTROL_QUEUE,
            lock=f"s5sync-{name}",
            queueing_lock=f"s5sync-{name}",
            priority=CONTROL_PRIORITY,
            retry=False,
        )
        async def control(timestamp: int) -> None:
            await action()

    # -- time ------------------------------------------------------------------------

    def real_time(self, at: datetime, now: datetime) -> datetime:
        """The wall-clock moment (procrastinate's) of the cycle clock's `at`."""
        return datetime.now(UTC) + (at - now) / self.speed

    def horizon(self) -> timedelta:
        """Users due before the dispatcher's next tick are queued now."""
        return timedelta(seconds=self.dispatch_seconds * self.speed)

    def start_at(self, user: UserRecord, now: datetime, interval: timedelta) -> datetime:
        """When the user's cycle should start.

        Sync now: at once. A user with a rhythm: at `next_run_at`. A user without one
        (never run, or left waiting more than an interval while no worker ran): at the
        user's fixed phase within the interval, so a cold start spreads evenly."""
        if user.sync_now_requested:
            return now
        if user.next_run_at is not None and user.next_run_at >= now - interval:
            return max(user.next_run_at, now)
        span = interval.total_seconds()
        phase = (user.id * GOLDEN) % 1.0 * span
        return now + timedelta(seconds=(phase - now.timestamp()) % span)

    # -- tasks -----------------------------------------------------------------------

    async def dispatch(self) -> DispatchReport:
        """Defer one cycle job per due user (R14), each on its own."""
        now = self.clock()
        due = await self.directory.due_users(now, limit=self.batch, horizon=self.horizon())
        report = DispatchReport(due=len(due))
        intervals = {
            t.id: timedelta(minutes=t.options.interval_minutes)
            for t in await self.directory.tenants()
        }
        first: dict[int, tuple[datetime, datetime]] = {}
        queued = await self.queued_users()
        for user in due:
            interval = intervals.get(user.tenant_id, timedelta(minutes=10))
            at = self.start_at(user, now, interval)
            if user.next_run_at is None or user.next_run_at < now - interval:
                # Written down, so a later tick finds the user due at that time however
                # late the tick runs.
                first[user.id] = (at, now - interval)
            if at >= now + self.horizon():
                report.later += 1
                continue
            key = user_key(user.id)
            if key in queued and not user.sync_now_requested:
                report.already += 1  # one look-up for all, not a refused insert each
                continue
            try:
                await self.cycle_task.configure(
                    lock=key, queueing_lock=key, schedule_at=self.real_time(at, now)
                ).defer_async(user_id=user.id)
                report.deferred += 1
            except job_errors.AlreadyEnqueued:
                report.already += 1
                if user.sync_now_requested:
                    await self._bring_forward(user.id, now)
        await self.directory.set_first_runs(first)
        log.info(
            "scheduler.dispatched",
            extra={
                "due": report.due,
                "deferred": report.deferred,
                "already": report.already,
                "later": report.later,
            },
        )
        return report

    async def queued_users(self) -> set[str]:
        """The queueing locks of the cycle jobs waiting in the queue."""
        rows = await self.app.connector.execute_query_all_async(
            "SELECT queueing_lock FROM procrastinate_jobs "
            "WHERE status = 'todo' AND task_name = %(task)s",
            task=CYCLE_TASK,
        )
        return {str(row["queueing_lock"]) for row in rows}

    async def _bring_forward(self, user_id: int, now: datetime) -> None:
        await bring_forward(self.app, user_id)

    async def run_cycle(self, user_id: int) -> str:
        """One user's cycle, if the user is still due (a job may outlive the reason)."""
        now = self.clock()
        slack = timedelta(seconds=2 * self.speed)  # schedule_at is rounded by the queue
        user = await self.directory.due_user(user_id, now, horizon=slack)
        if user is None:
            return "not_due"
        try:
            result = await self.engine.run_user_cycle(user, now)
        except Exception:
            # R23: the engine records its own failures; anything else is logged, not
            # retried (the next dispatch finds the user due again).
            log.exception("scheduler.cycle_failed", extra={"user_id": user_id})
            return "failed"
        return str(result.outcome)

    async def reap(self) -> ReapReport:
        """Finish the jobs of workers that died, and free their expired leases."""
        report = ReapReport()
        stalled = await self.app.job_manager.get_stalled_jobs(
            seconds_since_heartbeat=self.stalled_after
        )
        now = self.clock()
        for job in stalled:
            if job.id is None:
                continue
            try:
                await self.app.job_manager.finish_job_by_id_async(
                    job.id, status=Status.ABORTED, delete_job=False
                )
            except job_errors.ConnectorException:
                continue  # finished meanwhile by its own worker or another reaper
            report.jobs += 1
            user_id = job.task_kwargs.get("user_id") if job.task_name == CYCLE_TASK else None
            if isinstance(user_id, int) and await self.directory.clear_expired_lease(user_id, now):
                report.leases += 1
        if report.jobs:
            log.warning("scheduler.reaped", extra={"jobs": report.jobs, "leases": report.leases})
        return report

    async def run_worker(
        self,
        concurrency: int,
        *,
        heartbeat_seconds: float = 10.0,
        install_signal_handlers: bool = True,
        retry_seconds: float = RETRY_SECONDS,
    ) -> None:
        """Process jobs until SIGTERM/SIGINT, which stops procrastinate's worker gracefully
        (running cycles finish). A database outage also stops it (its listener fails):
        then it starts again every `retry_seconds` until the database answers, so an outage
        makes the worker unhealthy for its duration (`running` is False; the /healthz of
        `entrypoints.worker_health`), not gone (issue 22)."""
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        signals = (signal.SIGINT, signal.SIGTERM) if install_signal_handlers else ()
        for sig in signals:
            loop.add_signal_handler(sig, stop.set)
        try:
            while not stop.is_set():
                worker = asyncio.create_task(self._work(concurrency, heartbeat_seconds))
                stopping = asyncio.create_task(stop.wait())
                try:
                    await asyncio.wait({worker, stopping}, return_when=asyncio.FIRST_COMPLETED)
                finally:  # stopped by a signal, or this coroutine was cancelled
                    stopping.cancel()
                    if not worker.done():
                        worker.cancel()  # procrastinate turns this into its graceful stop
                        with contextlib.suppress(asyncio.CancelledError):
                            await worker
                if stop.is_set():
                    break
                error = worker.exception()
                log.warning(
                    "scheduler.worker_stopped",
                    extra={"error": type(error).__name__ if error else None},
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), retry_seconds)
        finally:
            for sig in signals:
                loop.remove_signal_handler(sig)

    async def _work(self, concurrency: int, heartbeat_seconds: float) -> None:
        try:
            async with self.app.open_async():
                self.running = True
                await self.app.run_worker_async(
                    concurrency=concurrency,
                    name=holder_name(),
                    update_heartbeat_interval=heartbeat_seconds,
                    stalled_worker_timeout=self.stalled_after,
                    delete_jobs="successful",
                    install_signal_handlers=False,  # run_worker's own: see there
                    wait=True,
                    fetch_job_polling_interval=1.0,
                )
        finally:
            self.running = False
