"""The operator's commands (R21c): `s5sync db|keys|tenant|user …`.

Each command loads settings, builds the services once, does one thing and prints a
rich table or one line. Errors print one line and exit non-zero; no tracebacks. What
they share is in `operator.py`; the commands, by what they act on, in
`database_commands.py`, `tenant_commands.py` and `user_commands.py`.
"""

from __future__ import annotations

import typer

from s5sync.entrypoints.database_commands import db_app, keys_app
from s5sync.entrypoints.operator import SettingsLoader, use_settings
from s5sync.entrypoints.tenant_commands import tenant_app
from s5sync.entrypoints.user_commands import user_app


def install(app: typer.Typer, load: SettingsLoader) -> None:
    """Attach the operator's command groups to the main app."""
    use_settings(load)
    app.add_typer(db_app, name="db")
    app.add_typer(keys_app, name="keys")
    app.add_typer(tenant_app, name="tenant")
    app.add_typer(user_app, name="user")
