"""The whole product's back end for cycle tests: the Microsoft 365 emulator over real
TLS sockets, a System Five reference database (SQLite) with its desk, and s5sync's
services built from settings exactly as `s5sync serve` builds them. Users sign in
through MSAL and the emulator's sign-in page (plain HTTP form posts)."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import httpx

from m365emu.demo import DEMO_TENANT_ID, register_app
from m365emu.testing import RunningEmulator, run_emulator, sign_in_with_form_posts
from s5emu.desk import Desk, TaskForm
from s5emu.schema import create_schema, engine_for
from s5sync.core.records import TenantRecord, UserRecord
from s5sync.entrypoints.bootstrap import Services, build_services
from s5sync.settings import Settings
from s5sync.store.migrate import upgrade
from s5sync.store.secrets import SecretBox
from s5sync.sync.engine import CycleEngine, CycleResult

CLIENT_ID = "5a1b2c3d-0000-4e6a-8b3c-5f1d2e3a4b5c"
CLIENT_SECRET = "cycle-test-secret"
REDIRECT = "http://127.0.0.1:8000/auth/callback"
ZONE = "America/New_York"


@dataclass
class Stack:
    running: RunningEmulator
    services: Services
    desk: Desk
    tenant: TenantRecord
    users: dict[str, UserRecord] = field(default_factory=dict)
    employees: dict[str, int] = field(default_factory=dict)
    engine: CycleEngine | None = None

    async def sign_in(self, email: str, name: str, employee_id: int | None = None) -> UserRecord:
        """MSAL's auth-code flow through the emulator's sign-in page; then onboarding (to
        a new System Five employee, or to `employee_id`)."""
        signin = self.services.signin()
        auth_uri, _state, flow = await signin.begin(REDIRECT)
        _, response = await anyio.to_thread.run_sync(
            lambda: sign_in_with_form_posts(auth_uri, email, self.running.ssl_context())
        )
        who = await signin.complete(flow, response)
        employee = employee_id or self.desk.add_employee(email.split("@")[0].upper(), name, email)
        now = datetime.now(UTC)
        async with self.services.scope(self.tenant.id).begin() as unit:
            user = await unit.users.signed_in(who.object_id, who.email, who.display_name, now)
            await unit.users.save_token_cache(user.id, who.token_cache)
            user = await unit.users.onboard(user.id, employee, now)
        self.users[email], self.employees[email] = user, employee
        return user

    async def cycle(self, email: str, now: datetime) -> CycleResult:
        assert self.engine is not None
        async with self.services.scope(self.tenant.id).begin(write=False) as unit:
            user = await unit.users.get(self.users[email].id)
        return await self.engine.run_user_cycle(user, now)

    def add_task(self, email: str, kind: str, title: str, start: str, end: str, **kw: Any) -> int:
        form = TaskForm(
            kind=kind,
            employee_id=self.employees[email],
            customer_id=kw.get("customer_id"),
            title=title,
            notes=kw.get("notes", ""),
            starts_at=datetime.fromisoformat(start),
            ends_at=datetime.fromisoformat(end),
            alarm_minutes=kw.get("alarm_minutes"),
            sync=kw.get("sync", True),
        )
        return self.desk.create_task(form)

    def graph(self, email: str) -> httpx.Client:
        """Graph as the user, for reading and changing the calendar like Outlook does."""
        token = self.control("POST", "/token", {"email": email, "scopes": ["Calendars.ReadWrite"]})
        return httpx.Client(
            base_url=self.running.urls.graph,
            verify=self.running.ssl_context(),
            headers={
                "Authorization": f"Bearer {token['access_token']}",
                "Prefer": 'IdType="ImmutableId"',  # ids as the product reads them
            },
        )

    def events(self, email: str) -> list[dict[str, Any]]:
        with self.graph(email) as graph:
            answer = graph.get("/me/events", params={"$top": "500"})
            answer.raise_for_status()
            return list(answer.json()["value"])

    def control(self, method: str, path: str, body: Any = None) -> Any:
        with httpx.Client(base_url=self.running.urls.control) as client:
            answer = client.request(method, path.lstrip("/"), json=body)
            answer.raise_for_status()
            return answer.json() if answer.content else None

    def stats(self) -> dict[str, Any]:
        return dict(self.control("GET", "/stats"))


@contextmanager
def emulator_running() -> Iterator[RunningEmulator]:
    def configure(emulator: Any) -> None:
        register_app(
            emulator, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, redirect_uris=[REDIRECT]
        )

    with run_emulator(seed=True, configure=configure) as running:
        yield running


@asynccontextmanager
async def stack(
    tmp_path: Path,
    running: RunningEmulator,
    database_url: str | None = None,
    *,
    migrated: Path | None = None,
    systemfive_url: str | None = None,
) -> AsyncIterator[Stack]:
    """The stack on SQLite files under `tmp_path`, or with the CALENDAREVENT database at
    `database_url` (an empty PostgreSQL database); `migrated`: an SQLite CALENDAREVENT
    database already upgraded, copied instead of migrating again (quicker);
    `systemfive_url`: a System Five reference schema made already (SQLite or PostgreSQL)."""
    s5_url = systemfive_url or f"sqlite:///{tmp_path / 'systemfive.db'}"
    if systemfive_url is None:
        create_schema(s5_url)
    ce_url = database_url or f"sqlite:///{tmp_path / 'calendarevent.db'}"
    if migrated is not None and database_url is None:
        shutil.copy(migrated, tmp_path / "calendarevent.db")
    else:
        upgrade(ce_url)
    settings = Settings(
        database_url=ce_url,
        secret_keys=SecretBox.generate_key(),
        authority=running.urls.authority(DEMO_TENANT_ID),
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        redirect_uri=REDIRECT,
        graph_base_url=running.urls.graph,
        ca_bundle=running.urls.ca_cert,
    )
    services = build_services(settings)
    tenant = await services.directory.create_tenant(
        DEMO_TENANT_ID, "Contoso Home", s5_url, datetime.now(UTC), time_zone=ZONE
    )
    built = Stack(running, services, Desk(engine_for(s5_url)), tenant)
    built.engine = services.cycle_engine("test")
    try:
        yield built
    finally:
        await services.aclose()
        built.desk.engine.dispose()
