"""The web app in-process over HTTP, for the administrator's and security tests (issue 11).

`web_app(services)` is built exactly as `s5sync serve` builds it and driven through
`httpx.ASGITransport` at `https://s5sync.test` (secure cookies on). Behind it: the
Microsoft 365 emulator over real TLS (MSAL sign-in through its sign-in page with form
posts, Graph for the cycles) and two registered stores, each with its own System Five
SQLite database — Contoso (Alice, Bob, …) and Fabrikam (Erin) — so that every test can
ask what one store's people can reach of the other's.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import httpx
from fastapi import FastAPI

from m365emu.demo import DEMO_TENANT_ID, FABRIKAM_TENANT_ID, register_app
from m365emu.testing import RunningEmulator, run_emulator, sign_in_with_form_posts
from s5emu.desk import Desk, TaskForm
from s5emu.schema import create_schema, engine_for
from s5sync.core.records import TenantRecord, UserRecord
from s5sync.entrypoints.bootstrap import Services, build_services
from s5sync.entrypoints.web.app import web_app
from s5sync.settings import Settings
from s5sync.store.migrate import upgrade
from s5sync.store.secrets import SecretBox

BASE = "https://s5sync.test"
CLIENT_ID = "7c0e4b1a-2d3f-4a5b-8c6d-9e0f1a2b3c4d"
CLIENT_SECRET = "web-test-secret"
REDIRECT = f"{BASE}/auth/callback"
ZONE = "America/New_York"
NAMES = {
    "alice@contoso.example": "Alice Martin",
    "bob@contoso.example": "Bob Nguyen",
    "carol@contoso.example": "Carol Diaz",
    "erin@fabrikam.example": "Erin Walsh",
}


@contextmanager
def emulator_for_web() -> Iterator[RunningEmulator]:
    def configure(emulator: Any) -> None:
        register_app(
            emulator, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, redirect_uris=[REDIRECT]
        )

    with run_emulator(seed=True, configure=configure) as running:
        yield running


@dataclass
class Store:
    tenant: TenantRecord
    desk: Desk


@dataclass
class Person:
    """A signed-in browser and the user behind it."""

    email: str
    browser: httpx.AsyncClient
    user: UserRecord

    async def csrf(self) -> str:
        page = await self.browser.get("/dashboard")
        found = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
        assert found is not None, page.text[:300]
        return found.group(1)


@dataclass
class WebWorld:
    running: RunningEmulator
    services: Services
    app: FastAPI
    stores: dict[str, Store]
    people: dict[str, Person] = field(default_factory=dict)
    browsers: list[httpx.AsyncClient] = field(default_factory=list)

    def browser(self) -> httpx.AsyncClient:
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url=BASE, follow_redirects=False
        )
        self.browsers.append(client)
        return client

    async def sign_in(self, email: str) -> Person:
        """MSAL's auth-code flow: our /auth/login, the emulator's page, our callback."""
        browser = self.browser()
        login = await browser.get("/auth/login")
        assert login.status_code == 303, login.text
        auth_uri = login.headers["location"]
        callback, fields = await anyio.to_thread.run_sync(
            lambda: sign_in_with_form_posts(auth_uri, email, self.running.ssl_context())
        )
        assert callback == REDIRECT
        done = await browser.post("/auth/callback", data=fields)
        assert done.status_code == 303, done.text
        user = await self.user(email)
        person = Person(email, browser, user)
        self.people[email] = person
        return person

    async def user(self, email: str) -> UserRecord:
        [found] = await self.services.directory.find_users(email)
        return found

    def store_of(self, email: str) -> Store:
        return self.stores["fabrikam" if email.endswith("@fabrikam.example") else "contoso"]

    async def employee(self, email: str) -> int:
        desk = self.store_of(email).desk
        for row in desk.employees():
            if row.email == email:
                return row.id
        return desk.add_employee(email.split("@")[0].upper(), NAMES[email], email)

    async def onboard(self, email: str, *, admin: bool = False) -> UserRecord:
        """Map the user to their employee (as the operator's CLI does) and maybe grant
        the administrator role (`s5sync user admin grant`)."""
        user = await self.user(email)
        employee = await self.employee(email)
        async with self.services.scope(user.tenant_id).begin() as unit:
            await unit.users.onboard(user.id, employee, datetime.now(UTC))
            updated = await unit.users.set_admin(user.id, admin)
        if email in self.people:
            self.people[email].user = updated
        return updated

    def add_task(self, email: str, title: str, start: str, end: str, employee: int) -> int:
        form = TaskForm(
            kind="delivery",
            employee_id=employee,
            customer_id=None,
            title=title,
            notes="",
            starts_at=datetime.fromisoformat(start),
            ends_at=datetime.fromisoformat(end),
            alarm_minutes=None,
            sync=True,
        )
        return self.store_of(email).desk.create_task(form)

    def graph(self, email: str) -> httpx.Client:
        """Graph as the user (the emulator's test token), to act like Outlook."""
        with httpx.Client(base_url=self.running.urls.control) as control:
            answer = control.post("token", json={"email": email, "scopes": ["Calendars.ReadWrite"]})
            answer.raise_for_status()
            token = answer.json()["access_token"]
        return httpx.Client(
            base_url=self.running.urls.graph,
            verify=self.running.ssl_context(),
            # ids as the product reads them (immutable, outlook-immutable-id.md)
            headers={"Authorization": f"Bearer {token}", "Prefer": 'IdType="ImmutableId"'},
        )

    def events(self, email: str) -> list[dict[str, Any]]:
        with self.graph(email) as graph:
            answer = graph.get("/me/events", params={"$top": "500"})
            answer.raise_for_status()
            return list(answer.json()["value"])

    async def cycle(self, email: str) -> Any:
        """One cycle through the web app's own metered cycle runner."""
        return await self.app.state.run_cycle(await self.user(email))


def settings_for(tmp_path: Path, running: RunningEmulator, **overrides: Any) -> Settings:
    ce_url = overrides.pop("database_url", f"sqlite:///{tmp_path / 'calendarevent.db'}")
    upgrade(ce_url)
    values: dict[str, Any] = {
        "database_url": ce_url,
        "secret_keys": SecretBox.generate_key(),
        "session_secret": "s" * 64,
        "authority": running.urls.authority("organizations"),
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "redirect_uri": REDIRECT,
        "public_url": BASE,
        "graph_base_url": running.urls.graph,
        "ca_bundle": running.urls.ca_cert,
        "secure_cookies": True,
    }
    values.update(overrides)
    return Settings(**values)


@asynccontextmanager
async def web_world(
    tmp_path: Path, running: RunningEmulator, **settings: Any
) -> AsyncIterator[WebWorld]:
    """Two stores behind the web app; `settings` override the CALENDAREVENT database
    (SQLite in `tmp_path` by default)."""
    services = build_services(settings_for(tmp_path, running, **settings))
    stores: dict[str, Store] = {}
    for name, ms_tenant in (("contoso", DEMO_TENANT_ID), ("fabrikam", FABRIKAM_TENANT_ID)):
        s5_url = f"sqlite:///{tmp_path / f'systemfive-{name}.db'}"
        create_schema(s5_url)
        tenant = await services.directory.create_tenant(
            ms_tenant, name.title(), s5_url, datetime.now(UTC), time_zone=ZONE
        )
        stores[name] = Store(tenant, Desk(engine_for(s5_url)))
    world = WebWorld(running, services, web_app(services, run_scheduler=False), stores)
    try:
        yield world
    finally:
        for browser in world.browsers:
            await browser.aclose()
        await services.aclose()
        for store in stores.values():
            store.desk.engine.dispose()
