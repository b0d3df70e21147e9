"""The sync web app (R14, R18–R22): FastAPI + Jinja2 + htmx, server-rendered.

`create_app(...)` wires the routes to one `Accounts` service, the administrator's
`StoreAdministration` (routes in `admin.py`) and the scheduler's hooks; nothing is built
at import (STYLE.md habit 8). Routes are thin: parse, call one service function, render
(habit 9). Fixed routes (SPEC.md "Web routes"): `/`, `/auth/login`, `/auth/callback`,
`/auth/logout`, `/onboarding`, `/dashboard`, `/admin`, `/healthz`, `/metrics`.

`web_app(services)` is the composition used by `s5sync demo` and `s5sync serve`: the
local scheduler in the lifespan (stopped gracefully on shutdown), every cycle it runs
timed and counted for `/metrics` (outcome, duration, Graph requests by kind and status,
throttles), and times shown in the store's time zone.
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote
from zoneinfo import available_timezones

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp

from s5sync.core.records import UserRecord
from s5sync.core.status import user_status, what_failed
from s5sync.core.timezones import UnknownTimeZone, zone
from s5sync.entrypoints.bootstrap import Services, WebServices, build_web, utc_now
from s5sync.entrypoints.web import security
from s5sync.entrypoints.web.admin import install_admin_routes
from s5sync.entrypoints.web.dashboard_routes import (
    install_dashboard_routes,
    install_sync_control_routes,
)
from s5sync.entrypoints.web.graph_routes import install_graph_routes
from s5sync.entrypoints.web.pages import (
    HERE,
    csrf_check,
    install_error_page,
    page_templates,
    renderer,
    session_user,
    signed_in_user,
)
from s5sync.entrypoints.web.probes import ProbeAccess, install_probe_routes
from s5sync.entrypoints.web.signin_routes import (
    install_onboarding_routes,
    install_signin_routes,
)
from s5sync.outlook.notifications import NotificationIntake
from s5sync.staff.accounts import Accounts
from s5sync.staff.administration import StoreAdministration
from s5sync.staff.invites import Invitations
from s5sync.staff.usertest import UserTest

if TYPE_CHECKING:
    from s5sync.sync.engine import CycleResult

SCHEDULER_STALE = timedelta(minutes=2)
HTMX = "htmx-2.0.11.min.js"


class WebConfig:
    """What the app needs besides its services."""

    def __init__(
        self,
        *,
        session_secret: str,
        public_url: str,
        secure_cookies: bool,
        wake_scheduler: Callable[[], Awaitable[None]] | None = None,
        health: Callable[[], Awaitable[dict[str, Any]]] | None = None,
        on_startup: Callable[[], Awaitable[None]] | None = None,
        on_shutdown: Callable[[], Awaitable[None]] | None = None,
        metrics: Callable[[], Awaitable[bytes]] | None = None,
        redirect_uri: str | None = None,
        notifications: NotificationIntake | None = None,
        user_test: UserTest | None = None,
        invitations: Invitations | None = None,
        probes: ProbeAccess | None = None,
        signed_out: Callable[[UserRecord], Awaitable[None]] | None = None,
        task_link: str = "",
        event_link: str = "",
    ) -> None:
        self.session_secret = session_secret
        self.public_url = public_url.rstrip("/")
        self.secure_cookies = secure_cookies
        self.wake_scheduler = wake_scheduler
        self.health = health
        self.on_startup = on_startup
        self.on_shutdown = on_shutdown
        self.metrics = metrics
        self._redirect_uri = redirect_uri
        self.notifications = notifications
        self.user_test = user_test  # issue 21 item 6: the administrator's test per user
        self.invitations = invitations  # issue 21 item 5: invite an employee by e-mail
        self.probes = probes or ProbeAccess()  # who may read /healthz and /metrics
        self.signed_out = signed_out  # R14b: the user's Graph subscription is deleted
        # Issue 20 item 4: where the store opens a task or an event ("{id}" in each).
        self.task_link = task_link
        self.event_link = event_link

    @property
    def redirect_uri(self) -> str:
        """The registered redirect URI (`S5SYNC_REDIRECT_URI`), else public URL's."""
        return self._redirect_uri or f"{self.public_url}/auth/callback"


def local_time(moment: datetime | None, zone_name: str, pattern: str = "%Y-%m-%d %H:%M") -> str:
    """A stored UTC instant as the store's wall-clock time (R21: the store's time zone)."""
    if moment is None:
        return ""
    try:
        return moment.astimezone(zone(zone_name)).strftime(pattern)
    except UnknownTimeZone:
        return moment.strftime(pattern) + " UTC"


def link_to(template: str) -> Callable[[object], str]:
    """Issue 20 item 4: the address where the store opens an item, from a setting with
    `{id}` in it (the id URL-encoded); empty when the setting is."""

    def link(item_id: object) -> str:
        if not template or item_id is None:
            return ""
        return template.replace("{id}", quote(str(item_id), safe=""))

    return link


class _OutermostHeaders(FastAPI):
    """The security headers wrap the whole stack, Starlette's error handler included, so
    a 500 carries them too (pure ASGI middleware; the 500 is Starlette's plain text,
    never a stack trace: debug is off)."""

    def build_middleware_stack(self) -> ASGIApp:
        return security.SecurityHeadersMiddleware(super().build_middleware_stack())


def create_app(
    accounts: Accounts, config: WebConfig, admin: StoreAdministration | None = None
) -> FastAPI:
    """The app: lifespan, middleware, templates and the shared dependencies (pages.py),
    then one installer per page group."""
    app = _OutermostHeaders(
        title="s5sync",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=_lifespan_of(config),
    )
    templates = page_templates(
        {
            "htmx": HTMX,
            "task_link": link_to(config.task_link),
            "event_link": link_to(config.event_link),
        },
        # issue 20 item 3: plain words for what failed
        {"local": local_time, "plain_error": what_failed},
    )
    app.add_middleware(
        SessionMiddleware,
        secret_key=config.session_secret,
        session_cookie=security.SESSION_COOKIE,
        same_site="lax",
        https_only=config.secure_cookies,
        max_age=14 * 24 * 3600,
    )
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    render = renderer(templates, config.session_secret)
    csrf = csrf_check(config.session_secret)
    current_user = session_user(accounts)
    signed_in = signed_in_user(current_user)
    install_error_page(app, render)
    install_signin_routes(app, accounts, config, render, current_user, csrf)
    install_onboarding_routes(app, accounts, render, signed_in, csrf)
    install_dashboard_routes(app, accounts, render, signed_in, csrf)
    install_sync_control_routes(app, accounts, config, render, signed_in, csrf)
    install_probe_routes(app, config.probes, config.health, config.metrics)
    if config.notifications is not None:
        install_graph_routes(app, config.notifications)
    if admin is not None:
        zones = sorted(z for z in available_timezones() if "/" in z and not z.startswith("Etc/"))
        install_admin_routes(
            app,
            admin,
            render,
            signed_in,
            csrf,
            zones,
            config.user_test,
            config.invitations,
            wake=config.wake_scheduler,
        )
    return app


def _lifespan_of(config: WebConfig) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """The app's lifespan: `config.on_startup` before serving, `on_shutdown` after."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if config.on_startup is not None:
            await config.on_startup()
        try:
            yield
        finally:
            if config.on_shutdown is not None:
                await config.on_shutdown()

    return lifespan


def web_app(services: Services, *, run_scheduler: bool = True) -> FastAPI:
    """The web app on `services` as `demo` and `serve` run it: the web process's services
    from the composition root (`bootstrap.build_web`), the local scheduler in its
    lifespan (R14), every cycle it runs counted for `/metrics`, the admin pages."""
    web = build_web(services)
    settings, push = services.settings, web.push
    start, stop = _lifespan(web, run_scheduler)

    async def run_cycle(user: UserRecord) -> CycleResult:
        return await web.cycles.run_user_cycle(user, utc_now())

    config = WebConfig(
        session_secret=settings.session_secret.get_secret_value() or secrets.token_hex(32),
        public_url=settings.public_url,
        secure_cookies=settings.secure_cookies,
        wake_scheduler=web.scheduler.wake,
        health=_health(web, run_scheduler),
        on_startup=start,
        on_shutdown=stop,
        metrics=_metrics(web),
        redirect_uri=settings.redirect_uri or None,
        notifications=push.intake,
        user_test=web.user_test,
        invitations=web.invitations,
        probes=ProbeAccess.from_settings(settings),
        signed_out=lambda user: push.manager.forget(user.tenant_id, user.id),
        task_link=settings.task_link,
        event_link=settings.event_link,
    )
    app = create_app(web.accounts, config, web.admin)
    app.state.scheduler = web.scheduler
    app.state.services = services
    app.state.metrics = web.counters
    app.state.run_cycle = run_cycle
    app.state.push = push
    return app


Hook = Callable[[], Awaitable[None]]


def _lifespan(web: WebServices, run_scheduler: bool) -> tuple[Hook, Hook]:
    """Start: the local scheduler and push (R14, R14b), or — when workers run the cycles
    — only push's watcher of the workers' wake-ups. Stop: all of it, then the services."""

    async def start() -> None:
        if run_scheduler:
            web.scheduler.start()
            web.push.start()
        else:
            web.push.wakeups.start()

    async def stop() -> None:
        await web.push.stop()
        if web.deferring is not None:
            await web.deferring.aclose()
        await web.scheduler.stop()
        await web.services.aclose()

    return start, stop


def _health(web: WebServices, run_scheduler: bool) -> Callable[[], Awaitable[dict[str, Any]]]:
    """`/healthz`: the database answers and the scheduler's loop has looked for work lately."""
    scheduler = web.scheduler

    async def health() -> dict[str, Any]:
        try:
            await web.services.directory.tenants()
            database = True
        except Exception:  # the answer is the report, never a crash
            database = False
        # Alive = its loop runs and has looked for work lately (a hung tick counts as dead).
        ticked = scheduler.last_tick
        fresh = ticked is None or utc_now() - ticked < SCHEDULER_STALE
        alive = (scheduler.alive and fresh) or not run_scheduler
        return {
            "ok": database and alive,
            "database": database,
            "scheduler": alive,
            "push": web.push.manager.status,
        }

    return health


def _metrics(web: WebServices) -> Callable[[], Awaitable[bytes]]:
    """`/metrics`: users by status (core.status, as the pages name them) and the counters."""
    directory, counters = web.services.directory, web.counters

    async def metrics() -> bytes:
        now = utc_now()
        tenants = {t.id: t for t in await directory.tenants()}
        counts = Counter(
            user_status(u, tenants[u.tenant_id], now)
            for u in await directory.users()
            if u.tenant_id in tenants
        )
        counters.set_users(counts)
        counters.scheduler_alive.set(1 if web.scheduler.alive else 0)
        return counters.render()

    return metrics
