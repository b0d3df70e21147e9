"""The push figures of `s5sync bench` (issue 19; R14, R14b, R23b; docs/performance.md).

One world, measured in one run beside the polling mode: the Microsoft 365 emulator in its
own process (`m365emu serve`, Graph latency as set), CALENDAREVENT and System Five in
PostgreSQL when a server answers, N users with their first cycles done, and in this
process the product's push parts as a web process and a worker run them — the
`/graph/notifications` routes (`install_graph_routes`, served by uvicorn on loopback
http, which the emulator allows for a served emulator), `PushService` (intake, wake-ups,
the System Five watcher) and the local scheduler running `run_user_cycle`.

1. change latency, both directions, p50 / p95 / max: a tagged event made through Graph
   until its task is in System Five (the emulator's own delivery to our endpoint), at
   once and with a 1 s delivery delay (the emulator's `delay` fault); a ticked Delivery
   saved in System Five until its event is in the mailbox (the watcher, `s5_poll_seconds`
   set to `WATCH_SECONDS` here). Polling: up to `interval` (10 min), by construction;
2. Graph requests and worker CPU per idle user-hour, push vs poll (push_costs.py);
3. notifications accepted per second by the endpoint, with p50 / p99 answer time
   (valid notifications for N users, 64 in flight, from `bench/flood.py` in a process
   of its own — on the same 2 cores), and this process's CPU per notification;
4. a burst of one notification per user for N users (1,000 at full size) until N
   cycles have finished, on the local scheduler with `BURST_CONCURRENCY` cycles at once
   (`s5sync worker`'s default `--concurrency`) (items 3 and 4: push_load.py);
5. the at-once latency again with the cycles on two procrastinate worker processes
   (push_workers.py): the endpoint defers the user's cycle job, as `serve` does with
   `S5SYNC_SCHEDULER=procrastinate`.

Users' subscriptions: the latency sample's are made through the product's Graph adapter
(handshake to our endpoint); the other users' rows are written directly (the burst and
the flood send their notifications themselves). Tokens come from the emulator's control
plane, as in the rest of the bench.
"""

from __future__ import annotations

import asyncio
import secrets
import ssl
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import text

from s5sync.bench.endpoint import FLOOD_IN_FLIGHT, Endpoint, spread
from s5sync.bench.push_costs import INTERVAL_MINUTES, SAFETY_MINUTES, idle_costs
from s5sync.bench.push_load import burst, flood
from s5sync.bench.push_workers import WORKERS, procrastinate_settings, procrastinate_workers
from s5sync.bench.world import (
    TENANT,
    EmulatorFleet,
    EmulatorProcess,
    StaticToken,
    add_users,
    open_services,
    scratch_databases,
)
from s5sync.core.records import UserRecord
from s5sync.outlook.clients import GraphClients
from s5sync.outlook.metering import RequestCounter
from s5sync.outlook.session import GraphSession
from s5sync.outlook.subscriptions import LIFETIME, GraphSubscriptions, SubscriptionRequest
from s5sync.scheduling.local import LocalScheduler
from s5sync.scheduling.push import PushService
from s5sync.scheduling.renewals import EARLIEST, GOLDEN
from s5sync.scheduling.upkeep import Push
from s5sync.scheduling.wakeups import Nudge

WATCH_SECONDS = 5  # the store's s5_poll_seconds in this world (default 15)
BURST_CONCURRENCY = 10


@dataclass(frozen=True)
class PushBenchConfig:
    users: int
    tries: int
    notifications: int
    latency_ms: int

    @classmethod
    def sized(cls, *, quick: bool, latency_ms: int = 50) -> PushBenchConfig:
        if quick:
            return cls(60, 4, 2_000, latency_ms)
        return cls(1_000, 20, 20_000, latency_ms)


class PushWorld:
    def __init__(self, config: PushBenchConfig, urls: dict[str, str]) -> None:
        self.config = config
        self.urls = urls
        self.secrets: dict[int, str] = {}
        self.subscription_ids: dict[int, str] = {}
        self.serial = 0

    async def run(self) -> dict[str, Any]:
        """Every push figure, the world set up before them and closed after."""
        now = datetime.now(UTC).replace(microsecond=0)
        await self._open(now)
        try:
            self.users = await self.set_up(now)
            figures = await self._measure()
            figures["settings"] = {
                "graph_latency_ms": self.config.latency_ms,
                "s5_poll_seconds": WATCH_SECONDS,
                "interval_minutes": INTERVAL_MINUTES,
                "safety_minutes": SAFETY_MINUTES,
                "burst_cycles_at_once": BURST_CONCURRENCY,
                "flood_in_flight": FLOOD_IN_FLIGHT,
            }
            return figures
        finally:
            await self.scheduler.stop()
            await self.http.aclose()
            await self.graph.aclose()
            await self.tasks.close()
            await self.services.aclose()
            self.desk.engine.dispose()
            self.emulator.stop()

    async def _open(self, now: datetime) -> None:
        """The emulator, System Five, the services, the local scheduler and push."""
        from s5emu.desk import Desk
        from s5emu.schema import create_schema, engine_for
        from s5sync.systemfive.adapter import SqlTaskStore

        self.emulator = emulator = EmulatorProcess()
        emulator.start()
        create_schema(self.urls["s5"])
        self.desk = Desk(engine_for(self.urls["s5"]))
        self.services, self.tenant_id = await open_services(self.urls["ce"], self.urls["s5"], now)
        await self.services.directory.update_tenant(self.tenant_id, s5_poll_seconds=WATCH_SECONDS)
        emulator.call("POST", "latency", {"ms": self.config.latency_ms})
        self.verify = ssl.create_default_context(cafile=emulator.urls["ca"])
        self.graph = GraphClients(emulator.urls["graph"], self.verify, timeout=60.0)
        self.tasks = tasks = SqlTaskStore(self.urls["s5"], "America/New_York")
        self.fleet = EmulatorFleet(self.services, tasks, self.graph, {})
        self.engine = self.fleet.engine()
        self.scheduler = LocalScheduler(
            self.services.directory, self.cycle, _now, concurrency=BURST_CONCURRENCY
        )

        async def wake_local(_woken: list[int]) -> None:
            await self.scheduler.wake()

        self.nudge: Nudge = wake_local  # the procrastinate part swaps in its DeferringNudge

        async def nudge(woken: list[int]) -> None:
            await self.nudge(woken)

        self.push = PushService(
            self.services, nudge, _now, lambda _r: None, push=Push.off("the bench subscribes")
        )
        self.http = httpx.AsyncClient(
            base_url=emulator.urls["graph"], verify=self.verify, timeout=60
        )

    async def _measure(self) -> dict[str, Any]:
        """The figures, in order, with the notification endpoint served."""
        async with Endpoint(self.push) as endpoint:
            self.endpoint = endpoint
            self.scheduler.start()
            self.push.start()
            await self.subscribe_sample()
            figures: dict[str, Any] = {"users": len(self.users)}
            _progress("push: latency Outlook -> System Five")
            figures["outlook_to_system_five"] = {
                "at_once": await self.inbound_latency(delay=0.0),
                "delivery_delayed_1s": await self.inbound_latency(delay=1.0),
            }
            _progress("push: latency System Five -> Outlook")
            figures["system_five_to_outlook"] = await self.outbound_latency()
            _progress("push: idle user-hour, push vs poll")
            figures["idle_user_hour"] = await idle_costs(self)
            await self.scheduler.stop()
            _progress("push: latency Outlook -> System Five on two procrastinate workers")
            figures["outlook_to_system_five"][
                "two_procrastinate_workers"
            ] = await self.on_two_workers()
            _progress("push: the notification endpoint under load")
            figures["endpoint"] = await flood(self)
            _progress(f"push: a burst of {len(self.users):,} users' notifications")
            figures["burst"] = await burst(self)
            await self.push.stop()
        return figures

    async def cycle(self, user: UserRecord) -> object:
        return await self.engine.run_user_cycle(user, _now())

    async def set_up(self, now: datetime) -> list[UserRecord]:
        _progress(f"push: {self.config.users:,} users against the emulator: setting up")
        emails = [f"u{i}@bench.example" for i in range(self.config.users)]
        tokens = await asyncio.to_thread(self.emulator.add_mailboxes, TENANT, emails)
        self.fleet.tokens.update(tokens)
        employees = self.desk.add_employees([(e.split("@")[0], e, e) for e in emails])
        users = await add_users(self.services, self.tenant_id, employees, now, category=True)
        gate = asyncio.Semaphore(48)

        async def first(user: UserRecord) -> None:
            async with gate:
                await self.engine.run_user_cycle(user, _now())

        await asyncio.gather(*(first(u) for u in users))
        # Every user "subscribed": rows with their own secrets (the sample's are replaced
        # by real subscriptions on the emulator below).
        for user in users:
            await self._save(user, f"bench-{user.id}", secrets.token_urlsafe(32))
        return users

    async def _save(self, user: UserRecord, subscription_id: str, secret: str) -> None:
        now = _now()
        self.secrets[user.id] = secret
        self.subscription_ids[user.id] = subscription_id
        await self.push.rows.saved(
            self.tenant_id,
            user.id,
            subscription_id=subscription_id,
            client_state=secret,
            expires_at=now + LIFETIME,
            renew_at=now + LIFETIME * EARLIEST,
            now=now,
        )

    def gateway(self, user: UserRecord) -> GraphSubscriptions:
        session = GraphSession(
            self.graph.for_user(user.id),
            StaticToken(self.fleet.tokens[user.email]),
            counter=RequestCounter(),
        )
        return GraphSubscriptions(session)

    async def subscribe_sample(self) -> None:
        for user in self.users[: self.config.tries]:
            secret = secrets.token_urlsafe(32)
            made = await self.gateway(user).create(
                SubscriptionRequest(
                    f"{self.endpoint.url}/graph/notifications",
                    f"{self.endpoint.url}/graph/lifecycle",
                    secret,
                    _now() + LIFETIME,
                )
            )
            await self._save(user, made.subscription_id, secret)

    def _headers(self, user: UserRecord) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.fleet.tokens[user.email]}"}

    async def _task_titles(self) -> set[str]:
        def read() -> set[str]:
            with self.desk.engine.connect() as conn:
                return {str(row[0]) for row in conn.execute(text("SELECT title FROM task"))}

        return await asyncio.to_thread(read)

    async def inbound_latency(self, *, delay: float) -> dict[str, float]:
        samples = []
        for user in self.users[: self.config.tries]:
            samples.append(await self.cross(user, delay))
            await asyncio.sleep(0.2)
        return spread(samples)

    async def cross(self, user: UserRecord, delay: float, within: float = 60.0) -> float:
        """A tagged event made through Graph until its task is in System Five (seconds)."""
        self.serial += 1
        title = f"Visit {self.serial}"
        if delay:
            self.emulator.call(
                "POST",
                "faults",
                {"path": "*/graph/notifications", "kind": "delay", "delay_seconds": delay},
            )
        begin = _now() + timedelta(days=3, minutes=self.serial)
        answer = await self.http.post(
            "/me/events",
            headers=self._headers(user),
            json={
                "subject": f"{title} [sync]",
                "start": {"dateTime": _stamp(begin), "timeZone": "UTC"},
                "end": {"dateTime": _stamp(begin + timedelta(minutes=30)), "timeZone": "UTC"},
            },
        )
        answer.raise_for_status()
        started = time.monotonic()
        while title not in await self._task_titles():
            if time.monotonic() - started > within:
                raise RuntimeError(f"{title} did not cross within {within:.0f} s")
            await asyncio.sleep(0.01)
        return time.monotonic() - started

    async def on_two_workers(self) -> dict[str, Any]:
        """The at-once latency again, the cycles run by two procrastinate workers (the
        local scheduler stopped): the endpoint defers the user's cycle job (R14b)."""
        if not self.urls["ce"].startswith("postgresql"):
            return {"skipped": "procrastinate needs PostgreSQL"}
        settings = procrastinate_settings(self.services.settings, self.urls["ce"])
        local = self.nudge
        tokens = self.fleet.tokens
        async with procrastinate_workers(settings, self.emulator, self.urls["s5"], tokens) as jobs:
            self.nudge = jobs
            try:
                await self.cross(self.users[0], 0.0, within=120.0)  # the workers are up
                await asyncio.sleep(0.2)
                return {**await self.inbound_latency(delay=0.0), "workers": WORKERS}
            finally:
                self.nudge = local

    async def outbound_latency(self) -> dict[str, float]:
        from s5sync.bench.emulated import delivery

        samples = []
        for n, user in enumerate(self.users[: self.config.tries]):
            # Saves spread over the watcher's period (a save made just after a poll waits
            # for the next one): otherwise every try would start at the same phase.
            await asyncio.sleep((n * GOLDEN) % 1.0 * WATCH_SECONDS)
            self.serial += 1
            form = delivery(user.employee_id or 0, _now() + timedelta(days=2), self.serial)
            await asyncio.to_thread(self.desk.create_task, form)
            started = time.monotonic()
            while not await self._has_event(user, form.title):
                if time.monotonic() - started > 60:
                    raise RuntimeError(f"{form.title} did not cross within 60 s")
                await asyncio.sleep(0.05)
            samples.append(time.monotonic() - started)
        return spread(samples)

    async def _has_event(self, user: UserRecord, subject: str) -> bool:
        answer = await self.http.get(
            "/me/events",
            headers=self._headers(user),
            params={"$select": "subject", "$top": "500"},
        )
        answer.raise_for_status()
        return any(e.get("subject") == subject for e in answer.json()["value"])

    async def _user(self, user_id: int) -> UserRecord:
        async with self.services.scope(self.tenant_id).begin(write=False) as unit:
            return await unit.users.get(user_id)


def _now() -> datetime:
    return datetime.now(UTC)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def _progress(what: str) -> None:
    from s5sync.bench.measure import progress

    progress(what)


async def run_push(config: PushBenchConfig) -> dict[str, Any]:
    """The push figures, in databases of their own."""
    async with scratch_databases(("push_ce", "push_s5")) as urls:
        return await PushWorld(config, {"ce": urls["push_ce"], "s5": urls["push_s5"]}).run()
