"""`s5emu`: create the System Five reference database and serve its desk pages.

s5emu init --db URL [--demo] [--seed N] [--today YYYY-MM-DD]
s5emu serve --db URL --port N [--host H] [--time-zone ZONE]
"""

from __future__ import annotations

import os
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer

from s5emu.demo import DemoError, seed_demo
from s5emu.schema import create_schema

app = typer.Typer(help="System Five emulator: reference database and desk pages.")

DB_HELP = "SQLAlchemy URL of the System Five database, e.g. sqlite:///systemfive.db"


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise typer.BadParameter(f"unknown time zone {name!r}") from None


@app.command()
def init(
    db: str = typer.Option(..., "--db", help=DB_HELP),
    demo: bool = typer.Option(False, "--demo", help="Fill the new database with a demo store."),
    seed: int = typer.Option(5, "--seed", help="Seed of the demo data (same seed, same data)."),
    today: str = typer.Option("", "--today", help="The demo's first day (default: today)."),
    time_zone: str = typer.Option("America/New_York", "--time-zone", help="The store's zone."),
) -> None:
    """Create the reference schema, and with --demo a demo store."""
    if not demo:
        create_schema(db)
        typer.echo(f"System Five schema ready at {db}")
        return
    first = date.fromisoformat(today) if today else datetime.now(_zone(time_zone)).date()
    try:
        seed_demo(db, first, seed=seed)
    except DemoError as error:
        typer.echo(f"not seeded: {error}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"System Five demo store ready at {db} (seed {seed}, from {first})")


@app.command()
def serve(
    db: str = typer.Option(..., "--db", help=DB_HELP),
    port: int = typer.Option(8100, "--port"),
    host: str = typer.Option("127.0.0.1", "--host"),
    time_zone: str = typer.Option("America/New_York", "--time-zone", help="The store's zone."),
) -> None:
    """Serve the appointment editor and Today's Tasks."""
    import uvicorn

    from s5emu.web import create_app

    _zone(time_zone)
    uvicorn.run(create_app(db, time_zone), host=host, port=port)


def main() -> None:
    # Issue 23 (R22): every file this process writes (databases, state, keys) is its
    # owner's alone: 0600, directories 0700.
    os.umask(0o077)
    app()
