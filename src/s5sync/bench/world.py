"""The benchmark's worlds: many users in a CALENDAREVENT database, over in-memory fakes
or over the Microsoft 365 emulator running as its own process (`m365emu serve`).

The CALENDAREVENT database (and, with the emulator, System Five's) is PostgreSQL when a
server answers (`S5SYNC_BENCH_DATABASE_URL`, else `S5SYNC_TEST_DATABASE_URL`, else the
local server), so the databases run in other processes; SQLite otherwise — the report
says which. Users are inserted in bulk (the sign-in pages are not what is measured); with
the emulator, tokens come from its control plane instead of MSAL's cache (the report
says so; s5sync.bench.tokens measures MSAL's path on a signed-in sample).
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from s5sync.core.records import TenantRecord, UserRecord
from s5sync.core.snapshots import StoreOptions
from s5sync.entrypoints.bootstrap import Services, build_services
from s5sync.outlook.clients import GraphClients
from s5sync.outlook.graph import GraphCalendar
from s5sync.outlook.metering import RequestCounter
from s5sync.outlook.session import GraphSession
from s5sync.settings import Settings
from s5sync.store.migrate import upgrade
from s5sync.store.models import AppUser
from s5sync.store.secrets import SecretBox
from s5sync.sync.engine import CycleEngine, CycleStores
from s5sync.sync.ports import TaskStore, UserPorts
from s5sync.testing.calendar import FakeCalendarGateway

ZONE = "America/New_York"
TENANT = "bench-tenant"  # the Microsoft tenant, in the emulator and in CALENDAREVENT
SCOPES = ["Calendars.ReadWrite", "MailboxSettings.ReadWrite", "User.Read"]
log = logging.getLogger(__name__)
PAGE = 100  # Graph delta page size asked for (odata.maxpagesize)
MAILBOX_CHUNK = 1_000  # mailboxes per control-plane call


def postgres_server() -> str | None:
    """A PostgreSQL server URL (any database on it) that answers, or None."""
    for name in ("S5SYNC_BENCH_DATABASE_URL", "S5SYNC_TEST_DATABASE_URL"):
        if os.environ.get(name):
            candidates = [os.environ[name]]
            break
    else:
        candidates = ["postgresql://postgres@127.0.0.1:5432/postgres"]
    for url in candidates:
        try:
            engine = create_engine(
                make_url(url).set(drivername="postgresql+psycopg"), poolclass=NullPool
            )
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            engine.dispose()
            return url
        except Exception as error:  # no server here: SQLite it is, and the report says so
            log.info("bench.no_postgres", extra={"error": type(error).__name__})
    return None


@asynccontextmanager
async def scratch_databases(names: tuple[str, ...]) -> AsyncIterator[dict[str, str]]:
    """Fresh databases by name (PostgreSQL if a server answers, else SQLite files)."""
    server = postgres_server()
    with tempfile.TemporaryDirectory(prefix="s5sync-bench-") as tmp:
        if server is None:
            yield {name: f"sqlite:///{tmp}/{name}.db" for name in names}
            return
        admin = create_engine(
            make_url(server).set(drivername="postgresql+psycopg"),
            poolclass=NullPool,
            isolation_level="AUTOCOMMIT",
        )
        made = {name: f"s5sync_bench_{name}_{os.getpid()}" for name in names}
        with admin.connect() as conn:
            for db in made.values():
                conn.execute(text(f'DROP DATABASE IF EXISTS "{db}"'))
                conn.execute(text(f'CREATE DATABASE "{db}"'))
        base = make_url(server)
        try:
            yield {
                name: base.set(database=db).render_as_string(hide_password=False)
                for name, db in made.items()
            }
        finally:
            with admin.connect() as conn:
                for db in made.values():
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
            admin.dispose()


def ce_url(url: str) -> str:
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        parsed = parsed.set(drivername="postgresql+asyncpg")
    else:
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    return parsed.render_as_string(hide_password=False)


async def open_services(url: str, s5_connection: str, now: datetime) -> tuple[Services, int]:
    """The migrated CALENDAREVENT database with one store (background sync on)."""
    upgrade(url)
    settings = Settings(
        database_url=ce_url(url),
        secret_keys=SecretBox.generate_key(),
    )
    services = build_services(settings)
    tenant = await services.directory.create_tenant(
        TENANT, "Bench store", s5_connection, now, time_zone=ZONE, background_sync=True
    )
    return services, tenant.id


async def add_users(
    services: Services,
    tenant_id: int,
    employees: list[int],
    now: datetime,
    start: int = 0,
    *,
    category: bool = False,
) -> list[UserRecord]:
    """Onboarded, signed-in users, one per employee, inserted in one statement; returns
    the new ones (`start` = how many the store had). `category`: the Outlook category is
    taken as made, so a first cycle only reads the window (quicker set-up of 10,000)."""
    sealed = services.box.seal("{}")
    rows = [
        {
            "tenant_id": tenant_id,
            "object_id": f"bench-{start + i}",
            "email": f"u{start + i}@bench.example",
            "display_name": f"User {start + i}",
            "employee_id": employee,
            "onboarded_at": now,
            "token_cache_enc": sealed,
            "status": "active",
            "last_heartbeat_at": now,
            "created_at": now,
            "category_ready": StoreOptions().category_name if category else None,
        }
        for i, employee in enumerate(employees)
    ]
    async with services.db.transaction() as session:
        await session.execute(insert(AppUser), rows)
    async with services.scope(tenant_id).begin(write=False) as unit:
        return sorted(await unit.users.all(), key=lambda u: u.id)[start:]


@dataclass
class FakeFleet:
    """Per-user fake calendars and one fake System Five, for the engine alone."""

    tasks: TaskStore
    calendars: dict[int, FakeCalendarGateway] = field(default_factory=dict)

    def calendar(self, user_id: int) -> FakeCalendarGateway:
        if user_id not in self.calendars:
            self.calendars[user_id] = FakeCalendarGateway(page_size=PAGE)
        return self.calendars[user_id]

    @asynccontextmanager
    async def ports_for(self, user: UserRecord, _tenant: TenantRecord) -> AsyncIterator[UserPorts]:
        calendar = self.calendar(user.id)
        before = calendar.counter.total

        def counts() -> dict[str, int]:
            return {"requests": calendar.counter.total - before}

        yield UserPorts(self.tasks, calendar, counts)

    def engine(self, stores: CycleStores) -> CycleEngine:
        return CycleEngine(stores, self.ports_for, holder="bench")


class EmulatorProcess:
    """`m365emu serve` in its own process, driven through its control plane."""

    def __init__(self) -> None:
        self.process: subprocess.Popen[str] | None = None
        self.urls: dict[str, str] = {}
        self.control: httpx.Client | None = None
        self.drain: threading.Thread | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "m365emu", "serve", "--port", "0", "--no-demo"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.process.stdout is not None
        while len(self.urls) < 5:
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError("m365emu serve stopped before printing its URLs")
            key, _, value = line.strip().partition(": ")
            self.urls[key] = value
        # Keep draining its output so a chatty server never blocks on a full pipe.
        stdout = self.process.stdout
        self.drain = threading.Thread(target=stdout.read, daemon=True)
        self.drain.start()
        self.control = httpx.Client(base_url=self.urls["control"].rstrip("/") + "/", timeout=60)

    def call(self, method: str, path: str, body: Any = None) -> Any:
        assert self.control is not None
        answer = self.control.request(method, path, json=body)
        answer.raise_for_status()
        return answer.json() if answer.content else None

    def add_mailboxes(self, tenant: str, emails: list[str]) -> dict[str, str]:
        """Mailboxes and an access token for each (control plane, not MSAL), made
        `MAILBOX_CHUNK` at a time by `users/bulk`."""
        if not any(t["id"] == tenant for t in self.call("GET", "tenants")["value"]):
            self.call("POST", "tenants", {"id": tenant, "name": "Bench"})
        tokens: dict[str, str] = {}
        for at in range(0, len(emails), MAILBOX_CHUNK):
            chunk = emails[at : at + MAILBOX_CHUNK]
            body = {
                "tenant_id": tenant,
                "users": [{"email": email, "display_name": email} for email in chunk],
                "tokens": True,
                "scopes": SCOPES,
            }
            made = self.call("POST", "users/bulk", body)["value"]
            for email, user in zip(chunk, made, strict=True):
                tokens[email] = str(user["token"]["access_token"])
        return tokens

    def cpu_seconds(self) -> float:
        """The emulator process's CPU so far (from /proc), to keep it out of ours."""
        assert self.process is not None
        stat = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.control is not None:
            self.control.close()
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            if self.drain is not None:
                self.drain.join(timeout=10)  # the pipe ends with the process
            if self.process.stdout is not None:
                self.process.stdout.close()


class StaticToken:
    """An access token minted once by the emulator's control plane."""

    def __init__(self, token: str) -> None:
        self._token = token

    async def token(self, *, force_refresh: bool = False) -> str:
        return self._token


@dataclass
class EmulatorFleet:
    """Ports over the emulator's Graph (TLS, set latency) and System Five in SQL."""

    services: Services
    tasks: TaskStore
    graph: GraphClients  # as `Services.graph_http` shards them
    tokens: dict[str, str]

    @asynccontextmanager
    async def ports_for(self, user: UserRecord, _tenant: TenantRecord) -> AsyncIterator[UserPorts]:
        counter = RequestCounter()
        http = self.graph.for_user(user.id)
        session = GraphSession(http, StaticToken(self.tokens[user.email]), counter=counter)

        def counts() -> dict[str, int]:
            return {"requests": counter.total}

        yield UserPorts(self.tasks, GraphCalendar(session, page_size=PAGE), counts)

    def engine(self) -> CycleEngine:
        return CycleEngine(self.services, self.ports_for, holder="bench")


def tomorrow(now: datetime, hour: int, offset_days: int = 1) -> datetime:
    day = (now + timedelta(days=offset_days)).date()
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def utc_now() -> datetime:
    return datetime.now(UTC)
