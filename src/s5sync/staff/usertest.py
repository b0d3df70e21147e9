"""Test per user (issue 21 item 6; Dynamics 365's "Test & Enable"): the administrator runs
the onboarding self-test for any user of their store and sees each check's result.

The checks are the onboarding self-test's (`selftest.py`: the token and its scopes, the
Outlook category — read-only, nothing is written to the mailbox) plus what an onboarded
user needs: System Five reachable, the mapped employee still in System Five, and — when
change notifications are on — the user's Graph subscription live (R14b). Bound to the
administrator's store: another store's user id is "not found" (R22).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from s5sync.core.records import TenantRecord, UserRecord
from s5sync.staff.administration import NoSuchUser
from s5sync.staff.selftest import Check, outlook_checks
from s5sync.sync.ports import TaskStore


@dataclass(frozen=True)
class UserTestResult:
    user: UserRecord
    tenant: TenantRecord
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)


class UserTest:
    def __init__(
        self,
        services: Any,
        task_store_for: Callable[[int], Awaitable[TaskStore]],
        clock: Callable[[], datetime],
    ) -> None:
        self.services = services
        self.task_store_for = task_store_for
        self.clock = clock

    async def run(self, admin: UserRecord, user_id: int) -> UserTestResult:
        if not admin.is_admin:
            raise PermissionError("not an administrator of this store")
        async with self.services.scope(admin.tenant_id).begin(write=False) as unit:
            user = await unit.users.find(user_id)
            tenant = await unit.tenant.get()
        if user is None:
            raise NoSuchUser()
        checks = [await self._employee_check(user)]
        if user.status == "needs_sign_in" or not user.has_token_cache:
            checks.append(Check(False, "Microsoft sign-in no longer works: sign in again."))
        else:
            checks += await outlook_checks(self.services, user, tenant)
        checks.append(self._subscription_check(user, tenant))
        if user.paused:
            checks.append(Check(False, f"Sync is paused by {user.paused_by}: resume it"))
        return UserTestResult(user, tenant, tuple(checks))

    async def _employee_check(self, user: UserRecord) -> Check:
        try:
            employees = await (await self.task_store_for(user.tenant_id)).employees()
        except Exception as error:  # shown as a failed check, never a crash
            return Check(False, f"System Five is not reachable ({type(error).__name__})")
        if user.employee_id is None:
            return Check(False, "Not matched to a System Five employee: map them on Staff")
        found = next((e for e in employees if e.id == user.employee_id), None)
        if found is None:
            return Check(False, f"Employee #{user.employee_id} is no longer in System Five")
        return Check(True, f"System Five reachable; employee {found.name} ({found.code}) found")

    def _subscription_check(self, user: UserRecord, tenant: TenantRecord) -> Check:
        live = user.push_live_until
        every = tenant.options.interval_minutes
        if live is not None and live > self.clock():
            return Check(True, "Change notifications: the calendar subscription is live")
        return Check(
            True, f"No live change-notification subscription: synced every {every} minutes"
        )
