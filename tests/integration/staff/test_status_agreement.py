"""The dashboard and the health page name the same state for the same user at the same
moment (R14, R14c, R19b, R20, R21), and the health page lists who needs the
administrator first — both through the real services on a real CALENDAREVENT database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from s5sync.core.records import UserRecord
from s5sync.core.status import UserStatus
from s5sync.entrypoints.bootstrap import Services, build_services
from s5sync.settings import Settings
from s5sync.staff.accounts import Accounts
from s5sync.staff.administration import StoreAdministration
from s5sync.store.migrate import upgrade
from s5sync.store.models import AppUser
from s5sync.store.secrets import SecretBox
from s5sync.sync.ports import TaskStore

NOW = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)


@pytest.fixture
async def services(tmp_path: Path) -> AsyncIterator[Services]:
    url = f"sqlite:///{tmp_path}/ce.db"
    upgrade(url)
    built = build_services(Settings(database_url=url, secret_keys=SecretBox.generate_key()))
    yield built
    await built.aclose()


async def no_task_store(_tenant_id: int) -> TaskStore:
    raise AssertionError("the status needs no System Five")


async def staff(services: Services) -> tuple[UserRecord, dict[UserStatus, UserRecord]]:
    """An administrator and one user in each state."""
    tenant = await services.directory.create_tenant("ms", "Contoso", "sqlite://", NOW)
    users: dict[UserStatus, UserRecord] = {}
    async with services.scope(tenant.id).begin() as unit:
        for n, status in enumerate(UserStatus):
            user = await unit.users.signed_in(f"oid-{status}", f"{status}@contoso", "U", NOW)
            if status is not UserStatus.NOT_ONBOARDED:
                user = await unit.users.onboard(user.id, employee_id=n + 1, now=NOW)
            if status is not UserStatus.PAUSED:
                await unit.users.heartbeat(user.id, NOW - timedelta(seconds=30))
            if status is UserStatus.NEEDS_SIGN_IN:
                await unit.users.set_status(user.id, "needs_sign_in", "refused")
            if status is UserStatus.HELD:
                await unit.users.set_paused(user.id, NOW, by=user.email)
            users[status] = user
        admin = await unit.users.signed_in("oid-admin", "admin@contoso", "A", NOW)
        admin = await unit.users.onboard(admin.id, employee_id=99, now=NOW)
        admin = await unit.users.set_admin(admin.id, True)
        await unit.users.heartbeat(admin.id, NOW)
    async with services.db.transaction() as session:
        failing = users[UserStatus.FAILING].id
        await session.execute(
            update(AppUser).where(AppUser.id == failing).values(last_outcome="failed")
        )
    return admin, users


async def test_the_dashboard_and_the_health_page_agree_for_every_state_R14_R19b_R21(
    services: Services,
) -> None:
    admin, users = await staff(services)
    clock = lambda: NOW  # noqa: E731
    accounts = Accounts(services, services.signin(), no_task_store, clock)
    administration = StoreAdministration(services.scope, no_task_store, clock)

    _, rows = await administration.health(admin)
    health = {row.user.id: row.status for row in rows}
    for expected, user in users.items():
        shown = (await accounts.dashboard(user)).status
        assert shown is expected, user.email
        assert health[user.id] is shown, user.email


async def test_the_health_page_lists_who_needs_the_administrator_first_R21(
    services: Services,
) -> None:
    admin, _ = await staff(services)
    administration = StoreAdministration(services.scope, no_task_store, lambda: NOW)
    _, rows = await administration.health(admin)
    order = [row.status for row in rows if row.user.id != admin.id]
    assert order == [
        UserStatus.NEEDS_SIGN_IN,
        UserStatus.FAILING,
        UserStatus.NOT_ONBOARDED,
        UserStatus.HELD,
        UserStatus.PAUSED,
        UserStatus.ACTIVE,
    ]
    # a failing user is never listed below a healthy one
    failing = next(i for i, r in enumerate(rows) if r.status is UserStatus.FAILING)
    assert all(r.status is not UserStatus.ACTIVE for r in rows[:failing])
