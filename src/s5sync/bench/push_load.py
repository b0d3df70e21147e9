"""The push bench's load figures (issue 19; bench/push.py items 3 and 4): the notification
endpoint flooded from a process of its own, and a burst of one notification per user
until that many cycles have finished on the local scheduler."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import distinct, func, select, update

from s5sync.bench.endpoint import flood_endpoint, note
from s5sync.bench.world import TENANT
from s5sync.core.records import UserRecord
from s5sync.store.models import AppUser, SyncRun

if TYPE_CHECKING:
    from s5sync.bench.push import PushWorld


def _now() -> datetime:
    return datetime.now(UTC)


def _body(world: PushWorld, user: UserRecord, n: int) -> bytes:
    ms_tenant = TENANT
    return note(
        {
            "subscriptionId": world.subscription_ids[user.id],
            "clientState": world.secrets[user.id],
            "changeType": "updated",
            "resource": f"Users/{user.object_id}/Events/bench-{n}",
            "resourceData": {"@odata.etag": f'W/"{n}"', "id": f"bench-{n}"},
            "subscriptionExpirationDateTime": "2026-12-31T00:00:00Z",
            "tenantId": ms_tenant,
        }
    )


async def flood(world: PushWorld) -> dict[str, Any]:
    """Valid notifications for the world's users, from `bench/flood.py` (item 3).

    First one per user, reported apart as `cold`: each is its subscription's first
    notification in this process, so its key is read from the database (the intake then
    caches it for a minute); then the measured flood, with every key cached — a steady
    stream of notifications, as after its first minute."""
    users, total = world.users, world.config.notifications
    first = [_body(world, user, 20_000_000 + user.id) for user in users]
    cold = await flood_endpoint(world.endpoint, first, world.push.wakeups.flush)
    bodies = [_body(world, users[n % len(users)], n) for n in range(total)]
    steady = await flood_endpoint(world.endpoint, bodies, world.push.wakeups.flush)
    keys = ("notifications", "per_second", "p50_ms", "p99_ms", "max_ms")
    return {**steady, "cold": {key: cold[key] for key in keys}}


async def burst(world: PushWorld) -> dict[str, Any]:
    """One notification per user until every user's cycle has finished (item 4)."""
    async with world.services.db.connection() as conn:
        await conn.execute(update(AppUser).values(sync_now_requested=False))
    bodies = [_body(world, u, 10_000_000 + u.id) for u in world.users]
    world.scheduler.start()
    started_at, wall0, cpu0 = _now(), time.monotonic(), time.process_time()
    # Sent as Graph would, all at once from outside (bench/flood.py, 64 in flight),
    # while this process answers them and runs the cycles they wake.
    sending = asyncio.create_task(flood_endpoint(world.endpoint, bodies, world.push.wakeups.flush))
    answered = await sending
    posted = time.monotonic() - wall0
    if answered["answers"] != {"202": len(bodies)}:
        raise RuntimeError(f"the burst was not accepted whole: {answered['answers']}")
    done = 0
    while done < len(world.users):
        if time.monotonic() - wall0 > 600:
            raise RuntimeError(f"only {done} of {len(world.users)} cycles in 10 minutes")
        await asyncio.sleep(0.2)
        done = await _finished_since(world, started_at)
    wall = time.monotonic() - wall0
    cpu = time.process_time() - cpu0
    await world.scheduler.stop()
    return {
        "users": len(world.users),
        "all_answered_s": round(posted, 2),
        "all_cycles_finished_s": round(wall, 1),
        "cycles_per_second": round(len(world.users) / wall, 1),
        "cpu_ms_per_cycle_with_notification": round(1000 * cpu / len(world.users), 2),
    }


async def _finished_since(world: PushWorld, moment: datetime) -> int:
    query = select(func.count(distinct(SyncRun.user_id))).where(
        SyncRun.started_at >= moment, SyncRun.finished_at.is_not(None)
    )
    async with world.services.db.connection(write=False) as conn:
        return int((await conn.execute(query)).scalar_one())
