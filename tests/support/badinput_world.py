"""One signed-in user on the real stack, with the moves the bad-input catalogue needs (R23).

- `task(...)` / `raw_task(...)`: a System Five task through the desk, or a row written
  with SQL as another tool might leave it (values the desk would refuse);
- `event(...)` / `post_event(...)`: an event created in Outlook over Graph as the user;
- `graph_answers(...)`: Graph's answers rewritten on their way to s5sync, by an httpx
  transport in front of the real TLS one, mounted on the Graph seam (`HttpxTransport`,
  STYLE.md habit 7) — for
  items or answers the emulator would never produce itself;
- `with_good_items()` / `assert_good_items_synced(result)`: a good task and a good tagged
  event in the same cycle, proving that the rest of the cycle went on (R23).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import insert, update

from s5emu.desk import AddressForm, TaskRow
from s5emu.schema import task as task_table
from s5sync.outlook.clients import GraphClients
from s5sync.outlook.transport import HttpxTransport
from s5sync.sync.engine import CycleResult
from support.cycle_stack import Stack

ALICE = "alice@contoso.example"
NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)  # 10:00 in New York
GOOD_TASK = "Good delivery of a lamp"
GOOD_EVENT = "Good visit [sync]"

ItemRewrite = Callable[[dict[str, Any]], dict[str, Any] | None]
AnswerRewrite = Callable[[httpx.Response], httpx.Response]


def utc(text: str) -> dict[str, str]:
    return {"dateTime": text, "timeZone": "UTC"}


class RewritingTransport(httpx.AsyncBaseTransport):
    """The real TLS transport, with calendar delta answers rewritten on the way back."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.items: list[ItemRewrite] = []
        self.answers: list[AnswerRewrite] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if "/calendarView/delta" not in request.url.path or request.method != "GET":
            return response
        await response.aread()
        if self.items and response.status_code == 200:
            body = json.loads(response.content)
            kept = []
            for item in body.get("value", []):
                for rewrite in self.items:
                    item = rewrite(item) if item is not None else None
                if item is not None:
                    kept.append(item)
            body["value"] = kept
            # json.dumps escapes a lone surrogate as Graph's JSON may (`\ud800`).
            response = httpx.Response(
                200,
                headers={"content-type": "application/json"},
                content=json.dumps(body).encode(),
                request=request,
            )
        response.request = request
        for answer in self.answers:
            response = answer(response)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


def on_subject(marker: str, change: Callable[[dict[str, Any]], None]) -> ItemRewrite:
    """A rewrite of the delta items whose subject contains `marker` (others untouched)."""

    def rewrite(item: dict[str, Any]) -> dict[str, Any] | None:
        if marker in str(item.get("subject", "")):
            change(item)
        return item

    return rewrite


@dataclass
class World:
    stack: Stack
    transport: RewritingTransport | None = None
    good_task_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    # -- System Five ---------------------------------------------------------------------

    @property
    def employee(self) -> int:
        return self.stack.employees[ALICE]

    def task(
        self,
        title: str,
        start: str = "2026-11-27T10:00:00",
        end: str = "2026-11-27T11:00:00",
        kind: str = "delivery",
        **kw: Any,
    ) -> int:
        return self.stack.add_task(ALICE, kind, title, start, end, **kw)

    def raw_task(self, **values: Any) -> int:
        """A task row written with SQL, as another tool might leave it."""
        row = {
            "employee_id": self.employee,
            "kind": "delivery",
            "title": "Raw task",
            "notes": "",
            "starts_at": "2026-11-27T10:00:00",
            "ends_at": "2026-11-27T11:00:00",
            "sync": 1,
            "needs_review": 0,
            "updated_at": "2026-11-20T10:00:00.000000Z",
            **values,
        }
        with self.stack.desk.engine.begin() as conn:
            result = conn.execute(insert(task_table).values(row).returning(task_table.c.id))
            return int(result.scalar_one())

    def set_columns(self, task_id: int, **values: Any) -> None:
        with self.stack.desk.engine.begin() as conn:
            conn.execute(update(task_table).where(task_table.c.id == task_id).values(**values))

    def customer(self, *addresses: AddressForm, name: str = "Ada Customer") -> int:
        return self.stack.desk.add_customer(name, addresses)

    def row(self, task_id: int) -> TaskRow:
        found = self.stack.desk.task(task_id)
        assert found is not None, f"task {task_id} is gone"
        return found

    def imported(self) -> dict[str, TaskRow]:
        """Imported tasks by title."""
        rows = self.stack.desk.engine.connect()
        try:
            ids = [
                r[0]
                for r in rows.execute(
                    task_table.select()
                    .with_only_columns(task_table.c.id)
                    .where(task_table.c.external_ref.is_not(None))
                )
            ]
        finally:
            rows.close()
        return {t.title: t for t in (self.row(i) for i in ids)}

    # -- Outlook -------------------------------------------------------------------------

    def post_event(self, body: dict[str, Any]) -> str:
        with self.stack.graph(ALICE) as graph:
            answer = graph.post("/me/events", json=body)
            assert answer.status_code == 201, answer.text
            return str(answer.json()["id"])

    def event(
        self,
        subject: str,
        start: str = "2026-11-28T15:00:00",
        end: str = "2026-11-28T16:00:00",
        **extra: Any,
    ) -> str:
        body: dict[str, Any] = {"subject": subject, "start": utc(start), "end": utc(end)}
        body.update(extra)
        return self.post_event(body)

    def outlook(self) -> dict[str, dict[str, Any]]:
        """The user's events by subject, bodies as HTML."""
        return {str(e.get("subject")): e for e in self.stack.events(ALICE)}

    def graph_answers(self) -> RewritingTransport:
        """Put the rewriting transport in front of Graph (before the first cycle)."""
        if self.transport is None:
            services = self.stack.services
            assert services._graph is None, "Graph's clients were built already"
            inner = httpx.AsyncHTTPTransport(verify=self.stack.running.ssl_context())
            self.transport = RewritingTransport(inner)
            base_url = services.settings.graph_base_url
            http = httpx.AsyncClient(base_url=base_url, transport=self.transport, trust_env=False)
            services._graph = GraphClients(base_url, transport=HttpxTransport(http))
        return self.transport

    # -- the cycle -----------------------------------------------------------------------

    async def cycle(self, now: datetime = NOW) -> CycleResult:
        return await self.stack.cycle(ALICE, now)

    def with_good_items(
        self, start: str = "2026-11-27T10:00:00", end: str = "2026-11-27T11:00:00"
    ) -> None:
        """R23: a good task and a good tagged event that must sync in the same cycle."""
        self.good_task_id = self.task(GOOD_TASK, start, end)
        day = start[:10]
        self.event(GOOD_EVENT, f"{day}T18:00:00", f"{day}T19:00:00")

    def assert_good_items_synced(self, result: CycleResult, *, imported: bool = True) -> None:
        text = messages(result)
        assert f"Sent '{GOOD_TASK}' to Outlook" in text, text
        assert GOOD_TASK in self.outlook()
        if imported:
            assert "Imported 'Good visit [sync]'" in text, text
            assert "Good visit" in self.imported()


def messages(result: CycleResult) -> str:
    """The cycle's activity entries (R18) as one text, one line each."""
    return "\n".join(entry.message for entry in result.entries)
