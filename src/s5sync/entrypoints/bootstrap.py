"""The one composition root (STYLE.md habit 8): `build_services(settings)` makes what a
process shares, and one builder per process kind makes the rest from it —
`build_web(services)` for the web process (`serve`; `entrypoints/web/app.py` only wires
it to routes), `build_worker(services)` for a worker, `build_cli(settings)` for one
command of the command line (`db|keys|tenant|user …`, `sync`), `build_demo(settings)` for
`s5sync demo`. Nothing else constructs services: the entry points call these.

Nothing is built at import time; each process calls its builder once and closes what it
returns. `build_web` builds what the web process runs beside its routes (accounts, the
administrator's pages, the metered cycle engine, the local scheduler, push).

Process-wide objects live here — the database, the secret box, the one MSAL application
(DESIGN.md "Outlook connector"), one shared `httpx.AsyncClient` for Graph (trusting the
configured CA), one System Five connection pool per store — and per-user ports are made
from them for each cycle.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from s5sync.core.records import TenantRecord, UserRecord
from s5sync.outlook.clients import GraphClients
from s5sync.settings import Settings
from s5sync.store.cycles import SqlCycleStore
from s5sync.store.database import Database
from s5sync.store.directory import Directory
from s5sync.store.scope import TenantScope
from s5sync.store.secrets import SecretBox
from s5sync.sync.ports import TaskStore, UserPorts

if TYPE_CHECKING:
    from s5sync.alerts.service import Alerts
    from s5sync.entrypoints.web.metrics import MeteredCycles, Metrics
    from s5sync.outlook.identity import MsalIdentity
    from s5sync.outlook.metering import RequestCounter
    from s5sync.outlook.session import GraphSession
    from s5sync.outlook.signin import MsalSignIn
    from s5sync.outlook.subscriptions import SubscriptionGateway
    from s5sync.outlook.tokens import AccessTokens
    from s5sync.outlook.transport import GraphTransport
    from s5sync.scheduling.distributed import DistributedScheduler
    from s5sync.scheduling.local import LocalScheduler
    from s5sync.scheduling.push import PushService
    from s5sync.scheduling.push_jobs import DeferringNudge
    from s5sync.staff.accounts import Accounts
    from s5sync.staff.administration import StoreAdministration
    from s5sync.staff.invites import Invitations
    from s5sync.staff.usertest import UserTest
    from s5sync.store.subscriptions import Upkeep
    from s5sync.sync.engine import CycleEngine, PortsFactory


def utc_now() -> datetime:
    """The process clock (the cycle's `now` is read once, at its entry point)."""
    return datetime.now(UTC)


@dataclass
class Services:
    """Everything a process shares: settings, the database, the secret box, and the
    connectors' process-wide parts (built on first use)."""

    settings: Settings
    db: Database
    box: SecretBox
    directory: Directory
    _identity: MsalIdentity | None = None
    _graph: GraphClients | None = None  # built on first use
    _task_stores: dict[tuple[int, str], TaskStore] = field(default_factory=dict)
    _access_tokens: AccessTokens | None = None

    def scope(self, tenant_id: int) -> TenantScope:
        """Transactions bound to one store (R22)."""
        return TenantScope(self.db, self.box, tenant_id)

    def cycle_store(self, tenant_id: int) -> SqlCycleStore:
        """One store's CALENDAREVENT rows as a cycle reads and writes them (R16, R18)."""
        return SqlCycleStore(self.db, self.box, tenant_id)

    # -- Outlook -----------------------------------------------------------------------

    def identity(self) -> MsalIdentity:
        """The process's one MSAL application (`MsalIdentity`)."""
        if self._identity is None:
            from s5sync.outlook.identity import (
                CertificateCredential,
                IdentityConfig,
                MsalIdentity,
            )

            settings = self.settings
            credential: str | CertificateCredential = settings.client_secret.get_secret_value()
            if settings.client_certificate is not None:
                credential = CertificateCredential(
                    private_key_pem=settings.client_certificate.read_text(),
                    thumbprint=settings.client_certificate_thumbprint,
                )
            self._identity = MsalIdentity(
                IdentityConfig(
                    client_id=self.settings.client_id,
                    credential=credential,
                    authority=self.settings.authority,
                    ca_bundle=self.settings.ca_bundle,
                )
            )
        return self._identity

    def access_tokens(self) -> AccessTokens:
        """Users' access tokens between their cycles, in memory only (`AccessTokens`)."""
        if self._access_tokens is None:
            from s5sync.outlook.tokens import AccessTokens

            self._access_tokens = AccessTokens()
        return self._access_tokens

    def graph_http(self, user_id: int = 0) -> GraphTransport:
        """The user's pooled transport to Graph (their shard of `GraphClients`),
        trusting the configured CA (S5SYNC_CA_BUNDLE: the demo's emulator CA)."""
        if self._graph is None:
            verify: ssl.SSLContext | bool = True
            if self.settings.ca_bundle is not None:
                verify = ssl.create_default_context(cafile=str(self.settings.ca_bundle))
            self._graph = GraphClients(self.settings.graph_base_url, verify)
        return self._graph.for_user(user_id)

    def signin(self) -> MsalSignIn:
        from s5sync.outlook.signin import MsalSignIn

        return MsalSignIn(self.identity())

    # -- System Five ---------------------------------------------------------------------

    async def task_store(self, tenant: TenantRecord) -> TaskStore:
        """The store's System Five connector: one pool per store and time zone (R21b),
        shared by the process and closed by `aclose` — users never close it."""
        from s5sync.systemfive.adapter import SqlTaskStore

        key = (tenant.id, tenant.options.time_zone)
        store = self._task_stores.get(key)
        if store is None:
            url = await self.directory.s5_connection(tenant.id)
            # Another caller (a cycle, the System Five watcher) may have made it while
            # the connection was read: one pool per store, never a second left open.
            store = self._task_stores.get(key)
            if store is None:
                store = SqlTaskStore(url, tenant.options.time_zone)
                self._task_stores[key] = store
        return store

    async def task_store_for(self, tenant_id: int) -> TaskStore:
        return await self.task_store(await self.directory.tenant(tenant_id))

    # -- one user's cycle ------------------------------------------------------------------

    @asynccontextmanager
    async def ports_for(self, user: UserRecord, tenant: TenantRecord) -> AsyncIterator[UserPorts]:
        """The ports of one user's cycle: System Five and the user's Graph calendar."""
        from s5sync.outlook.graph import GraphCalendar
        from s5sync.outlook.metering import RequestCounter

        counter = RequestCounter()
        session = self.graph_session(user.tenant_id, user.id, user.object_id, counter, 300)

        def requests() -> dict[str, int]:
            return {f"{m} {r}": n for (m, r, _), n in counter.by_key.items()}

        yield UserPorts(await self.task_store(tenant), GraphCalendar(session), requests)

    def alerts(self) -> Alerts:
        """R21d: alerts by e-mail when a mail server is configured, else on the health
        page only."""
        from s5sync.alerts.service import Alerts
        from s5sync.alerts.smtp import SmtpMailer

        mailer = SmtpMailer(self.settings) if self.settings.smtp_host else None
        return Alerts(self.directory, mailer, self.settings.public_url, utc_now)

    def graph_session(
        self,
        tenant_id: int,
        user_id: int,
        object_id: str,
        counter: RequestCounter | None = None,
        seconds: float = 300,
    ) -> GraphSession:
        """One user's Graph conversation (tokens from the user's sealed MSAL cache)."""
        from s5sync.outlook.metering import RequestCounter
        from s5sync.outlook.session import GraphSession
        from s5sync.outlook.tokens import StoredTokenCache, UserTokens

        tokens = UserTokens(
            self.identity(),
            StoredTokenCache(self.scope(tenant_id), user_id),
            object_id=object_id,
            held=self.access_tokens(),
            user_id=user_id,
        )
        return GraphSession(
            self.graph_http(user_id),
            tokens,
            counter=counter if counter is not None else RequestCounter(),
            deadline=time.monotonic() + seconds,
        )

    @asynccontextmanager
    async def subscriptions_for(self, work: Upkeep) -> AsyncIterator[SubscriptionGateway]:
        """The user's Graph subscriptions (R14b), for the subscription manager."""
        from s5sync.outlook.subscriptions import GraphSubscriptions

        yield GraphSubscriptions(
            self.graph_session(work.tenant_id, work.user_id, work.object_id, seconds=60)
        )

    def cycle_engine(self, holder: str, ports_for: PortsFactory | None = None) -> CycleEngine:
        """A cycle engine over this process's stores and ports (`ports_for`, e.g. metered,
        defaults to `self.ports_for`), its leases held as `holder` (sync/holders.py)."""
        from s5sync.sync.engine import CycleEngine

        return CycleEngine(self, ports_for or self.ports_for, holder=holder)

    async def aclose(self) -> None:
        for store in self._task_stores.values():
            await store.close()
        self._task_stores.clear()
        if self._graph is not None:
            await self._graph.aclose()
        if self._identity is not None:
            self._identity.close()
        await self.db.dispose()


@dataclass
class WebServices:
    """What the web process runs beside its routes (R14, R14b, R19–R21d)."""

    services: Services
    accounts: Accounts
    admin: StoreAdministration
    counters: Metrics
    cycles: MeteredCycles  # every cycle this process runs, timed and counted
    scheduler: LocalScheduler
    push: PushService
    deferring: DeferringNudge | None  # the distributed scheduler's nudge, if any
    user_test: UserTest
    invitations: Invitations


def build_web(services: Services) -> WebServices:
    """The web process's services (`s5sync serve`, `s5sync demo`): the local scheduler
    (R14) with the alert chore (R21d), and push (R14b) — with the distributed scheduler
    the workers watch and sweep, and this process takes notifications and defers the
    woken users' cycles."""
    from s5sync.entrypoints.web.metrics import MeteredCycles, Metrics
    from s5sync.scheduling.push import PushService
    from s5sync.scheduling.push_jobs import deferring_nudge
    from s5sync.staff.accounts import Accounts
    from s5sync.staff.administration import StoreAdministration
    from s5sync.staff.invites import Invitations
    from s5sync.staff.usertest import UserTest
    from s5sync.sync.holders import holder_name

    settings = services.settings
    counters = Metrics()
    cycles = MeteredCycles(services, counters, holder=holder_name("web"))
    scheduler = _local_scheduler(services, cycles)

    async def nudge(_woken: list[int]) -> None:
        await scheduler.wake()

    deferring = deferring_nudge(settings) if settings.scheduler == "procrastinate" else None
    push = PushService(
        services,
        deferring if deferring is not None else nudge,
        utc_now,
        lambda result: counters.notifications.labels(result).inc(),
        sweep_elsewhere=deferring.sweep_now if deferring is not None else None,
    )
    stores = services.task_store_for
    return WebServices(
        services=services,
        # R14b: a user made active is subscribed at once, not at the next sweep
        accounts=Accounts(services, services.signin(), stores, utc_now, activated=push.sweep_soon),
        admin=StoreAdministration(
            services.scope, stores, utc_now, push, forget=push.manager.forget
        ),
        counters=counters,
        cycles=cycles,
        scheduler=scheduler,
        push=push,
        deferring=deferring,
        user_test=UserTest(services, stores, utc_now),
        invitations=Invitations(
            services.scope,
            stores,
            utc_now,
            settings.public_url,
            mail_enabled=bool(settings.smtp_host),
        ),
    )


def _local_scheduler(services: Services, cycles: MeteredCycles) -> LocalScheduler:
    """The web process's scheduler (R14): due users' cycles, and the alert chore (R21d)."""
    from datetime import timedelta

    from s5sync.scheduling.local import Chore, LocalScheduler
    from s5sync.sync.engine import CycleResult

    async def run_cycle(user: UserRecord) -> CycleResult:
        return await cycles.run_user_cycle(user, utc_now())

    every = timedelta(seconds=services.settings.alert_every_seconds)
    return LocalScheduler(
        services.directory,
        run_cycle,
        utc_now,
        chores=[Chore("alerts", every, services.alerts().run)],
    )


@dataclass
class WorkerServices:
    """What one worker process runs (`s5sync worker`, R14, R14b, R21d): the distributed
    scheduler on procrastinate, its metered cycles, and push's watcher and sweeps."""

    services: Services
    counters: Metrics
    cycles: MeteredCycles  # every cycle this worker runs, timed and counted
    scheduler: DistributedScheduler
    push: PushService


def build_worker(services: Services) -> WorkerServices:
    """The worker process's services: what this worker sees (System Five saves, new
    subscriptions) wakes the users' cycles as jobs on the same queue (R14b)."""
    from s5sync.entrypoints.web.metrics import MeteredCycles, Metrics
    from s5sync.scheduling.distributed import DistributedScheduler, build_app, holder_name
    from s5sync.scheduling.push import PushService
    from s5sync.scheduling.push_jobs import DeferringNudge

    counters = Metrics()
    cycles = MeteredCycles(services, counters, holder=holder_name())
    app = build_app(services.settings)
    push = PushService(services, DeferringNudge(app), utc_now, lambda _result: None)
    scheduler = DistributedScheduler(
        app,
        services.directory,
        cycles,
        clock=utc_now,
        alerts=services.alerts(),
        push=push,
    )
    return WorkerServices(services, counters, cycles, scheduler, push)


def build_services(settings: Settings) -> Services:
    db = Database(
        settings.database_url, tenant_url=settings.tenant_database_url, ca=settings.database_ca
    )
    box = SecretBox(settings.fernet_keys())
    return Services(settings=settings, db=db, box=box, directory=Directory(db, box))


@dataclass
class CliServices:
    """What one command of the command line uses (R21c): the process's services and the
    cycle engine of `s5sync sync` and `s5sync user resync`, its leases held as this
    process (`cli:host:pid:start`, so a killed command's lease is taken over at once,
    sync/holders.py)."""

    services: Services
    engine: CycleEngine

    async def aclose(self) -> None:
        await self.services.aclose()


def build_cli(settings: Settings) -> CliServices:
    """One command's services (`s5sync db|keys|tenant|user …`, `s5sync sync`)."""
    from s5sync.sync.holders import holder_name

    services = build_services(settings)
    return CliServices(services, services.cycle_engine(holder_name("cli")))


def build_demo(settings: Settings) -> Services:
    """`s5sync demo`'s web process: the services on the settings `demo.prepare` wrote (its
    own database, the emulator's authority, CA and Graph), for `web_app`, which builds the
    web process's parts from them (`build_web`). The demo's store is registered before,
    as the operator would, through `build_cli`."""
    return build_services(settings)
