"""Sign-in, sign-out and onboarding (R19, R20): `/`, `/favicon.ico`, `/auth/login`,
`/auth/callback`, `/auth/logout`, `/onboarding`. Login CSRF and the sign-in relay are
explained in security.py; sign-out needs the session's CSRF token, the callback cannot
carry one (MSAL's form_post) and is protected by state, nonce, PKCE and the browser
binding instead.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from s5sync.core.records import UserRecord
from s5sync.entrypoints.web import security
from s5sync.entrypoints.web.pages import Dependency, Render
from s5sync.staff.accounts import Accounts, Refused

if TYPE_CHECKING:
    from s5sync.entrypoints.web.app import WebConfig

log = logging.getLogger("s5sync.entrypoints.web.app")  # the name its log lines always had

FAVICON = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16">'
    '<rect width="16" height="16" rx="3" fill="#0b5cad"/>'
    '<path d="M4 8h8M9 5l3 3-3 3" stroke="#fff" stroke-width="1.6" fill="none"/></svg>'
)


def install_signin_routes(
    app: FastAPI,
    accounts: Accounts,
    config: WebConfig,
    render: Render,
    current_user: Dependency,
    csrf: Dependency,
) -> None:
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
        return await complete_sign_in(request, accounts, config, render)

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


async def complete_sign_in(
    request: Request, accounts: Accounts, config: WebConfig, render: Render
) -> Response:
    """`POST /auth/callback`. R19: MSAL's form_post answer; protected by state, nonce
    and PKCE, not CSRF, and by the browser binding of the flow (login CSRF, security.py)."""
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


def install_onboarding_routes(
    app: FastAPI, accounts: Accounts, render: Render, signed_in: Dependency, csrf: Dependency
) -> None:
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
