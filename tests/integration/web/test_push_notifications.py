"""Graph change notifications end to end (R14b): the web app subscribes a signed-in
user's calendar on the Microsoft 365 emulator, which delivers every change to
`/graph/notifications` (through the ASGI transport, on this loop), and the local
scheduler runs the user's cycle within seconds — no Sync now, no 10-minute wait.
Forged and junk notifications through the real routes change nothing (R22)."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from m365emu.testing import RunningEmulator
from support.web_world import WebWorld

ALICE = "alice@contoso.example"


@pytest.fixture
async def live(world: WebWorld, running: RunningEmulator) -> AsyncIterator[WebWorld]:
    """Alice signed in with her dashboard open; the emulator's deliveries run on this
    loop into the app; the scheduler and the push loop run as `serve` runs them."""
    hub = running.emulator.notifications
    assert hub is not None
    hub.worker.stop_thread()
    hub.transport = httpx.ASGITransport(app=world.app)
    await world.sign_in(ALICE)
    await world.onboard(ALICE)
    await world.people[ALICE].browser.get("/dashboard")  # R14: the heartbeat
    world.app.state.scheduler.start()
    world.app.state.push.start()
    try:
        async with hub.worker.running():
            yield world
            await hub.worker.settle()  # no delivery cut short inside the app's handler
    finally:
        await world.app.state.push.stop()
        await world.app.state.scheduler.stop()
        hub.transport = None
        hub.reset()
        hub.worker.start_thread()


async def subscribed(world: WebWorld) -> list[dict[str, object]]:
    """Alice's subscription made, and the catch-up cycle it brings finished."""
    await world.app.state.push.manager.sweep()
    async with httpx.AsyncClient() as control:
        stats = (await control.get(f"{world.running.urls.control}/stats")).json()
    assert len(stats["subscriptions"]) == 1, stats["subscriptions"]
    for _ in range(100):
        user = await world.user(ALICE)
        if user.last_run_at is not None and not user.sync_now_requested:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)
    return list(stats["subscriptions"])


async def wait_for(check: object, within: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < within:
        if check():  # type: ignore[operator]
            return time.monotonic() - started
        await asyncio.sleep(0.05)
    raise AssertionError(f"not within {within} s")


def tasks(world: WebWorld) -> list[str]:
    desk = world.stores["contoso"].desk
    with desk.engine.connect() as conn:
        from sqlalchemy import text

        return [row[0] for row in conn.execute(text("SELECT title FROM task"))]


async def test_a_tagged_event_is_a_task_within_seconds_without_sync_now_R14b(
    live: WebWorld,
) -> None:
    await subscribed(live)
    start = datetime.now(UTC) + timedelta(days=2)
    latencies = []
    with live.graph(ALICE) as graph:
        for n in range(20):
            title = f"Visit {n}"
            answer = graph.post(
                "/me/events",
                json={
                    "subject": f"[sync] {title}",
                    "start": {
                        "dateTime": (start + timedelta(hours=n)).isoformat(),
                        "timeZone": "UTC",
                    },
                    "end": {
                        "dateTime": (start + timedelta(hours=n, minutes=30)).isoformat(),
                        "timeZone": "UTC",
                    },
                },
            )
            assert answer.status_code == 201, answer.text
            latencies.append(await wait_for(lambda t=title: t in tasks(live), 10.0))
    p95 = statistics.quantiles(latencies, n=20)[18]
    assert p95 < 3.0, latencies
    assert sorted(tasks(live)).count("Visit 0") == 1  # no duplicate (R16)


async def test_forged_and_junk_notifications_change_nothing_and_are_counted_R14b_R22(
    live: WebWorld,
) -> None:
    sub_id = (await subscribed(live))[0]["id"]
    user = await live.user(ALICE)
    client = live.browser()
    forged = {
        "value": [
            {
                "subscriptionId": sub_id,
                "clientState": "a guess",
                "changeType": "created",
                "resource": "Users/x/Events/y",
                "tenantId": live.stores["contoso"].tenant.ms_tenant_id,
            }
        ]
    }
    assert (await client.post("/graph/notifications", json=forged)).status_code == 202
    assert (await client.post("/graph/notifications", content=b"{junk")).status_code == 400
    big = b"{" + b" " * (2 << 20) + b"}"
    assert (await client.post("/graph/notifications", content=big)).status_code == 413
    await asyncio.sleep(0.3)
    assert not (await live.user(ALICE)).sync_now_requested
    assert (await live.user(ALICE)).last_run_at == user.last_run_at
    metrics = (await client.get("/metrics")).text
    assert 's5sync_graph_notifications_total{result="forged"} 1.0' in metrics
    assert 's5sync_graph_notifications_total{result="malformed"} 1.0' in metrics
    assert 's5sync_graph_notifications_total{result="too_large"} 1.0' in metrics
    assert "a guess" not in metrics


async def test_the_validation_answer_is_the_token_as_plain_text_alone_R14b(
    world: WebWorld,
) -> None:
    client = world.browser()
    for path in ("/graph/notifications", "/graph/lifecycle"):
        token = "<script>alert('x')</script> Validation: Testing client application"
        answer = await client.post(path, params={"validationToken": token})
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/plain")
        assert answer.text == token
        assert answer.headers.get("x-content-type-options") == "nosniff"
        assert "set-cookie" not in answer.headers
