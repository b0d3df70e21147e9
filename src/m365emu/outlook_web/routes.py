"""Routes of the Outlook page (issue 4 item 5). Mount it anywhere, e.g.
`app.include_router(create_outlook_router(state, clock, list_users), prefix="/outlook")`.

Sign-in here is a "choose your user" form over `list_users()` — the lead connects it to the
identity directory; the choice is kept in a signed session cookie named `m365emu_outlook`
(its own name: cookies ignore ports and three apps share 127.0.0.1 in the demo). Forms post
back with ordinary buttons and labelled fields, so the page works by keyboard and screen
reader without script. Errors from the event store (the Graph validation) are shown in the
form with role="alert".
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeSerializer
from jinja2 import Environment, FileSystemLoader, select_autoescape

from m365emu.clock import EmulatorClock
from m365emu.graph.common.errors import GraphError
from m365emu.graph.events import timezones
from m365emu.graph.events.payload import read_event_body
from m365emu.graph.master_categories.models import color_hex
from m365emu.graph.state import GraphState, Mailbox
from m365emu.mail.models import MailStore
from m365emu.mail.routes import install_inbox_routes
from m365emu.outlook_web.forms import REMINDERS, EventForm
from m365emu.outlook_web.views import days, week_start

COOKIE = "m365emu_outlook"
UserRow = tuple[str, str, str, str]  # (tenant id, object id, email, display name)
_CSP = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:"


def create_outlook_router(
    state: GraphState,
    clock: EmulatorClock,
    list_users: Callable[[], list[UserRow]],
    *,
    secret: str | None = None,
    zone: str = "UTC",
    mail: MailStore | None = None,
) -> APIRouter:
    router = APIRouter()
    signer = URLSafeSerializer(secret or secrets.token_urlsafe(32), salt="m365emu-outlook")
    templates = Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=select_autoescape(["html"]),
    )
    timezones.zone(zone)

    def zone_of(box: Mailbox | None) -> str:
        """The mailbox's own time zone (mailboxSettings), else the page's default."""
        return (box.time_zone if box is not None else None) or zone

    def page(name: str, request: Request, status: int = 200, **values: Any) -> HTMLResponse:
        shown = zone_of(values.get("box"))
        html = templates.get_template(name).render(
            request=request, zone=shown, mail_on=mail is not None, **values
        )
        return HTMLResponse(html, status, headers={"Content-Security-Policy": _CSP})

    def signed_in(request: Request) -> Mailbox | None:
        raw = request.cookies.get(COOKIE)
        if not raw:
            return None
        try:
            key = signer.loads(raw)
        except BadSignature:
            return None
        return state.find(key) if isinstance(key, str) else None

    def to_signin(request: Request) -> Response:
        return RedirectResponse(str(request.url_for("outlook_signin")), 303)

    @router.get("/signin", name="outlook_signin", response_class=HTMLResponse)
    async def signin_form(request: Request) -> Response:
        return page("signin.html", request, users=list_users())

    @router.post("/signin", name="outlook_signin_post")
    async def signin(request: Request) -> Response:
        form = await request.form()
        chosen = str(form.get("user", ""))
        for tid, oid, email, name in list_users():
            if chosen == f"{tid}/{oid}":
                box = state.mailbox(tid, oid, email, name)
                answer = RedirectResponse(str(request.url_for("outlook_calendar")), 303)
                answer.set_cookie(COOKIE, signer.dumps(box.key), httponly=True, samesite="lax")
                return answer
        return page("signin.html", request, 400, users=list_users(), error="Choose a user.")

    @router.post("/signout", name="outlook_signout")
    async def signout(request: Request) -> Response:
        answer = to_signin(request)
        answer.delete_cookie(COOKIE)
        return answer

    @router.get("/", name="outlook_calendar", response_class=HTMLResponse)
    async def calendar(request: Request, view: str = "week", day: str = "") -> Response:
        box = signed_in(request)
        if box is None:
            return to_signin(request)
        here = zone_of(box)
        today = timezones.wall(clock.now(), here).date()
        try:
            anchor = date.fromisoformat(day) if day else today
        except ValueError:
            anchor = today
        if view == "agenda":
            columns = [c for c in days(box, here, anchor, 14) if c.rows]
            first = anchor
        else:
            view, first = "week", week_start(anchor)
            columns = days(box, here, first, 7)
        step = timedelta(days=7 if view == "week" else 14)
        return page(
            "calendar.html",
            request,
            box=box,
            view=view,
            columns=columns,
            today=today,
            first=first,
            previous=first - step,
            following=first + step,
            categories=_categories(box),
        )

    @router.get("/events/new", name="outlook_new", response_class=HTMLResponse)
    async def new_event(request: Request, day: str = "") -> Response:
        box = signed_in(request)
        if box is None:
            return to_signin(request)
        start_day = day or timezones.wall(clock.now(), zone_of(box)).date().isoformat()
        form = EventForm(start=f"{start_day}T09:00", end=f"{start_day}T09:30")
        return _editor(request, box, form, None)

    def _editor(
        request: Request,
        box: Mailbox,
        form: EventForm,
        event_id: str | None,
        error: str = "",
        status: int = 200,
        kind: str = "singleInstance",
        master: str | None = None,
    ) -> Response:
        return page(
            "edit.html",
            request,
            status,
            box=box,
            form=form,
            event_id=event_id,
            error=error,
            reminders=REMINDERS,
            categories=_categories(box),
            kind=kind,
            master=master,
        )

    @router.post("/events", name="outlook_create")
    async def create(request: Request) -> Response:
        box = signed_in(request)
        if box is None:
            return to_signin(request)
        form = EventForm.from_form(dict(await request.form()), _names(box))
        try:
            changes = read_event_body(form.to_graph(zone_of(box), series_allowed=True))
            with box.lock:
                box.events.create(changes, clock.now(), (box.name, box.email))
                _ensure_categories(box, form.categories)
        except GraphError as error:
            return _editor(request, box, form, None, error.message, 400)
        return _back(request, form)

    @router.get("/events/{event_id}", name="outlook_edit", response_class=HTMLResponse)
    async def edit(request: Request, event_id: str) -> Response:
        box = signed_in(request)
        if box is None:
            return to_signin(request)
        try:
            event = box.events.get(event_id)
        except GraphError:
            return page("missing.html", request, 404, box=box)
        return _editor(
            request,
            box,
            EventForm.from_event(event, zone_of(box)),
            event.id,
            kind=event.kind,
            master=event.series_master_id,
        )

    @router.post("/events/{event_id}", name="outlook_update")
    async def update(request: Request, event_id: str) -> Response:
        box = signed_in(request)
        if box is None:
            return to_signin(request)
        form = EventForm.from_form(dict(await request.form()), _names(box))
        try:
            event = box.events.get(event_id)
            series = event.kind in ("singleInstance", "seriesMaster")
            changes = read_event_body(form.to_graph(zone_of(box), series_allowed=series))
            with box.lock:
                box.events.update(event_id, changes, clock.now(), None)
                _ensure_categories(box, form.categories)
        except GraphError as error:
            return _editor(request, box, form, event_id, error.message, 400)
        return _back(request, form)

    @router.get("/events/{event_id}/delete", name="outlook_confirm_delete")
    async def confirm_delete(request: Request, event_id: str) -> Response:
        """Outlook asks before it deletes; so does this page."""
        box = signed_in(request)
        if box is None:
            return to_signin(request)
        try:
            event = box.events.get(event_id)
        except GraphError:
            return page("missing.html", request, 404, box=box)
        return page(
            "delete.html",
            request,
            box=box,
            event_id=event.id,
            subject=event.subject or "(No title)",
        )

    @router.post("/events/{event_id}/delete", name="outlook_delete")
    async def delete(request: Request, event_id: str) -> Response:
        box = signed_in(request)
        if box is None:
            return to_signin(request)
        try:
            with box.lock:
                box.events.delete(event_id, clock.now())
        except GraphError:
            return page("missing.html", request, 404, box=box)
        return RedirectResponse(str(request.url_for("outlook_calendar")), 303)

    if mail is not None:  # the Inbox of the emulated mailboxes (issue 21)
        install_inbox_routes(router, mail, signed_in, page, to_signin)
    return router


def _back(request: Request, form: EventForm) -> Response:
    target = str(request.url_for("outlook_calendar"))
    if form.start[:10]:
        target += f"?day={form.start[:10]}"
    return RedirectResponse(target, 303)


def _ensure_categories(box: Mailbox, names: list[str]) -> None:
    """A category typed in the form joins the master list, as in Outlook, with the next
    preset colour."""
    for name in names:
        if box.categories.by_name(name) is None:
            box.categories.create(name, f"preset{len(box.categories.listed()) % 25}")


def _names(box: Mailbox) -> list[str]:
    return [c.display_name for c in box.categories.listed()]


def _categories(box: Mailbox) -> list[tuple[str, str]]:
    return [(c.display_name, color_hex(c.color)) for c in box.categories.listed()]
