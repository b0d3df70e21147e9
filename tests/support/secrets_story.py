"""A demo-like story in-process with planted canary values (issue 14, R22).

The emulator over TLS, MSAL sign-in through its page, System Five on SQLite, services
built from settings — as `cycle_stack` builds them, but with canaries in every secret:
the client secret, the encryption key, a System Five connection password (a second
store whose database is unreachable), a task's notes and an event's body. After the
story, the tokens MSAL actually holds (access, refresh, id), the authorization code and
the delta token are added to the canaries, and tests look for every one of them in the
log records and in the raw bytes of the CALENDAREVENT database.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import anyio
import httpx

from m365emu.demo import DEMO_TENANT_ID, FABRIKAM_TENANT_ID, register_app, seed_demo
from m365emu.testing import RunningEmulator, sign_in_with_form_posts
from s5emu.desk import Desk, TaskForm
from s5emu.schema import create_schema, engine_for
from s5sync.entrypoints.bootstrap import Services, build_services
from s5sync.settings import Settings
from s5sync.store.migrate import upgrade
from s5sync.store.secrets import SecretBox
from s5sync.store.token_caches import TokenCacheRows
from support.store_damage import saved_delta

CLIENT_ID = "5a1b2c3d-0000-4e6a-8b3c-5f1d2e3a4b5c"
CLIENT_SECRET = "canary-client-secret-Q7v2"
REDIRECT = "http://127.0.0.1:8000/auth/callback"
PG_PASSWORD = "canary-pg-pass-Z9k4"
SESSION_SECRET = "canary-session-secret-M3x8"
FOREIGN_S5 = f"postgresql://s5user:{PG_PASSWORD}@127.0.0.1:1/systemfive"
NOTES = "CANARY-NOTES-door-code-4471"
BODY = "CANARY-BODY-alarm-code-8812"
ALICE = "alice@contoso.example"
NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)


class Recorder(logging.Handler):
    """Every record of every logger, kept whole."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def texts(self) -> list[str]:
        """Each record as everything a handler could write: message, arguments, extra
        fields and the formatted exception."""
        formatter = logging.Formatter()
        out = []
        for record in self.records:
            parts = [record.getMessage(), repr(record.args)]
            parts += [f"{k}={v!r}" for k, v in record.__dict__.items() if k not in _STANDARD]
            if record.exc_info:
                parts.append(formatter.formatException(record.exc_info))
            if record.stack_info:
                parts.append(record.stack_info)
            out.append(f"{record.name}: " + " | ".join(parts))
        return out


_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message"}


def capture_every_logger() -> Recorder:
    """Root at DEBUG with a recorder; every existing logger opened to DEBUG. The product
    may quiet some (httpx, R22) when its parts are built: that is its defence, kept."""
    recorder = Recorder()
    start_recording(recorder)
    return recorder


def start_recording(recorder: Recorder) -> None:
    root = logging.getLogger()
    root.addHandler(recorder)
    root.setLevel(logging.DEBUG)
    for logger in list(logging.root.manager.loggerDict.values()):
        if isinstance(logger, logging.Logger):
            logger.setLevel(logging.DEBUG)
            logger.disabled = False


def release(recorder: Recorder) -> None:
    root = logging.getLogger()
    root.removeHandler(recorder)
    root.setLevel(logging.WARNING)
    for logger in list(logging.root.manager.loggerDict.values()):
        if isinstance(logger, logging.Logger):
            logger.setLevel(logging.NOTSET)


@dataclass
class Story:
    running: RunningEmulator
    services: Services
    data_dir: Path
    keys: list[str]
    canaries: dict[str, str] = field(default_factory=dict)
    results: list[Any] = field(default_factory=list)
    tenant_id: int = 0  # the store and user whose cycles ran (set by `story`)
    user_id: int = 0

    def database_bytes(self) -> bytes:
        """The CALENDAREVENT database as a thief would copy it: the file, its WAL, its SHM."""
        base = self.data_dir / "calendarevent.db"
        return b"".join(
            path.read_bytes()
            for path in (
                base,
                base.with_name(base.name + "-wal"),
                base.with_name(base.name + "-shm"),
            )
            if path.exists()
        )


def settings_for(data_dir: Path, running: RunningEmulator, keys: list[str]) -> Settings:
    return Settings(
        database_url=f"sqlite:///{data_dir / 'calendarevent.db'}",
        secret_keys=",".join(keys),
        authority=running.urls.authority(DEMO_TENANT_ID),
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        session_secret=SESSION_SECRET,
        redirect_uri=REDIRECT,
        graph_base_url=running.urls.graph,
        ca_bundle=running.urls.ca_cert,
    )


async def web_leg(services: Services, running: RunningEmulator, canaries: dict[str, str]) -> None:
    """The staff web app in-process: sign-in through MSAL's form_post callback, the
    dashboard, Sync now, a forged callback, /healthz and /metrics."""
    from s5sync.entrypoints.web.app import web_app

    app = web_app(services, run_scheduler=False)
    transport = httpx.ASGITransport(app=app)
    # https: the session cookie is Secure unless the app is served over plain http.
    async with httpx.AsyncClient(transport=transport, base_url="https://127.0.0.1:8000") as web:
        login = await web.get("/auth/login")
        authorize = login.headers["location"]
        callback, fields = await anyio.to_thread.run_sync(
            lambda: sign_in_with_form_posts(authorize, ALICE, running.ssl_context())
        )
        canaries["web_authorization_code"] = fields["code"]
        signed = await web.post(urlsplit(callback).path, data=fields)
        assert signed.status_code == 303, signed.text[:300]
        canaries["session_cookie"] = signed.cookies.get("s5sync_session") or "missing"
        page = await web.get("/dashboard")
        assert page.status_code == 200, (page.status_code, signed.headers)
        token = page.text.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
        assert (await web.post("/dashboard/sync-now", headers={"X-CSRF-Token": token})).is_success
        forged = await web.post("/auth/callback", data={**fields, "state": "forged"})
        assert forged.status_code == 403
        await web.get("/healthz")
        await web.get("/metrics")


def graph_as(running: RunningEmulator, email: str) -> httpx.Client:
    with httpx.Client(base_url=running.urls.control) as control:
        token = control.post(
            "token", json={"email": email, "scopes": ["Calendars.ReadWrite"]}
        ).json()["access_token"]
    return httpx.Client(
        base_url=running.urls.graph,
        verify=running.ssl_context(),
        headers={"Authorization": f"Bearer {token}", "Prefer": 'IdType="ImmutableId"'},
    )


def arm_throttle(running: RunningEmulator) -> None:
    """The next calendar delta read is throttled (429, Retry-After 0): the retry path logs."""
    with httpx.Client(base_url=running.urls.control) as control:
        control.post(
            "faults",
            json={
                "path": "*calendarView/delta*",
                "kind": "throttle",
                "status": 429,
                "retry_after": 0,
            },
        ).raise_for_status()


def prepare_emulator(running: RunningEmulator) -> None:
    running.emulator.reset()
    seed_demo(running.emulator)
    register_app(
        running.emulator, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, redirect_uris=[REDIRECT]
    )


@asynccontextmanager
async def story(
    data_dir: Path, running: RunningEmulator, start_recording: Callable[[], None]
) -> AsyncIterator[Story]:
    """Sign-in, push, import, edit, a Graph fault, a store whose System Five is down, and
    the web app: sign-in through its callback, the dashboard, Sync now, a forged callback.

    `start_recording` is called once System Five's own desk has written the task: what
    the System Five emulator logs is System Five's business; from then on, s5sync's."""
    prepare_emulator(running)
    s5_url = f"sqlite:///{data_dir / 'systemfive.db'}"
    create_schema(s5_url)
    keys = [SecretBox.generate_key()]
    settings = settings_for(data_dir, running, keys)
    upgrade(settings.database_url)
    services = build_services(settings)
    told = Story(running, services, data_dir, keys)
    told.canaries.update(
        client_secret=CLIENT_SECRET,
        secret_key=keys[0],
        session_secret=SESSION_SECRET,
        pg_password=PG_PASSWORD,
        notes=NOTES,
        body=BODY,
    )
    desk = Desk(engine_for(s5_url))
    try:
        now = datetime.now(UTC)
        tenant = await services.directory.create_tenant(
            DEMO_TENANT_ID, "Contoso Home", s5_url, now, time_zone="America/New_York"
        )
        foreign = await services.directory.create_tenant(
            FABRIKAM_TENANT_ID, "Fabrikam", FOREIGN_S5, now, time_zone="America/New_York"
        )
        employee = desk.add_employee("ALICE", "Alice Martin", ALICE)
        desk.create_task(
            TaskForm(
                "delivery",
                employee,
                None,
                "Deliver safe",
                NOTES,
                datetime(2026, 11, 27, 10),
                datetime(2026, 11, 27, 11),
                15,
                True,
            )
        )
        start_recording()
        signin = services.signin()
        auth_uri, _state, flow = await signin.begin(REDIRECT)
        _, answer = await anyio.to_thread.run_sync(
            lambda: sign_in_with_form_posts(auth_uri, ALICE, running.ssl_context())
        )
        told.canaries["authorization_code"] = answer["code"]
        who = await signin.complete(flow, answer)
        async with services.scope(tenant.id).begin() as unit:
            user = await unit.users.signed_in(who.object_id, who.email, who.display_name, now)
            await unit.users.save_token_cache(user.id, who.token_cache)
            user = await unit.users.onboard(user.id, employee, now)
        async with services.scope(foreign.id).begin() as unit:
            stranger = await unit.users.signed_in(
                "stranger-oid", "erin@fabrikam.example", "Erin", now
            )
            await unit.users.save_token_cache(stranger.id, who.token_cache)
            stranger = await unit.users.onboard(stranger.id, 1, now)
        with graph_as(running, ALICE) as graph:
            created = graph.post(
                "/me/events",
                json={
                    "subject": "Measure vault [sync]",
                    "start": {"dateTime": "2026-11-30T15:00:00", "timeZone": "UTC"},
                    "end": {"dateTime": "2026-11-30T16:00:00", "timeZone": "UTC"},
                    "body": {"contentType": "html", "content": f"<p>{BODY}</p>"},
                },
            )
            created.raise_for_status()
            event_id = created.json()["id"]
        engine = services.cycle_engine("story")
        results: list[Any] = [await engine.run_user_cycle(user, NOW)]
        with graph_as(running, ALICE) as graph:
            graph.patch(
                f"/me/events/{event_id}",
                json={"body": {"contentType": "text", "content": f"{BODY} and more"}},
            ).raise_for_status()
        arm_throttle(running)
        results.append(await engine.run_user_cycle(user, NOW + timedelta(minutes=10)))
        results.append(await engine.run_user_cycle(stranger, NOW + timedelta(minutes=10)))
        await web_leg(services, running, told.canaries)
        cache = await TokenCacheRows(services.db, services.box, tenant.id).load(user.id)
        delta = await saved_delta(services, tenant.id, user.id)
        assert cache is not None
        told.canaries.update(_tokens(cache))
        if delta is not None and delta.delta_link:
            for key, value in parse_qsl(urlsplit(delta.delta_link).query):
                if "token" in key.lower():
                    told.canaries["delta_token"] = value
        told.results = results
        told.tenant_id, told.user_id = tenant.id, user.id
        yield told
    finally:
        desk.engine.dispose()
        await services.aclose()


def _tokens(cache_json: str) -> dict[str, str]:
    """Every secret MSAL keeps in a serialized token cache."""
    import json

    found: dict[str, str] = {}
    for section, entries in json.loads(cache_json).items():
        if not isinstance(entries, dict):
            continue
        for index, entry in enumerate(entries.values()):
            if isinstance(entry, dict) and isinstance(entry.get("secret"), str):
                found[f"{section}_{index}"] = entry["secret"]
    return found
