"""The sync web app for staff (R14, R18–R20): FastAPI + Jinja2 + htmx, server-rendered.

`create_app(...)` wires the routes to one `Accounts` service and one `Scheduler` hook;
nothing is built at import (STYLE.md habit 8). Routes are thin: parse, call one service
function, render (habit 9). Fixed routes (SPEC.md "Web routes"): `/`, `/auth/login`,
`/auth/callback`, `/auth/logout`, `/onboarding`, `/dashboard`, `/admin`, `/healthz`,
`/metrics`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any

import jinja2
from fastapi import Depends, FastAPI, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.middleware.sessions import SessionMiddleware

from s5sync.accounts import Accounts, Refused
from s5sync.store.records import UserRecord
from s5sync.web import security

HERE = Path(__file__).parent
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
    ) -> None:
        self.session_secret = session_secret
        self.public_url = public_url.rstrip("/")
        self.secure_cookies = secure_cookies
        self.wake_scheduler = wake_scheduler
        self.health = health

    @property
    def redirect_uri(self) -> str:
        return f"{self.public_url}/auth/callback"


def create_app(accounts: Accounts, config: WebConfig) -> FastAPI:
    app = FastAPI(title="s5sync", docs_url=None, redoc_url=None, openapi_url=None)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True, auto_reload=False
    )
    templates = Jinja2Templates(env=env)
    templates.env.globals["htmx"] = HTMX

    app.add_middleware(
        SessionMiddleware,
        secret_key=config.session_secret,
        session_cookie=security.SESSION_COOKIE,
        same_site="lax",
        https_only=config.secure_cookies,
        max_age=14 * 24 * 3600,
    )
    app.add_middleware(security.SecurityHeadersMiddleware)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        context["csrf_token"] = security.csrf_token(request, config.session_secret)
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
        return await accounts.user(tid, uid)

    async def signed_in(
        user: Annotated[UserRecord | None, Depends(current_user)],
    ) -> UserRecord:
        if user is None:
            raise HTTPException(status_code=303, headers={"Location": "/"})
        return user

    SignedIn = Annotated[UserRecord, Depends(signed_in)]

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
    async def home(
        request: Request, user: Annotated[UserRecord | None, Depends(current_user)]
    ) -> Response:
        if user is not None:
            return RedirectResponse("/dashboard" if user.onboarded else "/onboarding", 303)
        return render(request, "signin.html")

    @app.get("/auth/login")
    async def login() -> Response:
        return RedirectResponse(await accounts.begin_sign_in(config.redirect_uri), 303)

    @app.post("/auth/callback")
    async def callback(request: Request) -> Response:
        # R19: MSAL's form_post answer; protected by state, nonce and PKCE, not CSRF.
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        try:
            user = await accounts.complete_sign_in(form)
        except Refused as refusal:
            return render(
                request,
                "message.html",
                status_code=403,
                title="You cannot sign in to s5sync",
                message=str(refusal),
            )
        security.new_session(request, user.id)
        request.session["tid"] = user.tenant_id
        return RedirectResponse("/dashboard" if user.onboarded else "/onboarding", 303)

    @app.post("/auth/logout", dependencies=[Depends(csrf)])
    async def logout(request: Request) -> Response:
        security.end_session(request)
        return RedirectResponse("/", 303)

    @app.get("/onboarding", response_class=HTMLResponse)
    async def onboarding(request: Request, user: SignedIn) -> Response:
        return render(
            request, "onboarding.html", user=user, onboarding=await accounts.onboarding(user)
        )

    @app.post("/onboarding", dependencies=[Depends(csrf)])
    async def confirm(
        request: Request, user: SignedIn, employee_id: Annotated[int, Form()]
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
    async def dashboard(request: Request, user: SignedIn, page: int = 1) -> Response:
        if not user.onboarded and user.status != "needs_sign_in":
            return RedirectResponse("/onboarding", 303)
        await accounts.heartbeat(user)
        view = await accounts.dashboard(user, page)
        partial = request.headers.get("hx-target") == "activity"
        name = "partials/activity.html" if partial else "dashboard.html"
        return render(request, name, view=view, user=view.user)

    @app.get("/dashboard/status", response_class=HTMLResponse)
    async def status(request: Request, user: SignedIn) -> Response:
        view = await accounts.dashboard(user)
        return render(request, "partials/status.html", view=view, user=view.user)

    @app.post("/dashboard/heartbeat", dependencies=[Depends(csrf)])
    async def heartbeat(user: SignedIn) -> Response:
        # R14: an open dashboard keeps the user's cycles running.
        await accounts.heartbeat(user)
        return Response(status_code=204)

    @app.post("/dashboard/sync-now", dependencies=[Depends(csrf)], response_class=HTMLResponse)
    async def sync_now(request: Request, user: SignedIn) -> Response:
        await accounts.request_sync_now(user)
        if config.wake_scheduler is not None:
            await config.wake_scheduler()
        view = await accounts.dashboard(user)
        return render(request, "partials/status.html", view=view, user=view.user, queued=True)

    @app.get("/healthz")
    async def healthz() -> Response:
        report = await config.health() if config.health is not None else {"ok": True}
        status_code = 200 if report.get("ok") else 503
        return JSONResponse(report, status_code=status_code)

    return app
