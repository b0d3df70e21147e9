"""Graph requests and worker CPU per idle user-hour, push vs poll (issue 19; bench/push.py
item 2): measured unit costs — an idle cycle, a subscription renewal, a sweep and a
watcher poll with nothing to do — composed per hour. Poll: 60 / interval idle cycles.
Push (the local driver): 60 / safety_minutes idle cycles, one renewal per mean renewal
period, and the user's share, over the world's users, of the subscription sweeps (every
`SWEEP_SECONDS`), of the store's watcher polls (every `s5_poll_seconds`, default 15 s;
the watermark cached in the process), of the push loop's wake-ups (no tick: it wakes
when a store's poll, a sweep or the periods' read is due — 3600 / 15 + 3600 / 30 an hour,
each measured as a wake-up with nothing due) and of its reads of the stores' `s5_poll_seconds`
(when a store is due, at least every `PERIODS_SECONDS`: every 15 s with the default
period). A procrastinate worker's watcher poll (the
watermark read and written each time) is measured beside it, not composed.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from s5sync.outlook.subscriptions import LIFETIME
from s5sync.scheduling.push import PERIODS_SECONDS, SWEEP_SECONDS
from s5sync.scheduling.renewals import EARLIEST, SPREAD

if TYPE_CHECKING:
    from s5sync.bench.push import PushWorld
    from s5sync.scheduling.push import PushService

DEFAULT_WATCH_SECONDS = 15
INTERVAL_MINUTES = 10
SAFETY_MINUTES = 60


def _now() -> datetime:
    return datetime.now(UTC)


async def _mean_cpu_ms(action: Callable[[], Awaitable[object]], times: int) -> float:
    spent = []
    for _ in range(times):
        start = time.process_time()
        await action()
        spent.append(time.process_time() - start)
    return 1000 * statistics.mean(spent)


def _wakeup(push: PushService) -> Callable[[], Awaitable[object]]:
    """One wake-up of the local loop with nothing due: its poll times just read (as after
    a poll), an asyncio wait's own cost included."""

    async def tick() -> None:
        await push.poll_stores()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.Event().wait(), timeout=0.001)

    return tick


async def unit_costs(world: PushWorld) -> dict[str, float]:
    """Each unit's worker CPU (ms), measured in this run; requests of an idle cycle."""
    cpu, requests = [], []
    for user in world.users[: max(world.config.tries, 20)]:
        fresh = await world._user(user.id)
        start = time.process_time()
        result = await world.engine.run_user_cycle(fresh, _now())
        cpu.append(time.process_time() - start)
        requests.append(int(result.requests.get("requests", 0)))
    renew = []
    for user in world.users[: world.config.tries]:
        start = time.process_time()
        await world.gateway(user).renew(world.subscription_ids[user.id], _now() + LIFETIME)
        renew.append(time.process_time() - start)
    push, tenant = world.push, world.tenant_id
    await push.local_watcher.poll(tenant)  # its watermark read once (then cached)
    await push.poll_stores()  # the periods known, the store just polled: nothing due
    return {
        "cpu_ms_idle_cycle": 1000 * statistics.mean(cpu),
        "requests_per_idle_cycle": statistics.mean(requests),
        "cpu_ms_renewal": 1000 * statistics.mean(renew),
        "cpu_ms_sweep_nothing_due": await _mean_cpu_ms(push.manager.sweep, 10),
        "cpu_ms_watcher_poll_nothing_new": await _mean_cpu_ms(
            lambda: push.local_watcher.poll(tenant), 10
        ),
        "cpu_ms_watcher_poll_procrastinate": await _mean_cpu_ms(
            lambda: push.watcher.poll(tenant), 10
        ),
        "cpu_ms_periods_read": await _mean_cpu_ms(push.watch.poll_seconds, 20),
        "cpu_ms_loop_wakeup": await _mean_cpu_ms(_wakeup(push), 20),
    }


async def idle_costs(world: PushWorld) -> dict[str, Any]:
    """The unit costs composed per idle user-hour, push (the local driver) vs poll."""
    unit = await unit_costs(world)
    cycle_ms, cycle_requests = unit["cpu_ms_idle_cycle"], unit["requests_per_idle_cycle"]
    users = len(world.users)
    lifetime_h = LIFETIME.total_seconds() / 3600
    renewals_per_hour = 1 / (lifetime_h * (EARLIEST + SPREAD / 2))
    push_cycles = 60 / SAFETY_MINUTES
    poll_cycles = 60 / INTERVAL_MINUTES
    shares = {  # the user's share of the process's and the store's periodic work
        "of_which_sweeps_ms": unit["cpu_ms_sweep_nothing_due"] * (3600 / SWEEP_SECONDS) / users,
        "of_which_watcher_ms": unit["cpu_ms_watcher_poll_nothing_new"]
        * (3600 / DEFAULT_WATCH_SECONDS)
        / users,
        "of_which_loop_wakeups_ms": unit["cpu_ms_loop_wakeup"]
        * (3600 / min(PERIODS_SECONDS, DEFAULT_WATCH_SECONDS) + 3600 / SWEEP_SECONDS)
        / users,
        "of_which_periods_reads_ms": unit["cpu_ms_periods_read"]
        * (3600 / min(PERIODS_SECONDS, DEFAULT_WATCH_SECONDS))
        / users,
    }
    push_cpu = push_cycles * cycle_ms + renewals_per_hour * unit["cpu_ms_renewal"]
    push_cpu += sum(shares.values())
    poll_cpu = poll_cycles * cycle_ms
    return {
        "measured": {name: round(value, 3) for name, value in unit.items()},
        "users": users,
        "poll": {
            "requests_per_idle_user_hour": round(poll_cycles * cycle_requests, 3),
            "cpu_ms_per_idle_user_hour": round(poll_cpu, 2),
        },
        "push": {
            "requests_per_idle_user_hour": round(
                push_cycles * cycle_requests + renewals_per_hour, 3
            ),
            "cpu_ms_per_idle_user_hour": round(push_cpu, 2),
            **{name: round(value, 3) for name, value in shares.items()},
        },
        "cpu_poll_over_push": round(poll_cpu / max(push_cpu, 1e-9), 2),
    }
