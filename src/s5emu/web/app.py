"""FastAPI app of System Five's two screens the feature touches (SPEC.md, R13).

- Today's Tasks (`/tasks`): a date (default today in the store's time zone) and an
  employee; needs-review tasks are light green and listed per R13 (`desk.listed_on`).
- The appointment editor (`/tasks/new`, `/tasks/{id}`): create, edit, delete. Saving sets
  `updated_at` and clears `needs_review`; refused input is shown on the form, nothing saved.

Server-rendered, plain POST forms, no JavaScript and no session cookie. Every link is made
with `request.url_for`, so the app works mounted under a prefix (`/systemfive` in the demo).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from s5emu.desk import Desk, TaskForm, TaskRow, form_errors
from s5emu.schema import NOTES_MAX, TASK_KINDS, TITLE_MAX, engine_for

HERE = Path(__file__).parent
KIND_LABELS = {
    "customer": "Customer",
    "delivery": "Delivery",
    "service": "Service",
    "internal": "Internal",
    "outlook": "Outlook",
}


@dataclass(frozen=True)
class Parsed:
    """A submitted editor form: the raw values to show again, and the form or errors."""

    raw: dict[str, str]
    form: TaskForm | None
    errors: dict[str, str]


def parse_form(data: Mapping[str, str]) -> Parsed:
    """Parse the editor's fields; every problem becomes a message for its field."""
    raw = {key: str(data.get(key, "")) for key in _FIELDS}
    raw["sync"] = "on" if data.get("sync") else ""
    errors: dict[str, str] = {}

    def number(key: str, message: str) -> int | None:
        text = raw[key].strip()
        if not text:
            return None
        try:
            return int(text)
        except ValueError:
            errors[key] = message
            return None

    def moment(key: str, label: str) -> datetime | None:
        text = raw[key].strip()
        if not text:
            errors[key] = f"Enter the {label} date and time."
            return None
        try:
            return datetime.fromisoformat(text).replace(second=0, microsecond=0)
        except ValueError:
            errors[key] = f"The {label} is not a date and time (YYYY-MM-DDTHH:MM)."
            return None

    employee_id = number("employee_id", "Choose an employee.")
    if employee_id is None:
        errors["employee_id"] = "Choose an employee."
    customer_id = number("customer_id", "Choose a customer or none.")
    alarm = number("alarm_minutes", "The alarm is a whole number of minutes.")
    starts_at = moment("starts_at", "start")
    ends_at = moment("ends_at", "end")
    if employee_id is None or starts_at is None or ends_at is None or errors:
        # Still report the checks that need no parsing (title, notes, kind).
        probe = TaskForm(
            raw["kind"],
            0,
            None,
            raw["title"],
            raw["notes"],
            _EPOCH,
            _EPOCH,
            None,
            False,
        )
        return Parsed(raw, None, form_errors(probe) | errors)
    form = TaskForm(
        kind=raw["kind"],
        employee_id=employee_id,
        customer_id=customer_id,
        title=raw["title"],
        notes=raw["notes"],
        starts_at=starts_at,
        ends_at=ends_at,
        alarm_minutes=alarm,
        sync=bool(raw["sync"]),
    )
    errors = form_errors(form)
    return Parsed(raw, None if errors else form, errors)


# A placeholder wall time for checks that need no times (naive on purpose: wall clock).
_EPOCH = datetime(2000, 1, 1)  # noqa: DTZ001

_FIELDS = (
    "kind",
    "employee_id",
    "customer_id",
    "title",
    "notes",
    "starts_at",
    "ends_at",
    "alarm_minutes",
    "sync",
)


def _raw_from_task(task: TaskRow) -> dict[str, str]:
    return {
        "kind": task.kind,
        "employee_id": str(task.employee_id),
        "customer_id": "" if task.customer_id is None else str(task.customer_id),
        "title": task.title,
        "notes": task.notes,
        "starts_at": task.starts_at[:16],
        "ends_at": task.ends_at[:16],
        "alarm_minutes": "" if task.alarm_minutes is None else str(task.alarm_minutes),
        "sync": "on" if task.sync else "",
    }


def create_app(
    db_url: str,
    time_zone: str,
    *,
    today: Callable[[], date] | None = None,
) -> FastAPI:
    """The desk pages on the System Five database at `db_url`, in the store's `time_zone`.

    `today` overrides the store's date (tests and the emulator clock); by default it is
    the current date in `time_zone`.
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
    app.state.engine = desk.engine  # for hosts that dispose it without the lifespan
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    def tasks_url(request: Request, selected: str, employee: str) -> str:
        url = request.url_for("today_tasks").include_query_params(date=selected)
        return str(url.include_query_params(employee=employee) if employee else url)

    def editor(
        request: Request,
        parsed: Parsed,
        task: TaskRow | None,
        back: str,
        status_code: int = 200,
    ) -> Response:
        return templates.TemplateResponse(
            request,
            "editor.html",
            {
                "task": task,
                "values": parsed.raw,
                "errors": parsed.errors,
                "employees": desk.employees(),
                "customers": desk.customers(),
                "back": back,
            },
            status_code=status_code,
        )

    def not_found(request: Request, task_id: int) -> Response:
        return templates.TemplateResponse(
            request, "missing.html", {"task_id": task_id}, status_code=404
        )

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
        employees = desk.employees()
        employee_id = int(employee) if employee.isdigit() else None
        rows = desk.day(selected, current, employee_id)
        return templates.TemplateResponse(
            request,
            "tasks.html",
            {
                "rows": rows,
                "selected": selected,
                "today": current,
                "employees": employees,
                "employee_id": employee_id,
                "problem": problem,
                "saved": request.query_params.get("saved", ""),
            },
        )

    @app.get("/tasks/new", response_class=HTMLResponse, name="new_task")
    def new_task(
        request: Request, day: str = Query("", alias="date"), employee: str = ""
    ) -> Response:
        day = day or store_today().isoformat()
        raw = dict.fromkeys(_FIELDS, "") | {
            "kind": "customer",
            "employee_id": employee,
            "starts_at": f"{day}T09:00",
            "ends_at": f"{day}T10:00",
        }
        back = tasks_url(request, day, employee)
        return editor(request, Parsed(raw, None, {}), None, back)

    @app.post("/tasks/new", response_class=HTMLResponse, name="create_task")
    async def create_task(request: Request) -> Response:
        parsed = parse_form({k: str(v) for k, v in (await request.form()).items()})
        if parsed.form is None:
            back = tasks_url(request, parsed.raw["starts_at"][:10], parsed.raw["employee_id"])
            return editor(request, parsed, None, back, status_code=422)
        task_id = await run_in_threadpool(desk.create_task, parsed.form)
        return _saved(request, parsed.form, task_id)

    def _saved(request: Request, form: TaskForm, task_id: int) -> RedirectResponse:
        url = tasks_url(request, form.starts_at.date().isoformat(), str(form.employee_id))
        return RedirectResponse(f"{url}&saved={task_id}", status_code=303)

    @app.get("/tasks/{task_id}", response_class=HTMLResponse, name="edit_task")
    def edit_task(request: Request, task_id: int) -> Response:
        task = desk.task(task_id)
        if task is None:
            return not_found(request, task_id)
        back = tasks_url(request, task.starts_at[:10], str(task.employee_id))
        return editor(request, Parsed(_raw_from_task(task), None, {}), task, back)

    @app.post("/tasks/{task_id}", response_class=HTMLResponse, name="save_task")
    async def save_task(request: Request, task_id: int) -> Response:
        task = await run_in_threadpool(desk.task, task_id)
        if task is None:
            return not_found(request, task_id)
        parsed = parse_form({k: str(v) for k, v in (await request.form()).items()})
        if parsed.form is None:
            back = tasks_url(request, task.starts_at[:10], str(task.employee_id))
            return editor(request, parsed, task, back, status_code=422)
        if not await run_in_threadpool(desk.save_task, task_id, parsed.form):
            return not_found(request, task_id)
        return _saved(request, parsed.form, task_id)

    @app.post("/tasks/{task_id}/delete", name="delete_task")
    def delete_task(request: Request, task_id: int) -> Response:
        task = desk.task(task_id)
        if task is None or not desk.delete_task(task_id):
            return not_found(request, task_id)
        url = tasks_url(request, task.starts_at[:10], str(task.employee_id))
        return RedirectResponse(url, status_code=303)

    return app
