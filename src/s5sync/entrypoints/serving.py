"""`s5sync serve`: the web app against real Microsoft 365 and real System Five databases
(SPEC.md "Commands"; issue 11).

Before anything listens, every setting the web app needs is checked and the first
problem stops the process with one line naming the setting (`check_for_serve`): the
`S5SYNC_*` values pydantic validates, the Entra application (`require_for_serve`), a
redirect URI Microsoft accepts, and a CALENDAREVENT database that answers and has been
upgraded. Logs are structured (`logs.py`; JSON with `S5SYNC_LOG_JSON=true`).

Shutdown is graceful: uvicorn turns SIGTERM/SIGINT into "stop accepting, finish the
answers in flight", then runs the app's lifespan shutdown, where the local scheduler
stops looking for work and lets running cycles finish (`LocalScheduler.stop`, up to 30
seconds, then cancels them — a cancelled cycle is safe: its pending mapping rows are
resolved by the next one, R16/R16b). Only then are the connection pools closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from s5sync.settings import Settings, SettingsError, require_for_serve

log = logging.getLogger(__name__)

LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]", "::1"})
GRACE_SECONDS = 30


def check_for_serve(settings: Settings) -> None:
    """Every problem `serve` can know of before it starts, as one `SettingsError` line."""
    require_for_serve(settings)
    redirect = urlsplit(settings.redirect_uri)
    if redirect.scheme not in ("http", "https") or not redirect.netloc:
        raise SettingsError("S5SYNC_REDIRECT_URI is invalid: it must be an absolute URL")
    if redirect.scheme != "https" and redirect.hostname not in LOCAL_HOSTS:
        raise SettingsError(
            "S5SYNC_REDIRECT_URI is invalid: Microsoft accepts http:// only for localhost; "
            "use https://"
        )
    if not redirect.path.endswith("/auth/callback"):
        raise SettingsError("S5SYNC_REDIRECT_URI is invalid: its path must end in /auth/callback")
    authority = urlsplit(settings.authority)
    if authority.scheme != "https" or not authority.netloc:
        raise SettingsError("S5SYNC_AUTHORITY is invalid: it must be an https:// URL")
    if settings.smtp_ca_bundle is not None and not settings.smtp_ca_bundle.is_file():
        raise SettingsError(f"S5SYNC_SMTP_CA_BUNDLE is invalid: no file {settings.smtp_ca_bundle}")
    if settings.ca_bundle is not None and not settings.ca_bundle.is_file():
        raise SettingsError(f"S5SYNC_CA_BUNDLE is invalid: no file {settings.ca_bundle}")
    if len(settings.session_secret.get_secret_value()) < 32:
        raise SettingsError("S5SYNC_SESSION_SECRET is invalid: use at least 32 random characters")


def check_database_file(settings: Settings) -> None:
    """An SQLite database must exist: connecting would create an empty file (and
    aiosqlite leaves a thread behind when its directory does not exist)."""
    from sqlalchemy.engine import make_url

    url = make_url(settings.database_url)
    name = url.database
    is_file = url.get_backend_name() == "sqlite" and name and name != ":memory:"
    if is_file and not Path(str(name)).is_file():
        raise SettingsError(f"S5SYNC_DATABASE_URL: no database at {name} (run `s5sync db upgrade`)")


async def check_database(settings: Settings) -> None:
    """The CALENDAREVENT database answers and has the schema (`s5sync db upgrade`)."""
    from s5sync.entrypoints.bootstrap import build_services

    services = build_services(settings)
    try:
        await services.directory.tenants()
    except Exception as error:
        await services.db.dispose()
        raise SettingsError(
            "S5SYNC_DATABASE_URL: the database cannot be reached or is not upgraded "
            f"(run `s5sync db upgrade`): {type(error).__name__}"
        ) from None
    try:
        problem = await services.db.tenant_role_problem()
    except Exception as error:
        raise SettingsError(
            f"S5SYNC_TENANT_DATABASE_URL: the database cannot be reached: {type(error).__name__}"
        ) from None
    finally:
        await services.db.dispose()
    if problem is not None:
        raise SettingsError(
            f"S5SYNC_TENANT_DATABASE_URL is invalid: {problem} (docs/operations.md §10)"
        )


def serve(settings: Settings, host: str, port: int) -> None:
    """Check, then serve until SIGTERM or SIGINT (raises `SettingsError` before serving)."""
    import uvicorn

    from s5sync.entrypoints.bootstrap import build_services
    from s5sync.entrypoints.web.app import web_app
    from s5sync.logs import configure_logging

    check_for_serve(settings)
    check_database_file(settings)
    asyncio.run(check_database(settings))
    configure_logging(settings.log_level, as_json=settings.log_json)
    services = build_services(settings)
    config = uvicorn.Config(
        # With the distributed scheduler, `s5sync worker` processes run the cycles.
        web_app(services, run_scheduler=settings.scheduler == "local"),
        host=host,
        port=port,
        lifespan="on",
        log_config=None,  # our handler (logs.py) formats uvicorn's records too
        proxy_headers=True,  # behind Azure's front end / a reverse proxy (X-Forwarded-*)
        server_header=False,
        timeout_graceful_shutdown=GRACE_SECONDS,
    )
    log.info(
        "serve.starting", extra={"host": host, "port": port, "public_url": settings.public_url}
    )
    if not settings.smtp_host:  # R21d: said once, at start
        log.warning(
            "serve.no_mail_server",
            extra={
                "detail": "S5SYNC_SMTP_HOST is not set: alerts are shown on the health page "
                "only, and no e-mail is sent"
            },
        )
    _server_class()(config).run()
    log.info("serve.stopped")


def _server_class() -> Any:
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn re-raises SIGTERM once it has shut down, so the process dies by the
        signal (exit -15) before our last log line; here a graceful stop exits 0."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            previous = {
                sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)
            }
            try:
                yield
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

    return Server
