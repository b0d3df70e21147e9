"""A burst of change notifications is one cycle on the local scheduler (R14b, R14).

The web app as `serve` runs it (local scheduler, push loop), the Microsoft 365 emulator
holding Alice's subscription; genuine notifications (her subscription id, its client
state, her store's tenant, a distinct etag each, so none is filtered as a repeat) go
through the real `/graph/notifications` route. What is proven from her `sync_run` rows:
a burst of 40 is at most two cycles (never 40), and a burst that arrives while her cycle
runs leaves exactly one more cycle, which carries the change made during the cycle
(as Sync now does, R14). The emulator's own deliveries are dropped here, so every
notification that reaches the app is one the test sent.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from m365emu.faults import Fault, FaultKind
from m365emu.testing import RunningEmulator
from s5sync.store.subscriptions import SubscriptionKey
from support.live_push import live_push, settled, subscribed, tasks, wait_for
from support.web_world import WebWorld

ALICE = "alice@contoso.example"
BURST = 40
ETAGS = itertools.count(1)


@pytest.fixture
async def live(world: WebWorld, running: RunningEmulator) -> AsyncIterator[WebWorld]:
    async with live_push(world, running, ALICE):
        try:
            yield world
        finally:
            running.emulator.latency_ms = 0


def utc(value: object) -> datetime | None:
    """A stored time (SQLite gives text) as an aware UTC datetime."""
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def runs(world: WebWorld) -> list[tuple[int, datetime, datetime | None]]:
    """Alice's cycles (`sync_run` rows): id, start and finish times, oldest first."""
    user = await world.user(ALICE)
    async with world.services.db.connection() as conn:
        found = await conn.execute(
            text(
                "SELECT id, started_at, finished_at FROM sync_run WHERE user_id = :id ORDER BY id"
            ),
            {"id": user.id},
        )
        out = []
        for row in found:
            started = utc(row[1])
            assert started is not None
            out.append((int(row[0]), started, utc(row[2])))
        return out


def post_event(world: WebWorld, title: str, hours: int) -> str:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2, hours=hours)
    with world.graph(ALICE) as graph:
        answer = graph.post(
            "/me/events",
            json={
                "subject": f"[sync] {title}",
                "start": {"dateTime": start.isoformat(), "timeZone": "UTC"},
                "end": {"dateTime": (start + timedelta(hours=1)).isoformat(), "timeZone": "UTC"},
            },
        )
        assert answer.status_code == 201, answer.text
        return str(answer.json()["id"])


async def burst(world: WebWorld, key: SubscriptionKey, sub_id: str, event_id: str) -> None:
    """`BURST` genuine notifications at once, each a distinct change (its own etag)."""
    client = world.browser()

    async def one() -> None:
        body = {
            "value": [
                {
                    "subscriptionId": sub_id,
                    "clientState": key.client_state,
                    "changeType": "updated",
                    "resource": f"Users/x/Events/{event_id}",
                    "resourceData": {
                        "@odata.type": "#Microsoft.Graph.Event",
                        "@odata.etag": f'W/"{next(ETAGS)}"',
                        "id": event_id,
                    },
                    "tenantId": key.ms_tenant_id,
                }
            ]
        }
        answer = await client.post("/graph/notifications", json=body)
        assert answer.status_code == 202

    await asyncio.gather(*(one() for _ in range(BURST)))


async def test_a_burst_is_one_cycle_and_one_during_a_cycle_leaves_exactly_one_more_R14b(
    live: WebWorld, running: RunningEmulator
) -> None:
    sub_id = str((await subscribed(live, ALICE))[0]["id"])
    key = await live.app.state.push.rows.lookup(sub_id)
    assert key is not None
    running.emulator.faults.add(Fault("POST", "*/graph/notifications", FaultKind.DROP, count=999))

    # A burst of 40 while nothing runs: one cycle (two if the burst straddles a flush
    # and the cycle took its lease in between), never one per notification.
    before = len(await runs(live))
    first = post_event(live, "Burst", 0)
    await burst(live, key, sub_id, first)
    await wait_for(lambda: "Burst" in tasks(live), 10.0)
    await settled(live, ALICE)
    assert 1 <= len(await runs(live)) - before <= 2

    # A burst during her cycle: the cycle is under way (each Graph answer slowed), a
    # change is made, 40 notifications of it arrive and are written (her flag and
    # `last_change_at`) while that cycle still runs; exactly one more cycle follows and
    # carries the change.
    running.emulator.latency_ms = 1000
    for attempt in range(3):  # the burst must land inside the cycle (checked below)
        await settled(live, ALICE)
        done = len(await runs(live))
        await burst(live, key, sub_id, first)
        for _ in range(500):  # a bound for a hang, not a timing claim
            ran = await runs(live)
            if len(ran) > done and ran[-1][2] is None:
                break
            await asyncio.sleep(0.01)
        ran = await runs(live)
        assert len(ran) == done + 1, "no cycle started"
        assert ran[-1][2] is None, "no cycle under way"
        under_way, started = ran[-1][0], ran[-1][1]
        title = f"During {attempt}"
        # Graph applies the change before its (slowed) answer: the burst need not wait.
        made = asyncio.create_task(asyncio.to_thread(post_event, live, title, attempt + 1))
        await asyncio.sleep(0.1)
        await burst(live, key, sub_id, first)
        await made
        await wait_for(lambda: title in tasks(live), 20.0)  # noqa: B023
        await settled(live, ALICE)
        noted = (await live.user(ALICE)).last_change_at  # the last burst's last write
        finished = next(f for i, _, f in await runs(live) if i == under_way)
        assert noted is not None
        assert finished is not None
        if started < noted < finished:
            break  # the burst was written while that cycle ran: the case under test
    else:
        pytest.fail("every burst missed the cycle it was meant to land in")
    await asyncio.sleep(1.0)  # room for a wrong extra cycle to show
    after = await runs(live)
    assert len(after) == done + 2, after[done:]  # the one under way, exactly one more
    assert all(finished is not None for _, _, finished in after)
    assert not (await live.user(ALICE)).sync_now_requested
    assert sorted(tasks(live)).count(title) == 1  # R16
    assert sorted(tasks(live)).count("Burst") == 1
