"""A store's administration from the web (R21, R21b, R21c): options, staff and their
System Five employees, and the health of every user's sync.

`StoreAdministration` is what the `/admin` routes call. Every method takes the signed-in
administrator and works only inside that administrator's store (`TenantScope` of
`admin.tenant_id`, R22): a user id of another store is simply not found. The System
Five connection is not here at all — it is changed from the command line only (R21c).

A user's sync state is named by `core.status.user_status`, the one place the dashboard,
the health page, the alert mails and `/metrics` all ask; the health page's line about
push (live, or polling and why: R14b) by `core.cadence.push_line`, from the process's
`PushHealth` (the push service: why the deployment cannot subscribe, renewals failing).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from s5sync.core.cadence import Trouble, push_line
from s5sync.core.records import ActivityEntry, ActivityRecord, TenantRecord, UserRecord
from s5sync.core.status import ATTENTION_ORDER, STATUS_WORDS, UserStatus, user_status
from s5sync.staff.mapping import MappingPreview, already_sent, employee_words, future_pushes
from s5sync.staff.store_options import OptionsResult, parse_options
from s5sync.store.audit import Actor, AuditAction, AuditRecord, changes
from s5sync.store.directory import NotFound
from s5sync.store.scope import TenantScope
from s5sync.sync.ports import Employee, TaskStore


class AdminError(Exception):
    """Refused with a message for the administrator.

    AdminError
    └── NoSuchUser   the user id is not one of this store's users (another store's, or gone)
    """


class NoSuchUser(AdminError):
    def __init__(self) -> None:
        super().__init__("No such user in your store.")


def note(action: str, message: str) -> ActivityEntry:
    """An activity line about the user's sync set by someone else (R18)."""
    return ActivityEntry("both", action, None, None, None, "", message)


def resync_note(by: str | None) -> ActivityEntry:
    """R14c, R18: a repair was asked for (by the user, an administrator, the operator)."""
    who = f"by {by}" if by else "by you"
    return note(
        "resync_requested",
        f"Repair asked {who}: the next sync reads Outlook again and compares every task "
        "with its event. Nothing is deleted or sent twice.",
    )


class PushHealth(Protocol):
    """What the admin pages read of the process's push (`scheduling.push.PushService`), and
    the hint that switching background sync on made users active."""

    @property
    def off_reason(self) -> str | None: ...

    async def troubles(self, tenant_id: int) -> dict[int, Trouble]: ...

    async def sweep_soon(self) -> None: ...  # users became active: subscribe them now

    async def options_saved(self) -> None: ...  # R14b: a new watcher period counts now


@dataclass(frozen=True)
class HealthRow:
    """One line of the health page (R21)."""

    user: UserRecord
    status: UserStatus
    next_run_at: datetime | None
    latest: ActivityRecord | None = None  # the newest line of the user's activity log
    push: str = ""  # R14b: live, or polling and why (core.cadence.push_line)

    @property
    def words(self) -> str:
        return STATUS_WORDS[self.status]


@dataclass(frozen=True)
class StaffView:
    """The users page: staff and the employees they can be mapped to (R20)."""

    users: list[UserRecord]
    employees: list[Employee]
    employees_reachable: bool

    def employee(self, employee_id: int | None) -> Employee | None:
        return next((e for e in self.employees if e.id == employee_id), None)


class StoreAdministration:
    """The administrator's service; every call is bound to the administrator's store."""

    def __init__(
        self,
        scope_for: Callable[[int], TenantScope],
        task_store_for: Callable[[int], Awaitable[TaskStore]],
        clock: Callable[[], datetime],
        push: PushHealth | None = None,
        forget: Callable[[int, int], Awaitable[None]] | None = None,
    ) -> None:
        self.scope_for = scope_for
        self.task_store_for = task_store_for
        self.clock = clock
        self.push = push
        # R14b: a removed user's Graph subscription goes too (`SubscriptionManager.forget`:
        # tenant id, user id), before the row and while the user's token still works.
        self.forget = forget

    @staticmethod
    def _actor(admin: UserRecord) -> Actor:
        return Actor.administrator(admin.email)

    def _scope(self, admin: UserRecord) -> TenantScope:
        if not admin.is_admin:
            raise PermissionError("not an administrator of this store")
        return self.scope_for(admin.tenant_id)

    async def store(self, admin: UserRecord) -> TenantRecord:
        async with self._scope(admin).begin(write=False) as unit:
            return await unit.tenant.get()

    async def save_options(
        self, admin: UserRecord, form: Mapping[str, str], *, zone_confirmed: bool
    ) -> OptionsResult:
        """R21b: saved options take effect on the next cycle; a new time zone is saved
        only once the administrator confirmed the warning."""
        values, errors = parse_options(form)
        async with self._scope(admin).begin() as unit:
            tenant = await unit.tenant.get()
            if errors:
                return OptionsResult(tenant, errors=errors, values=values)
            if values["time_zone"] != tenant.options.time_zone and not zone_confirmed:
                return OptionsResult(tenant, confirm_time_zone=True, values=values)
            saved = await unit.tenant.set_options(**values)
            changed = changes(vars(tenant.options), values)
            if changed:  # R21d: old and new values, with who and when
                await unit.audit.record(
                    self._actor(admin), AuditAction.OPTIONS_CHANGED, self.clock(), "", changed
                )
        if (
            self.push is not None
            and saved.options.s5_poll_seconds != tenant.options.s5_poll_seconds
        ):
            await self.push.options_saved()  # R14b: the watcher's new period, now
        switched_on = saved.options.background_sync and not tenant.options.background_sync
        if switched_on and self.push is not None:  # R14b: the store's users are active now
            await self.push.sweep_soon()
        return OptionsResult(saved, saved=True, values=values)

    async def staff(self, admin: UserRecord) -> StaffView:
        async with self._scope(admin).begin(write=False) as unit:
            users = await unit.users.all()
        try:
            employees = await (await self.task_store_for(admin.tenant_id)).employees()
        except Exception:  # System Five down: the page says so, mapping waits
            return StaffView(users, [], False)
        return StaffView(users, sorted(employees, key=lambda e: e.name.casefold()), True)

    async def map_user(self, admin: UserRecord, user_id: int, employee_id: int) -> UserRecord:
        """R20: the administrator sets the user's employee; they are onboarded."""
        view = await self.staff(admin)
        if all(u.id != user_id for u in view.users):
            raise NoSuchUser()
        self._mappable(view, user_id, employee_id)
        before = next(u for u in view.users if u.id == user_id)
        async with self._scope(admin).begin() as unit:
            try:
                mapped = await unit.users.onboard(user_id, employee_id, self.clock())
            except NotFound:
                raise NoSuchUser() from None
            employee = view.employee(employee_id)
            named = employee_words(employee) if employee else f"employee #{employee_id}"
            # R18: the user's activity log says who changed their mapping.
            await unit.runs.log(
                user_id,
                None,
                self.clock(),
                [note("mapped", f"Mapped to System Five employee {named} by {admin.email}.")],
            )
            await unit.audit.record(
                self._actor(admin),
                AuditAction.USER_MAPPED,
                self.clock(),
                mapped.email,
                {
                    "employee": {
                        "old": before.employee_id,
                        "new": f"{employee.code} {employee.name}" if employee else employee_id,
                    }
                },
            )
            return mapped

    async def preview_mapping(
        self, admin: UserRecord, user_id: int, employee_id: int
    ) -> MappingPreview:
        """Issue 21 item 4: what mapping the user to the employee will do, in words."""
        view = await self.staff(admin)
        user = next((u for u in view.users if u.id == user_id), None)
        if user is None:
            raise NoSuchUser()
        employee = self._mappable(view, user_id, employee_id)
        tasks = await (await self.task_store_for(admin.tenant_id)).push_candidates(employee_id)
        async with self._scope(admin).begin(write=False) as unit:
            tenant = await unit.tenant.get()
            links = await unit.links.all(user_id)
        return MappingPreview(
            user,
            employee,
            view.employee(user.employee_id),
            future_pushes(tasks, employee_id, self.clock()),
            already_sent(links),
            tenant.options.removed_category_name,
        )

    async def sent_count(self, admin: UserRecord, user_id: int) -> tuple[UserRecord, int]:
        """The user and how many pushed events of theirs s5sync still follows."""
        async with self._scope(admin).begin(write=False) as unit:
            user = await unit.users.find(user_id)
            if user is None:
                raise NoSuchUser()
            return user, already_sent(await unit.links.all(user_id))

    @staticmethod
    def check_removable(admin: UserRecord, user_id: int) -> None:
        if user_id == admin.id:
            raise AdminError("You cannot remove yourself; ask the operator.")

    @staticmethod
    def _mappable(view: StaffView, user_id: int, employee_id: int) -> Employee:
        if not view.employees_reachable:
            raise AdminError("System Five cannot be reached: try again in a few minutes.")
        employee = view.employee(employee_id)
        if employee is None:
            raise AdminError("That employee is not in System Five's list.")
        taken = next(
            (u for u in view.users if u.employee_id == employee_id and u.id != user_id), None
        )
        if taken is not None:
            raise AdminError(f"That employee is already mapped to {taken.email}.")
        return employee

    async def unmap_user(self, admin: UserRecord, user_id: int) -> UserRecord:
        async with self._scope(admin).begin() as unit:
            try:
                unmapped = await unit.users.unmap(user_id)
            except NotFound:
                raise NoSuchUser() from None
            await unit.runs.log(
                user_id,
                None,
                self.clock(),
                [note("unmapped", f"Unmapped by {admin.email}: not synced until mapped again.")],
            )
            await unit.audit.record(
                self._actor(admin), AuditAction.USER_UNMAPPED, self.clock(), unmapped.email
            )
        if self.forget is not None:  # R14b: at once, not at the next sweep
            await self.forget(admin.tenant_id, user_id)
        return unmapped

    async def set_paused(self, admin: UserRecord, user_id: int, paused: bool) -> UserRecord:
        """R14c: pause or resume a user's cycles; audited (R21d)."""
        now = self.clock()
        async with self._scope(admin).begin() as unit:
            try:
                changed = await unit.users.set_paused(
                    user_id, now if paused else None, admin.email if paused else None
                )
            except NotFound:
                raise NoSuchUser() from None
            action = AuditAction.USER_PAUSED if paused else AuditAction.USER_RESUMED
            await unit.audit.record(self._actor(admin), action, now, changed.email)
            return changed

    async def request_resync(self, admin: UserRecord, user_id: int) -> UserRecord:
        """R14c: the user's next cycle repairs their sync (issue 21 item 2); audited."""
        now = self.clock()
        async with self._scope(admin).begin() as unit:
            try:
                asked = await unit.users.request_resync(user_id, now, admin.email)
            except NotFound:
                raise NoSuchUser() from None
            await unit.runs.log(user_id, None, now, [resync_note(admin.email)])
            await unit.audit.record(self._actor(admin), AuditAction.USER_RESYNCED, now, asked.email)
            return asked

    async def remove_user(self, admin: UserRecord, user_id: int) -> None:
        """Forget a user and their records; Outlook and System Five keep everything.
        Their Graph subscription is deleted first (R14b: Graph would keep delivering
        until it expires)."""
        self.check_removable(admin, user_id)
        if self.forget is not None:
            await self.forget(admin.tenant_id, user_id)
        async with self._scope(admin).begin() as unit:
            try:
                gone = await unit.users.get(user_id)
                await unit.users.remove(user_id)
            except NotFound:
                raise NoSuchUser() from None
            await unit.audit.record(
                self._actor(admin), AuditAction.USER_REMOVED, self.clock(), gone.email
            )

    async def health(self, admin: UserRecord) -> tuple[TenantRecord, list[HealthRow]]:
        """R21: per user, failing and needs-sign-in first."""
        now = self.clock()
        rows = []
        off = self.push.off_reason if self.push is not None else "push is not running here"
        troubles = await self.push.troubles(admin.tenant_id) if self.push is not None else {}
        async with self._scope(admin).begin(write=False) as unit:
            tenant = await unit.tenant.get()
            options = tenant.options
            for user in await unit.users.all():
                status = user_status(user, tenant, now)
                scheduled = status in (UserStatus.ACTIVE, UserStatus.FAILING)  # a held user is not
                latest = await unit.runs.activity(user.id, limit=1)
                trouble = troubles.get(user.id)
                push = push_line(
                    status,
                    user.push_live_until,
                    now,
                    interval_minutes=options.interval_minutes,
                    safety_minutes=options.safety_minutes,
                    deployment_off=off,
                    renewal_error=trouble.error if trouble else None,
                    retry_at=trouble.retry_at if trouble else None,
                )
                rows.append(
                    HealthRow(
                        user,
                        status,
                        user.next_run_at if scheduled else None,
                        latest[0] if latest else None,
                        push,
                    )
                )
        rows.sort(key=lambda r: (ATTENTION_ORDER[r.status], r.user.email.casefold()))
        return tenant, rows

    async def audit(
        self, admin: UserRecord, limit: int | None = 200
    ) -> tuple[TenantRecord, list[AuditRecord]]:
        """R21d: the store's audit trail, newest first."""
        async with self._scope(admin).begin(write=False) as unit:
            return await unit.tenant.get(), await unit.audit.lines(limit=limit)

    async def user_activity(
        self, admin: UserRecord, user_id: int
    ) -> tuple[UserRecord, list[ActivityRecord]]:
        """Any user's whole activity log (for the CSV export)."""
        async with self._scope(admin).begin(write=False) as unit:
            user = await unit.users.find(user_id)
            if user is None:
                raise NoSuchUser()
            return user, await unit.runs.activity(user_id, limit=100_000)

    async def open_problems(self, admin: UserRecord) -> list[str]:
        """R21d: the problems that need someone now, as the health page lists them (with
        or without a mail server: the alerts' own record)."""
        from s5sync.alerts.messages import SHORT

        async with self._scope(admin).begin(write=False) as unit:
            tenant = await unit.tenant.get()
            alerts = await unit.alerts.open_alerts()
            users = {f"user:{u.id}": u for u in await unit.users.all()}
        lines = []
        for alert in sorted(alerts, key=lambda a: a.opened_at):
            person = users.get(alert.subject)
            who = (person.display_name or person.email) if person else tenant.name
            lines.append(f"{who}: {SHORT[alert.problem]}")
        return lines
