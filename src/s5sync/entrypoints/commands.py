"""The operator's commands (R21c): `s5sync db|keys|tenant|user …`.

Each command loads settings, builds the services once, does one thing and prints a
rich table or one line. Errors print one line and exit non-zero; no tracebacks.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text
from sqlalchemy.exc import SQLAlchemyError

from s5sync.core.records import TenantRecord, UserRecord
from s5sync.core.timezones import UnknownTimeZone, zone
from s5sync.entrypoints.bootstrap import Services, build_services
from s5sync.settings import Settings
from s5sync.store.audit import Actor, AuditAction, changes
from s5sync.store.directory import StoreError
from s5sync.store.migrate import grant_tenant_role, upgrade
from s5sync.store.secrets import SecretBox, SecretUnreadable
from s5sync.store.tls import libpq_url

T = TypeVar("T")
console = Console(soft_wrap=False, width=200)

db_app = typer.Typer(help="The CALENDAREVENT database.", no_args_is_help=True)
keys_app = typer.Typer(help="Encryption keys of secrets at rest (R22).", no_args_is_help=True)
tenant_app = typer.Typer(help="Stores: register, change, remove (R21, R21c).", no_args_is_help=True)
user_app = typer.Typer(
    help="Staff: list, map to employees, pause, resync, export, remove (R14c, R20).",
    no_args_is_help=True,
)
admin_app = typer.Typer(help="The administrator role of a store (R21c).", no_args_is_help=True)
user_app.add_typer(admin_app, name="admin")

SettingsLoader = Callable[[], Settings]
_loader: list[SettingsLoader] = []


def install(app: typer.Typer, load: SettingsLoader) -> None:
    """Attach the operator's command groups to the main app."""
    _loader[:] = [load]
    app.add_typer(db_app, name="db")
    app.add_typer(keys_app, name="keys")
    app.add_typer(tenant_app, name="tenant")
    app.add_typer(user_app, name="user")


def fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"s5sync: {message}", err=True)
    return typer.Exit(code)


def run(work: Callable[[Services], Awaitable[T]]) -> T:
    """Build the services, run one piece of async work, close them."""
    services = build_services(_loader[0]())

    async def main() -> T:
        try:
            return await work(services)
        finally:
            await services.aclose()

    try:
        return asyncio.run(main())
    except (StoreError, SecretUnreadable, ValueError) as error:
        raise fail(str(error)) from None


def now() -> datetime:
    return datetime.now(UTC)


OPERATOR = Actor.operator()  # R21d: commands from a terminal are the operator's


async def audit(
    services: Services,
    tenant_id: int,
    action: AuditAction,
    target: str = "",
    details: dict[str, Any] | None = None,
) -> None:
    """One line of the store's audit trail, for an action already saved."""
    async with services.scope(tenant_id).begin() as unit:
        await unit.audit.record(OPERATOR, action, now(), target, details)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the CALENDAREVENT database to the newest schema."""
    settings = _loader[0]()
    owner = libpq_url(settings.database_url, settings.database_ca)  # TLS (store/tls.py)
    upgrade(owner)
    console.print("database is at the newest schema")
    # The job queue's tables first: the role check of serve and worker counts every table
    # of the schema, procrastinate's too, so the grant below must reach them (issue 22).
    if settings.scheduler == "procrastinate":
        from s5sync.scheduling.distributed import apply_schema

        try:
            made = asyncio.run(apply_schema(settings))
        except ValueError as error:
            raise fail(str(error), 2) from None
        console.print("job queue " + ("created" if made else "already present"))
    if settings.tenant_database_url:  # R22: the store-bound role reaches every table
        try:
            role = grant_tenant_role(owner, settings.tenant_database_url)
        except (ValueError, SQLAlchemyError) as error:
            raise fail(f"S5SYNC_TENANT_DATABASE_URL: {error}".splitlines()[0], 2) from None
        console.print(f"role {role} granted its rights on every table", markup=False)


@keys_app.command("generate")
def keys_generate() -> None:
    """Print a new key: put it first in S5SYNC_SECRET_KEYS, then run `keys rotate`."""
    console.print(SecretBox.generate_key(), markup=False, highlight=False)


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Re-encrypt every stored secret with the newest key."""
    count = run(lambda s: s.directory.rotate_keys())
    console.print(f"re-encrypted {count} secrets with the newest key")


def row(*cells: str) -> list[Text]:
    """Table cells as plain text: a store's values (a tag like "[sync]") are never markup."""
    return [Text(cell) for cell in cells]


def tenants_table(tenants: list[TenantRecord]) -> Table:
    table = Table("id", "Microsoft tenant", "name", "time zone", "tag", "category", "interval")
    for t in tenants:
        o = t.options
        interval = f"{o.interval_minutes} min" + (" · background" if o.background_sync else "")
        table.add_row(
            *row(
                str(t.id),
                t.ms_tenant_id,
                t.name,
                o.time_zone,
                o.sync_tag,
                o.category_name,
                interval,
            )
        )
    return table


def checked_zone(name: str) -> str:
    try:
        zone(name)
    except UnknownTimeZone as error:
        raise fail(f"--time-zone: {error}") from None
    return name


@tenant_app.command("create")
def tenant_create(
    ms_tenant_id: Annotated[str, typer.Option("--ms-tenant-id", help="Microsoft tenant id")],
    name: Annotated[str, typer.Option(help="The store's name")],
    s5_db: Annotated[str, typer.Option("--s5-db", help="System Five database URL (secret)")],
    time_zone: Annotated[str, typer.Option("--time-zone", help="IANA zone")] = "America/New_York",
) -> None:
    """Register a store."""
    zone_name = checked_zone(time_zone)

    async def work(s: Services) -> TenantRecord:
        made = await s.directory.create_tenant(
            ms_tenant_id, name, s5_db, now(), time_zone=zone_name
        )
        details = {"name": name, "ms_tenant_id": ms_tenant_id, "time_zone": zone_name}
        await audit(s, made.id, AuditAction.STORE_REGISTERED, name, details)
        return made

    tenant = run(work)
    console.print(tenants_table([tenant]))


@tenant_app.command("list")
def tenant_list() -> None:
    """List the registered stores."""
    console.print(tenants_table(run(lambda s: s.directory.tenants())))


@tenant_app.command("set")
def tenant_set(
    tenant: Annotated[str, typer.Argument(help="id or Microsoft tenant id")],
    name: Annotated[str | None, typer.Option()] = None,
    s5_db: Annotated[str | None, typer.Option("--s5-db")] = None,
    time_zone: Annotated[str | None, typer.Option("--time-zone")] = None,
    category_name: Annotated[str | None, typer.Option("--category-name")] = None,
    category_color: Annotated[str | None, typer.Option("--category-color")] = None,
    sync_tag: Annotated[str | None, typer.Option("--sync-tag")] = None,
    import_window_days: Annotated[int | None, typer.Option("--import-window-days")] = None,
    interval_minutes: Annotated[int | None, typer.Option("--interval-minutes")] = None,
    background_sync: Annotated[
        bool | None, typer.Option("--background-sync/--no-background-sync")
    ] = None,
    retention_days: Annotated[int | None, typer.Option("--retention-days")] = None,
    alert_digest: Annotated[bool | None, typer.Option("--alert-digest/--no-alert-digest")] = None,
) -> None:
    """Change a store's settings (R21b: they take effect on the next cycle)."""
    wanted: dict[str, Any] = {
        k: v
        for k, v in {
            "name": name,
            "time_zone": checked_zone(time_zone) if time_zone else None,
            "category_name": category_name,
            "category_color": category_color,
            "sync_tag": sync_tag,
            "import_window_days": import_window_days,
            "interval_minutes": interval_minutes,
            "background_sync": background_sync,
            "retention_days": retention_days,
            "alert_digest": alert_digest,
        }.items()
        if v is not None
    }

    async def work(s: Services) -> TenantRecord:
        before = await s.directory.tenant(tenant)
        after = await s.directory.update_tenant(tenant, s5_connection=s5_db, **wanted)
        old = {"name": before.name, **vars(before.options)}
        details: dict[str, Any] = changes(old, wanted)
        if s5_db is not None:
            details["s5_connection"] = "changed"  # R22: never the value
        if details:
            await audit(s, after.id, AuditAction.STORE_CHANGED, after.name, details)
        return after

    updated = run(work)
    console.print(tenants_table([updated]))


@tenant_app.command("remove")
def tenant_remove(
    tenant: Annotated[str, typer.Argument(help="id or Microsoft tenant id")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask")] = False,
) -> None:
    """Remove a store with its users, mapping and records (System Five and Outlook keep
    everything: R6, R11)."""
    if not yes:
        typer.confirm(f"Remove store {tenant} and all its records?", abort=True)
    run(lambda s: s.directory.remove_tenant(tenant))
    console.print(f"store {tenant} removed")


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


async def _one_user(services: Services, email: str, tenant: str | None, invite: bool) -> UserRecord:
    found = await services.directory.find_users(email, tenant)
    if len(found) > 1:
        raise StoreError(f"{email} is a user of several stores: name one with --tenant")
    if found:
        return found[0]
    if not invite or tenant is None:
        hint = "" if tenant else " (give --tenant to name them before their first sign-in)"
        raise StoreError(f"no user {email}{hint}")
    record = await services.directory.tenant(tenant)
    async with services.scope(record.id).begin() as unit:
        invited = await unit.users.invite(email, now())
        await unit.audit.record(OPERATOR, AuditAction.USER_INVITED, now(), invited.email)
        return invited


TenantOption = Annotated[str | None, typer.Option(help="id or Microsoft tenant id")]


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
        user = await _one_user(s, mapped_email, tenant, invite=True)
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

    async def work(s: Services) -> UserRecord:
        user = await _one_user(s, email, tenant, invite=False)
        async with s.scope(user.tenant_id).begin() as unit:
            unmapped = await unit.users.unmap(user.id)
            await unit.audit.record(OPERATOR, AuditAction.USER_UNMAPPED, now(), user.email)
            return unmapped

    console.print(users_table([run(work)]))


def _set_paused(email: str, tenant: str | None, paused: bool) -> UserRecord:
    async def work(s: Services) -> UserRecord:
        user = await _one_user(s, email, tenant, invite=False)
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

    async def work(s: Services) -> CycleResult | str:
        user = await _one_user(s, email, tenant, invite=False)
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
        engine = s.cycle_engine(f"cli-{os.getpid()}")
        result: CycleResult = await engine.run_user_cycle(ready, moment)
        if result.outcome == "busy":
            return f"repair of {email} asked; a sync of theirs is running, the next one repairs"
        return result

    done = run(work)
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

    async def work(s: Services) -> None:
        user = await _one_user(s, email, tenant, invite=False)
        async with s.scope(user.tenant_id).begin() as unit:
            await unit.users.remove(user.id)
            await unit.audit.record(OPERATOR, AuditAction.USER_REMOVED, now(), user.email)

    run(work)
    console.print(f"user {email} removed")


def _set_admin(email: str, tenant: str | None, is_admin: bool) -> UserRecord:
    async def work(s: Services) -> UserRecord:
        user = await _one_user(s, email, tenant, invite=is_admin)
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
        user = await _one_user(s, email, tenant, invite=False)
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
