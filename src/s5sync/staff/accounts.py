"""Staff accounts: sign-in (R19, R19b), onboarding (R20) with its self-test, and what
the dashboard shows (R14, R18). The web routes call these and render the result; no SQL
in routes.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from s5sync.core.cadence import cadence_words, push_live
from s5sync.core.records import ActivityRecord, RunRecord, TenantRecord, UserRecord
from s5sync.core.status import UserStatus, user_status
from s5sync.entrypoints.bootstrap import Services
from s5sync.staff.livestatus import Pill, pill
from s5sync.staff.selftest import Check, outlook_checks
from s5sync.sync.ports import Employee, SignInFailed, SignInProvider, TaskStore

log = logging.getLogger(__name__)
AUTH_FLOW_LIFETIME = timedelta(minutes=10)
# R14, issue 23: a heartbeat is written at most once a minute per user — well within the
# 2-minute timeout — so open dashboards do not contend with cycles for the database.
HEARTBEAT_EVERY = timedelta(minutes=1)


class Refused(Exception):
    """Sign-in refused with a message for the person signing in (R19)."""


@dataclass(frozen=True)
class Onboarding:
    """What the onboarding page shows (R20)."""

    user: UserRecord
    proposed: Employee | None
    employees_reachable: bool
    problem: str | None = None
    checks: tuple[Check, ...] = ()  # the self-test, one line each (R20)


@dataclass(frozen=True)
class Dashboard:
    """What the dashboard shows (R14, R18, R19b)."""

    user: UserRecord
    tenant: TenantRecord
    status: UserStatus
    last_run: RunRecord | None
    activity: list[ActivityRecord]
    activity_total: int
    page: int
    page_size: int
    now: datetime  # when the view was read (whether the subscription is live)

    @property
    def cadence(self) -> str:
        """R14b: "Live" while the calendar subscription is live, else "Every 10 minutes"
        (the `#sync-cadence` slot)."""
        interval = self.tenant.options.interval_minutes
        user = self.user
        return cadence_words(
            user.push_live_until,
            interval,
            self.now,
            push_error=user.push_error,
            retry_at=user.push_retry_at,
        )

    @property
    def pill(self) -> Pill:
        """The status pill and its one-sentence problem (issue 20 items 1–3)."""
        zone = self.tenant.options.time_zone
        by = self.user.paused_by if self.user.paused_by != self.user.email else None
        return pill(self.status, self.last_run, self.user.next_run_at, zone, by)

    def synced_since(self, moment: datetime) -> bool:
        """Whether a cycle started at or after `moment` has finished (Sync now's wait)."""
        run = self.last_run
        return run is not None and run.finished_at is not None and run.started_at >= moment


class Accounts:
    """Sign-in, onboarding and dashboards, for the web app."""

    def __init__(
        self,
        services: Services,
        signin: SignInProvider,
        task_store_for: Callable[[int], Awaitable[TaskStore]],
        clock: Callable[[], datetime],
        *,
        activated: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.services = services
        self.signin = signin
        self.task_store_for = task_store_for
        self.clock = clock
        # R14b: a user became active (signed in, onboarded, a page opened while not
        # live): the push service subscribes them now (`PushService.sweep_soon`).
        self.activated = activated

    async def _activated(self) -> None:
        if self.activated is not None:
            await self.activated()

    async def begin_sign_in(self, redirect_uri: str) -> str:
        url, state, flow = await self.signin.begin(redirect_uri)
        now = self.clock()
        await self.services.directory.purge_auth_flows(now)
        await self.services.directory.save_auth_flow(state, flow, now + AUTH_FLOW_LIFETIME)
        return url

    async def complete_sign_in(self, response: dict[str, str]) -> UserRecord:
        """Redeem the callback; only users of a registered store get in (R19)."""
        state = response.get("state", "")
        flow = await self.services.directory.take_auth_flow(state, self.clock()) if state else None
        if flow is None:
            raise Refused(
                "This sign-in link has expired or was already used. Please sign in again."
            )
        if "error" in response:
            raise Refused(sign_in_problem(response))
        try:
            who = await self.signin.complete(flow, response)
        except SignInFailed as error:
            raise Refused(f"Microsoft did not sign you in: {error}") from None
        tenant = await self.services.directory.find_tenant(who.ms_tenant_id)
        if tenant is None:
            raise Refused(
                "Your organisation is not registered with s5sync. Ask your store's "
                "administrator to register it; nothing was stored about you."
            )
        async with self.services.scope(tenant.id).begin() as unit:
            user = await unit.users.signed_in(
                who.object_id, who.email, who.display_name, self.clock()
            )
            await unit.users.save_token_cache(user.id, who.token_cache)
            await unit.users.heartbeat(user.id, self.clock())
            signed_in = await unit.users.get(user.id)
        await self._activated()
        return signed_in

    async def user(self, tenant_id: int, user_id: int) -> UserRecord | None:
        async with self.services.scope(tenant_id).begin(write=False) as unit:
            return await unit.users.find(user_id)

    async def onboarding(self, user: UserRecord, *, self_test: bool = True) -> Onboarding:
        """Propose the System Five employee with the same e-mail (R20) and run the
        self-test: System Five, Microsoft sign-in and scopes, the Outlook category."""
        store = await self.task_store_for(user.tenant_id)
        try:
            proposed = await store.employee_by_email(user.email)
        except Exception as error:  # shown as a failed self-test, never a crash
            problem = f"System Five is not reachable ({type(error).__name__})."
            found = Onboarding(user, None, False, problem)
        else:
            found = Onboarding(user, proposed, True)
        if not self_test:
            return found
        checks = [
            Check(True, "System Five database reachable")
            if found.employees_reachable
            else Check(False, "System Five database not reachable")
        ]
        tenant = await self.services.directory.tenant(user.tenant_id)
        checks += await outlook_checks(self.services, user, tenant)
        return Onboarding(
            user, found.proposed, found.employees_reachable, found.problem, tuple(checks)
        )

    async def confirm_employee(self, user: UserRecord, employee_id: int) -> UserRecord:
        """The user confirms the proposed employee; only that one can be confirmed."""
        found = await self.onboarding(user, self_test=False)
        if found.proposed is None or found.proposed.id != employee_id:
            raise Refused(
                "That System Five employee cannot be confirmed here; ask your administrator."
            )
        async with self.services.scope(user.tenant_id).begin() as unit:
            # R20: one employee, one user — as the administrator's page refuses it.
            if any(
                u.employee_id == employee_id and u.id != user.id for u in await unit.users.all()
            ):
                raise Refused(
                    "That System Five employee is already mapped to another user; "
                    "ask your administrator."
                )
            onboarded = await unit.users.onboard(user.id, employee_id, self.clock())
        await self._activated()
        return onboarded

    async def end_sessions(self, user: UserRecord) -> None:
        """Sign-out: every session cookie of this user stops working."""
        async with self.services.scope(user.tenant_id).begin() as unit:
            await unit.users.end_sessions(user.id)

    async def heartbeat(self, user: UserRecord) -> None:
        """R14: the user has a page open. `user` was read for this request, so a beat
        written less than a minute ago is seen without a write (HEARTBEAT_EVERY)."""
        now = self.clock()
        last = user.last_heartbeat_at
        if last is not None and timedelta(0) <= now - last < HEARTBEAT_EVERY:
            return
        try:
            async with self.services.scope(user.tenant_id).begin() as unit:
                await unit.users.heartbeat(user.id, now)
        except Exception as error:
            # Issue 23: a heartbeat is a hint (R14 allows a missed one: beats each minute,
            # idle after two); a database busy with cycles never fails the page for it.
            log.warning("accounts.heartbeat_skipped", extra={"error": type(error).__name__})
            return
        if not push_live(user.push_live_until, now):
            await self._activated()  # R14b: subscribed within seconds, not at a sweep

    async def request_sync_now(self, user: UserRecord) -> None:
        async with self.services.scope(user.tenant_id).begin() as unit:
            await unit.users.request_sync_now(user.id)
            await unit.users.heartbeat(user.id, self.clock())

    async def dashboard(self, user: UserRecord, page: int = 1, page_size: int = 25) -> Dashboard:
        page = max(page, 1)
        async with self.services.scope(user.tenant_id).begin(write=False) as unit:
            fresh = await unit.users.get(user.id)
            tenant = await unit.tenant.get()
            runs = await unit.runs.runs(user.id, limit=1)
            activity = await unit.runs.activity(user.id, page_size, (page - 1) * page_size)
            total = await unit.runs.activity_count(user.id)
        return Dashboard(
            user=fresh,
            tenant=tenant,
            status=self.status(fresh, tenant),
            last_run=runs[0] if runs else None,
            activity=activity,
            activity_total=total,
            page=page,
            page_size=page_size,
            now=self.clock(),
        )

    async def set_paused(self, user: UserRecord, paused: bool) -> None:
        """R14c: the user pauses or resumes their own sync."""
        async with self.services.scope(user.tenant_id).begin() as unit:
            await unit.users.set_paused(
                user.id, self.clock() if paused else None, user.email if paused else None
            )

    async def request_resync(self, user: UserRecord) -> None:
        """R14c: "Repair my sync" — the user's next cycle is a resync (issue 21 item 2)."""
        from s5sync.staff.administration import resync_note

        now = self.clock()
        async with self.services.scope(user.tenant_id).begin() as unit:
            await unit.users.request_resync(user.id, now, user.email)
            await unit.runs.log(user.id, None, now, [resync_note(None)])

    async def activity_export(self, user: UserRecord) -> tuple[TenantRecord, list[ActivityRecord]]:
        """The user's own whole activity log (the CSV download, R18)."""
        async with self.services.scope(user.tenant_id).begin(write=False) as unit:
            return await unit.tenant.get(), await unit.runs.activity(user.id, limit=1_000_000)

    def status(self, user: UserRecord, tenant: TenantRecord) -> UserStatus:
        """The same state the health page shows for this user (core.status)."""
        return user_status(user, tenant, self.clock())


CANCELLED = frozenset({"access_denied", "consent_required", "interaction_required"})


def sign_in_problem(response: dict[str, str]) -> str:
    """Microsoft's error answer as a sentence for the user (issue 20): a cancelled
    sign-in or consent is said as such; no raw AADSTS codes."""
    code = response.get("error", "")
    description = (response.get("error_description") or code).splitlines()[0]
    if code in CANCELLED or "AADSTS65004" in description:
        return "You cancelled the sign-in. Nothing was stored; sign in whenever you are ready."
    plain = re.sub(r"^AADSTS\d+:\s*", "", description).strip()
    return f"Microsoft did not sign you in: {plain or code}"
