"""The deployment's procrastinate queue (DESIGN.md "Scheduling"): where it lives
(`S5SYNC_PROCRASTINATE_DSN`, or the CALENDAREVENT database itself), the app on it, and
its tables (`s5sync db upgrade`). The tasks are registered by `distributed.py`."""

from __future__ import annotations

import procrastinate

from s5sync.settings import Settings


def procrastinate_dsn(settings: Settings) -> str:
    """`S5SYNC_PROCRASTINATE_DSN`, or the CALENDAREVENT database itself (libpq form),
    with `S5SYNC_DATABASE_CA` written in (store/tls.py)."""
    from sqlalchemy.engine import make_url

    from s5sync.store.tls import libpq_url

    if settings.procrastinate_dsn:
        if settings.procrastinate_dsn.startswith("postgres"):
            return libpq_url(settings.procrastinate_dsn, settings.database_ca)
        return settings.procrastinate_dsn  # libpq's key=value form, as given

    url = make_url(settings.database_url)
    if not url.drivername.startswith("postgresql"):
        raise ValueError(
            "S5SYNC_SCHEDULER=procrastinate needs PostgreSQL: set S5SYNC_PROCRASTINATE_DSN "
            "or a postgresql S5SYNC_DATABASE_URL"
        )
    plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
    return libpq_url(plain, settings.database_ca)


def build_app(settings: Settings) -> procrastinate.App:
    """The procrastinate app of this deployment (no tasks; see `DistributedScheduler`)."""
    connector = procrastinate.PsycopgConnector(conninfo=procrastinate_dsn(settings))
    return procrastinate.App(connector=connector)


async def apply_schema(settings: Settings) -> bool:
    """Create procrastinate's tables unless present (`s5sync db upgrade`); True if made.

    They stay out of Alembic's comparison (`migrate.include_object`)."""
    app = build_app(settings)
    async with app.open_async():
        row = await app.connector.execute_query_one_async(
            "SELECT to_regclass('procrastinate_jobs') IS NOT NULL AS present"
        )
        if row["present"]:
            return False
        await app.schema_manager.apply_schema_async()
        return True
