"""A tagged event made in Outlook crosses to System Five with no Sync now, the cycles on two
procrastinate worker processes (R14b, issue 19's "… and on two procrastinate workers").

The production split end to end: the Microsoft 365 emulator in its own process delivers
each change notification itself to the web side's `/graph/notifications`
(`GraphEndpoints`, served by uvicorn on loopback in this process, as `bench/push.py`
serves it), whose `WakeUps` and `DeferringNudge` defer the user's cycle job on
procrastinate; two `scale_worker.py` processes (the production worker at real speed) run
it against the emulator and System Five in PostgreSQL. The user's periodic cycle is set
a day away, so only the notification can bring the cycle; nobody presses Sync now. How
fast it crosses is the bench's figure (docs/performance.md), not asserted here: the
bound below only turns a hang into a failure.
"""

from __future__ import annotations

import asyncio
import secrets
import ssl
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from s5emu.desk import Desk
from s5emu.schema import create_schema, engine_for
from s5sync.bench.endpoint import Endpoint
from s5sync.bench.world import EmulatorProcess, StaticToken, add_users
from s5sync.entrypoints.bootstrap import build_services
from s5sync.outlook.clients import GraphClients
from s5sync.outlook.metering import RequestCounter
from s5sync.outlook.session import GraphSession
from s5sync.outlook.subscriptions import LIFETIME, GraphSubscriptions, SubscriptionRequest
from s5sync.scheduling.push import PushService
from s5sync.scheduling.push_jobs import deferring_nudge
from s5sync.scheduling.upkeep import Push
from s5sync.settings import Settings
from s5sync.store.secrets import SecretBox
from support.worker_processes import (
    rows,
    start_worker,
    stop_workers,
    upgrade_database,
    worker_env,
)

pytestmark = pytest.mark.postgres

TENANT = "crossing-tenant"
EMAIL = "u0@bench.example"
TRIES = 3
BOUND = 90.0  # seconds: a hang, not a timing claim


def tagged_event(graph: httpx.Client, token: str, title: str, at: datetime) -> None:
    answer = graph.post(
        "/me/events",
        headers={"Authorization": f"Bearer {token}"},
        json={
            "subject": f"{title} [sync]",
            "start": {"dateTime": at.strftime("%Y-%m-%dT%H:%M:00"), "timeZone": "UTC"},
            "end": {
                "dateTime": (at + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:00"),
                "timeZone": "UTC",
            },
        },
    )
    answer.raise_for_status()


async def web_side(
    settings: Settings, emulator: EmulatorProcess, token: str, s5: str, titles: list[str]
) -> list[str]:
    """Subscribe the user to this process's endpoint, then make `TRIES` tagged events;
    the titles that became tasks."""
    services = build_services(settings)
    nudge = deferring_nudge(settings)
    push = PushService(
        services, nudge, lambda: datetime.now(UTC), lambda _r: None, push=Push.off("test")
    )
    verify = ssl.create_default_context(cafile=emulator.urls["ca"])
    graph = GraphClients(emulator.urls["graph"], verify)
    crossed: list[str] = []
    try:
        [user] = await services.directory.find_users(EMAIL)
        push.wakeups.start()
        async with Endpoint(push) as endpoint:
            secret = secrets.token_urlsafe(32)
            session = GraphSession(
                graph.for_user(user.id), StaticToken(token), counter=RequestCounter()
            )
            now = datetime.now(UTC)
            made = await GraphSubscriptions(session).create(
                SubscriptionRequest(
                    f"{endpoint.url}/graph/notifications",
                    f"{endpoint.url}/graph/lifecycle",
                    secret,
                    now + LIFETIME,
                )
            )
            await push.rows.saved(
                user.tenant_id,
                user.id,
                subscription_id=made.subscription_id,
                client_state=secret,
                expires_at=made.expires_at,
                renew_at=now + timedelta(days=4),
                now=now,
            )
            with httpx.Client(base_url=emulator.urls["graph"], verify=verify) as outlook:
                for n, title in enumerate(titles):
                    at = now + timedelta(days=2, hours=n)
                    await asyncio.to_thread(tagged_event, outlook, token, title, at)
                    started = time.monotonic()
                    while time.monotonic() - started < BOUND:
                        found = await asyncio.to_thread(rows, s5, "SELECT title FROM task")
                        if title in {t for (t,) in found}:
                            crossed.append(title)
                            break
                        await asyncio.sleep(0.1)
        await push.wakeups.stop()
    finally:
        await nudge.aclose()
        await graph.aclose()
        await services.aclose()
    return crossed


async def seed(ce: str, s5: str, key: str, employee: int) -> Settings:
    settings = Settings(
        database_url=ce.replace("postgresql://", "postgresql+asyncpg://", 1),
        secret_keys=key,
        scheduler="procrastinate",
        procrastinate_dsn=ce,
    )
    services = build_services(settings)
    try:
        now = datetime.now(UTC)
        tenant = await services.directory.create_tenant(
            TENANT, "Crossing", s5, now, time_zone="America/New_York", background_sync=True
        )
        await add_users(services, tenant.id, [employee], now)
        return settings
    finally:
        await services.aclose()


def test_a_tagged_event_crosses_with_no_sync_now_on_two_workers_R14b(
    fresh_pg: Any, tmp_path: Path
) -> None:
    ce, s5 = fresh_pg("ce"), fresh_pg("s5")
    key = SecretBox.generate_key()
    emulator = EmulatorProcess()
    emulator.start()
    workers: list[subprocess.Popen[bytes]] = []
    try:
        env = worker_env(ce, s5, key, emulator, time.time())
        env["SCALE_SPEED"] = "1.0"  # real time
        upgrade_database(env)
        token = emulator.add_mailboxes(TENANT, [EMAIL])[EMAIL]
        create_schema(s5)
        desk = Desk(engine_for(s5))
        employee = desk.add_employee("E0", EMAIL, EMAIL)
        desk.engine.dispose()
        settings = asyncio.run(seed(ce, s5, key, employee))
        # The periodic cycle a day away: only a notification can bring one now.
        later = "(now() AT TIME ZONE 'UTC') + interval '1 day'"
        rows(ce, f"UPDATE app_user SET next_run_at = {later} RETURNING id")
        log = tmp_path / "workers.log"
        workers += [start_worker(env, log), start_worker(env, log)]

        titles = [f"Visit {n}" for n in range(TRIES)]
        crossed = asyncio.run(web_side(settings, emulator, token, s5, titles))

        assert crossed == titles, log.read_text()[-3000:]
        [(sync_now,)] = rows(ce, "SELECT count(*) FROM app_user WHERE sync_now_requested")
        assert sync_now == 0  # every wake-up was taken by a cycle
        runs = rows(ce, "SELECT count(*) FROM sync_run WHERE finished_at IS NOT NULL")
        assert runs[0][0] >= 1  # the cycles ran on the workers (nothing else runs any)
    finally:
        stop_workers(workers)
        emulator.stop()
