"""The operator's commands of staff (R14c, R19b, R20, R21c, R22): `s5sync user
list|map|unmap|pause|resume|resync|remove|export` and `s5sync user admin grant|revoke`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from s5sync.core.records import UserRecord
from s5sync.entrypoints.bootstrap import CliServices, Services
from s5sync.entrypoints.operator import (
    OPERATOR,
    TenantOption,
    console,
    fail,
    now,
    one_user,
    row,
    run,
    run_cli,
)
from s5sync.store.audit import AuditAction
from s5sync.store.directory import StoreError

user_app = typer.Typer(
    help="Staff: list, map to employees, pause, resync, export, remove (R14c, R20).",
    no_args_is_help=True,
)
admin_app = typer.Typer(help="The administrator role of a store (R21c).", no_args_is_help=True)
user_app.add_typer(admin_app, name="admin")


def users_table(users: list[UserRecord]) -> Table:
    table = Table("id", "store", "e-mail", "name", "employee", "onboarded", "admin", "status")
    for u in users:
        table.add_row(
            *row(
                str(u.id),
                str(u.tenant_id),
                u.email,
                u.display_name,
                str(u.employee_id) if u.employee_id is not None else "—",
                "yes" if u.onboarded else "no",
                "yes" if u.is_admin else "",
                u.status,
            )
        )
    return table


@user_app.command("list")
def user_list(
    tenant: Annotated[str | None, typer.Option(help="id or Microsoft tenant id")] = None,
) -> None:
    """List staff, of one store or of all."""
    console.print(users_table(run(lambda s: s.directory.users(tenant))))


@user_app.command("map")
def user_map(
    email: Annotated[str | None, typer.Argument(help="The user's e-mail")] = None,
    employee_id: Annotated[int | None, typer.Argument(help="System Five employee id")] = None,
    tenant: TenantOption = None,
    csv_file: Annotated[
        Path | None,
        typer.Option("--csv", help="Map many: lines of email,employee code (all or nothing)"),
    ] = None,
) -> None:
    """Map a user to their System Five employee: they are onboarded (R20)."""
    if csv_file is not None:
        console.print(users_table(map_from_csv(csv_file, tenant)))
        return
    if email is None or employee_id is None:
        raise fail("give EMAIL and EMPLOYEE_ID, or --csv FILE")
    mapped_email, mapped_employee = email, employee_id

    async def work(s: Services) -> UserRecord:
        user = await one_user(s, mapped_email, tenant, invite=True)
        async with s.scope(user.tenant_id).begin() as unit:
            mapped = await unit.users.onboard(user.id, mapped_employee, now())
            details = {"employee": {"old": user.employee_id, "new": mapped_employee}}
            await unit.audit.record(OPERATOR, AuditAction.USER_MAPPED, now(), user.email, details)
            return mapped

    console.print(users_table([run(work)]))


def map_from_csv(path: Path, tenant: str | None) -> list[UserRecord]:
    """Issue 21 item 5: every line checked first; one bad line maps nobody."""
    from s5sync.staff.bulkmap import plan_bulk_map

    if tenant is None:
        raise fail("--csv needs --tenant (employee codes are one store's)")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as error:
        raise fail(f"--csv {path}: {error.strerror}") from None

    async def work(s: Services) -> list[UserRecord] | tuple[str, ...]:
        store = await s.directory.tenant(tenant)
        employees = await (await s.task_store_for(store.id)).employees()
        async with s.scope(store.id).begin() as unit:
            plan = plan_bulk_map(text, employees, await unit.users.all())
            if not plan.ok:
                return plan.problems
            done = []
            for row in plan.rows:
                user = row.user or await unit.users.invite(row.email, now())
                done.append(await unit.users.onboard(user.id, row.employee.id, now()))
                details = {"employee": {"old": user.employee_id, "new": row.employee.code}}
                await unit.audit.record(
                    OPERATOR, AuditAction.USER_MAPPED, now(), row.email, details
                )
            return done

    result = run(work)
    if isinstance(result, tuple):
        for problem in result:
            typer.echo(f"s5sync: {path}: {problem}", err=True)
        raise fail(f"nothing was mapped: {len(result)} bad line(s) in {path}")
    return result


@user_app.command("unmap")
def user_unmap(email: str, tenant: TenantOption = None) -> None:
    """Undo the mapping: the user is no longer synced until onboarded again."""
    console.print(users_table([run(lambda s: unmap_user(s, email, tenant))]))


async def unmap_user(s: Services, email: str, tenant: str | None) -> UserRecord:
    user = await one_user(s, email, tenant, invite=False)
    async with s.scope(user.tenant_id).begin() as unit:
        unmapped = await unit.users.unmap(user.id)
        await unit.audit.record(OPERATOR, AuditAction.USER_UNMAPPED, now(), user.email)
    await forget_subscription(s, user)  # R14b: at once, not at a later sweep
    return unmapped


def _set_paused(email: str, tenant: str | None, paused: bool) -> UserRecord:
    async def work(s: Services) -> UserRecord:
        user = await one_user(s, email, tenant, invite=False)
        async with s.scope(user.tenant_id).begin() as unit:
            changed = await unit.users.set_paused(
                user.id, now() if paused else None, OPERATOR.name if paused else None
            )
            action = AuditAction.USER_PAUSED if paused else AuditAction.USER_RESUMED
            await unit.audit.record(OPERATOR, action, now(), user.email)
            return changed

    return run(work)


@user_app.command("pause")
def user_pause(email: str, tenant: TenantOption = None) -> None:
    """Stop the user's cycles until resumed (R14c); nothing else changes."""
    _set_paused(email, tenant, True)
    console.print(f"user {email} paused: no cycle runs until `s5sync user resume`", markup=False)


@user_app.command("resume")
def user_resume(email: str, tenant: TenantOption = None) -> None:
    """Resume the user's cycles where they stopped (R14c)."""
    _set_paused(email, tenant, False)
    console.print(f"user {email} resumed", markup=False)


@user_app.command("resync")
def user_resync(
    email: str,
    tenant: TenantOption = None,
    at: Annotated[
        str | None, typer.Option("--now", help="The cycle's time, ISO 8601 (as for `sync`).")
    ] = None,
) -> None:
    """Repair the user's sync now (R14c): Outlook read again, the mapping checked against
    both sides (R16b), every future ticked task compared with its event and re-pushed
    where they differ — never a duplicate, never a deletion."""
    from s5sync.entrypoints.sync_command import SyncRefused, find_user, parse_now, print_result
    from s5sync.staff.administration import resync_note
    from s5sync.sync.engine import CycleResult

    try:
        moment = parse_now(at)
    except SyncRefused as error:
        raise fail(str(error)) from None

    async def work(cli: CliServices) -> CycleResult | str:
        s = cli.services
        user = await one_user(s, email, tenant, invite=False)
        if not user.onboarded:
            raise StoreError(f"{email} is not onboarded: map them first (R20)")
        async with s.scope(user.tenant_id).begin() as unit:
            await unit.users.request_resync(user.id, now(), OPERATOR.name)
            await unit.runs.log(user.id, None, now(), [resync_note(OPERATOR.name)])
            await unit.audit.record(OPERATOR, AuditAction.USER_RESYNCED, now(), user.email)
        try:
            ready = await find_user(s, email, str(user.tenant_id))
        except SyncRefused as refusal:
            return f"repair of {email} asked; it runs with their next sync: {refusal}"
        result: CycleResult = await cli.engine.run_user_cycle(ready, moment)
        if result.outcome == "busy":
            return f"repair of {email} asked; a sync of theirs is running, the next one repairs"
        return result

    done = run_cli(work)
    if isinstance(done, str):
        console.print(done, markup=False, highlight=False)
        return
    print_result(console, done, as_json=False)
    if done.outcome != "ok":
        raise fail(f"the repair ended {done.outcome}: {done.error}; the next sync goes on", 3)


@user_app.command("remove")
def user_remove(email: str, tenant: TenantOption = None) -> None:
    """Remove a user with their mapping and records (nothing is deleted in Outlook or
    System Five)."""
    run(lambda s: remove_user(s, email, tenant))
    console.print(f"user {email} removed")


async def remove_user(s: Services, email: str, tenant: str | None) -> None:
    user = await one_user(s, email, tenant, invite=False)
    await forget_subscription(s, user)  # R14b: before the row, while the token works
    async with s.scope(user.tenant_id).begin() as unit:
        await unit.users.remove(user.id)
        await unit.audit.record(OPERATOR, AuditAction.USER_REMOVED, now(), user.email)


async def forget_subscription(s: Services, user: UserRecord) -> None:
    """R14b: the user's Graph subscription is deleted, on Graph and its row
    (`SubscriptionManager.forget`, as at sign-out): before the user is removed (their
    row takes the subscription's with it, and Graph would keep delivering until it
    expires), and when they are unmapped (now, rather than at the next sweep)."""
    from s5sync.scheduling.push import push_for
    from s5sync.scheduling.upkeep import SubscriptionManager, no_wake
    from s5sync.store.subscriptions import SubscriptionRows

    rows = SubscriptionRows(s.db, s.box)
    manager = SubscriptionManager(rows, s.subscriptions_for, push_for(s.settings), now, no_wake)
    await manager.forget(user.tenant_id, user.id)


def _set_admin(email: str, tenant: str | None, is_admin: bool) -> UserRecord:
    async def work(s: Services) -> UserRecord:
        user = await one_user(s, email, tenant, invite=is_admin)
        async with s.scope(user.tenant_id).begin() as unit:
            changed = await unit.users.set_admin(user.id, is_admin)
            action = AuditAction.ADMIN_GRANTED if is_admin else AuditAction.ADMIN_REVOKED
            await unit.audit.record(OPERATOR, action, now(), user.email)
            return changed

    return run(work)


@admin_app.command("grant")
def admin_grant(email: str, tenant: TenantOption = None) -> None:
    """Make a user an administrator of their store."""
    console.print(users_table([_set_admin(email, tenant, True)]))


@admin_app.command("revoke")
def admin_revoke(email: str, tenant: TenantOption = None) -> None:
    """Take the administrator role away."""
    console.print(users_table([_set_admin(email, tenant, False)]))


@user_app.command("export")
def user_export_command(
    email: str,
    tenant: TenantOption = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file (default: stdout)")
    ] = None,
) -> None:
    """Everything s5sync holds about a user, as JSON, no secrets (GDPR; R22)."""
    from sqlalchemy import select

    from s5sync.staff.exports import user_export
    from s5sync.store.models import EventCache

    async def work(s: Services) -> dict[str, Any]:
        user = await one_user(s, email, tenant, invite=False)
        async with s.scope(user.tenant_id).begin() as unit:
            store = await unit.tenant.get()
            links = [dataclass_dict(link) for link in await unit.links.all(user.id)]
            cached = await unit.session.execute(
                select(EventCache.event_id, EventCache.data, EventCache.updated_at).where(
                    EventCache.tenant_id == user.tenant_id, EventCache.user_id == user.id
                )
            )
            events = [
                {"event_id": event_id, "data": data, "updated_at": at.isoformat()}
                for event_id, data, at in cached
            ]
            exported = user_export(
                user,
                store.name,
                links,
                await unit.runs.runs(user.id, limit=100_000),
                await unit.runs.activity(user.id, limit=1_000_000),
                await unit.audit.about(user.email),
                events,
            )
            await unit.audit.record(OPERATOR, AuditAction.USER_EXPORTED, now(), user.email)
            return exported

    text = json.dumps(run(work), indent=2, sort_keys=True, default=str, ensure_ascii=False)
    if output is None:
        typer.echo(text)
    else:
        output.write_text(text + "\n", encoding="utf-8")
        console.print(f"wrote everything held about {email} to {output}", markup=False)


def dataclass_dict(value: Any) -> dict[str, Any]:
    from dataclasses import asdict

    return {k: (v.value if hasattr(v, "value") else v) for k, v in asdict(value).items()}
