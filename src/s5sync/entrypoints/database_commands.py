"""The operator's commands of the CALENDAREVENT database and of the keys of secrets at rest
(R22): `s5sync db upgrade`, `s5sync keys generate|rotate`."""

from __future__ import annotations

import asyncio

import typer
from sqlalchemy.exc import SQLAlchemyError

from s5sync.entrypoints.operator import console, fail, run, settings
from s5sync.store.migrate import grant_tenant_role, upgrade
from s5sync.store.secrets import SecretBox
from s5sync.store.tls import libpq_url

db_app = typer.Typer(help="The CALENDAREVENT database.", no_args_is_help=True)
keys_app = typer.Typer(help="Encryption keys of secrets at rest (R22).", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the CALENDAREVENT database to the newest schema."""
    configured = settings()
    owner = libpq_url(configured.database_url, configured.database_ca)  # TLS (store/tls.py)
    upgrade(owner)
    console.print("database is at the newest schema")
    # The job queue's tables first: the role check of serve and worker counts every table
    # of the schema, procrastinate's too, so the grant below must reach them (issue 22).
    if configured.scheduler == "procrastinate":
        from s5sync.scheduling.distributed import apply_schema

        try:
            made = asyncio.run(apply_schema(configured))
        except ValueError as error:
            raise fail(str(error), 2) from None
        console.print("job queue " + ("created" if made else "already present"))
    if configured.tenant_database_url:  # R22: the store-bound role reaches every table
        try:
            role = grant_tenant_role(owner, configured.tenant_database_url)
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
