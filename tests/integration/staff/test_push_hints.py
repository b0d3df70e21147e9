"""Switching background sync on makes every user of the store active (R14): the
administration tells push to sweep at once (R14b), so they are subscribed within seconds
rather than at the next periodic sweep; saving options that change nothing of it does not."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from s5sync.core.cadence import Trouble
from s5sync.entrypoints.bootstrap import Services, build_services
from s5sync.settings import Settings
from s5sync.staff.administration import StoreAdministration
from s5sync.store.migrate import upgrade
from s5sync.store.secrets import SecretBox
from s5sync.sync.ports import TaskStore
from support.web_pages import options_form

NOW = datetime(2026, 12, 6, 15, 0, tzinfo=UTC)


class Push:
    off_reason: str | None = None

    def __init__(self) -> None:
        self.sweeps = 0

    async def troubles(self, tenant_id: int) -> dict[int, Trouble]:
        return {}

    async def sweep_soon(self) -> None:
        self.sweeps += 1

    async def options_saved(self) -> None:
        pass


@pytest.fixture
async def services(tmp_path: Path) -> AsyncIterator[Services]:
    url = f"sqlite:///{tmp_path}/ce.db"
    upgrade(url)
    built = build_services(Settings(database_url=url, secret_keys=SecretBox.generate_key()))
    yield built
    await built.aclose()


async def no_task_store(_tenant_id: int) -> TaskStore:
    raise AssertionError("options need no System Five")


async def test_background_sync_switched_on_sweeps_at_once_R14_R14b(services: Services) -> None:
    tenant = await services.directory.create_tenant("ms", "Contoso", "sqlite://", NOW)
    async with services.scope(tenant.id).begin() as unit:
        admin = await unit.users.signed_in("oid-admin", "admin@contoso", "A", NOW)
        admin = await unit.users.set_admin(admin.id, True)
    push = Push()
    administration = StoreAdministration(services.scope, no_task_store, lambda: NOW, push)

    saved = await administration.save_options(admin, options_form(), zone_confirmed=True)
    assert saved.saved
    assert not saved.tenant.options.background_sync
    assert push.sweeps == 0

    on = options_form(background_sync="on")
    saved = await administration.save_options(admin, on, zone_confirmed=True)
    assert saved.saved
    assert saved.tenant.options.background_sync
    assert push.sweeps == 1

    await administration.save_options(admin, on, zone_confirmed=True)  # already on
    assert push.sweeps == 1
