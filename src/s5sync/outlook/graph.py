"""The Graph adapter of the `CalendarGateway` port (ports.py; DESIGN.md "Outlook connector").

`GraphCalendar(session)` is one user's calendar for one cycle, in as few requests as can
be (R23b, DESIGN.md "Requests per cycle"):
- `read_window` follows the stored delta link of `/me/calendarView/delta` (an idle cycle
  costs exactly one request); without a link, or when Graph answers 410 Gone,
  `syncStateNotFound` or `resyncRequired`, it reads the window from scratch and says so
  (`rebaselined`). Bodies are read as text (import needs text, R9) and times in UTC.
- creates carry a deterministic `transactionId` and the task identity in a hidden
  extended property (R16b); a create that may have reached Graph twice, or got an
  answer that looks like a duplicate, is resolved by a lookup of that property — so the
  client is right whether a repeated `transactionId` returns the original id or not.
- updates PATCH the owned fields only (R5) with `If-Match` (412 → CONFLICT).
- writes and lookups go in `$batch`es of 20 (batch.py).
- `ensure_category` is categories.py's (R3).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from s5sync.core.snapshots import EventSnapshot
from s5sync.outlook.batch import SubOutcome, SubRequest, run_batches
from s5sync.outlook.categories import MasterCategories
from s5sync.outlook.errors import (
    MALFORMED_ID,
    GraphRejected,
    GraphUnavailable,
    MalformedEventId,
    Throttled,
)
from s5sync.outlook.metering import RequestCounter
from s5sync.outlook.session import Answer, GraphSession
from s5sync.outlook.wire import (
    TASK_EXPAND,
    Malformed,
    event_body,
    event_fields,
    parse_event,
    patch_body,
    read_snapshot,
    task_filter,
)
from s5sync.sync.ports import (
    CategoriesWrite,
    EventChange,
    EventUpdate,
    EventWrite,
    MasterCategory,
    WindowRead,
    WriteResult,
    WriteStatus,
)

log = logging.getLogger("s5sync.outlook.graph")

DELTA_PATH = "/me/calendarView/delta"
EXPIRED_CODES = ("syncstatenotfound", "resyncrequired")
MAX_PAGES = 10_000  # a safety stop against a link that loops


class _DeltaExpired(Exception):
    pass


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _fresh(window_start: datetime, window_end: datetime) -> str:
    """A new delta query of the window (built only when no stored link is followed)."""
    query = urlencode({"startDateTime": _iso(window_start), "endDateTime": _iso(window_end)})
    return f"{DELTA_PATH}?{query}"


def etag(change_key: str) -> str:
    """The `@odata.etag` Graph pairs with a change key (graph.md §1)."""
    return change_key if change_key.startswith('W/"') else f'W/"{change_key}"'


class GraphCalendar:
    """One user's Outlook calendar over Microsoft Graph, for one cycle."""

    def __init__(self, session: GraphSession, *, page_size: int = 100) -> None:
        self.session = session
        self.page_size = page_size
        self._categories = MasterCategories(session)

    @property
    def counter(self) -> RequestCounter:
        """Every request this user's cycle sent (for `sync_run` and `/metrics`)."""
        return self.session.counter

    # -- reading ---------------------------------------------------------------------

    async def read_window(
        self, delta_link: str | None, window_start: datetime, window_end: datetime
    ) -> WindowRead:
        rebaselined = delta_link is None or not self.session.same_origin(delta_link)
        url = _fresh(window_start, window_end) if rebaselined or delta_link is None else delta_link
        for _ in range(2):
            try:
                changed, removed, link, unreadable = await self._follow(url)
            except _DeltaExpired:
                if rebaselined:
                    raise GraphUnavailable(
                        "Microsoft Graph refused a fresh calendar delta query"
                    ) from None
                log.info("graph.delta_rebaseline reason=expired")
                rebaselined, url = True, _fresh(window_start, window_end)
                continue
            return WindowRead(
                changed, removed, link, rebaselined, window_start, window_end, tuple(unreadable)
            )
        raise GraphUnavailable("Microsoft Graph refused a fresh calendar delta query")

    async def _follow(self, url: str) -> tuple[list[EventChange], list[str], str, list[str]]:
        items: dict[str, EventChange | None] = {}  # None: removed; later pages win
        unreadable: list[str] = []  # R23: items that could not be read at all, said why
        for _ in range(MAX_PAGES):
            answer = await self.session.request(
                "GET", url, prefer=(f"odata.maxpagesize={self.page_size}",)
            )
            code = answer.error_code.lower()
            if answer.status == 410 or (400 <= answer.status < 500 and code in EXPIRED_CODES):
                raise _DeltaExpired
            if answer.status != 200 or not isinstance(answer.body, dict):
                raise GraphRejected(
                    f"Microsoft Graph refused the calendar delta ({answer.status} {code})",
                    status=answer.status,
                    code=answer.error_code,
                )
            page = answer.body.get("value", [])
            if not isinstance(page, list):
                # R23: an answer of the wrong shape is refused whole, never half-read.
                raise GraphRejected("a calendar delta page had no list of events")
            for raw in page:
                self._take(raw, items, unreadable)
            next_link = answer.body.get("@odata.nextLink")
            delta_link = answer.body.get("@odata.deltaLink")
            if isinstance(delta_link, str):
                changed = [c for c in items.values() if c is not None]
                removed = [k for k, c in items.items() if c is None]
                return changed, removed, delta_link, unreadable
            if not isinstance(next_link, str):
                raise GraphRejected("a calendar delta page had neither a next nor a delta link")
            url = next_link
        raise GraphRejected("the calendar delta did not end")

    def _take(
        self, raw: object, items: dict[str, EventChange | None], unreadable: list[str]
    ) -> None:
        try:
            event, problems = parse_event(raw)
        except Malformed as error:
            log.info("graph.bad_item reason=%s", error)
            unreadable.append(str(error))
            return
        earlier = items.pop(event.id, None)  # keep Graph's order of the last word on each id
        if event.removed is not None:
            items[event.id] = None
            return
        change = event_fields(event, problems)
        if earlier is not None:  # the same entity twice: merge, later fields win
            change = EventChange(
                event.id, {**earlier.fields, **change.fields}, earlier.problems + change.problems
            )
        items[event.id] = change

    async def get_event(self, event_id: str) -> EventSnapshot | None:
        answer = await self.session.request(
            "GET", f"/me/events/{quote(event_id, safe='')}?" + urlencode({"$expand": TASK_EXPAND})
        )
        if answer.status == 404:
            return None
        if answer.status == 400 and answer.error_code == MALFORMED_ID:
            raise MalformedEventId  # R7b: a damaged id is not a deletion
        if answer.status != 200:
            raise GraphRejected(
                f"Microsoft Graph refused to read an event ({answer.status} {answer.error_code})",
                status=answer.status,
                code=answer.error_code,
            )
        return self._snapshot(answer.body)

    async def find_by_task_refs(self, task_refs: Sequence[str]) -> dict[str, EventSnapshot]:
        refs = list(dict.fromkeys(task_refs))
        requests = [
            SubRequest(
                "GET",
                "/me/events?"
                + urlencode({"$filter": task_filter(ref), "$expand": TASK_EXPAND, "$top": "10"}),
            )
            for ref in refs
        ]
        found: dict[str, EventSnapshot] = {}
        for ref, outcome in zip(refs, await run_batches(self.session, requests), strict=True):
            answer = self._required(outcome, "look up events by task")
            events = answer.body.get("value") if isinstance(answer.body, dict) else None
            matches = [m for raw in events or () if (m := self._snapshot(raw)) is not None]
            if matches:
                # Several events for one task would be an earlier duplicate: keep one, stably.
                best = min(matches, key=lambda m: (m.task_ref != ref, m.id))
                found[ref] = best if best.task_ref else _with(best, task_ref=ref)
        return found

    def _required(self, outcome: SubOutcome, what: str) -> Answer:
        answer = outcome.answer
        if answer is None and outcome.retry_at is not None:
            raise Throttled(outcome.retry_at)
        if answer is None:
            raise GraphUnavailable(f"Microsoft Graph could not {what}: {outcome.reason}")
        if answer.status != 200:
            raise GraphRejected(
                f"Microsoft Graph refused to {what} ({answer.status} {answer.error_code})",
                status=answer.status,
                code=answer.error_code,
            )
        return answer

    def _snapshot(self, raw: Any) -> EventSnapshot | None:
        try:
            snap, problems = read_snapshot(raw)
        except Malformed as error:
            log.info("graph.bad_item reason=%s", error)
            return None
        for problem in problems:
            log.info("graph.bad_field problem=%s", problem)
        return snap

    # -- writing ---------------------------------------------------------------------

    async def write_events(
        self, creates: Sequence[EventWrite], updates: Sequence[EventUpdate]
    ) -> tuple[list[WriteResult], list[WriteResult]]:
        """Creates and updates in the same `$batch`es (20 a request, R23b)."""
        requests = [SubRequest("POST", "/me/events", event_body(w, create=True)) for w in creates]
        requests += [
            SubRequest(
                "PATCH",
                f"/me/events/{quote(u.event_id, safe='')}",
                patch_body(u.write),
                if_match=etag(u.change_key) if u.change_key else None,
            )
            for u in updates
        ]
        outcomes = await run_batches(self.session, requests) if requests else []
        made, patched = outcomes[: len(creates)], outcomes[len(creates) :]
        created = await self._settle_creates(creates, made)
        updated = await self._settle_updates(
            updates, patched, [self._updated(u, o) for u, o in zip(updates, patched, strict=True)]
        )
        return created, updated

    async def _settle_creates(
        self, writes: Sequence[EventWrite], outcomes: Sequence[SubOutcome]
    ) -> list[WriteResult]:
        results = [self._created(w, o) for w, o in zip(writes, outcomes, strict=True)]
        doubtful = [
            w.task_ref
            for w, o, r in zip(writes, outcomes, results, strict=True)
            if w.task_ref and (o.maybe_applied or r.status is WriteStatus.FAILED)
        ]
        if not doubtful:
            return results
        # R16b: a create that may have been applied twice, or whose answer looked like a
        # duplicate, is settled by what the mailbox really holds.
        try:
            found = await self.find_by_task_refs(doubtful)
        except GraphUnavailable as error:
            log.info("graph.create_lookup_failed reason=%s", error)
            return results
        return [
            WriteResult(WriteStatus.OK, found[w.task_ref]) if w.task_ref in found else r
            for w, r in zip(writes, results, strict=True)
        ]

    def _created(self, write: EventWrite, outcome: SubOutcome) -> WriteResult:
        answer = outcome.answer
        if answer is None:
            return WriteResult(
                WriteStatus.NOT_DONE, error=outcome.reason, retry_at=outcome.retry_at
            )
        if answer.status in (200, 201):
            snap = self._snapshot(answer.body)
            if snap is None:
                return WriteResult(WriteStatus.NOT_DONE, error="the create answer had no event")
            return WriteResult(
                WriteStatus.OK,
                _with(
                    snap,
                    task_ref=write.task_ref,
                    transaction_id=snap.transaction_id or write.transaction_id,
                ),
            )
        return WriteResult(
            WriteStatus.FAILED,
            error=f"Microsoft Graph refused the event ({answer.status} {answer.error_code})",
        )

    async def _settle_updates(
        self,
        updates: Sequence[EventUpdate],
        outcomes: Sequence[SubOutcome],
        results: list[WriteResult],
    ) -> list[WriteResult]:
        """A PATCH applied whose answer was lost is answered 412 when sent again (its
        change key moved): read those events, and when they carry exactly what was
        written, the write was ours."""
        doubtful = [
            i
            for i, (o, r) in enumerate(zip(outcomes, results, strict=True))
            if o.maybe_applied and r.status is WriteStatus.CONFLICT
        ]
        if not doubtful:
            return results
        reads = [
            SubRequest(
                "GET",
                f"/me/events/{quote(updates[i].event_id, safe='')}?"
                + urlencode({"$expand": TASK_EXPAND}),
            )
            for i in doubtful
        ]
        try:
            answers = await run_batches(self.session, reads)
        except GraphRejected:
            return results
        for i, outcome in zip(doubtful, answers, strict=True):
            if outcome.answer is None or outcome.answer.status != 200:
                continue
            snap = self._snapshot(outcome.answer.body)
            if snap is not None and _carries(snap, updates[i].write):
                results[i] = WriteResult(WriteStatus.OK, snap)
        return results

    def _updated(self, update: EventUpdate, outcome: SubOutcome) -> WriteResult:
        answer = outcome.answer
        if answer is None:
            return WriteResult(
                WriteStatus.NOT_DONE, error=outcome.reason, retry_at=outcome.retry_at
            )
        if answer.status == 200:
            snap = self._snapshot(answer.body)
            if snap is None:
                return WriteResult(WriteStatus.NOT_DONE, error="the update answer had no event")
            ref = update.write.task_ref if isinstance(update.write, EventWrite) else None
            return WriteResult(WriteStatus.OK, _with(snap, task_ref=ref or snap.task_ref))
        if answer.status == 412:
            return WriteResult(WriteStatus.CONFLICT, error="the event changed in Outlook")
        if answer.status == 404:
            return WriteResult(WriteStatus.GONE, error="the event was deleted in Outlook")
        if answer.status == 400 and answer.error_code == MALFORMED_ID:
            # R7b: Graph cannot read the id we stored; that is no proof of a deletion.
            return WriteResult(WriteStatus.BAD_ID, error="the stored Outlook event id is damaged")
        return WriteResult(
            WriteStatus.FAILED,
            error=f"Microsoft Graph refused the update ({answer.status} {answer.error_code})",
        )

    # -- the store's category (R3) ---------------------------------------------------

    async def ensure_category(self, name: str, color: str) -> bool:
        return await self._categories.ensure(name, color)

    async def apply_category(
        self, name: str, color: str, known_id: str | None = None
    ) -> MasterCategory:
        return await self._categories.apply(name, color, known_id)


def _carries(snap: EventSnapshot, write: EventWrite | CategoriesWrite) -> bool:
    """The owned fields Graph reads back unchanged (the body is rewritten by Outlook)."""
    if isinstance(write, CategoriesWrite):
        return snap.categories == write.categories
    return (snap.subject, snap.start, snap.end, snap.reminder_minutes, snap.categories) == (
        write.subject,
        write.start,
        write.end,
        write.reminder_minutes,
        tuple(write.categories),
    )


def _with(snap: EventSnapshot, **changes: Any) -> EventSnapshot:
    return replace(snap, **changes)
