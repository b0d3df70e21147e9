"""`s5sync demo`: the whole product on one machine, no account anywhere (SPEC.md "Commands").

One process serves five ports on `--host`:

| port      | what                                                                 |
|-----------|----------------------------------------------------------------------|
| P         | the s5sync web app (sign-in, onboarding, dashboard), with its scheduler |
| P + 1     | the Microsoft 365 emulator's pages: sign-in, Outlook, `/_emulator`    |
| P + 2     | the emulator's identity platform and Graph, over TLS (its own CA)     |
| P + 3     | System Five: the appointment editor and Today's Tasks                 |
| P + 4     | the emulator's SMTP server (STARTTLS): alerts land in the Outlook Inbox |

The data dir holds `calendarevent.db`, `systemfive.db`, the emulator's state and CA
under `m365emu/`, and `s5sync.env` — the settings the demo runs with, so any other
command can act on it (`s5sync --env-file DIR/s5sync.env sync --user …`). Everything is
created on the first run and kept: running again on the same data dir goes on where it
stopped. MSAL's blocking calls run in worker threads, so serving the emulator on the
same event loop never deadlocks.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import signal
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import uvicorn
from dotenv import dotenv_values
from platformdirs import user_data_path
from starlette.types import ASGIApp

from m365emu.app import Emulator
from m365emu.tls import TlsFiles
from s5sync.entrypoints.bootstrap import build_cli, build_demo
from s5sync.settings import Settings, load_settings
from s5sync.store.migrate import upgrade
from s5sync.store.secrets import SecretBox

DEMO_ZONE = "America/New_York"
DEMO_CLIENT_ID = "8f3c2d1e-5b4a-4c6d-9e8f-0a1b2c3d4e5f"
DEMO_ADMIN = "alice@contoso.example"
DEMO_USERS = (
    ("alice@contoso.example", "Alice Martin", "sales; the store's administrator"),
    ("bob@contoso.example", "Bob Nguyen", "deliveries"),
    ("carol@contoso.example", "Carol Diaz", "sales"),
    ("dave@contoso.example", "Dave Okafor", "technician"),
)


@dataclass(frozen=True)
class DemoPorts:
    host: str
    web: int

    @property
    def emulator(self) -> int:
        return self.web + 1

    @property
    def tls(self) -> int:
        return self.web + 2

    @property
    def systemfive(self) -> int:
        return self.web + 3

    @property
    def smtp(self) -> int:
        return self.web + 4  # R21d: alerts by e-mail into the emulated mailboxes

    def url(self, port: int, scheme: str = "http") -> str:
        return f"{scheme}://{self.host}:{port}"


def default_data_dir() -> Path:
    return user_data_path("s5sync", appauthor=False) / "demo"


def private(data_dir: Path) -> None:
    """R22, issue 23: the data dir holds event text, tokens and the emulator's keys: its
    owner's alone (a dir made by an older version, with 0644 files, is tightened)."""
    data_dir.chmod(0o700)
    for path in data_dir.rglob("*"):
        path.chmod(0o700 if path.is_dir() else 0o600)


def write_env(data_dir: Path, ports: DemoPorts, ca_cert: Path) -> Path:
    """`s5sync.env`: generated once (keys and secrets kept), URLs refreshed each run."""
    path = data_dir / "s5sync.env"
    kept = {k: v for k, v in dotenv_values(path).items() if v} if path.exists() else {}
    values = {
        "S5SYNC_DATABASE_URL": f"sqlite+aiosqlite:///{data_dir / 'calendarevent.db'}",
        "S5SYNC_SECRET_KEYS": kept.get("S5SYNC_SECRET_KEYS") or SecretBox.generate_key(),
        "S5SYNC_SESSION_SECRET": kept.get("S5SYNC_SESSION_SECRET") or secrets.token_hex(32),
        "S5SYNC_CLIENT_ID": DEMO_CLIENT_ID,
        "S5SYNC_CLIENT_SECRET": kept.get("S5SYNC_CLIENT_SECRET") or secrets.token_urlsafe(24),
        "S5SYNC_AUTHORITY": f"{ports.url(ports.tls, 'https')}/organizations",
        "S5SYNC_GRAPH_BASE_URL": f"{ports.url(ports.tls, 'https')}/v1.0",
        "S5SYNC_CA_BUNDLE": str(ca_cert),
        "S5SYNC_REDIRECT_URI": f"{ports.url(ports.web)}/auth/callback",
        "S5SYNC_PUBLIC_URL": ports.url(ports.web),
        # Issue 20 item 4: activity lines open the task in the System Five emulator and
        # the event in the emulated Outlook page.
        "S5SYNC_TASK_LINK": f"{ports.url(ports.systemfive)}/tasks/{{id}}",
        "S5SYNC_EVENT_LINK": f"{ports.url(ports.emulator)}/outlook/events/{{id}}",
        # R14b: the emulator delivers change notifications to the web app over loopback
        # http (it allows http because the demo serves its browser pages).
        "S5SYNC_PUSH_HTTP": "true",
        "S5SYNC_SECURE_COOKIES": "false",
        "S5SYNC_SCHEDULER": "local",
        # R21d: the emulator's SMTP server delivers into the emulated Outlook Inboxes.
        "S5SYNC_SMTP_HOST": ports.host,
        "S5SYNC_SMTP_PORT": str(ports.smtp),
        "S5SYNC_SMTP_STARTTLS": "true",
        "S5SYNC_SMTP_CA_BUNDLE": str(ca_cert),
        "S5SYNC_MAIL_FROM": "s5sync@contoso.example",
    }
    lines = ["# s5sync demo settings (written by `s5sync demo`; keys are kept across runs)"]
    lines += [f"{key}={value}" for key, value in values.items()]
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)
    return path


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise SystemExit(
            f"s5sync demo: port {port} on {host} is taken ({error.strerror}); "
            "choose another with --port (the demo uses --port to --port + 4)"
        ) from None
    return sock


class _Server(uvicorn.Server):
    """A uvicorn server whose signals the demo handles for all four at once."""

    @contextlib.contextmanager
    def capture_signals(self):  # type: ignore[no-untyped-def]
        yield


def welcome(ports: DemoPorts, data_dir: Path, env: Path) -> str:
    web = ports.url(ports.web)
    users = "\n".join(f"    {email:<24} {name} ({role})" for email, name, role in DEMO_USERS)
    return f"""
s5sync demo — everything runs on this machine; no account anywhere.

  Sync web app       {web}
  Outlook (emulated) {ports.url(ports.emulator)}/outlook
  System Five        {ports.url(ports.systemfive)}/tasks
  Emulator control   {ports.url(ports.emulator)}/_emulator
  Data               {data_dir}

  Demo users of the Contoso store (sign-in needs no password):
{users}
    erin@fabrikam.example    Erin Walsh — her organisation is not registered (refused)

  Try first:
    1. Open {web} and sign in as alice@contoso.example; confirm her employee record.
    2. In System Five, open a Delivery for tomorrow, tick Sync, save: it crosses within
       the store's System Five check (15 s unless changed), or at once with Sync now.
    3. Open Outlook (sign in as Alice): the event is there with "Received From System5"
       and a Google Maps link to the Ship To address.
    4. In Outlook, create "Measure kitchen [sync]" next week: within seconds (no Sync now)
       it appears in Today's Tasks in light green until it is opened and saved.
    5. As Alice, open {web}/admin: every user's health, the store's options, staff.
       Alerts about users who need someone arrive in Alice's Outlook Inbox.

  Other commands act on this demo:  s5sync --env-file {env} sync --user alice@contoso.example
  Ctrl-C stops the demo; running it again on the same data dir keeps everything.
"""


def prepare(data_dir: Path, ports: DemoPorts) -> tuple[Settings, Emulator, TlsFiles]:
    """Create or reopen the demo's data: emulator state, databases, settings, store."""
    from m365emu.app import build_emulator
    from m365emu.demo import DEMO_TENANT_ID, register_app, seed_demo
    from m365emu.tls import ensure_tls_files
    from s5emu.demo import seed_demo as seed_systemfive
    from s5emu.schema import create_schema, engine_for

    data_dir.mkdir(parents=True, exist_ok=True)
    private(data_dir)
    emulator_dir = data_dir / "m365emu"
    emulator = build_emulator(emulator_dir)
    files = ensure_tls_files(emulator_dir / "tls", emulator.persistence)
    # The demo's mailboxes show the store's time zone in the Outlook page (mailboxSettings).
    seed_demo(emulator, time_zone=DEMO_ZONE)
    emulator.browser_root = ports.url(ports.emulator)
    env = write_env(data_dir, ports, files.ca_cert)
    settings = load_settings(env)
    register_app(
        emulator,
        client_id=settings.client_id,
        client_secret=settings.client_secret.get_secret_value(),
        redirect_uris=[settings.redirect_uri],
    )
    upgrade(settings.database_url)
    s5_url = f"sqlite:///{data_dir / 'systemfive.db'}"
    create_schema(s5_url)
    engine = engine_for(s5_url)
    with engine.connect() as conn:
        from sqlalchemy import text

        empty = conn.execute(text("SELECT count(*) FROM employee")).scalar_one() == 0
    engine.dispose()
    if empty:
        seed_systemfive(s5_url, datetime.now(ZoneInfo(DEMO_ZONE)).date())

    async def register_store() -> None:
        cli = build_cli(settings)  # as the operator registers a store (R21c)
        services = cli.services
        try:
            store = await services.directory.find_tenant(DEMO_TENANT_ID)
            if store is None:
                store = await services.directory.create_tenant(
                    DEMO_TENANT_ID,
                    "Contoso Home & Furniture",
                    s5_url,
                    datetime.now(UTC),
                    time_zone=DEMO_ZONE,
                )
                # R21c: the operator names the store's administrator (Alice, in the demo).
                async with services.scope(store.id).begin() as unit:
                    admin = await unit.users.invite(DEMO_ADMIN, datetime.now(UTC))
                    await unit.users.set_admin(admin.id, True)
        finally:
            await cli.aclose()

    asyncio.run(register_store())
    return settings, emulator, files


def run_demo(host: str, port: int, data_dir: Path | None) -> None:
    """Serve the four parts until Ctrl-C."""
    from m365emu.app import create_browser_app, create_tls_app
    from m365emu.mail.smtp import MailSink, serve_smtp
    from s5emu.web import create_app as systemfive_app
    from s5sync.entrypoints.web.app import web_app

    data_dir = (data_dir or default_data_dir()).expanduser().resolve()
    ports = DemoPorts(host, port)
    socks = [_bind(host, p) for p in (ports.web, ports.emulator, ports.tls, ports.systemfive)]
    smtp_sock = _bind(host, ports.smtp)
    settings, emulator, files = prepare(data_dir, ports)
    services = build_demo(settings)

    def config(app: ASGIApp, tls: bool = False) -> uvicorn.Config:
        return uvicorn.Config(
            app,
            log_level="warning",
            timeout_graceful_shutdown=5,
            lifespan="on",
            ssl_certfile=str(files.server_cert) if tls else None,
            ssl_keyfile=str(files.server_key) if tls else None,
        )

    servers = [
        _Server(config(web_app(services))),
        _Server(config(create_browser_app(emulator))),
        _Server(config(create_tls_app(emulator), tls=True)),
        _Server(config(systemfive_app(f"sqlite:///{data_dir / 'systemfive.db'}", DEMO_ZONE))),
    ]
    emulator.start_notifications()  # R14b: deliveries from a thread of their own
    print(welcome(ports, data_dir, data_dir / "s5sync.env"), flush=True)

    async def serve_all() -> None:
        loop = asyncio.get_running_loop()

        def stop() -> None:
            for server in servers:
                server.should_exit = True

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop)
        smtp = await serve_smtp(
            MailSink(emulator.mail.deliver),
            cert=files.server_cert,
            key=files.server_key,
            sock=smtp_sock,
        )
        try:
            await asyncio.gather(
                *(server.serve(sockets=[sock]) for server, sock in zip(servers, socks, strict=True))
            )
        finally:
            smtp.close()

    try:
        asyncio.run(serve_all())
    finally:
        emulator.close()
        print("s5sync demo stopped; everything is kept in", data_dir, flush=True)
