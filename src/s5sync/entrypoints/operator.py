"""What every operator command shares (R21c, R21d): the console, one line and a non-zero
exit on error, the services built once per command, and the operator's audit line."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.text import Text

from s5sync.core.records import UserRecord
from s5sync.entrypoints.bootstrap import CliServices, Services, build_cli
from s5sync.settings import Settings
from s5sync.store.audit import Actor, AuditAction
from s5sync.store.directory import StoreError
from s5sync.store.secrets import SecretUnreadable

T = TypeVar("T")
console = Console(soft_wrap=False, width=200)
SettingsLoader = Callable[[], Settings]
_loader: list[SettingsLoader] = []
TenantOption = Annotated[str | None, typer.Option(help="id or Microsoft tenant id")]


def use_settings(load: SettingsLoader) -> None:
    """How the commands load their settings (the main app's `--env-file`)."""
    _loader[:] = [load]


def settings() -> Settings:
    return _loader[0]()


def fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"s5sync: {message}", err=True)
    return typer.Exit(code)


def run(work: Callable[[Services], Awaitable[T]]) -> T:
    """Build the command's services, run one piece of async work, close them."""
    return run_cli(lambda cli: work(cli.services))


def run_cli(work: Callable[[CliServices], Awaitable[T]]) -> T:
    """`run`, for work that also runs a cycle (`CliServices.engine`)."""
    cli = build_cli(settings())

    async def main() -> T:
        try:
            return await work(cli)
        finally:
            await cli.aclose()

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


def row(*cells: str) -> list[Text]:
    """Table cells as plain text: a store's values (a tag like "[sync]") are never markup."""
    return [Text(cell) for cell in cells]


async def one_user(services: Services, email: str, tenant: str | None, invite: bool) -> UserRecord:
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
