"""The real stack the reliability machine drives (issue 13): both emulators, the store, the
cycle — built once per example, fast enough for thousands of steps.

- System Five: the reference schema on SQLite, the real `SqlTaskStore`, and s5emu's `Desk`
  acting as System Five's own screens;
- Outlook: the m365emu emulator mounted in-process (`httpx.ASGITransport`, the seam), the
  real Graph adapter with tokens got by a real refresh-token grant from the emulator's
  identity platform (so a revoked sign-in fails as in production, R19b), and a no-op sleep
  so `Retry-After` waits cost no wall time (R23b);
- the CALENDAREVENT store on SQLite (migrated once, copied per example) and the real
  `CycleEngine`, whose ports are wrapped so that the n-th write "kills the process"
  (`s5sync.testing.crashing.WritePlan` per batch, R16).
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from m365emu.app import Emulator, build_emulator
from m365emu.graph.events.records import StoredEvent
from m365emu.identity.models import User as EmuUser
from s5emu.desk import Desk
from s5emu.schema import create_schema, engine_for
from s5emu.schema import task as task_table
from s5sync.core.eventbody import imported_notes
from s5sync.core.html_text import html_to_text, normalise_text
from s5sync.core.payloads import parse_task_ref
from s5sync.core.records import TenantRecord, UserRecord
from s5sync.entrypoints.bootstrap import Services, build_services
from s5sync.outlook.errors import NeedsSignIn
from s5sync.outlook.graph import GraphCalendar
from s5sync.outlook.metering import MailboxSlots, RequestCounter
from s5sync.outlook.session import GraphSession, Pacing, RetryPolicy
from s5sync.outlook.transport import HttpxTransport
from s5sync.outlook.wire import TASK_PROPERTY_ID
from s5sync.settings import Settings
from s5sync.store.migrate import upgrade
from s5sync.store.secrets import SecretBox
from s5sync.sync.engine import CycleEngine, CycleResult
from s5sync.sync.ports import UserPorts
from s5sync.systemfive.adapter import SqlTaskStore
from s5sync.testing.crashing import CrashingCalendar, CrashingTaskStore, WritePlan, crash
from s5sync.testing.graph_emulator import (
    EmulatorTokens,
    GraphParts,
    UserActions,
    in_process_client,
    install_graph_api,
)
from support.store_damage import free_lease

ZONE = "America/New_York"
MS_TENANT = "7e1d0c1a-0000-4000-8000-00000000a11a"
CLIENT_ID = "9c0ffee0-0000-4000-8000-000000000013"
CLIENT_SECRET = "reliability-secret"
SCOPE = (
    "https://graph.microsoft.com/Calendars.ReadWrite "
    "https://graph.microsoft.com/MailboxSettings.ReadWrite offline_access"
)
CONSENTED = ["Calendars.ReadWrite", "MailboxSettings.ReadWrite", "User.Read", "offline_access"]
# A request that takes longer than this is a timeout; a `timeout` fault holds longer.
REQUEST_TIMEOUT = 0.4
FAULT_HOLD = 0.6


@dataclass
class Sleeps:
    """The waits Graph asked for (Retry-After, backoff): recorded, never slept."""

    seconds: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)
        await asyncio.sleep(0)


class RefreshTokens:
    """A user's access tokens from a refresh-token grant at the emulator's `/token`, as MSAL
    gets them in production: a revoked refresh token means NeedsSignIn (R19b)."""

    def __init__(self, http: httpx.AsyncClient, account: Account) -> None:
        self.http = http
        self.account = account
        self._token: str | None = None

    def __repr__(self) -> str:  # R22: no token in a traceback
        return f"RefreshTokens({self.account.email!r})"

    async def token(self, *, force_refresh: bool = False) -> str:
        if self._token is not None and not force_refresh:
            return self._token
        answer = await self.http.post(
            f"https://login.emu.test/{MS_TENANT}/oauth2/v2.0/token",
            data={
                "grant_type": "refresh_token",
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "refresh_token": self.account.refresh_token,
                "scope": SCOPE,
            },
        )
        body = answer.json()
        if answer.status_code == 400 and body.get("error") == "invalid_grant":
            raise NeedsSignIn("invalid_grant")
        if answer.status_code != 200:
            raise AssertionError(f"token endpoint answered {answer.status_code}: {body}")
        self.account.refresh_token = str(body["refresh_token"])
        self._token = str(body["access_token"])
        return self._token


class FreshTokens:
    """The user's own Outlook client: a token valid at the emulator's (moving) clock."""

    def __init__(self, tokens: EmulatorTokens) -> None:
        self.tokens = tokens

    async def token(self, *, force_refresh: bool = False) -> str:
        return await self.tokens.token(force_refresh=True)


@dataclass
class Account:
    """One member of staff: their Microsoft user and mailbox, their System Five employee,
    their s5sync user, and how they act in Outlook."""

    email: str
    emu_user: EmuUser
    employee_id: int
    record: UserRecord
    refresh_token: str
    outlook: UserActions
    mailbox_key: str


@dataclass
class Stack:
    emulator: Emulator
    parts: GraphParts
    http: httpx.AsyncClient
    services: Services
    store: SqlTaskStore
    desk: Desk
    tenant: TenantRecord
    engine: CycleEngine
    plan: WritePlan
    sleeps: Sleeps
    now: datetime
    accounts: list[Account] = field(default_factory=list)
    slots: dict[int, MailboxSlots] = field(default_factory=dict)

    def clock(self) -> datetime:
        return self.now

    def set_now(self, now: datetime) -> None:
        self.now = now
        self.emulator.clock.set(now)

    # -- the cycle ------------------------------------------------------------------------

    @asynccontextmanager
    async def ports_for(self, user: UserRecord, tenant: TenantRecord) -> AsyncIterator[UserPorts]:
        account = next(a for a in self.accounts if a.record.id == user.id)
        counter = RequestCounter()
        slots = self.slots.setdefault(user.id, MailboxSlots())
        session = GraphSession(
            HttpxTransport(self.http),
            RefreshTokens(self.http, account),
            counter=counter,
            slots=slots,
            policy=RetryPolicy(request_timeout=REQUEST_TIMEOUT),
            pacing=Pacing(sleep=self.sleeps, now=self.clock, random=lambda: 0.5),
        )
        calendar = GraphCalendar(session, page_size=20)

        def requests() -> dict[str, int]:
            return {f"{m} {r}": n for (m, r, _), n in counter.by_key.items()}

        yield UserPorts(
            CrashingTaskStore(self.store, self.plan, close_inner=False),
            CrashingCalendar(calendar, self.plan),
            requests,
        )

    async def cycle(self, account: Account) -> CycleResult:
        async with self.services.scope(self.tenant.id).begin(write=False) as unit:
            user = await unit.users.get(account.record.id)
        return await self.engine.run_user_cycle(user, self.now)

    async def free_lease(self, account: Account) -> None:
        """A killed cycle's lease is free, as when its process is gone (the crash here is
        in this process, so the next cycle at the same `now` could not take it over)."""
        await free_lease(self.services, self.tenant.id, account.record.id)

    # -- what each side holds -------------------------------------------------------------

    def real_events(self, account: Account) -> dict[str, StoredEvent]:
        box = self.parts.state.find(account.mailbox_key)
        if box is None:
            return {}
        return {e.id: e for e in box.events.listed() if e.kind == "singleInstance"}

    def real_tasks(self, account: Account) -> dict[int, Any]:
        query = select(task_table).where(task_table.c.employee_id == account.employee_id)
        with self.desk.engine.connect() as conn:
            return {row.id: row for row in conn.execute(query)}

    async def close(self) -> None:
        await self.store.close()
        await self.services.aclose()
        self.desk.engine.dispose()


def event_task_ref(event: StoredEvent) -> int | None:
    """R16b: the task an event names by s5sync's hidden extended property."""
    for prop_id, value in event.extended.values():
        if prop_id.casefold() == TASK_PROPERTY_ID.casefold():
            return parse_task_ref(value)
    return None


def event_body_text(event: StoredEvent) -> str:
    """The notes an event's body carries: s5sync's block without its sentinels and
    directions (R5b), or the whole text of a body the user wrote."""
    text = html_to_text(event.body) if event.body_type == "html" else normalise_text(event.body)
    return " ".join(imported_notes(text).split())


class Templates:
    """Databases migrated once per session and copied per example (a copy costs a
    millisecond, a migration a second)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.ce = root / "template-calendarevent.db"
        self.s5 = root / "template-systemfive.db"
        upgrade(f"sqlite:///{self.ce}")
        create_schema(f"sqlite:///{self.s5}")
        self.made = 0

    def fresh(self) -> tuple[str, str]:
        self.made += 1
        ce, s5 = self.root / f"ce-{self.made}.db", self.root / f"s5-{self.made}.db"
        shutil.copyfile(self.ce, ce)
        shutil.copyfile(self.s5, s5)
        return f"sqlite:///{ce}", f"sqlite:///{s5}"


@asynccontextmanager
async def built_stack(
    templates: Templates,
    emails: list[str],
    now: datetime,
    install: Callable[[Emulator], GraphParts] = install_graph_api,
) -> AsyncIterator[Stack]:
    """A fresh store with `emails` signed in and onboarded, on fresh emulators."""
    ce_url, s5_url = templates.fresh()
    emulator = build_emulator(None, parts=())
    parts = install(emulator)
    emulator.clock.set(now)
    emulator.directory.add_tenant(MS_TENANT, "Reliability Home")
    emulator.directory.add_app(MS_TENANT, CLIENT_ID, CLIENT_SECRET, [], "s5sync")
    services = build_services(Settings(database_url=ce_url, secret_keys=SecretBox.generate_key()))
    holder: dict[str, Stack] = {}
    store = SqlTaskStore(s5_url, ZONE, clock=lambda: holder["stack"].now)
    desk = Desk(engine_for(s5_url), clock=lambda: holder["stack"].now)
    tenant = await services.directory.create_tenant(
        MS_TENANT, "Reliability Home", s5_url, now, time_zone=ZONE
    )
    plan = WritePlan(fail=crash, per="batch", one_shot=True)
    try:
        async with in_process_client(emulator) as http:
            stack = Stack(
                emulator,
                parts,
                http,
                services,
                store,
                desk,
                tenant,
                CycleEngine(services, lambda u, t: holder["stack"].ports_for(u, t), holder="rel"),
                plan,
                Sleeps(),
                now,
            )
            holder["stack"] = stack
            for email in emails:
                stack.accounts.append(await _onboard(stack, email, now))
            yield stack
            await stack.close()
    finally:
        emulator.close()


async def _onboard(stack: Stack, email: str, now: datetime) -> Account:
    name = email.split("@")[0].title()
    user = stack.emulator.directory.add_user(MS_TENANT, email, name)
    stack.emulator.directory.grant_consent(user, CLIENT_ID, CONSENTED)
    refresh = stack.emulator.directory.issue_refresh_token(user, CLIENT_ID, CONSENTED, now)
    employee = stack.desk.add_employee(name[:8].upper(), name, email)
    async with stack.services.scope(stack.tenant.id).begin() as unit:
        record = await unit.users.signed_in(user.id, email, name, now)
        await unit.users.save_token_cache(record.id, "{}")
        record = await unit.users.onboard(record.id, employee, now)
    tokens = EmulatorTokens(stack.emulator, email)
    stack.parts.state.mailbox(MS_TENANT, user.id, email, name)
    return Account(
        email,
        user,
        employee,
        record,
        refresh,
        UserActions(stack.http, FreshTokens(tokens)),
        tokens.mailbox_key(),
    )


def sign_in_again(stack: Stack, account: Account) -> None:
    """R19b: after a revocation, the user signs in again and gets a new refresh token."""
    account.refresh_token = stack.emulator.directory.issue_refresh_token(
        account.emu_user, CLIENT_ID, CONSENTED, stack.emulator.clock.now()
    )


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)
