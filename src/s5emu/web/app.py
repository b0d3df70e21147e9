"""FastAPI app of System Five's two screens the feature touches (SPEC.md, R13).

- Today's Tasks (`/tasks`): a date (default today in the store's time zone) and an
  employee; needs-review tasks are light green and listed per R13 (`desk.listed_on`).
- The appointment editor (`/tasks/new`, `/tasks/{id}`): create, edit, delete. Saving sets
  `updated_at` and clears `needs_review`; refused input is shown on the form, nothing saved.

Server-rendered, plain POST forms, no JavaScript and no session cookie. Every link is made
with `request.url_for`, so the app works mounted under a prefix (`/systemfive` in the demo).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from s5emu.desk import Desk, TaskForm, TaskRow
from s5emu.schema import NOTES_MAX, TASK_KINDS, TITLE_MAX, engine_for
from s5emu.web.forms import FIELDS, Parsed, parse_form, raw_from_task

HERE = Path(__file__).parent
KIND_LABELS = {
    "customer": "Customer",
    "delivery": "Delivery",
    "service": "Service",
    "internal": "Internal",
    "outlook": "Outlook",
}


def create_app(
    db_url: str,
    time_zone: str,
    *,
    today: Callable[[], date] | None = None,
) -> FastAPI:
    """The desk pages on the System Five database at `db_url`, in the store's `time_zone`.

    `today` overrides the store's date (tests and the emulator clock); by default it is
    the current date in `time_zone`. The engine is disposed at shutdown; a host that does
    not run the lifespan disposes `app.state.engine` itself.
    """
    store_zone = ZoneInfo(time_zone)
    desk = Desk(engine_for(db_url))
    templates = Jinja2Templates(directory=HERE / "templates")
    templates.env.globals.update(
        kinds=TASK_KINDS, kind_labels=KIND_LABELS, title_max=TITLE_MAX, notes_max=NOTES_MAX
    )

    def store_today() -> date:
        return today() if today is not None else datetime.now(store_zone).date()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        desk.engine.dispose()

    app = FastAPI(
        title="System Five (emulator)",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )
    app.state.engine = desk.engine
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    def tasks_url(request: Request, day: str, employee: str, saved: int | None = None) -> str:
        url = request.url_for("today_tasks").include_query_params(date=day)
        if employee:
            url = url.include_query_params(employee=employee)
        if saved is not None:
            url = url.include_query_params(saved=saved)
        return str(url)

    def editor(
        request: Request, parsed: Parsed, task: TaskRow | None, back: str, status_code: int = 200
    ) -> Response:
        context = {
            "task": task,
            "values": parsed.raw,
            "errors": parsed.errors,
            "employees": desk.employees(),
            "customers": desk.customers(),
            "back": back,
        }
        return templates.TemplateResponse(request, "editor.html", context, status_code=status_code)

    def not_found(request: Request, task_id: int) -> Response:
        return templates.TemplateResponse(
            request, "missing.html", {"task_id": task_id}, status_code=404
        )

    def saved(request: Request, form: TaskForm, task_id: int) -> RedirectResponse:
        day = form.starts_at.date().isoformat()
        url = tasks_url(request, day, str(form.employee_id), saved=task_id)
        return RedirectResponse(url, status_code=303)

    # Routes that touch the database are sync (run in the threadpool: the desk's engine is
    # synchronous); the two that read a posted form await it, then do the rest there too.

    @app.get("/", include_in_schema=False)
    def home(request: Request) -> RedirectResponse:
        return RedirectResponse(str(request.url_for("today_tasks")), status_code=303)

    @app.get("/tasks", response_class=HTMLResponse, name="today_tasks")
    def today_tasks(
        request: Request, day: str = Query("", alias="date"), employee: str = ""
    ) -> Response:
        current = store_today()
        problem = None
        try:
            selected = date.fromisoformat(day) if day else current
        except ValueError:
            problem, selected = f"{day!r} is not a date; showing today.", current
        employee_id = int(employee) if employee.isdigit() else None
        context = {
            "rows": desk.day(selected, current, employee_id),
            "selected": selected,
            "today": current,
            "employees": desk.employees(),
            "employee_id": employee_id,
            "problem": problem,
            "saved": request.query_params.get("saved", ""),
        }
        return templates.TemplateResponse(request, "tasks.html", context)

    @app.get("/tasks/new", response_class=HTMLResponse, name="new_task")
    def new_task(
        request: Request, day: str = Query("", alias="date"), employee: str = ""
    ) -> Response:
        day = day or store_today().isoformat()
        raw = dict.fromkeys(FIELDS, "") | {
            "kind": "customer",
            "employee_id": employee,
            "starts_at": f"{day}T09:00",
            "ends_at": f"{day}T10:00",
        }
        return editor(request, Parsed(raw, None, {}), None, tasks_url(request, day, employee))

    def create(request: Request, parsed: Parsed) -> Response:
        if parsed.form is None:
            back = tasks_url(request, parsed.raw["starts_at"][:10], parsed.raw["employee_id"])
            return editor(request, parsed, None, back, status_code=422)
        return saved(request, parsed.form, desk.create_task(parsed.form))

    @app.post("/tasks/new", response_class=HTMLResponse, name="create_task")
    async def create_task(request: Request) -> Response:
        parsed = parse_form({k: str(v) for k, v in (await request.form()).items()})
        return await run_in_threadpool(create, request, parsed)

    @app.get("/tasks/{task_id}", response_class=HTMLResponse, name="edit_task")
    def edit_task(request: Request, task_id: int) -> Response:
        task = desk.task(task_id)
        if task is None:
            return not_found(request, task_id)
        back = tasks_url(request, task.starts_at[:10], str(task.employee_id))
        return editor(request, Parsed(raw_from_task(task), None, {}), task, back)

    def save(request: Request, task_id: int, parsed: Parsed) -> Response:
        task = desk.task(task_id)
        if task is None:
            return not_found(request, task_id)
        if parsed.form is None:
            back = tasks_url(request, task.starts_at[:10], str(task.employee_id))
            return editor(request, parsed, task, back, status_code=422)
        if not desk.save_task(task_id, parsed.form):
            return not_found(request, task_id)
        return saved(request, parsed.form, task_id)

    @app.post("/tasks/{task_id}", response_class=HTMLResponse, name="save_task")
    async def save_task(request: Request, task_id: int) -> Response:
        parsed = parse_form({k: str(v) for k, v in (await request.form()).items()})
        return await run_in_threadpool(save, request, task_id, parsed)

    @app.post("/tasks/{task_id}/delete", name="delete_task")
    def delete_task(request: Request, task_id: int) -> Response:
        task = desk.task(task_id)
        if task is None or not desk.delete_task(task_id):
            return not_found(request, task_id)
        url = tasks_url(request, task.starts_at[:10], str(task.employee_id))
        return RedirectResponse(url, status_code=303)

    return app
