"""Every employee in view (issue 21 item 5; R20, R21d): System Five's employees with an
e-mail address and where each stands in s5sync — signed in and matched, signed in but
not matched, invited, or never signed in — so the administrator sees who is missing;
"invite" names the employee's address as a user of the store and e-mails them the
sign-in link through the outbox (delivered like the alerts; without a mail server the
page says to send the link by hand). Every invitation is audited.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from s5sync.alerts.messages import invitation
from s5sync.core.alerts import AlertPlan
from s5sync.core.records import UserRecord
from s5sync.staff.administration import AdminError
from s5sync.store.alerts import QueuedMail
from s5sync.store.audit import Actor, AuditAction
from s5sync.store.scope import TenantScope
from s5sync.sync.ports import Employee, TaskStore


class EmployeeState(StrEnum):
    MATCHED = "signed in and matched"
    UNMATCHED = "signed in, not matched"
    INVITED = "invited, not signed in yet"
    NEVER = "never signed in"


@dataclass(frozen=True)
class RosterLine:
    employee: Employee
    state: EmployeeState
    user: UserRecord | None


def roster(employees: Sequence[Employee], users: Sequence[UserRecord]) -> list[RosterLine]:
    """Each employee with an e-mail, and their state (pure)."""
    lines = []
    for employee in employees:
        if "@" not in (employee.email or ""):
            continue
        mapped = next((u for u in users if u.employee_id == employee.id), None)
        same = next((u for u in users if u.email.casefold() == employee.email.casefold()), None)
        user = mapped or same
        if user is None:
            state = EmployeeState.NEVER
        elif user.object_id.startswith("invited:"):
            state = EmployeeState.INVITED
        elif user.onboarded and user.employee_id == employee.id:
            state = EmployeeState.MATCHED
        else:
            state = EmployeeState.UNMATCHED
        lines.append(RosterLine(employee, state, user))
    return lines


class Invitations:
    def __init__(
        self,
        scope_for: Callable[[int], TenantScope],
        task_store_for: Callable[[int], Awaitable[TaskStore]],
        clock: Callable[[], datetime],
        public_url: str,
        mail_enabled: bool,
    ) -> None:
        self.scope_for = scope_for
        self.task_store_for = task_store_for
        self.clock = clock
        self.public_url = public_url.rstrip("/")
        self.mail_enabled = mail_enabled

    async def invite(self, admin: UserRecord, employee_id: int) -> str:
        """Name the employee as a user and queue the sign-in link; the words for the page."""
        if not admin.is_admin:
            raise PermissionError("not an administrator of this store")
        try:
            employees = await (await self.task_store_for(admin.tenant_id)).employees()
        except Exception:
            raise AdminError("System Five cannot be reached: try again in a few minutes.") from None
        employee = next((e for e in employees if e.id == employee_id), None)
        if employee is None or "@" not in (employee.email or ""):
            raise AdminError("That employee is not in System Five's list with an e-mail address.")
        now = self.clock()
        async with self.scope_for(admin.tenant_id).begin() as unit:
            store = await unit.tenant.get()
            users = await unit.users.all()
            if not any(u.email.casefold() == employee.email.casefold() for u in users):
                await unit.users.invite(employee.email, now)
            if self.mail_enabled:
                words = invitation(store.name, admin.email, employee.name, self.public_url)
                key = f"{admin.tenant_id}:invite:{employee.email.lower()}:{now.date().isoformat()}"
                mail = QueuedMail(key, "invite", employee.email, *words)
                await unit.alerts.save(AlertPlan(), [mail], now)
            await unit.audit.record(
                Actor.administrator(admin.email), AuditAction.USER_INVITED, now, employee.email
            )
        if self.mail_enabled:
            return f"Saved. {employee.name} will receive the sign-in link at {employee.email}."
        return (
            f"Saved. No mail server is configured: send {employee.name} the sign-in link "
            f"{self.public_url}/ yourself."
        )
