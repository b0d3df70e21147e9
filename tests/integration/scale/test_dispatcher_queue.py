"""The dispatcher against procrastinate's real queue in PostgreSQL (R14; issue 12).

One job per due user, deferred one by one; a user already queued is not queued twice;
Sync now brings a user's waiting job forward; the reaper leaves live jobs alone.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from s5sync.bench.world import add_users
from s5sync.entrypoints.bootstrap import build_services
from s5sync.scheduling.distributed import (
    CYCLE_TASK,
    DistributedScheduler,
    apply_schema,
    build_app,
    user_key,
)
from s5sync.settings import Settings
from s5sync.store.migrate import upgrade
from s5sync.store.models import AppUser
from s5sync.store.secrets import SecretBox

pytestmark = pytest.mark.postgres


class NoEngine:
    """No cycle runs in these tests: only the queue is looked at."""

    async def run_user_cycle(self, user: Any, now: datetime) -> Any:
        raise AssertionError("no cycle should run here")


async def test_due_users_are_queued_once_each_and_sync_now_comes_first_R14(fresh_pg: Any) -> None:
    url = fresh_pg("dispatch")
    upgrade(url)
    settings = Settings(
        database_url=url.replace("postgresql://", "postgresql+asyncpg://", 1),
        secret_keys=SecretBox.generate_key(),
        scheduler="procrastinate",
        procrastinate_dsn=url,
    )
    assert await apply_schema(settings) is True
    assert await apply_schema(settings) is False  # `db upgrade` twice is harmless
    now = datetime.now(UTC)
    services = build_services(settings)
    try:
        tenant = await services.directory.create_tenant(
            "t", "Store", "sqlite://", now, background_sync=True
        )
        users = await add_users(services, tenant.id, [1, 2, 3], now)
        async with services.db.transaction() as session:  # their previous cycles' rhythm
            for user, due in zip(users, (-60, -5, 20), strict=True):
                await session.execute(
                    update(AppUser)
                    .where(AppUser.id == user.id)
                    .values(next_run_at=now + timedelta(seconds=due))
                )
        app = build_app(settings)
        scheduler = DistributedScheduler(
            app, services.directory, NoEngine(), clock=lambda: datetime.now(UTC)
        )
        async with app.open_async():
            first = await scheduler.dispatch()
            assert (first.due, first.deferred, first.already) == (3, 3, 0)
            again = await scheduler.dispatch()
            assert (again.deferred, again.already) == (0, 3)
            jobs = list(await app.job_manager.list_jobs_async(task=CYCLE_TASK, status="todo"))
            assert sorted(j.queueing_lock or "" for j in jobs) == sorted(
                user_key(u.id) for u in users
            )
            assert all(j.lock == j.queueing_lock for j in jobs)
            waiting = {j.queueing_lock: j.scheduled_at for j in jobs}
            scheduled = waiting[user_key(users[2].id)]
            assert scheduled is not None
            assert scheduled > datetime.now(UTC) + timedelta(seconds=10)

            async with services.scope(tenant.id).begin() as unit:
                await unit.users.request_sync_now(users[2].id)
            await scheduler.dispatch()
            (job,) = await app.job_manager.list_jobs_async(
                queueing_lock=user_key(users[2].id), status="todo"
            )
            # Brought forward (R14): waiting for now — no scheduled_at is procrastinate's
            # "as soon as a worker is free".
            assert job.scheduled_at is None or job.scheduled_at <= datetime.now(UTC) + timedelta(
                seconds=1
            )

            reaped = await scheduler.reap()
            assert (reaped.jobs, reaped.leases) == (0, 0)
    finally:
        await services.aclose()
