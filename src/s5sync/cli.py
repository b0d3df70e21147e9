"""The `s5sync` command (typer): the operator's tasks from a terminal (R21c).

Every command takes the global `--env-file FILE` (SPEC.md "Commands"). Settings are
read when a command runs, never at import.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from s5sync import commands
from s5sync.scheduling import commands as scheduling_commands
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


def not_built(what: str, issue: int) -> None:
    typer.echo(f"s5sync {what}: not built yet (issue {issue}).", err=True)
    raise typer.Exit(3)


@app.command()
def demo() -> None:
    """Run the whole product on this machine with no account anywhere."""
    not_built("demo", 10)


@app.command()
def serve() -> None:
    """Serve the web app against real Microsoft 365 and System Five."""
    from s5sync.settings import require_for_serve

    try:
        require_for_serve(settings_or_exit())
    except SettingsError as error:
        typer.echo(f"s5sync: {error}", err=True)
        raise typer.Exit(2) from None
    not_built("serve", 11)


scheduling_commands.install(app, settings_or_exit)  # worker, bench (issue 12)


@app.command()
def sync() -> None:
    """Run one cycle for one user now."""
    not_built("sync", 9)


commands.install(app, settings_or_exit)


def main() -> None:
    app()
