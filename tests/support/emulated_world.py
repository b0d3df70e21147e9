"""What the user and the staff do on each side in the emulated stack's tests: Outlook
edits through Graph as the user (like Outlook itself), System Five edits through the
desk (like its screens), and the facts the R16/R17 checks read back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from s5emu.desk import TaskForm, TaskRow
from s5emu.schema import task as task_table
from support.cycle_stack import Stack

ALICE = "alice@contoso.example"
BOB = "bob@contoso.example"
NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)  # 10:00 in New York
LATER = timedelta(minutes=10)


def utc(moment: datetime) -> dict[str, str]:
    return {"dateTime": moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"}


def create_event(world: Stack, email: str, subject: str, start: datetime, hours: float = 1) -> str:
    """The user creates an event in Outlook; returns its id."""
    with world.graph(email) as graph:
        answer = graph.post(
            "/me/events",
            json={
                "subject": subject,
                "start": utc(start),
                "end": utc(start + timedelta(hours=hours)),
                "body": {"contentType": "html", "content": "<p>From Outlook</p>"},
            },
        )
        answer.raise_for_status()
        return str(answer.json()["id"])


def edit_event(world: Stack, email: str, event_id: str, **changes: Any) -> None:
    """The user edits an event in Outlook (Graph field names)."""
    with world.graph(email) as graph:
        graph.patch(f"/me/events/{event_id}", json=changes).raise_for_status()


def delete_event(world: Stack, email: str, event_id: str) -> None:
    with world.graph(email) as graph:
        graph.delete(f"/me/events/{event_id}").raise_for_status()


def event(world: Stack, email: str, event_id: str) -> dict[str, Any]:
    with world.graph(email) as graph:
        answer = graph.get(f"/me/events/{event_id}")
        answer.raise_for_status()
        return dict(answer.json())


def task(world: Stack, task_id: int) -> TaskRow:
    row = world.desk.task(task_id)
    assert row is not None, f"task {task_id} is gone"
    return row


def save_task(world: Stack, task_id: int, **changes: Any) -> None:
    """Staff save the task in the appointment editor (clears needs-review, R13)."""
    row = task(world, task_id)
    form = TaskForm(
        kind=changes.get("kind", row.kind),
        employee_id=row.employee_id,
        customer_id=row.customer_id,
        title=changes.get("title", row.title),
        notes=changes.get("notes", row.notes),
        starts_at=datetime.fromisoformat(changes.get("starts_at", row.starts_at)),
        ends_at=datetime.fromisoformat(changes.get("ends_at", row.ends_at)),
        alarm_minutes=changes.get("alarm_minutes", row.alarm_minutes),
        sync=changes.get("sync", row.sync),
    )
    assert world.desk.save_task(task_id, form)


def all_tasks(world: Stack) -> list[TaskRow]:
    """Every task of System Five."""
    with world.desk.engine.connect() as conn:
        ids = [r.id for r in conn.execute(select(task_table.c.id))]
    return [task(world, i) for i in ids]


def assert_one_to_one(world: Stack, email: str) -> None:
    """R16: never a second event for a task nor a second task for an event."""
    events = world.events(email)
    tasks = all_tasks(world)
    subjects = [e["subject"] for e in events]
    assert len(subjects) == len(set(subjects)), f"duplicate events: {sorted(subjects)}"
    refs = [t.external_ref for t in tasks if t.external_ref]
    assert len(refs) == len(set(refs)), f"duplicate imports: {refs}"
    titles = [t.title for t in tasks]
    assert len(titles) == len(set(titles)), f"duplicate tasks: {sorted(titles)}"


async def links(world: Stack, email: str) -> list[Any]:
    async with world.services.scope(world.tenant.id).begin(write=False) as unit:
        return list(await unit.links.all(world.users[email].id))


def revoke(world: Stack, email: str) -> None:
    """R19b: the user's refresh tokens stop working, and the emulator's clock moves past
    the access token's life (as an hour later), so the next Graph call needs a refresh."""
    world.control("POST", f"/users/{email}/revoke")
    later = datetime.now(UTC) + timedelta(hours=2)
    world.control("PUT", "/clock", {"now": later.isoformat()})


class Ticker:
    """The cycles' clock in a story: `now`, and `next()` ten minutes on each call."""

    def __init__(self, start: datetime = NOW) -> None:
        self.now = start

    def next(self) -> datetime:
        self.now += LATER
        return self.now


def env_file(world: Stack, path: Path) -> Path:
    """The settings as `S5SYNC_*` lines, as `s5sync demo` writes `s5sync.env`."""
    s = world.services.settings
    lines = {
        "S5SYNC_DATABASE_URL": s.database_url,
        "S5SYNC_SECRET_KEYS": s.secret_keys.get_secret_value(),
        "S5SYNC_AUTHORITY": s.authority,
        "S5SYNC_CLIENT_ID": s.client_id,
        "S5SYNC_CLIENT_SECRET": s.client_secret.get_secret_value(),
        "S5SYNC_GRAPH_BASE_URL": s.graph_base_url,
        "S5SYNC_CA_BUNDLE": str(s.ca_bundle),
    }
    path.write_text("".join(f"{k}={v}\n" for k, v in lines.items()))
    return path


def create_events(world: Stack, email: str, subjects: list[str], start: datetime) -> list[str]:
    """The user creates many events (sent as Graph `$batch`es of 20, to keep tests fast);
    each an hour long, an hour apart from `start`."""
    ids: list[str] = []
    with world.graph(email) as graph:
        for first in range(0, len(subjects), 20):
            chunk = subjects[first : first + 20]
            requests = [
                {
                    "id": str(i),
                    "method": "POST",
                    "url": "/me/events",
                    "headers": {
                        "Content-Type": "application/json",
                        "Prefer": 'IdType="ImmutableId"',  # per item (json-batching.md)
                    },
                    "body": {
                        "subject": subject,
                        "start": utc(start + timedelta(hours=first + i)),
                        "end": utc(start + timedelta(hours=first + i + 1)),
                    },
                }
                for i, subject in enumerate(chunk)
            ]
            answer = graph.post("/$batch", json={"requests": requests})
            answer.raise_for_status()
            replies = sorted(answer.json()["responses"], key=lambda r: int(r["id"]))
            assert all(r["status"] == 201 for r in replies), replies
            ids += [r["body"]["id"] for r in replies]
    return ids
