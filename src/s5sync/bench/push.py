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
2. Graph requests and worker CPU per idle user-hour, push vs poll: measured unit costs
   (an idle cycle, a subscription renewal, a sweep and a watcher poll with nothing to do)
   composed per hour — poll: 60 / interval idle cycles; push: 60 / safety_minutes idle
   cycles + one renewal per mean renewal period + the user's share of the sweeps and the
   store's watcher polls;
3. notifications accepted per second by the endpoint, with p50 / p99 answer time
   (valid notifications for N users, 64 in flight, from `bench/flood.py` in a process
   of its own — on the same 2 cores), and this process's CPU per notification;
4. a burst of one notification per user for N users (1,000 at full size) until N
   cycles have finished, on the local scheduler with `BURST_CONCURRENCY` cycles at once
   (`s5sync worker`'s default `--concurrency`).

Users' subscriptions: the latency sample's are made through the product's Graph adapter
(handshake to our endpoint); the other users' rows are written directly (the burst and
the flood send their notifications themselves). Tokens come from the emulator's control
plane, as in the rest of the bench.
"""

from __future__ import annotations

import asyncio
import secrets
import ssl
import statistics
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import distinct, func, select, text, update

from s5sync.bench.endpoint import FLOOD_IN_FLIGHT, Endpoint, flood_endpoint, note, spread
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
from s5sync.scheduling.push import SWEEP_SECONDS, PushService
from s5sync.scheduling.renewals import EARLIEST, GOLDEN, SPREAD
from s5sync.scheduling.upkeep import Push
from s5sync.store.models import AppUser, SyncRun

WATCH_SECONDS = 5  # the store's s5_poll_seconds in this world (default 15)
DEFAULT_WATCH_SECONDS = 15
BURST_CONCURRENCY = 10
INTERVAL_MINUTES = 10
SAFETY_MINUTES = 60


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
        from s5emu.desk import Desk
        from s5emu.schema import create_schema, engine_for
        from s5sync.systemfive.adapter import SqlTaskStore

        now = datetime.now(UTC).replace(microsecond=0)
        self.emulator = emulator = EmulatorProcess()
        emulator.start()
        create_schema(self.urls["s5"])
        self.desk = Desk(engine_for(self.urls["s5"]))
        self.services, self.tenant_id = await open_services(self.urls["ce"], self.urls["s5"], now)
        await self.services.directory.update_tenant(self.tenant_id, s5_poll_seconds=WATCH_SECONDS)
        emulator.call("POST", "latency", {"ms": self.config.latency_ms})
        self.verify = ssl.create_default_context(cafile=emulator.urls["ca"])
        self.graph = GraphClients(emulator.urls["graph"], self.verify, timeout=60.0)
        tasks = SqlTaskStore(self.urls["s5"], "America/New_York")
        self.fleet = EmulatorFleet(self.services, tasks, self.graph, {})
        self.engine = self.fleet.engine()
        self.scheduler = LocalScheduler(
            self.services.directory, self.cycle, _now, concurrency=BURST_CONCURRENCY
        )

        async def nudge(_woken: list[int]) -> None:
            await self.scheduler.wake()

        self.push = PushService(
            self.services, nudge, _now, lambda _r: None, push=Push.off("the bench subscribes")
        )
        self.http = httpx.AsyncClient(
            base_url=emulator.urls["graph"], verify=self.verify, timeout=60
        )
        try:
            self.users = await self.set_up(now)
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
                figures["idle_user_hour"] = await self.idle_costs()
                await self.scheduler.stop()
                _progress("push: the notification endpoint under load")
                figures["endpoint"] = await self.flood()
                _progress(f"push: a burst of {len(self.users):,} users' notifications")
                figures["burst"] = await self.burst()
                await self.push.stop()
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
            await tasks.close()
            await self.services.aclose()
            self.desk.engine.dispose()
            emulator.stop()

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
                if time.monotonic() - started > 60:
                    raise RuntimeError(f"{title} did not cross within 60 s")
                await asyncio.sleep(0.01)
            samples.append(time.monotonic() - started)
            await asyncio.sleep(0.2)
        return spread(samples)

    async def outbound_latency(self) -> dict[str, float]:
        from s5sync.bench.runner import delivery

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

    async def idle_costs(self) -> dict[str, Any]:
        sample = self.users[: max(self.config.tries, 20)]
        cpu, requests = [], []
        for user in sample:
            fresh = await self._user(user.id)
            start = time.process_time()
            result = await self.engine.run_user_cycle(fresh, _now())
            cpu.append(time.process_time() - start)
            requests.append(int(result.requests.get("requests", 0)))
        renew = []
        for user in self.users[: self.config.tries]:
            start = time.process_time()
            await self.gateway(user).renew(self.subscription_ids[user.id], _now() + LIFETIME)
            renew.append(time.process_time() - start)
        sweeps, polls = [], []
        for _ in range(10):
            start = time.process_time()
            await self.push.manager.sweep()
            sweeps.append(time.process_time() - start)
            start = time.process_time()
            await self.push.watcher.poll(self.tenant_id)
            polls.append(time.process_time() - start)
        cycle_ms = 1000 * statistics.mean(cpu)
        cycle_requests = statistics.mean(requests)
        renew_ms = 1000 * statistics.mean(renew)
        sweep_ms = 1000 * statistics.mean(sweeps)
        poll_ms = 1000 * statistics.mean(polls)
        users = len(self.users)
        lifetime_h = LIFETIME.total_seconds() / 3600
        renewals_per_hour = 1 / (lifetime_h * (EARLIEST + SPREAD / 2))
        push_cycles = 60 / SAFETY_MINUTES
        poll_cycles = 60 / INTERVAL_MINUTES
        sweep_share = sweep_ms * (3600 / SWEEP_SECONDS) / users
        watch_share = poll_ms * (3600 / DEFAULT_WATCH_SECONDS) / users
        push_cpu = push_cycles * cycle_ms + renewals_per_hour * renew_ms + sweep_share
        push_cpu += watch_share
        poll_cpu = poll_cycles * cycle_ms
        return {
            "measured": {
                "cpu_ms_idle_cycle": round(cycle_ms, 2),
                "requests_per_idle_cycle": round(cycle_requests, 3),
                "cpu_ms_renewal": round(renew_ms, 2),
                f"cpu_ms_sweep_{users}_users_nothing_due": round(sweep_ms, 2),
                "cpu_ms_watcher_poll_nothing_new": round(poll_ms, 2),
            },
            "poll": {
                "requests_per_idle_user_hour": round(poll_cycles * cycle_requests, 3),
                "cpu_ms_per_idle_user_hour": round(poll_cpu, 2),
            },
            "push": {
                "requests_per_idle_user_hour": round(
                    push_cycles * cycle_requests + renewals_per_hour, 3
                ),
                "cpu_ms_per_idle_user_hour": round(push_cpu, 2),
                "of_which_sweeps_ms": round(sweep_share, 3),
                "of_which_watcher_ms": round(watch_share, 3),
            },
            "cpu_poll_over_push": round(poll_cpu / max(push_cpu, 1e-9), 2),
        }

    async def _user(self, user_id: int) -> UserRecord:
        async with self.services.scope(self.tenant_id).begin(write=False) as unit:
            return await unit.users.get(user_id)

    def _body(self, user: UserRecord, n: int) -> bytes:
        ms_tenant = TENANT
        return note(
            {
                "subscriptionId": self.subscription_ids[user.id],
                "clientState": self.secrets[user.id],
                "changeType": "updated",
                "resource": f"Users/{user.object_id}/Events/bench-{n}",
                "resourceData": {"@odata.etag": f'W/"{n}"', "id": f"bench-{n}"},
                "subscriptionExpirationDateTime": "2026-12-31T00:00:00Z",
                "tenantId": ms_tenant,
            }
        )

    async def flood(self) -> dict[str, Any]:
        total = self.config.notifications
        bodies = [self._body(self.users[n % len(self.users)], n) for n in range(total)]
        return await flood_endpoint(self.endpoint, bodies, self.push.wakeups.flush)

    async def burst(self) -> dict[str, Any]:
        async with self.services.db.connection() as conn:
            await conn.execute(update(AppUser).values(sync_now_requested=False))
        bodies = [self._body(u, 10_000_000 + u.id) for u in self.users]
        self.scheduler.start()
        started_at, wall0, cpu0 = _now(), time.monotonic(), time.process_time()
        # Sent as Graph would, all at once from outside (bench/flood.py, 64 in flight),
        # while this process answers them and runs the cycles they wake.
        sending = asyncio.create_task(
            flood_endpoint(self.endpoint, bodies, self.push.wakeups.flush)
        )
        answered = await sending
        posted = time.monotonic() - wall0
        if answered["answers"] != {"202": len(bodies)}:
            raise RuntimeError(f"the burst was not accepted whole: {answered['answers']}")
        done = 0
        while done < len(self.users):
            if time.monotonic() - wall0 > 600:
                raise RuntimeError(f"only {done} of {len(self.users)} cycles in 10 minutes")
            await asyncio.sleep(0.2)
            done = await self._finished_since(started_at)
        wall = time.monotonic() - wall0
        cpu = time.process_time() - cpu0
        await self.scheduler.stop()
        return {
            "users": len(self.users),
            "all_answered_s": round(posted, 2),
            "all_cycles_finished_s": round(wall, 1),
            "cycles_per_second": round(len(self.users) / wall, 1),
            "cpu_ms_per_cycle_with_notification": round(1000 * cpu / len(self.users), 2),
        }

    async def _finished_since(self, moment: datetime) -> int:
        query = select(func.count(distinct(SyncRun.user_id))).where(
            SyncRun.started_at >= moment, SyncRun.finished_at.is_not(None)
        )
        async with self.services.db.connection(write=False) as conn:
            return int((await conn.execute(query)).scalar_one())


def _now() -> datetime:
    return datetime.now(UTC)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def _progress(what: str) -> None:
    from s5sync.bench.runner import progress

    progress(what)


async def run_push(config: PushBenchConfig) -> dict[str, Any]:
    """The push figures, in databases of their own."""
    async with scratch_databases(("push_ce", "push_s5")) as urls:
        return await PushWorld(config, {"ce": urls["push_ce"], "s5": urls["push_s5"]}).run()
