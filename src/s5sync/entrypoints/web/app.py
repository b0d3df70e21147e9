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

import logging
import secrets
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import quote
from zoneinfo import available_timezones

import jinja2
from fastapi import Depends, FastAPI, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp

from s5sync.core.records import UserRecord
from s5sync.core.status import user_status, what_failed
from s5sync.core.timezones import UnknownTimeZone, zone
from s5sync.entrypoints.bootstrap import Services, build_web, utc_now
from s5sync.entrypoints.web import security
from s5sync.entrypoints.web.admin import install_admin_routes
from s5sync.entrypoints.web.graph_routes import install_graph_routes
from s5sync.entrypoints.web.metrics import CONTENT_TYPE
from s5sync.entrypoints.web.probes import ProbeAccess
from s5sync.outlook.notifications import NotificationIntake
from s5sync.staff.accounts import Accounts, Refused
from s5sync.staff.administration import StoreAdministration
from s5sync.staff.invites import Invitations
from s5sync.staff.usertest import UserTest

if TYPE_CHECKING:
    from s5sync.sync.engine import CycleResult

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
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


FAVICON = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16">'
    '<rect width="16" height="16" rx="3" fill="#0b5cad"/>'
    '<path d="M4 8h8M9 5l3 3-3 3" stroke="#fff" stroke-width="1.6" fill="none"/></svg>'
)


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


# Issue 23: a bounded activity page (an unbounded offset made SQLite overflow: a 500).
MAX_PAGE = 10_000


class _OutermostHeaders(FastAPI):
    """The security headers wrap the whole stack, Starlette's error handler included, so
    a 500 carries them too (pure ASGI middleware; the 500 is Starlette's plain text,
    never a stack trace: debug is off)."""

    def build_middleware_stack(self) -> ASGIApp:
        return security.SecurityHeadersMiddleware(super().build_middleware_stack())


def create_app(
    accounts: Accounts, config: WebConfig, admin: StoreAdministration | None = None
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if config.on_startup is not None:
            await config.on_startup()
        try:
            yield
        finally:
            if config.on_shutdown is not None:
                await config.on_shutdown()

    app = _OutermostHeaders(
        title="s5sync", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan
    )
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True, auto_reload=False
    )
    templates = Jinja2Templates(env=env)
    templates.env.globals["htmx"] = HTMX
    templates.env.filters["local"] = local_time
    templates.env.filters["plain_error"] = what_failed  # issue 20 item 3: plain words
    templates.env.globals["task_link"] = link_to(config.task_link)
    templates.env.globals["event_link"] = link_to(config.event_link)

    app.add_middleware(
        SessionMiddleware,
        secret_key=config.session_secret,
        session_cookie=security.SESSION_COOKIE,
        same_site="lax",
        https_only=config.secure_cookies,
        max_age=14 * 24 * 3600,
    )
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    def render(
        request: Request, name: str, status_code: int = 200, *, session: bool = True, **context: Any
    ) -> HTMLResponse:
        # session=False: a page that must not start a session (the sign-in relay, reached
        # cross-site without the session cookie: a new one would replace the browser's).
        context["csrf_token"] = (
            security.csrf_token(request, config.session_secret) if session else ""
        )
        response: HTMLResponse = templates.TemplateResponse(
            request, name, context, status_code=status_code
        )
        return response

    async def csrf(request: Request) -> None:
        await security.check_csrf(request, config.session_secret)

    async def current_user(request: Request) -> UserRecord | None:
        uid = security.session_user_id(request)
        tid = request.session.get("tid")
        if uid is None or not isinstance(tid, int):
            return None
        user = await accounts.user(tid, uid)
        if user is None or security.session_generation(request) != user.session_generation:
            return None  # signed out since this cookie was issued (ASVS 3.3.1)
        return user

    async def signed_in(user: UserRecord | None = Depends(current_user)) -> UserRecord:
        if user is None:
            raise HTTPException(status_code=303, headers={"Location": "/"})
        return user

    # Closures as dependencies: annotations are strings (PEP 563), so the dependency goes
    # in the default value, which FastAPI reads at definition time.
    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> Response:
        if error.status_code in (301, 302, 303, 307):
            return RedirectResponse(error.headers["Location"] if error.headers else "/", 303)
        if request.headers.get("hx-request"):
            return Response(str(error.detail), status_code=error.status_code)
        return render(
            request,
            "message.html",
            status_code=error.status_code,
            title="Something went wrong" if error.status_code >= 500 else "Not allowed",
            message=str(error.detail),
        )

    @app.get("/", response_class=HTMLResponse)
    async def home(request: Request, user: UserRecord | None = Depends(current_user)) -> Response:
        if user is not None:
            return RedirectResponse("/dashboard" if user.onboarded else "/onboarding", 303)
        signed_out = request.query_params.get("signed_out") == "1"
        return render(request, "signin.html", signed_out=signed_out)

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> Response:
        # Browsers ask for it on every first visit: an icon, not a 404 in the logs.
        return Response(
            FAVICON, media_type="image/svg+xml", headers={"Cache-Control": "max-age=86400"}
        )

    @app.get("/auth/login")
    async def login() -> Response:
        url = await accounts.begin_sign_in(config.redirect_uri)
        response = RedirectResponse(url, 303)
        # Login CSRF: the flow is bound to this browser (security.py).
        security.bind_sign_in(response, url, config.session_secret, secure=config.secure_cookies)
        return response

    @app.post("/auth/callback")
    async def callback(request: Request) -> Response:
        # R19: MSAL's form_post answer; protected by state, nonce and PKCE, not CSRF, and
        # by the browser binding of the flow (login CSRF, security.py).
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        binding = security.sign_in_binding(request, form, config.session_secret)
        if binding is security.Binding.RELAY:
            fields = {k: v for k, v in form.items() if k != security.RELAYED_FIELD}
            return render(
                request,
                "relay.html",
                session=False,
                fields=fields,
                relayed=security.RELAYED_FIELD,
            )
        if binding is security.Binding.FOREIGN:
            return render(
                request,
                "message.html",
                status_code=403,
                session=False,
                title="You cannot sign in to s5sync",
                message="This sign-in was not started in this browser. Please sign in again.",
            )
        try:
            user = await accounts.complete_sign_in(form)
        except Refused as refusal:
            refused = render(
                request,
                "message.html",
                status_code=403,
                title="You are not signed in",
                message=str(refusal),
                sign_in=True,
            )
            security.unbind_sign_in(refused, secure=config.secure_cookies)
            return refused
        security.new_session(request, user.id, user.session_generation)
        request.session["tid"] = user.tenant_id
        done = RedirectResponse("/dashboard" if user.onboarded else "/onboarding", 303)
        security.unbind_sign_in(done, secure=config.secure_cookies)
        return done

    @app.post("/auth/logout", dependencies=[Depends(csrf)])
    async def logout(request: Request, user: UserRecord | None = Depends(current_user)) -> Response:
        if user is not None:
            await accounts.end_sessions(user)
            if config.signed_out is not None:
                try:
                    await config.signed_out(user)
                except Exception:  # sign-out never fails for it; the sweep deletes it later
                    log.warning("auth.logout_unsubscribe_failed", extra={"user_id": user.id})
        security.end_session(request)
        return RedirectResponse("/?signed_out=1", 303)

    @app.get("/onboarding", response_class=HTMLResponse)
    async def onboarding(request: Request, user: UserRecord = Depends(signed_in)) -> Response:
        return render(
            request, "onboarding.html", user=user, onboarding=await accounts.onboarding(user)
        )

    @app.post("/onboarding", dependencies=[Depends(csrf)])
    async def confirm(
        request: Request, employee_id: Annotated[int, Form()], user: UserRecord = Depends(signed_in)
    ) -> Response:
        try:
            await accounts.confirm_employee(user, employee_id)
        except Refused as refusal:
            return render(
                request,
                "message.html",
                status_code=400,
                title="Not onboarded",
                message=str(refusal),
            )
        return RedirectResponse("/dashboard", 303)

    @app.get("/dashboard", response_class=HTMLResponse)
    async def dashboard(
        request: Request,
        user: UserRecord = Depends(signed_in),
        page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    ) -> Response:
        if not user.onboarded and user.status != "needs_sign_in":
            return RedirectResponse("/onboarding", 303)
        await accounts.heartbeat(user)
        view = await accounts.dashboard(user, page)
        partial = request.headers.get("hx-target") == "activity"
        name = "partials/activity.html" if partial else "dashboard.html"
        return render(request, name, view=view, user=view.user)

    @app.post("/dashboard/pause", dependencies=[Depends(csrf)])
    async def pause(user: UserRecord = Depends(signed_in)) -> Response:
        await accounts.set_paused(user, True)  # R14c
        return RedirectResponse("/dashboard", 303)

    @app.post("/dashboard/resume", dependencies=[Depends(csrf)])
    async def resume(user: UserRecord = Depends(signed_in)) -> Response:
        await accounts.set_paused(user, False)
        if config.wake_scheduler is not None:
            await config.wake_scheduler()
        return RedirectResponse("/dashboard", 303)

    @app.post("/dashboard/repair", dependencies=[Depends(csrf)])
    async def repair(user: UserRecord = Depends(signed_in)) -> Response:
        """R14c: "Repair my sync" — the next cycle is a resync (issue 21 item 2)."""
        if not user.onboarded:
            return RedirectResponse("/onboarding", 303)
        await accounts.request_resync(user)
        if config.wake_scheduler is not None:
            await config.wake_scheduler()
        return RedirectResponse("/dashboard?repair=1", 303)

    @app.get("/dashboard/activity.csv")
    async def activity_export(user: UserRecord = Depends(signed_in)) -> Response:
        from s5sync.entrypoints.web.admin import csv_download
        from s5sync.staff.exports import activity_csv

        tenant, lines = await accounts.activity_export(user)
        return csv_download(activity_csv(lines, tenant.options.time_zone), "my-activity.csv")

    @app.get("/dashboard/status", response_class=HTMLResponse)
    async def status(
        request: Request,
        user: UserRecord = Depends(signed_in),
        since: str = "",
        seen: int = 0,
    ) -> Response:
        """The live status (issue 20 item 2), polled by the page: after Sync now (`since`:
        when it was pressed) every second until a cycle started since then has finished;
        new activity lines replace the list in place when the last cycle is not `seen`."""
        view = await accounts.dashboard(user)
        syncing = False
        if since:
            try:
                pressed = datetime.fromisoformat(since)
            except ValueError:
                pressed = None
            syncing = pressed is not None and not view.synced_since(pressed)
        return render(
            request,
            "partials/status.html",
            view=view,
            user=view.user,
            syncing=since if syncing else "",
            fresh=view.last_run is not None and view.last_run.id != seen,
        )

    @app.post("/dashboard/heartbeat", dependencies=[Depends(csrf)])
    async def heartbeat(user: UserRecord = Depends(signed_in)) -> Response:
        # R14: an open dashboard keeps the user's cycles running.
        await accounts.heartbeat(user)
        return Response(status_code=204)

    @app.post("/dashboard/sync-now", dependencies=[Depends(csrf)], response_class=HTMLResponse)
    async def sync_now(request: Request, user: UserRecord = Depends(signed_in)) -> Response:
        await accounts.request_sync_now(user)
        if config.wake_scheduler is not None:
            await config.wake_scheduler()
        pressed = accounts.clock().replace(microsecond=0)
        view = await accounts.dashboard(user)
        return render(
            request,
            "partials/status.html",
            view=view,
            user=view.user,
            syncing=pressed.isoformat(),
            fresh=False,
        )

    @app.get("/healthz")
    async def healthz(request: Request) -> Response:
        refused = config.probes.refusal(request)
        if refused is not None:
            return refused
        report = await config.health() if config.health is not None else {"ok": True}
        status_code = 200 if report.get("ok") else 503
        return JSONResponse(report, status_code=status_code)

    @app.get("/metrics")
    async def metrics(request: Request) -> Response:
        # Operator-facing, like /healthz: no store, user or e-mail is ever a label (R22).
        refused = config.probes.refusal(request)
        if refused is not None:
            return refused
        if config.metrics is None:
            raise HTTPException(status_code=404, detail="No metrics here.")
        return Response(await config.metrics(), media_type=CONTENT_TYPE)

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


def web_app(services: Services, *, run_scheduler: bool = True) -> FastAPI:
    """The web app on `services` as `demo` and `serve` run it: the web process's services
    from the composition root (`bootstrap.build_web`), the local scheduler in its
    lifespan (R14), every cycle it runs counted for `/metrics`, the admin pages."""
    web = build_web(services)
    settings, scheduler, push, counters = services.settings, web.scheduler, web.push, web.counters
    deferring = web.deferring

    async def run_cycle(user: UserRecord) -> CycleResult:
        return await web.cycles.run_user_cycle(user, utc_now())

    async def start() -> None:
        if run_scheduler:
            scheduler.start()
            push.start()
        else:
            push.wakeups.start()

    async def stop() -> None:
        await push.stop()
        if deferring is not None:
            await deferring.aclose()
        await scheduler.stop()
        await services.aclose()

    async def health() -> dict[str, Any]:
        try:
            await services.directory.tenants()
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
            "push": push.manager.status,
        }

    async def metrics() -> bytes:
        now = utc_now()
        tenants = {t.id: t for t in await services.directory.tenants()}
        counts = Counter(
            user_status(u, tenants[u.tenant_id], now)
            for u in await services.directory.users()
            if u.tenant_id in tenants
        )
        counters.set_users(counts)
        counters.scheduler_alive.set(1 if scheduler.alive else 0)
        return counters.render()

    config = WebConfig(
        session_secret=settings.session_secret.get_secret_value() or secrets.token_hex(32),
        public_url=settings.public_url,
        secure_cookies=settings.secure_cookies,
        wake_scheduler=scheduler.wake,
        health=health,
        on_startup=start,
        on_shutdown=stop,
        metrics=metrics,
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
    app.state.scheduler = scheduler
    app.state.services = services
    app.state.metrics = counters
    app.state.run_cycle = run_cycle
    app.state.push = push
    return app
