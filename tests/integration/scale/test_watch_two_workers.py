"""System Five → Outlook on two `s5sync worker` processes (R14b; issue 19 item 5, audit
gap 5).

Two worker processes (`scale_worker.py` with `SCALE_PUSH=1`: the production
`DistributedScheduler` with the push jobs, as `build_worker` makes it) on procrastinate
and PostgreSQL, the Microsoft 365 emulator in its own process, System Five in PostgreSQL
with `s5_poll_seconds` = 1. A Delivery with Sync ticked is saved through System Five's
own editor code (`Desk`); nobody presses Sync now and no periodic cycle is due (the
interval is 10 minutes of real time). What is proven: the event appears in the user's
Outlook (a generous timeout only: the latency figure belongs in the bench); the
per-store `s5sync.watch_store` job ran, and its polls never overlapped across the two
workers (each worker logs each poll's start and end: procrastinate deletes finished
jobs); only the saving employee's user had a cycle for it.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import ssl
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from s5emu.desk import Desk, TaskForm
from s5emu.schema import create_schema, engine_for
from s5sync.bench.world import EmulatorProcess, add_users
from s5sync.entrypoints.bootstrap import build_services
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

TENANT = "watch-tenant"
EMAILS = ["u0@bench.example", "u1@bench.example"]  # as bench.world.add_users names them
GENEROUS = 120.0  # seconds: a loaded 2-core machine, not a latency bound
WATCH_LINE = re.compile(r" (\d+) scale_worker watch (\d+) ([\d.]+) ([\d.]+)$")


async def seed_store(ce: str, s5: str, key: str, employees: list[int]) -> list[int]:
    settings = Settings(
        database_url=ce.replace("postgresql://", "postgresql+asyncpg://", 1),
        secret_keys=key,
        scheduler="procrastinate",
        procrastinate_dsn=ce,
    )
    services = build_services(settings)
    now = datetime.now(UTC)
    try:
        tenant = await services.directory.create_tenant(
            TENANT,
            "Watch",
            s5,
            now,
            time_zone="America/New_York",
            background_sync=True,
            s5_poll_seconds=1,
        )
        return [u.id for u in await add_users(services, tenant.id, employees, now)]
    finally:
        await services.aclose()


def wait_for(done: Callable[[], bool], what: str) -> None:
    deadline = time.time() + GENEROUS
    while time.time() < deadline:
        if done():
            return
        time.sleep(0.2)
    raise AssertionError(f"not within {GENEROUS:.0f} s: {what}")


def quiet(ce: str) -> bool:
    """No cycle queued or running."""
    [(busy,)] = rows(
        ce,
        "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 's5sync.run_cycle' "
        "AND status IN ('todo', 'doing')",
    )
    [(running,)] = rows(ce, "SELECT count(*) FROM sync_run WHERE finished_at IS NULL")
    return int(busy) == 0 and int(running) == 0


def subjects(graph: httpx.Client, token: str) -> list[str]:
    answer = graph.get(
        "/me/events", headers={"Authorization": f"Bearer {token}"}, params={"$top": "100"}
    )
    answer.raise_for_status()
    return [str(event.get("subject", "")) for event in answer.json()["value"]]


def watch_runs(log: Path) -> list[tuple[int, float, float]]:
    """Every poll of a store, as the workers logged it: worker pid, start and end."""
    found = [WATCH_LINE.search(line) for line in log.read_text().splitlines()]
    runs = [(int(m[1]), float(m[3]), float(m[4])) for m in found if m is not None]
    return sorted(runs, key=lambda run: run[1])


def test_a_ticked_task_saved_in_system_five_becomes_an_event_on_two_workers_R14b(
    fresh_pg: Any, tmp_path: Path
) -> None:
    ce, s5 = fresh_pg("ce"), fresh_pg("s5")
    key = SecretBox.generate_key()
    emulator = EmulatorProcess()
    emulator.start()
    workers: list[subprocess.Popen[bytes]] = []
    try:
        env = worker_env(ce, s5, key, emulator, time.time())
        env["SCALE_SPEED"] = "1.0"  # real time: the interval (10 min) never comes due
        env["SCALE_PUSH"] = "1"
        upgrade_database(env)
        tokens = emulator.add_mailboxes(TENANT, EMAILS)
        create_schema(s5)
        desk = Desk(engine_for(s5), clock=lambda: datetime.now(UTC))
        employees = [desk.add_employee(f"W{i}", e, e) for i, e in enumerate(EMAILS)]
        user_ids = asyncio.run(seed_store(ce, s5, key, employees))

        log = tmp_path / "workers.log"
        workers += [start_worker(env, log), start_worker(env, log)]
        # The watcher's first look at the store (it wakes nobody), and nothing running.
        wait_for(
            lambda: (
                bool(rows(ce, "SELECT 1 FROM store_watch WHERE polled_at IS NOT NULL"))
                and quiet(ce)
            ),
            "the watcher's first look",
        )
        [(last_run,)] = rows(ce, "SELECT COALESCE(MAX(id), 0) FROM sync_run")

        title = "Delivery saved in System Five"
        start = (datetime.now(UTC) + timedelta(days=2)).replace(
            hour=15, minute=0, second=0, microsecond=0, tzinfo=None
        )
        end = start + timedelta(hours=1)
        desk.create_task(
            TaskForm("delivery", employees[0], None, title, "", start, end, None, True)
        )
        verify = ssl.create_default_context(cafile=emulator.urls["ca"])
        with httpx.Client(base_url=emulator.urls["graph"], verify=verify, timeout=30) as graph:
            wait_for(
                lambda: any(title in s for s in subjects(graph, tokens[EMAILS[0]])),
                "the saved task as an Outlook event",
            )
            assert not any(title in s for s in subjects(graph, tokens[EMAILS[1]]))
        desk.engine.dispose()
        time.sleep(3.0)  # a few more polls, to look at them below

        # Only the saving employee's user had a cycle for the save, and no Sync now.
        after = rows(ce, "SELECT user_id FROM sync_run WHERE id > %s", last_run)
        assert after, "no cycle after the save"
        assert {user for (user,) in after} == {user_ids[0]}, after
        [(now_requested,)] = rows(ce, "SELECT count(*) FROM app_user WHERE sync_now_requested")
        assert int(now_requested) == 0

        runs = watch_runs(log)
        assert len(runs) >= 3, runs  # the per-store job ran, poll after poll
        for (_, _, finished), (_, next_start, _) in itertools.pairwise(runs):
            assert next_start >= finished, f"two workers polled the store at once: {runs}"
    finally:
        stop_workers(workers)
        emulator.stop()
