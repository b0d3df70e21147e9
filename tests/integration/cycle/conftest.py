"""A store, an onboarded user and the cycle engine over in-memory fakes of both sides."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path

import pytest

from s5sync.core.records import TenantRecord, UserRecord
from s5sync.entrypoints.bootstrap import build_services
from s5sync.settings import Settings
from s5sync.store.migrate import upgrade
from s5sync.store.secrets import SecretBox
from s5sync.sync.engine import CycleEngine
from s5sync.sync.ports import UserPorts
from s5sync.testing.calendar import FakeCalendarGateway
from s5sync.testing.tasks import FakeTaskStore
from support.fake_world import NOW, World


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    url = f"sqlite:///{tmp_path}/ce.db"
    upgrade(url)
    services = build_services(Settings(database_url=url, secret_keys=SecretBox.generate_key()))
    holder: dict[str, datetime] = {"now": NOW}
    tasks = FakeTaskStore("America/New_York", clock=lambda: holder["now"])
    calendar = FakeCalendarGateway(page_size=10)
    employee = tasks.desk.add_employee("AM", "Alice Martin", "alice@contoso.example")
    tenant = await services.directory.create_tenant("tid", "Store", "sqlite://", NOW)
    async with services.scope(tenant.id).begin() as unit:
        user = await unit.users.signed_in("oid-alice", "alice@contoso.example", "Alice", NOW)
        await unit.users.save_token_cache(user.id, "{}")
        user = await unit.users.onboard(user.id, employee, NOW)

    @asynccontextmanager
    async def ports_for(_user: UserRecord, _tenant: TenantRecord) -> AsyncIterator[UserPorts]:
        def counts() -> dict[str, int]:
            return {f"{m} {r}": n for (m, r, _), n in calendar.counter.by_key.items()}

        yield UserPorts(tasks, calendar, counts)

    engine = CycleEngine(services, ports_for, holder="test")
    built = World(services, engine, tasks, calendar, user, employee, lambda: holder["now"])
    yield built
    await services.aclose()
