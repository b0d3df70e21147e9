"""One `s5sync worker` process for the scale-out test, on a faster clock.

It is the production worker (`DistributedScheduler.run_worker` on procrastinate, the
engine's lease and fence) with two test seams: the cycles' clock runs `SCALE_SPEED`
times faster than the wall clock from a shared `SCALE_ANCHOR` (so a 1-minute interval
takes seconds and every process agrees on the time), and Graph tokens come from the
emulator's control plane instead of MSAL (the sign-in page is not under test here).
With `SCALE_PUSH=1` it also runs the push jobs as `build_worker` does (R14b: the
periodic per-store `s5sync.watch_store` and the subscription sweep; no public URL, so
no subscription is made).
"""

from __future__ import annotations

import asyncio
import logging
import os
import ssl
import time
from datetime import UTC, datetime
from typing import Any

import httpx

from s5sync.bench.world import SCOPES, EmulatorFleet
from s5sync.entrypoints.bootstrap import build_services
from s5sync.outlook.clients import GraphClients
from s5sync.scheduling.distributed import DistributedScheduler, build_app, holder_name
from s5sync.scheduling.push import PushService
from s5sync.scheduling.push_jobs import DeferringNudge
from s5sync.settings import load_settings
from s5sync.sync.engine import CycleEngine
from s5sync.systemfive.adapter import SqlTaskStore

log = logging.getLogger("scale_worker")


def fast_clock(anchor: float, speed: float) -> datetime:
    return datetime.fromtimestamp(anchor + (time.time() - anchor) * speed, UTC)


async def main() -> None:
    anchor, speed = float(os.environ["SCALE_ANCHOR"]), float(os.environ["SCALE_SPEED"])
    settings = load_settings()
    services = build_services(settings)
    tokens: dict[str, str] = {}
    control_url = os.environ["SCALE_CONTROL"].rstrip("/") + "/"
    async with httpx.AsyncClient(base_url=control_url) as control:
        for user in await services.directory.users():
            answer = await control.post("token", json={"email": user.email, "scopes": SCOPES})
            answer.raise_for_status()
            tokens[user.email] = answer.json()["access_token"]
    graph = GraphClients(
        os.environ["SCALE_GRAPH"], ssl.create_default_context(cafile=os.environ["SCALE_CA"])
    )
    tasks = SqlTaskStore(os.environ["SCALE_S5"], "America/New_York")
    fleet = EmulatorFleet(services, tasks, graph, tokens)
    engine = CycleEngine(services, fleet.ports_for, holder=holder_name())
    app = build_app(settings)
    push = None
    if os.environ.get("SCALE_PUSH"):
        push = PushService(services, DeferringNudge(app), lambda: datetime.now(UTC), lambda _: None)
    scheduler = DistributedScheduler(
        app,
        services.directory,
        engine,
        clock=lambda: fast_clock(anchor, speed),
        speed=speed,
        dispatch_seconds=2,
        reap_seconds=2,
        stalled_after=15.0,  # generous: a starved event loop must not look dead
        push=push,
    )
    dispatch, run_cycle = scheduler.dispatch, scheduler.run_cycle

    async def dispatch_logged() -> Any:
        started = time.time()
        report = await dispatch()
        log.warning("dispatch took %.2fs: %s", time.time() - started, report)
        return report

    async def cycle_logged(user_id: int) -> str:
        started = time.time()
        outcome = await run_cycle(user_id)
        log.warning("cycle %s took %.2fs: %s", user_id, time.time() - started, outcome)
        return outcome

    if push is not None:  # each store poll, logged for the test to check they never overlap
        poll = push.watcher.poll

        async def poll_logged(tenant_id: int) -> list[int]:
            started = time.time()
            try:
                return await poll(tenant_id)
            finally:
                log.warning("watch %s %.6f %.6f", tenant_id, started, time.time())

        push.watcher.poll = poll_logged  # type: ignore[method-assign]
    scheduler.dispatch = dispatch_logged  # type: ignore[method-assign]
    scheduler.run_cycle = cycle_logged  # type: ignore[method-assign]
    try:
        await scheduler.run_worker(20, heartbeat_seconds=1.0)
    finally:
        await graph.aclose()
        await tasks.close()
        await services.aclose()


if __name__ == "__main__":
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(process)d %(name)s %(message)s"
    )
    logging.getLogger("s5sync").setLevel(logging.INFO)
    asyncio.run(main())
