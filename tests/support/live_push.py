"""The web app with push running as `serve` runs it (R14b), for the tests that drive
change notifications end to end: the Microsoft 365 emulator's deliveries run on the test's
loop into the app through the ASGI transport, the local scheduler and the push loop run.

`live_push(world, running, email)` signs the user in with the dashboard open (R14's
heartbeat) and yields a `Gate` while everything runs (set `gate.down` to make the
notification endpoint answer 503, as a web app that is down would); `subscribed(world,
email)` makes the subscription and waits for the catch-up cycle it brings.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
from sqlalchemy import text
from starlette.types import ASGIApp, Receive, Scope, Send

from m365emu.testing import RunningEmulator
from support.web_world import WebWorld


class Gate:
    """Between the emulator and the web app: while `down`, `/graph/notifications` answers
    503 without reaching the app (the endpoint is down); lifecycle notifications pass."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.down = False
        self.refused = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.down and scope["type"] == "http" and scope["path"] == "/graph/notifications":
            self.refused += 1
            await send({"type": "http.response.start", "status": 503, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        await self.app(scope, receive, send)


@asynccontextmanager
async def live_push(world: WebWorld, running: RunningEmulator, email: str) -> AsyncIterator[Gate]:
    hub = running.emulator.notifications
    assert hub is not None
    hub.worker.stop_thread()
    gate = Gate(world.app)
    hub.transport = httpx.ASGITransport(app=gate)
    await world.sign_in(email)
    await world.onboard(email)
    await world.people[email].browser.get("/dashboard")  # R14: the heartbeat
    world.app.state.scheduler.start()
    world.app.state.push.start()
    try:
        async with hub.worker.running():
            yield gate
            await hub.worker.settle()  # no delivery cut short inside the app's handler
    finally:
        await world.app.state.push.stop()
        await world.app.state.scheduler.stop()
        hub.transport = None
        hub.reset()
        running.emulator.clock.clear()
        running.emulator.faults.clear()
        hub.worker.start_thread()


async def emulator_stats(world: WebWorld) -> dict[str, Any]:
    async with httpx.AsyncClient() as control:
        answer = await control.get(f"{world.running.urls.control}/stats")
        stats: dict[str, Any] = answer.json()
        return stats


async def settled(world: WebWorld, email: str) -> None:
    """The user's queued cycle (if any) has run."""
    for _ in range(200):
        user = await world.user(email)
        if user.last_run_at is not None and not user.sync_now_requested:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)


async def subscribed(world: WebWorld, email: str) -> list[dict[str, object]]:
    """The user's subscription made, and the catch-up cycle it brings finished."""
    await world.app.state.push.manager.sweep()
    stats = await emulator_stats(world)
    assert len(stats["subscriptions"]) == 1, stats["subscriptions"]
    await settled(world, email)
    return list(stats["subscriptions"])


async def wait_for(check: Callable[[], bool], within: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < within:
        if check():
            return time.monotonic() - started
        await asyncio.sleep(0.05)
    raise AssertionError(f"not within {within} s")


def tasks(world: WebWorld, store: str = "contoso") -> list[str]:
    """The titles of the store's System Five tasks."""
    desk = world.stores[store].desk
    with desk.engine.connect() as conn:
        return [row[0] for row in conn.execute(text("SELECT title FROM task"))]
