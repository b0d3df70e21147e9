"""Bursts of change notifications on two `s5sync worker` processes (R14b, R16, R17).

The production split: this test process is the web app's notification side — the real
`NotificationIntake` (what `/graph/notifications` calls with each body), `WakeUps` and the
`DeferringNudge` that turns "this user changed" into the user's cycle job on procrastinate
with the user's queueing lock — and two worker processes (`scale_worker.py`, the
production `DistributedScheduler` at real speed) run the cycles against the Microsoft 365
emulator in its own process (100 ms per Graph call, so cycles are in flight while the
next burst arrives) and System Five in PostgreSQL.

Rounds of: a new tagged event in each user's Outlook, then a burst of 40 notifications per
user (duplicates included) at once. What is proven, from the `sync_run` rows and both
sides: a user's cycles never overlap (one at a time across both workers); a burst is one
cycle (at most two per round: one running, exactly one more); the last round's change
crosses (the "one more" is never lost); every tagged event is exactly one task.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import ssl
import subprocess
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from s5emu.desk import Desk
from s5emu.schema import create_schema, engine_for
from s5sync.bench.world import EmulatorProcess, add_users
from s5sync.entrypoints.bootstrap import build_services
from s5sync.scheduling.push import PushService
from s5sync.scheduling.push_jobs import deferring_nudge
from s5sync.scheduling.upkeep import Push
from s5sync.settings import Settings
from s5sync.store.secrets import SecretBox
from s5sync.store.subscriptions import SubscriptionRows
from support.worker_processes import (
    rows,
    start_worker,
    stop_workers,
    upgrade_database,
    worker_env,
)

pytestmark = pytest.mark.postgres

USERS = 3
ROUNDS = 5
BURST = 40  # notifications per user per round
TENANT = "push-tenant"


def emails() -> list[str]:
    return [f"u{i}@bench.example" for i in range(USERS)]


def tagged_event(graph: httpx.Client, token: str, title: str, at: datetime) -> str:
    begin = at.strftime("%Y-%m-%dT%H:%M:00")
    end = (at + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:00")
    answer = graph.post(
        "/me/events",
        headers={"Authorization": f"Bearer {token}"},
        json={
            "subject": f"{title} [sync]",
            "start": {"dateTime": begin, "timeZone": "UTC"},
            "end": {"dateTime": end, "timeZone": "UTC"},
        },
    )
    answer.raise_for_status()
    return str(answer.json()["id"])


def notification(sub_id: str, secret: str, tenant: str, event_id: str, n: int) -> bytes:
    """A changeNotificationCollection as Graph sends it (change-notifications-delivery-
    webhooks.md); every other one repeats the previous etag (a redelivery)."""
    item = {
        "subscriptionId": sub_id,
        "clientState": secret,
        "changeType": "updated",
        "resource": f"Users/x/Events/{event_id}",
        "resourceData": {
            "@odata.type": "#Microsoft.Graph.Event",
            "@odata.etag": f'W/"{n // 2}"',
            "id": event_id,
        },
        "subscriptionExpirationDateTime": "2026-12-31T00:00:00Z",
        "tenantId": tenant,
    }
    return json.dumps({"value": [item]}).encode()


async def seed_store(
    ce: str, s5: str, key: str, employees: list[int], now: datetime
) -> tuple[Settings, list[int], int]:
    settings = Settings(
        database_url=ce.replace("postgresql://", "postgresql+asyncpg://", 1),
        secret_keys=key,
        scheduler="procrastinate",
        procrastinate_dsn=ce,
    )
    services = build_services(settings)
    try:
        tenant = await services.directory.create_tenant(
            TENANT, "Push", s5, now, time_zone="America/New_York", background_sync=True
        )
        users = await add_users(services, tenant.id, employees, now)
        return settings, [u.id for u in users], tenant.id
    finally:
        await services.aclose()


def queue_empty(ce: str) -> bool:
    [(waiting,)] = rows(
        ce,
        "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 's5sync.run_cycle' "
        "AND status IN ('todo', 'doing')",
    )
    return int(waiting) == 0


def test_bursts_of_notifications_run_one_cycle_at_a_time_on_two_workers_R14b_R16(
    fresh_pg: Any, tmp_path: Path
) -> None:
    ce, s5 = fresh_pg("ce"), fresh_pg("s5")
    key = SecretBox.generate_key()
    emulator = EmulatorProcess()
    emulator.start()
    workers: list[subprocess.Popen[bytes]] = []
    try:
        env = worker_env(ce, s5, key, emulator, time.time())
        env["SCALE_SPEED"] = "1.0"  # real time: the notifications' own pace
        upgrade_database(env)
        tokens = emulator.add_mailboxes(TENANT, emails())
        create_schema(s5)
        desk = Desk(engine_for(s5))
        employees = [desk.add_employee(f"E{i}", e, e) for i, e in enumerate(emails())]
        desk.engine.dispose()
        now = datetime.now(UTC)
        settings, user_ids, _tenant_id = asyncio.run(seed_store(ce, s5, key, employees, now))
        emulator.call("POST", "latency", {"ms": 100})

        log = tmp_path / "workers.log"
        workers += [start_worker(env, log), start_worker(env, log)]
        verify = ssl.create_default_context(cafile=emulator.urls["ca"])
        titles: list[str] = []
        mid_cycle: list[bool] = []  # per round: the second burst came during a cycle

        async def bursts() -> None:
            services = build_services(settings)
            nudge = deferring_nudge(settings)
            push = PushService(
                services, nudge, lambda: datetime.now(UTC), lambda _: None, push=Push.off("test")
            )
            rows_ = SubscriptionRows(services.db, services.box)
            secrets = {}
            async with services.scope(_tenant_id).begin(write=False) as unit:
                tenant_ms = (await unit.tenant.get()).ms_tenant_id
            for user_id in user_ids:
                secrets[user_id] = f"secret-{user_id}-" + "x" * 32
                await rows_.saved(
                    _tenant_id,
                    user_id,
                    subscription_id=f"sub-{user_id}",
                    client_state=secrets[user_id],
                    expires_at=now + timedelta(days=6),
                    renew_at=now + timedelta(days=4),
                    now=now,
                )
            push.wakeups.start()
            try:
                with httpx.Client(
                    base_url=emulator.urls["graph"], verify=verify, timeout=30
                ) as graph:

                    async def burst(users: list[int], label: str, minutes: int) -> None:
                        """A new tagged event per user, then `BURST` notifications each."""
                        ids = {}
                        for user_id in users:
                            i = user_ids.index(user_id)
                            title = f"Visit {i}.{label}"
                            at = now + timedelta(days=2, hours=i, minutes=minutes)
                            ids[user_id] = await asyncio.to_thread(
                                tagged_event, graph, tokens[emails()[i]], title, at
                            )
                            titles.append(title)
                        bodies = [
                            notification(f"sub-{u}", secrets[u], tenant_ms, ids[u], n)
                            for u in users
                            for n in range(BURST)
                        ]
                        await asyncio.gather(
                            *(push.intake.accept(body, lifecycle=False) for body in bodies)
                        )

                    async def running_cycle(user_id: int, after: int) -> int | None:
                        """The id of the user's cycle under way, newer than `after`."""
                        for _ in range(500):
                            found = await asyncio.to_thread(
                                rows,
                                ce,
                                "SELECT id FROM sync_run WHERE user_id = %s AND id > %s "
                                "AND finished_at IS NULL",
                                user_id,
                                after,
                            )
                            if found:
                                return int(found[0][0])
                            await asyncio.sleep(0.01)
                        return None

                    first = user_ids[0]
                    last_run = 0
                    for round_ in range(ROUNDS):
                        await burst(user_ids, f"{round_}", 10 * round_)
                        # While that burst's cycle of the first user runs, one more burst:
                        # it must leave exactly one more cycle (R14b), never lose it.
                        run = await running_cycle(first, last_run)
                        if run is not None:
                            last_run = run
                            await burst([first], f"{round_}m", 10 * round_ + 5)
                            [(finished,)] = await asyncio.to_thread(
                                rows, ce, "SELECT finished_at FROM sync_run WHERE id = %s", run
                            )
                            mid_cycle.append(finished is None)
                        await asyncio.sleep(0.3)
                await push.wakeups.stop()
            finally:
                await nudge.aclose()
                await services.aclose()

        asyncio.run(bursts())
        deadline = time.time() + 90
        while time.time() < deadline:
            found = {t for (t,) in rows(s5, "SELECT title FROM task")}
            if set(titles) <= found and queue_empty(ce):
                break
            time.sleep(0.2)
        time.sleep(1.0)
        assert queue_empty(ce), "cycles still queued"

        assert any(mid_cycle), mid_cycle  # the case under test did happen
        tasks = rows(s5, "SELECT title, external_ref FROM task")
        counted = Counter(title for title, _ in tasks)
        assert set(titles) <= set(counted), "every change crossed (the last one too)"
        assert all(n == 1 for n in counted.values()), counted  # R16: no task twice
        refs = Counter(ref for _, ref in tasks)
        assert all(n == 1 for n in refs.values()), refs

        runs: dict[int, list[tuple[int, datetime, datetime | None]]] = defaultdict(list)
        for user_id, fence, started, finished in rows(
            ce, "SELECT user_id, fence, started_at, finished_at FROM sync_run ORDER BY started_at"
        ):
            runs[user_id].append((fence, started, finished))
        for user_id in user_ids:
            mine = runs[user_id]
            assert mine, f"user {user_id} was never cycled"
            assert all(finished is not None for _, _, finished in mine)
            fences = [fence for fence, _, _ in mine]
            assert fences == sorted(set(fences)), f"user {user_id}: one lease per cycle"
            for (_, _, finish), (_, after, _) in itertools.pairwise(mine):
                assert finish is not None
                assert after >= finish, f"user {user_id}: two cycles at once"
            # A burst is one cycle: 40 notifications a burst, one or two bursts a round,
            # at most one cycle per burst (and the "one more" after a running one).
            assert 1 <= len(mine) <= 2 * ROUNDS + 1, (user_id, len(mine))
    finally:
        stop_workers(workers)
        emulator.stop()
