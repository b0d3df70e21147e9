"""What every page of the sync web app shares (R19, R20; ASVS 3.3.1): the templates,
`render`, the CSRF check and the signed-in user as FastAPI dependencies, and the error
page. `create_app` builds each once and hands them to the route installers
(`install_<group>_routes`), so every route of a group uses the same dependency objects.

Closures as dependencies: annotations are strings (PEP 563), so the dependency goes in
the default value, which FastAPI reads at definition time.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from s5sync.core.records import UserRecord
from s5sync.entrypoints.web import security
from s5sync.staff.accounts import Accounts

Render = Callable[..., HTMLResponse]
Dependency = Callable[..., Awaitable[Any]]

HERE = Path(__file__).parent


def page_templates(globals_: dict[str, Any], filters: dict[str, Any]) -> Jinja2Templates:
    """The app's Jinja2 templates (autoescaped), with its globals and filters."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True, auto_reload=False
    )
    templates = Jinja2Templates(env=env)
    templates.env.globals.update(globals_)
    templates.env.filters.update(filters)
    return templates


def renderer(templates: Jinja2Templates, session_secret: str) -> Render:
    """`render(request, name, status_code=200, *, session=True, **context)`: the page,
    with the session's CSRF token in its context."""

    def render(
        request: Request, name: str, status_code: int = 200, *, session: bool = True, **context: Any
    ) -> HTMLResponse:
        # session=False: a page that must not start a session (the sign-in relay, reached
        # cross-site without the session cookie: a new one would replace the browser's).
        context["csrf_token"] = security.csrf_token(request, session_secret) if session else ""
        response: HTMLResponse = templates.TemplateResponse(
            request, name, context, status_code=status_code
        )
        return response

    return render


def csrf_check(session_secret: str) -> Dependency:
    """The dependency every state-changing route takes (security.py)."""

    async def csrf(request: Request) -> None:
        await security.check_csrf(request, session_secret)

    return csrf


def session_user(accounts: Accounts) -> Dependency:
    """The dependency answering the session's user, or None."""

    async def current_user(request: Request) -> UserRecord | None:
        uid = security.session_user_id(request)
        tid = request.session.get("tid")
        if uid is None or not isinstance(tid, int):
            return None
        user = await accounts.user(tid, uid)
        if user is None or security.session_generation(request) != user.session_generation:
            return None  # signed out since this cookie was issued (ASVS 3.3.1)
        return user

    return current_user


def signed_in_user(current_user: Dependency) -> Dependency:
    """The dependency answering the session's user; without one, a redirect to `/`."""

    async def signed_in(user: UserRecord | None = Depends(current_user)) -> UserRecord:
        if user is None:
            raise HTTPException(status_code=303, headers={"Location": "/"})
        return user

    return signed_in


def install_error_page(app: FastAPI, render: Render) -> None:
    """Redirects stay redirects; htmx gets the bare detail; a browser, the message page."""

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
