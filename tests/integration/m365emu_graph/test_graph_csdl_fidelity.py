"""Every JSON body the emulator answers, checked against Graph's own v1.0 schema (issue 24,
fidelity suite; the schema is csdl/graph-v1.0-subset.xml, cut from microsoftgraph/
msgraph-metadata). A tour through every route the emulator serves — both id forms, both
body types, time zones, `$select`/`$expand`, delta with removals, `$batch`, errors,
subscriptions and the notifications they deliver — sends each answer through
`support.csdl.answer_problems`; a property Graph's schema does not have, a wrong JSON type,
an unknown enum member or a malformed date fails here the day it is introduced. The
documented examples are replayed (and schema-checked) by test_graph_doc_replays.py."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta
from typing import Any

import httpx
import pytest

from m365emu.faults import Fault, FaultKind
from support.csdl import Schema, answer_problems
from support.notification_harness import Notified

SCHEMA = Schema()
IMMUTABLE = 'IdType="ImmutableId"'
ERP = "String {8e3c4c62-5a5b-4c1e-9b2f-6f1d2e7a5c31} Name s5sync.task"
RICH = {
    "subject": "Plan summer company picnic",
    "body": {"contentType": "HTML", "content": "<p>Let's <b>kick-start</b> this!</p>"},
    "start": {"dateTime": "2026-12-07T11:00:00", "timeZone": "Pacific Standard Time"},
    "end": {"dateTime": "2026-12-07T12:00:00", "timeZone": "Pacific Standard Time"},
    "location": {"displayName": "Conf Room 3; Fourth Coffee; Home Office"},
    "locations": [
        {"displayName": "Conf Room 3"},
        {
            "displayName": "Fourth Coffee",
            "address": {"street": "4567 Main St", "city": "Redmond", "countryOrRegion": "US"},
            "coordinates": {"latitude": 47.672, "longitude": -102.103},
        },
    ],
    "attendees": [
        {"type": "required", "emailAddress": {"name": "Dana Swope", "address": "d@x.test"}}
    ],
    "categories": ["Red category"],
    "isOnlineMeeting": True,
    "onlineMeetingProvider": "teamsForBusiness",
    "transactionId": "7E163156-7762-4BEB-A1C6-729EA81755A7",
    "singleValueExtendedProperties": [{"id": ERP, "value": "tenant task-1"}],
    "showAs": "tentative",
    "importance": "high",
    "sensitivity": "private",
}
WEEKLY = {
    "subject": "Weekly",
    "start": {"dateTime": "2026-12-01T09:00:00", "timeZone": "UTC"},
    "end": {"dateTime": "2026-12-01T09:30:00", "timeZone": "UTC"},
    "recurrence": {
        "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["tuesday"]},
        "range": {"type": "numbered", "startDate": "2026-12-01", "numberOfOccurrences": 4},
    },
}
ALL_DAY = {
    "subject": "Holiday",
    "isAllDay": True,
    "start": {"dateTime": "2026-12-24T00:00:00", "timeZone": "UTC"},
    "end": {"dateTime": "2026-12-25T00:00:00", "timeZone": "UTC"},
}
WINDOW = {"startDateTime": "2026-11-30T00:00:00Z", "endDateTime": "2027-01-05T00:00:00Z"}


class Checked:
    """Every answer of the client, checked against the schema as it arrives."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.routes: Counter[str] = Counter()

    async def __call__(self, response: httpx.Response) -> None:
        await response.aread()
        request = response.request
        kind = response.headers.get("content-type", "")
        body = response.json() if response.content and kind.startswith("application/json") else None
        sent = json.loads(request.content) if request.content else None
        where = f"{request.method} {request.url.path} {response.status_code}"
        self.routes[f"{request.method} {response.status_code}"] += 1
        for problem in answer_problems(
            SCHEMA, request.method, request.url.path, response.status_code, body, sent
        ):
            self.problems.append(f"{where}: {problem}")


def _json(**headers: str) -> dict[str, str]:
    return {"Content-Type": "application/json", **headers}


async def _tour(notified: Notified) -> None:
    client, h = notified.client, notified.headers
    assert (await client.get("/me", headers=h())).status_code == 200
    assert (await client.get("/me/mailboxSettings", headers=h())).status_code == 200
    settings = {"timeZone": "W. Europe Standard Time"}
    assert (
        await client.patch("/me/mailboxSettings", json=settings, headers={**h(), **_json()})
    ).status_code == 200

    category = await client.post(
        "/me/outlook/masterCategories",
        json={"displayName": "Red category", "color": "preset0"},
        headers={**h(), **_json()},
    )
    cat_id = category.json()["id"]
    await client.get("/me/outlook/masterCategories", headers=h())
    await client.get(f"/me/outlook/masterCategories/{cat_id}", headers=h())
    await client.patch(
        f"/me/outlook/masterCategories/{cat_id}",
        json={"color": "preset3"},
        headers={**h(), **_json()},
    )

    await notified.subscribe()
    rich = (await client.post("/me/events", json=RICH, headers={**h(), **_json()})).json()
    weekly = await client.post(
        "/me/events", json=WEEKLY, headers={**h(), **_json(Prefer=IMMUTABLE)}
    )
    await client.post("/me/calendar/events", json=ALL_DAY, headers={**h(), **_json()})
    plain = await client.post(
        "/me/events",
        json={"subject": "Plain", **{k: WEEKLY[k] for k in ("start", "end")}},
        headers={**h(), **_json()},
    )

    for prefer in (
        None,
        IMMUTABLE,
        'outlook.timezone="Pacific Standard Time"',
        'outlook.body-content-type="text"',
    ):
        extra = {"Prefer": prefer} if prefer else {}
        await client.get(f"/me/events/{rich['id']}", headers={**h(), **extra})
        await client.get("/me/events", headers={**h(), **extra})
        await client.get("/me/calendarView", params=WINDOW, headers={**h(), **extra})
    await client.get(
        f"/me/events/{rich['id']}",
        params={"$expand": f"singleValueExtendedProperties($filter=id eq '{ERP}')"},
        headers=h(),
    )
    await client.get(
        "/me/events",
        params={"$select": "subject,start,end,categories,transactionId", "$top": "2"},
        headers=h(),
    )
    flt = (
        f"singleValueExtendedProperties/Any(ep: ep/id eq '{ERP}' and "
        "startswith(ep/value, 'tenant'))"
    )
    await client.get("/me/events", params={"$filter": flt}, headers=h())
    await client.get(f"/me/events/{weekly.json()['id']}/instances", params=WINDOW, headers=h())
    await client.get("/me/calendar/events", headers=h())

    first = await client.get("/me/calendarView/delta", params=WINDOW, headers=h())
    link = first.json()["@odata.deltaLink"]
    await client.patch(
        f"/me/events/{rich['id']}",
        json={"subject": "Moved", "isReminderOn": False},
        headers={**h(), **_json(Prefer=IMMUTABLE)},
    )
    await client.delete(f"/me/events/{plain.json()['id']}", headers=h())
    await client.get(link, headers={**h(), "Prefer": IMMUTABLE})

    batch = {
        "requests": [
            {"id": "1", "method": "GET", "url": f"/me/events/{rich['id']}"},
            {
                "id": "2",
                "method": "POST",
                "url": "/me/events",
                "headers": {"Content-Type": "application/json", "Prefer": IMMUTABLE},
                "body": {"subject": "Batched", **{k: WEEKLY[k] for k in ("start", "end")}},
            },
            {"id": "3", "method": "GET", "url": "/me/events/AAkALg" + "A" * 24},
            {"id": "4", "method": "GET", "url": "/me/outlook/masterCategories"},
            {"id": "5", "method": "GET", "url": "/me/events", "dependsOn": ["3"]},
        ]
    }
    await client.post("/$batch", json=batch, headers=h())

    # Errors: every failure answers Graph's error body.
    await client.get("/me/events/abc", headers=h())
    await client.get("/me/events/AAkALg" + "A" * 24, headers=h())
    await client.get("/me/events", params={"$filter": "nonsense eq 1"}, headers=h())
    await client.patch(
        f"/me/events/{rich['id']}",
        json={"subject": "x"},
        headers={**h(), **_json(**{"If-Match": 'W/"stale"'})},
    )
    await client.post("/me/events", content=b"{}", headers=h())
    notified.faults.add(Fault("GET", "/me/events", FaultKind.THROTTLE, status=429, retry_after=1))
    await client.get("/me/events", headers=h())
    await client.get("/me/nothing", headers=h())

    subscriptions = await client.get("/subscriptions", headers=h())
    sub_id = subscriptions.json()["value"][0]["id"]
    await client.get(f"/subscriptions/{sub_id}", headers=h())
    later = (notified.clock.now() + timedelta(days=1)).isoformat()
    await client.patch(
        f"/subscriptions/{sub_id}",
        json={"expirationDateTime": later},
        headers={**h(), **_json()},
    )
    await client.post(f"/subscriptions/{sub_id}/reauthorize", headers=h())
    await client.delete(f"/me/events/{rich['id']}", headers=h())
    await client.delete(f"/me/outlook/masterCategories/{cat_id}", headers=h())
    await notified.delivered(5)
    await client.delete(f"/subscriptions/{sub_id}", headers=h())


async def test_every_answer_of_a_tour_of_every_route_fits_graphs_schema(
    notified: Notified,
) -> None:
    checked = Checked()
    notified.client.event_hooks["response"].append(checked)
    await _tour(notified)
    assert checked.problems == [], "\n".join(checked.problems)
    # The tour did reach every kind of answer (so an empty problem list means something).
    statuses = {route.split()[1] for route in checked.routes}
    assert {"200", "201", "204", "400", "404", "412", "429"} <= statuses, checked.routes
    assert sum(checked.routes.values()) >= 40


async def test_every_notification_delivered_fits_graphs_schema(notified: Notified) -> None:
    await _tour(notified)
    bodies = [body for _path, body in notified.subscriber.received]
    assert len(bodies) >= 5
    problems = [
        problem
        for body in bodies
        for problem in SCHEMA.problems(body, "changeNotificationCollection")
    ]
    assert problems == []


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"id": "x", "isAllDay": "yes"}, "$.isAllDay: str 'yes' is not an Edm.Boolean"),
        ({"id": "x", "madeUp": 1}, "$.madeUp: event has no such property"),
        ({"id": "x", "showAs": "sleeping"}, "$.showAs: 'sleeping' is no member of freeBusyStatus"),
        (
            {"id": "x", "createdDateTime": "yesterday"},
            "$.createdDateTime: str 'yesterday' is not an Edm.DateTimeOffset",
        ),
        (
            {"id": "x", "locations": [{"displayName": 3}]},
            "$.locations[0].displayName: int 3 is not an Edm.String",
        ),
        (
            {"id": "x", "attachments": []},
            "$.attachments: navigation property answered without $expand",
        ),
        (
            {"id": "x", "cancelledOccurrences": None},
            "$.cancelledOccurrences: null, but event.cancelledOccurrences is not nullable",
        ),
    ],
)
def test_the_schema_check_sees_a_difference(body: dict[str, Any], expected: str) -> None:
    assert SCHEMA.problems(body, "event") == [expected]
