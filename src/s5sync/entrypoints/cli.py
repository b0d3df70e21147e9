"""The `s5sync` command (typer): the operator's tasks from a terminal (R21c).

Every command takes the global `--env-file FILE` (SPEC.md "Commands"). Settings are
read when a command runs, never at import.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from s5sync.entrypoints import commands, worker
from s5sync.settings import Settings, SettingsError, load_settings

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
console = Console()


class State:
    env_file: Path | None = None


state = State()


@app.callback()
def _global(
    env_file: Annotated[
        Path | None, typer.Option("--env-file", help="Settings as S5SYNC_* lines.")
    ] = None,
) -> None:
    state.env_file = env_file


def settings_or_exit() -> Settings:
    """Load settings; a problem stops the command with one line and exit code 2."""
    try:
        return load_settings(state.env_file)
    except SettingsError as error:
        typer.echo(f"s5sync: {error}", err=True)
        raise typer.Exit(2) from None


@app.command()
def demo(
    host: Annotated[str, typer.Option(help="Interface to serve on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(help="The web app's port; the demo also uses the next three.")
    ] = 8000,
    data_dir: Annotated[
        Path | None, typer.Option(help="Where the demo keeps its data (default: per user).")
    ] = None,
) -> None:
    """Run the whole product on this machine with no account anywhere."""
    from s5sync.entrypoints.demo import run_demo

    run_demo(host, port, data_dir)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Serve the web app against real Microsoft 365 and System Five."""
    from s5sync.entrypoints.serving import serve as run_serve

    try:
        run_serve(settings_or_exit(), host, port)
    except SettingsError as error:
        typer.echo(f"s5sync: {error}", err=True)
        raise typer.Exit(2) from None


worker.install(app, settings_or_exit)  # worker, bench (issue 12)


@app.command()
def sync(
    user: Annotated[str, typer.Option("--user", help="The user's e-mail address.")],
    tenant: Annotated[
        str | None, typer.Option("--tenant", help="Store id or Microsoft tenant id.")
    ] = None,
    now: Annotated[
        str | None, typer.Option("--now", help="The cycle's time, ISO 8601 (UTC if no offset).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Run one cycle for one user now and print what it did (exit 0), or why not."""
    from s5sync.entrypoints.sync_command import sync_now

    code = sync_now(settings_or_exit(), user, tenant, now, as_json)
    if code:
        raise typer.Exit(code)


commands.install(app, settings_or_exit)


def main() -> None:
    # Issue 23 (R22): every file this process writes (databases, state, keys) is its
    # owner's alone: 0600, directories 0700.
    os.umask(0o077)
    app()
