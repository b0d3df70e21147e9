"""Notification faults through the product (R14b, R15, R16, R17): the Microsoft 365
emulator drops, duplicates, delays and reorders Graph change notifications, the web app's
endpoint is down for an hour or until the emulator gives up, Graph reports `missed`,
removes the subscription or lets it expire — and every tagged event still becomes exactly
one System Five task, by the next notification or by the safety cycle. A notification is
a hint, never data: the cycle reads the delta.

Everything runs as `serve` runs it: the web app (local scheduler, push loop), the
emulator's delivery worker on the same loop, the emulator's clock for retries and expiry.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from m365emu.faults import Fault, FaultKind
from m365emu.graph.subscriptions.hub import ChangeNotifications
from m365emu.testing import RunningEmulator
from support.live_push import Gate, emulator_stats, live_push, settled, subscribed, tasks
from support.live_push import wait_for as wait_until
from support.web_world import WebWorld

ALICE = "alice@contoso.example"
NOTIFICATIONS = "*/graph/notifications"
WITHIN = 10.0  # seconds a notified change may take here (the speed is in s5sync bench)


@dataclass
class Live:
    world: WebWorld
    running: RunningEmulator
    gate: Gate
    before: dict[str, int]  # faults fired before this test (the emulator is shared)

    @property
    def hub(self) -> ChangeNotifications:
        hub = self.running.emulator.notifications
        assert isinstance(hub, ChangeNotifications)
        return hub

    def arm(self, kind: FaultKind, *, count: int = 1, delay: float = 0.0) -> None:
        fault = Fault("POST", NOTIFICATIONS, kind, count=count, delay_seconds=delay)
        self.running.emulator.faults.add(fault)

    def fired(self, kind: FaultKind) -> int:
        return self.running.emulator.faults.fired.get(kind, 0) - self.before.get(kind, 0)

    def post_event(self, title: str, *, hours: int = 0) -> str:
        start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2, hours=hours)
        with self.world.graph(ALICE) as graph:
            answer = graph.post(
                "/me/events",
                json={
                    "subject": f"[sync] {title}",
                    "start": {"dateTime": start.isoformat(), "timeZone": "UTC"},
                    "end": {
                        "dateTime": (start + timedelta(hours=1)).isoformat(),
                        "timeZone": "UTC",
                    },
                },
            )
            assert answer.status_code == 201, answer.text
            return str(answer.json()["id"])

    def rename(self, event_id: str, title: str) -> None:
        with self.world.graph(ALICE) as graph:
            answer = graph.patch(f"/me/events/{event_id}", json={"subject": f"[sync] {title}"})
            assert answer.status_code == 200, answer.text

    async def crossed(self, *titles: str) -> None:
        await wait_until(lambda: all(t in tasks(self.world) for t in titles), WITHIN)
        await settled(self.world, ALICE)

    async def safety_cycle(self) -> None:
        """The periodic cycle falls due (its `safety_minutes` have passed) and the
        scheduler runs it — the same path as every hour, without waiting the hour."""
        user = await self.world.user(ALICE)
        async with self.world.services.db.connection() as conn:
            await conn.execute(
                text("UPDATE app_user SET next_run_at = :at WHERE id = :id"),
                {"at": datetime.now(UTC) - timedelta(seconds=1), "id": user.id},
            )
        before = user.last_run_at
        await self.world.app.state.scheduler.wake()

        async def ran() -> bool:
            return (await self.world.user(ALICE)).last_run_at != before

        for _ in range(200):
            if await ran():
                break
            await self.world.app.state.scheduler.wake()
            await asyncio.sleep(0.05)
        assert await ran(), "the safety cycle did not run"
        await settled(self.world, ALICE)

    async def step_clock(self, total: timedelta, step: timedelta) -> None:
        """Move the emulator's clock on by `total` in `step`s, letting due retries run."""
        clock = self.running.emulator.clock
        moment = clock.now()
        end = moment + total
        while moment < end:
            moment = min(moment + step, end)
            clock.set(moment)
            self.hub.worker.wake()
            await self.hub.worker.settle()

    async def fire(self, event: str) -> None:
        async with httpx.AsyncClient() as control:
            answer = await control.post(
                f"{self.world.running.urls.control}/lifecycle",
                json={"event": event, "email": ALICE},
            )
            answer.raise_for_status()

    async def idle_cycle_writes_nothing(self) -> None:
        """R17: after the faults, one more cycle finds nothing to do on either side."""
        result: Any = await self.world.cycle(ALICE)
        assert result.outcome == "ok", result
        assert result.decisions == () or all(
            type(d).__name__ == "Skip" for d in result.decisions
        ), result.decisions


def once(world: WebWorld, *titles: str) -> None:
    """R16: each title is exactly one task."""
    found = tasks(world)
    for title in titles:
        assert found.count(title) == 1, (title, found)


@pytest.fixture
async def live(world: WebWorld, running: RunningEmulator) -> AsyncIterator[Live]:
    async with live_push(world, running, ALICE) as gate:
        await subscribed(world, ALICE)
        yield Live(world, running, gate, dict(running.emulator.faults.fired))


async def test_a_dropped_notification_is_caught_up_by_the_next_one_R14b_R16(
    live: Live,
) -> None:
    live.arm(FaultKind.DROP)
    live.post_event("Dropped")
    await live.hub.worker.settle()
    await settled(live.world, ALICE)
    assert live.fired(FaultKind.DROP) == 1
    assert "Dropped" not in tasks(live.world)  # no hint arrived, no cycle ran
    live.post_event("Next", hours=2)
    await live.crossed("Dropped", "Next")
    once(live.world, "Dropped", "Next")
    await live.idle_cycle_writes_nothing()


async def test_a_dropped_notification_is_caught_up_by_the_safety_cycle_R14b(
    live: Live,
) -> None:
    live.arm(FaultKind.DROP)
    live.post_event("Lost hint")
    await live.hub.worker.settle()
    await settled(live.world, ALICE)
    assert "Lost hint" not in tasks(live.world)
    await live.safety_cycle()
    once(live.world, "Lost hint")
    user = await live.world.user(ALICE)
    assert user.next_run_at is not None
    # R14b: the next periodic cycle is the safety net again (60 minutes), not 10.
    assert user.next_run_at - datetime.now(UTC) > timedelta(minutes=50)


async def test_a_duplicated_notification_makes_no_duplicate_R16_R17(live: Live) -> None:
    live.arm(FaultKind.DUPLICATE, count=2)
    live.post_event("Twice")
    await live.crossed("Twice")
    live.post_event("Twice again", hours=2)
    await live.crossed("Twice again")
    once(live.world, "Twice", "Twice again")
    assert live.fired(FaultKind.DUPLICATE) == 2
    deliveries = (await emulator_stats(live.world))["deliveries"]
    assert deliveries["outcomes"].get("delivered", 0) >= 2
    await live.idle_cycle_writes_nothing()


async def test_a_delayed_notification_still_crosses_once_R14b(live: Live) -> None:
    live.arm(FaultKind.DELAY, delay=1.5)
    live.post_event("Late")
    await live.crossed("Late")
    once(live.world, "Late")
    assert live.fired(FaultKind.DELAY) == 1


async def test_reordered_notifications_leave_the_latest_version_R15_R16(live: Live) -> None:
    live.arm(FaultKind.REORDER, delay=1.0)  # "created" is held back behind "updated"
    event_id = live.post_event("First title")
    live.rename(event_id, "Second title")
    await live.crossed("Second title")
    await live.hub.worker.settle()
    await settled(live.world, ALICE)
    found = tasks(live.world)
    assert "First title" not in found, found
    once(live.world, "Second title")
    assert live.fired(FaultKind.REORDER) == 1
    await live.idle_cycle_writes_nothing()


async def test_an_endpoint_down_for_an_hour_is_caught_up_by_graphs_retry_R14b(
    live: Live,
) -> None:
    live.gate.down = True
    live.post_event("While down")
    await live.step_clock(timedelta(hours=1), timedelta(minutes=10))
    assert live.gate.refused >= 4  # Graph retried through the hour
    assert "While down" not in tasks(live.world)
    live.gate.down = False
    await live.step_clock(timedelta(minutes=10), timedelta(minutes=10))  # the next retry
    await live.crossed("While down")
    once(live.world, "While down")
    await live.idle_cycle_writes_nothing()


async def test_when_graph_gives_up_its_missed_notice_catches_up_R14b(live: Live) -> None:
    live.gate.down = True  # only change notifications: the lifecycle URL answers
    live.post_event("Given up")
    await live.step_clock(timedelta(hours=4, minutes=10), timedelta(minutes=10))
    outcomes = (await emulator_stats(live.world))["deliveries"]["outcomes"]
    assert outcomes.get("discarded", 0) == 1, outcomes
    await live.crossed("Given up")  # woken by `missed`, read through the delta
    once(live.world, "Given up")


async def test_a_missed_lifecycle_event_catches_up_R14b(live: Live) -> None:
    live.arm(FaultKind.DROP)
    live.post_event("Missed one")
    await live.hub.worker.settle()
    await settled(live.world, ALICE)
    await live.fire("missed")
    await live.crossed("Missed one")
    once(live.world, "Missed one")
    assert len((await emulator_stats(live.world))["subscriptions"]) == 1  # kept


async def test_a_removed_subscription_is_made_again_and_nothing_is_lost_R14b(
    live: Live,
) -> None:
    await live.fire("subscriptionRemoved")
    live.post_event("Unsubscribed")  # no subscription now: no notification for this
    manager = live.world.app.state.push.manager
    for _ in range(100):
        await manager.sweep()
        if len((await emulator_stats(live.world))["subscriptions"]) == 1:
            break
        await asyncio.sleep(0.05)
    # The new subscription's catch-up cycle reads the delta: the change made meanwhile.
    await live.crossed("Unsubscribed")
    live.post_event("Subscribed again", hours=2)
    await live.crossed("Subscribed again")
    once(live.world, "Unsubscribed", "Subscribed again")


async def test_an_expired_subscription_leaves_the_safety_cycle_then_is_made_again_R14b(
    live: Live,
) -> None:
    clock = live.running.emulator.clock
    clock.set(datetime.now(UTC) + timedelta(days=7, hours=1))
    await wait_until(lambda: not live.hub.book.all(), 5.0)  # Graph's sweep: expired
    clock.clear()
    live.post_event("After expiry")  # nobody is notified
    await live.hub.worker.settle()
    await live.safety_cycle()
    once(live.world, "After expiry")
    # The product's renewal finds it gone (404), drops the row, and makes a new one.
    rows = live.world.app.state.push.rows
    user = await live.world.user(ALICE)
    await rows.renew_soon(user.tenant_id, user.id, datetime.now(UTC))
    await live.world.app.state.push.manager.sweep()
    await live.world.app.state.push.manager.sweep()
    assert len(live.hub.book.all()) == 1
    await settled(live.world, ALICE)
    live.post_event("Live again", hours=2)
    await live.crossed("Live again")
    once(live.world, "After expiry", "Live again")
