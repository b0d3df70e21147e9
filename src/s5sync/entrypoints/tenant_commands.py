"""The operator's commands of stores (R21, R21b, R21c): `s5sync tenant
create|list|set|remove`."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from s5sync.core.records import TenantRecord
from s5sync.core.timezones import UnknownTimeZone, zone
from s5sync.entrypoints.bootstrap import Services
from s5sync.entrypoints.operator import audit, console, fail, now, row, run
from s5sync.store.audit import AuditAction, changes

tenant_app = typer.Typer(help="Stores: register, change, remove (R21, R21c).", no_args_is_help=True)


# R14b: the same bounds as the options page (staff/store_options.parse_options).
S5_POLL_SECONDS = (1, 3600)
SAFETY_MINUTES = (1, 24 * 60)


def tenants_table(tenants: list[TenantRecord]) -> Table:
    table = Table(
        "id",
        "Microsoft tenant",
        "name",
        "time zone",
        "tag",
        "category",
        "interval",
        "S5 watched every",
        "safety net",
    )
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
                f"{o.s5_poll_seconds} s",
                f"{o.safety_minutes} min",
            )
        )
    return table


def bounded(flag: str, value: int | None, bounds: tuple[int, int]) -> int | None:
    """`value` if it is within `bounds` (or not given); else one line and exit 1."""
    low, high = bounds
    if value is not None and not low <= value <= high:
        raise fail(f"{flag}: must be between {low} and {high}, not {value}")
    return value


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
    s5_poll_seconds: Annotated[
        int | None,
        typer.Option("--s5-poll-seconds", help="How often System Five is watched, 1-3600 s"),
    ] = None,
    safety_minutes: Annotated[
        int | None,
        typer.Option("--safety-minutes", help="Safety-net cycle while push is live, 1-1440"),
    ] = None,
) -> None:
    """Change a store's settings (R21b: they take effect on the next cycle; R14b: the
    System Five watcher's period and the safety net)."""
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
            "s5_poll_seconds": bounded("--s5-poll-seconds", s5_poll_seconds, S5_POLL_SECONDS),
            "safety_minutes": bounded("--safety-minutes", safety_minutes, SAFETY_MINUTES),
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
