"""The Graph adapter against Microsoft's documented wire formats, replayed by an
httpx.MockTransport (the transport is the seam): the cases the emulator answers one way
but Microsoft may answer another (graph.md §12 "unverified"), and the request shape."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from s5sync.outlook.errors import GraphUnavailable
from s5sync.outlook.graph import GraphCalendar
from s5sync.outlook.metering import RequestCounter
from s5sync.outlook.session import GraphSession, Pacing, RetryPolicy, retry_after
from s5sync.outlook.subscriptions import parse_graph_time
from s5sync.outlook.transport import HttpxTransport
from s5sync.outlook.wire import TASK_PROPERTY_ID
from s5sync.sync.ports import EventWrite, WriteStatus
from support.event_writes import create_events, update_events

BASE = "https://graph.microsoft.com/v1.0"
NOW = datetime(2026, 11, 25, 20, tzinfo=UTC)
WINDOW = (NOW, NOW + timedelta(days=30))
Handler = Callable[[httpx.Request], httpx.Response]


class Tokens:
    async def token(self, *, force_refresh: bool = False) -> str:
        return "token-1"


class Recorder:
    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[httpx.Request] = []
        self.sleeps: list[float] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.handler(request)

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


def calendar(recorder: Recorder, **policy: Any) -> GraphCalendar:
    http = httpx.AsyncClient(transport=httpx.MockTransport(recorder), base_url=BASE)
    session = GraphSession(
        HttpxTransport(http),
        Tokens(),
        counter=RequestCounter(),
        policy=RetryPolicy(**policy),
        pacing=Pacing(sleep=recorder.sleep, now=lambda: NOW, random=lambda: 1.0),
    )
    return GraphCalendar(session, page_size=2)


def event(event_id: str, subject: str = "Lunch", **extra: Any) -> dict[str, Any]:
    return {
        "@odata.type": "#microsoft.graph.event",
        "id": event_id,
        "subject": subject,
        "changeKey": f"ck-{event_id}",
        "body": {"contentType": "text", "content": "hi\r\n"},
        "start": {"dateTime": "2026-11-27T12:00:00.0000000", "timeZone": "UTC"},
        "end": {"dateTime": "2026-11-27T13:00:00.0000000", "timeZone": "UTC"},
        "type": "singleInstance",
        **extra,
    }


def a_write(n: int) -> EventWrite:
    start = NOW + timedelta(days=2)
    return EventWrite(
        f"Task {n}",
        "<p>x</p>",
        start,
        start + timedelta(hours=1),
        15,
        (),
        task_ref=f"task:{n}",
        transaction_id=f"tx-{n}",
    )


async def test_delta_pages_merge_partial_items_and_report_removed_with_every_prefer() -> None:
    page2 = f"{BASE}/me/calendarView/delta?$skiptoken=page2"
    done = f"{BASE}/me/calendarView/delta?$deltatoken=next"

    def graph(request: httpx.Request) -> httpx.Response:
        if "skiptoken" not in str(request.url):
            return httpx.Response(
                200,
                json={
                    "@odata.context": f"{BASE}/$metadata#Collection(event)",
                    "@odata.nextLink": page2,
                    "value": [event("a"), {"id": "b", "@removed": {"reason": "deleted"}}],
                },
            )
        return httpx.Response(
            200,
            json={
                "@odata.deltaLink": done,
                "value": [
                    {"@odata.type": "#microsoft.graph.event", "id": "a", "subject": "Renamed"}
                ],
            },
        )

    recorder = Recorder(graph)
    read = await calendar(recorder).read_window(None, *WINDOW)
    assert read.rebaselined
    assert read.delta_link == done
    assert read.removed == ["b"]
    (a,) = read.changed
    assert a.fields["subject"] == "Renamed"  # the later partial item wins, merged
    assert a.fields["change_key"] == "ck-a"
    first = recorder.requests[0]
    assert first.url.params["startDateTime"] == "2026-11-25T20:00:00Z"
    prefer = first.headers["prefer"]
    for wanted in (
        'IdType="ImmutableId"',
        'outlook.timezone="UTC"',
        'outlook.body-content-type="text"',
        "odata.maxpagesize=2",
    ):
        assert wanted in prefer
    assert first.headers["authorization"] == "Bearer token-1"
    assert len(recorder.requests) == 2


async def test_410_gone_with_a_location_starts_the_window_over() -> None:
    def graph(request: httpx.Request) -> httpx.Response:
        if "deltatoken=old" in str(request.url):
            return httpx.Response(
                410,
                headers={"Location": f"{BASE}/me/calendarView/delta?$deltatoken="},
                json={"error": {"code": "resyncRequired", "message": "gone"}},
            )
        return httpx.Response(
            200, json={"@odata.deltaLink": f"{BASE}/d?$deltatoken=new", "value": [event("a")]}
        )

    read = await calendar(Recorder(graph)).read_window(
        f"{BASE}/me/calendarView/delta?$deltatoken=old", *WINDOW
    )
    assert read.rebaselined
    assert [c.event_id for c in read.changed] == ["a"]


async def test_a_delta_link_to_another_host_is_never_sent_the_token() -> None:
    recorder = Recorder(
        lambda r: httpx.Response(200, json={"@odata.deltaLink": f"{BASE}/d", "value": []})
    )
    read = await calendar(recorder).read_window("https://evil.example/delta?x", *WINDOW)
    assert read.rebaselined
    assert {r.url.host for r in recorder.requests} == {"graph.microsoft.com"}


def batch_answer(
    request: httpx.Request, answer: Callable[[dict[str, Any]], dict[str, Any]]
) -> httpx.Response:
    items = json.loads(request.content)["requests"]
    return httpx.Response(200, json={"responses": [{"id": i["id"], **answer(i)} for i in items]})


@pytest.mark.parametrize(
    "duplicate_answer",
    [
        {"status": 201, "body": event("another-id", "Task 0")},  # 201, but not the original id
        {"status": 409, "body": {"error": {"code": "ErrorDuplicateTransactionId"}}},
        {"status": 400, "body": {"error": {"code": "ErrorInvalidRequest"}}},
    ],
    ids=["201-other-id", "409", "400"],
)
async def test_a_create_resent_after_a_lost_answer_resolves_to_the_original_event_R16b(
    duplicate_answer: dict[str, Any],
) -> None:
    sent: list[str] = []

    def graph(request: httpx.Request) -> httpx.Response:
        items = json.loads(request.content)["requests"]
        if items[0]["method"] == "POST":
            sent.append("create")
            if len(sent) == 1:  # applied, then the answer is lost
                raise httpx.ReadTimeout("lost", request=request)
            return batch_answer(request, lambda i: duplicate_answer)
        prop = [{"id": TASK_PROPERTY_ID, "value": "task:0"}]
        return batch_answer(
            request,
            lambda i: {
                "status": 200,
                "body": {
                    "value": [event("original-id", "Task 0", singleValueExtendedProperties=prop)]
                },
            },
        )

    recorder = Recorder(graph)
    (result,) = await create_events(calendar(recorder), [a_write(0)])
    assert result.status is WriteStatus.OK
    assert result.event is not None
    assert result.event.id == "original-id"
    assert result.event.task_ref == "task:0"


async def test_a_refused_create_without_a_matching_event_fails_with_a_reason_R23() -> None:
    def graph(request: httpx.Request) -> httpx.Response:
        items = json.loads(request.content)["requests"]
        if items[0]["method"] == "POST":
            return batch_answer(
                request,
                lambda i: {"status": 400, "body": {"error": {"code": "ErrorInvalidRequest"}}},
            )
        return batch_answer(request, lambda i: {"status": 200, "body": {"value": []}})

    (result,) = await create_events(calendar(Recorder(graph)), [a_write(0)])
    assert result.status is WriteStatus.FAILED
    assert result.error
    assert "ErrorInvalidRequest" in result.error


async def test_batch_items_carry_prefer_and_if_match_headers() -> None:
    seen: list[dict[str, Any]] = []

    def graph(request: httpx.Request) -> httpx.Response:
        seen.extend(json.loads(request.content)["requests"])
        return batch_answer(
            request,
            lambda i: {"status": 412, "body": {"error": {"code": "ErrorIrresolvableConflict"}}},
        )

    from s5sync.sync.ports import EventUpdate

    (result,) = await update_events(
        calendar(Recorder(graph)), [EventUpdate("id/with+slash=", "ck1", a_write(0))]
    )
    assert result.status is WriteStatus.CONFLICT
    (item,) = seen
    assert item["url"] == "/me/events/id%2Fwith%2Bslash%3D"
    assert item["headers"]["If-Match"] == 'W/"ck1"'
    assert 'IdType="ImmutableId"' in item["headers"]["Prefer"]
    assert "transactionId" not in item["body"]


async def test_a_refused_category_create_relists_and_matches_any_case_R3() -> None:
    listed: list[int] = []

    def graph(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            listed.append(1)
            names = (
                []
                if len(listed) == 1
                else [{"id": "1", "displayName": "received from SYSTEM5", "color": "preset4"}]
            )
            return httpx.Response(200, json={"value": names})
        return httpx.Response(409, json={"error": {"code": "NameAlreadyExists"}})

    created = await calendar(Recorder(graph)).ensure_category("Received From System5", "preset4")
    assert created is False
    assert len(listed) == 2


async def test_backoff_grows_exponentially_capped_then_gives_up() -> None:
    recorder = Recorder(lambda r: httpx.Response(500, json={"error": {"code": "generalException"}}))
    with pytest.raises(GraphUnavailable):
        await calendar(recorder, max_attempts=6, base_delay=0.5, max_delay=4).get_event("a")
    assert recorder.sleeps == [0.5, 1.0, 2.0, 4.0, 4.0]
    assert len(recorder.requests) == 6


async def test_a_dropped_connection_is_retried() -> None:
    calls: list[int] = []

    def graph(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) == 1:
            raise httpx.ConnectError("reset", request=request)
        return httpx.Response(200, json=event("a"))

    snap = await calendar(Recorder(graph)).get_event("a")
    assert snap is not None
    assert snap.id == "a"


def test_retry_after_reads_seconds_fractions_and_http_dates_R23b() -> None:
    assert retry_after({"Retry-After": "10"}, NOW) == 10
    assert retry_after({"retry-after": "2.128"}, NOW) == 2.128
    later = format_datetime(NOW + timedelta(seconds=45), usegmt=True)
    assert retry_after({"Retry-After": later}, NOW) == 45
    assert retry_after({}, NOW) is None
    assert retry_after({"Retry-After": "soon"}, NOW) is None


async def test_a_failed_dependency_item_is_retried_alone_and_a_permanent_error_fails_R23() -> None:
    rounds: list[list[str]] = []

    def graph(request: httpx.Request) -> httpx.Response:
        items = json.loads(request.content)["requests"]
        if items[0]["method"] == "GET":  # the lookup of the refused create: nothing there
            return batch_answer(request, lambda i: {"status": 200, "body": {"value": []}})
        rounds.append([i["id"] for i in items])

        def answer(item: dict[str, Any]) -> dict[str, Any]:
            subject = item["body"]["subject"]
            if subject == "Task 1" and len(rounds) == 1:
                return {"status": 424, "body": {"error": {"code": "failedDependency"}}}
            if subject == "Task 2":
                return {"status": 400, "body": {"error": {"code": "ErrorInvalidRequest"}}}
            return {"status": 201, "body": event(f"id-{subject[-1]}", subject)}

        return batch_answer(request, answer)

    recorder = Recorder(graph)
    results = await create_events(calendar(recorder), [a_write(n) for n in range(3)])
    assert [r.status for r in results] == [WriteStatus.OK, WriteStatus.OK, WriteStatus.FAILED]
    assert rounds == [["0", "1", "2"], ["1"]]
    assert recorder.sleeps == [0.5]  # the 424 waited a backoff, not a Retry-After


@pytest.mark.parametrize(
    ("written", "moment"),
    [
        # DateTimeOffset as Graph writes it: 7 digits, trimmed ones, none (issue 24 item 5).
        ("2016-11-20T18:23:45.9356913Z", datetime(2016, 11, 20, 18, 23, 45, 935691, tzinfo=UTC)),
        ("2017-04-15T03:00:51.245372Z", datetime(2017, 4, 15, 3, 0, 51, 245372, tzinfo=UTC)),
        ("2017-04-15T03:00:51.2Z", datetime(2017, 4, 15, 3, 0, 51, 200000, tzinfo=UTC)),
        ("2017-04-15T03:00:51Z", datetime(2017, 4, 15, 3, 0, 51, tzinfo=UTC)),
    ],
)
def test_graph_datetimeoffsets_are_read_with_any_number_of_digits(
    written: str, moment: datetime
) -> None:
    assert parse_graph_time(written) == moment
