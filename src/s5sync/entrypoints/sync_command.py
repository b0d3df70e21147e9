"""`s5sync sync --user EMAIL [--tenant ID] [--now ISO] [--json]`: one cycle now (SPEC.md
"Commands", issue 9).

It finds the user across stores, refuses with one clear line (exit 1) when the user is
unknown, ambiguous without `--tenant`, not onboarded (R20) or must sign in again (R19b),
runs one cycle through the same `CycleEngine` the scheduler uses, and prints what it
did: a table of the cycle's activity entries (R18) — plain text, never rich markup,
since subjects carry tags like "[sync]" — or JSON. Exit codes: 0 the cycle finished
everything; 1 it did not run (the line says why); 3 it ran but did not finish
everything (partial, throttled, failed, needs sign-in during the cycle: R17b, R19b).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from s5sync.core.records import Outcome, UserRecord
from s5sync.entrypoints.bootstrap import CliServices, Services, build_cli
from s5sync.settings import Settings
from s5sync.store.directory import StoreError
from s5sync.sync.engine import CycleResult

REFUSED = 1
UNFINISHED = 3


class SyncRefused(Exception):
    """The cycle cannot run for this user; the message says why and what to do."""


def parse_now(value: str | None) -> datetime:
    """`--now`: an ISO 8601 instant; without an offset it is taken as UTC."""
    if value is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise SyncRefused(f"--now: {value!r} is not an ISO 8601 date and time") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


async def find_user(services: Services, email: str, tenant: str | None) -> UserRecord:
    """The one user to sync, or `SyncRefused` naming why not (R19b, R20)."""
    try:
        found = await services.directory.find_users(email, tenant)
    except StoreError as error:
        raise SyncRefused(str(error)) from None
    if not found:
        where = f" in store {tenant}" if tenant else ""
        raise SyncRefused(f"no user {email}{where}")
    if len(found) > 1:
        stores = ", ".join(str(u.tenant_id) for u in found)
        raise SyncRefused(f"{email} is a user of several stores ({stores}): name one with --tenant")
    user = found[0]
    if not user.onboarded:
        raise SyncRefused(
            f"{email} is not onboarded: they finish onboarding after signing in, or the "
            "operator maps them with `s5sync user map` (R20)"
        )
    if user.paused:
        raise SyncRefused(f"{email} is paused: resume with `s5sync user resume {email}` (R14c)")
    if user.status == "needs_sign_in" or not user.has_token_cache:
        raise SyncRefused(f"{email} must sign in to s5sync again before syncing (R19b)")
    return user


async def run_sync(cli: CliServices, email: str, tenant: str | None, now: datetime) -> CycleResult:
    """Run one cycle of the user now, under a lease holder naming this process."""
    user = await find_user(cli.services, email, tenant)
    result: CycleResult = await cli.engine.run_user_cycle(user, now)
    if result.outcome in (Outcome.BUSY, Outcome.NOT_ONBOARDED):
        raise SyncRefused(result.error or result.outcome)
    return result


def entries_table(result: CycleResult) -> Table:
    table = Table("direction", "action", "reason", "task", "event", "what happened")
    for e in result.entries:
        cells = (
            e.direction,
            e.action,
            e.reason or "",
            "" if e.task_id is None else str(e.task_id),
            _short(e.event_id),
            e.message,
        )
        table.add_row(*(Text(cell) for cell in cells))
    return table


def _short(event_id: str | None) -> str:
    """Event ids are long: the table shows their end, JSON the whole id."""
    if event_id is None:
        return ""
    return event_id if len(event_id) <= 12 else "…" + event_id[-11:]


def result_json(result: CycleResult) -> dict[str, Any]:
    return {
        "outcome": result.outcome,
        "run_id": result.run_id,
        "entries": [asdict(e) for e in result.entries],
        "graph_requests": {
            "total": sum(result.requests.values()),
            "by_route": dict(result.requests),
            "by_phase": dict(result.phases),
        },
        "next_run_at": None if result.next_run_at is None else result.next_run_at.isoformat(),
        "error": result.error,
    }


def print_result(console: Console, result: CycleResult, as_json: bool) -> None:
    if as_json:
        console.print_json(json.dumps(result_json(result)))
        return
    if result.entries:
        console.print(entries_table(result))
    else:
        console.print(Text("nothing to do: both sides are in step"))
    total = sum(result.requests.values())
    when = "—" if result.next_run_at is None else f"{result.next_run_at:%Y-%m-%d %H:%M:%S} UTC"
    console.print(Text(f"outcome {result.outcome} · {total} Graph requests · next run {when}"))


def exit_code(result: CycleResult) -> int:
    return 0 if result.outcome is Outcome.OK else UNFINISHED


def sync_now(
    settings: Settings, email: str, tenant: str | None, now: str | None, as_json: bool
) -> int:
    """The whole command: build the services, run, print; returns the exit code."""
    console = Console(soft_wrap=False, width=200)

    async def main() -> CycleResult:
        cli = build_cli(settings)
        try:
            return await run_sync(cli, email, tenant, parse_now(now))
        finally:
            await cli.aclose()

    try:
        result = asyncio.run(main())
    except SyncRefused as error:
        typer.echo(f"s5sync sync: {error}", err=True)
        return REFUSED
    print_result(console, result, as_json)
    code = exit_code(result)
    if code:
        typer.echo(f"s5sync sync: the cycle ended {result.outcome}: {result.error}", err=True)
    return code
