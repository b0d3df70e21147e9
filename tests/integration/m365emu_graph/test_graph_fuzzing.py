"""Fuzzing request bodies and query strings with Hypothesis (issue 5 "must show"): with the
catch-all handler re-raising (GraphRuntime.reraise_unexpected), any unexpected exception
fails the test; every answer must be a success or a Graph-shaped 4xx, never a 500."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from m365emu.clock import EmulatorClock
from m365emu.graph import GraphState
from m365emu.graph.fakes import StaticTokenVerifier
from support.graph_harness import ALICE, TENANT, build_app

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
EVENT_KEYS = [
    "subject",
    "body",
    "start",
    "end",
    "isAllDay",
    "categories",
    "recurrence",
    "transactionId",
    "singleValueExtendedProperties",
    "attendees",
    "location",
    "reminderMinutesBeforeStart",
    "showAs",
    "@odata.type",
    "dateTime",
    "timeZone",
    "contentType",
    "content",
    "pattern",
    "range",
    "type",
    "interval",
    "daysOfWeek",
    "startDate",
    "endDate",
    "numberOfOccurrences",
    "id",
    "value",
    "displayName",
    "color",
    "requests",
    "method",
    "url",
    "headers",
    "dependsOn",
    "zzz",
]
TEXT = st.one_of(
    st.text(max_size=20),
    st.sampled_from(
        [
            "2026-12-01T09:00:00",
            "2026-12-01",
            "UTC",
            "Pacific Standard Time",
            "Europe/Berlin",
            "weekly",
            "daily",
            "numbered",
            "endDate",
            "noEnd",
            "monday",
            "html",
            "text",
            "preset3",
            "/me/events",
            "GET",
            "POST",
            "String {66f5a359-4659-4830-9070-00040ec6ac6e} Name ErpId",
            "9999-12-31T23:59:59",
            "0001-01-01T00:00:00",
        ]
    ),
)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(EVENT_KEYS), inner, max_size=6)
    ),
    max_leaves=25,
)
BODIES = st.one_of(
    st.dictionaries(st.sampled_from(EVENT_KEYS), JSON_VALUES, max_size=8), JSON_VALUES
)
QUERY_KEYS = [
    "startDateTime",
    "endDateTime",
    "$top",
    "$skip",
    "$select",
    "$filter",
    "$expand",
    "$orderby",
    "$skiptoken",
    "$deltatoken",
    "$search",
    "$count",
    "x",
]
QUERY_VALUES = st.one_of(
    TEXT,
    st.sampled_from(
        [
            "10",
            "-1",
            "0",
            "1001",
            "subject,start",
            "bogus",
            "subject eq 'a'",
            "singleValueExtendedProperties/Any(ep: ep/id eq 'x')",
            "start/dateTime ge '2026-12-01T00:00:00Z' and isAllDay eq false",
            "contains(subject, 'x') or not (type eq 'occurrence')",
            "((((",
            "singleValueExtendedProperties($filter=id eq 'nope')",
            "start/dateTime desc",
        ]
    ),
)
QUERIES = st.dictionaries(st.sampled_from(QUERY_KEYS), QUERY_VALUES, max_size=5)


class SyncClient:
    """Plain calls into the app through httpx.ASGITransport (Hypothesis drives sync tests)."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        async def call() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(
                transport=transport, base_url="https://graph.emu.test"
            ) as c:
                return await c.request(method, url, **kwargs)

        return asyncio.run(call())

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", url, **kwargs)


@pytest.fixture(scope="module")
def fuzz_client() -> tuple[SyncClient, str]:
    clock = EmulatorClock()
    verifier = StaticTokenVerifier(clock)
    app, _faults, _stats, _runtime = build_app(GraphState(), clock, verifier)
    token = verifier.issue(TENANT, ALICE, "alice@contoso.test")
    client = SyncClient(app)
    seed = {
        "subject": "seed",
        "start": {"dateTime": "2026-12-01T09:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2026-12-01T10:00:00", "timeZone": "UTC"},
    }
    client.post("/v1.0/me/events", json=seed, headers={"Authorization": f"Bearer {token}"})
    return client, token


def assert_graph_answer(status: int, text: str) -> None:
    assert status < 500, text
    if status >= 400:
        error = json.loads(text)["error"]
        assert isinstance(error["code"], str)
        assert error["code"]
        assert set(error["innerError"]) == {"date", "request-id", "client-request-id"}


@FUZZ
@given(
    route=st.sampled_from(["/me/events", "/me/outlook/masterCategories", "/$batch"]),
    body=BODIES,
)
def test_fuzzed_post_bodies_get_graph_shaped_4xx_never_500(
    fuzz_client: tuple[SyncClient, str], route: str, body: Any
) -> None:
    client, token = fuzz_client
    answer = client.post(f"/v1.0{route}", json=body, headers={"Authorization": f"Bearer {token}"})
    assert_graph_answer(answer.status_code, answer.text)


@FUZZ
@given(body=BODIES, raw=st.binary(max_size=40))
def test_fuzzed_patch_bodies_get_graph_shaped_4xx_never_500(
    fuzz_client: tuple[SyncClient, str], body: Any, raw: bytes
) -> None:
    client, token = fuzz_client
    headers = {"Authorization": f"Bearer {token}"}
    seed = client.get("/v1.0/me/events", headers=headers).json()["value"][0]["id"]
    answer = client.patch(f"/v1.0/me/events/{seed}", json=body, headers=headers)
    assert_graph_answer(answer.status_code, answer.text)
    garbage = client.patch(f"/v1.0/me/events/{seed}", content=raw, headers=headers)
    assert_graph_answer(garbage.status_code, garbage.text)


@FUZZ
@given(
    route=st.sampled_from(
        [
            "/me/events",
            "/me/calendarView",
            "/me/calendarView/delta",
            "/me/events/AAMkAGx",
            "/me/outlook/masterCategories",
            "/me/nothing",
        ]
    ),
    query=QUERIES,
    prefer=st.sampled_from(
        [
            "",
            "odata.maxpagesize=3",
            'outlook.timezone="Nowhere/Else"',
            'outlook.body-content-type="text", IdType="ImmutableId"',
            ',,="',
        ]
    ),
)
def test_fuzzed_query_strings_get_graph_shaped_4xx_never_500(
    fuzz_client: tuple[SyncClient, str], route: str, query: dict[str, str], prefer: str
) -> None:
    client, token = fuzz_client
    headers = {"Authorization": f"Bearer {token}", "Prefer": prefer}
    answer = client.get(f"/v1.0{route}", params=query, headers=headers)
    assert_graph_answer(answer.status_code, answer.text)


DATES = st.sampled_from(
    [
        "2026-12-01",
        "2026-12-31",
        "2027-03-28",
        "2026-02-30",
        "0001-01-01",
        "9999-12-31",
        "2026-12-01T10:00:00",
        "junk",
    ]
)
RECURRENCES = st.fixed_dictionaries(
    {
        "pattern": st.fixed_dictionaries(
            {
                "type": st.sampled_from(["daily", "weekly", "absoluteMonthly", "x"]),
                "interval": st.one_of(st.integers(-2, 1000), TEXT),
            },
            optional={
                "daysOfWeek": st.lists(st.sampled_from(["monday", "Sunday", "funday"]), max_size=3),
                "firstDayOfWeek": st.sampled_from(["monday", "sunday", "nope"]),
            },
        ),
        "range": st.fixed_dictionaries(
            {"type": st.sampled_from(["endDate", "numbered", "noEnd", "x"])},
            optional={
                "startDate": DATES,
                "endDate": DATES,
                "numberOfOccurrences": st.integers(-1, 60),
                "recurrenceTimeZone": st.sampled_from(["UTC", "Pacific Standard Time", "Mars"]),
            },
        ),
    }
)


@FUZZ
@given(
    recurrence=RECURRENCES,
    start=st.sampled_from(["2026-12-01T09:00:00", "2026-12-01T00:00:00", "2027-03-28T02:30:00"]),
    zone=st.sampled_from(["UTC", "W. Europe Standard Time", "America/New_York", "Bogus"]),
    all_day=st.booleans(),
    window=st.sampled_from(
        [
            ("2026-11-30T00:00:00Z", "2027-01-05T00:00:00Z"),
            ("2026-12-01T00:00:00+01:00", "2026-12-01T00:00:00+01:00"),
            ("0001-01-01T00:00:00Z", "9999-12-31T00:00:00Z"),
        ]
    ),
)
def test_fuzzed_series_and_windows_never_500(
    fuzz_client: tuple[SyncClient, str],
    recurrence: dict[str, Any],
    start: str,
    zone: str,
    all_day: bool,
    window: tuple[str, str],
) -> None:
    client, token = fuzz_client
    headers = {"Authorization": f"Bearer {token}"}
    body = {
        "subject": "series",
        "isAllDay": all_day,
        "recurrence": recurrence,
        "start": {"dateTime": start, "timeZone": zone},
        "end": {"dateTime": start.replace("T09", "T10"), "timeZone": zone},
    }
    made = client.post("/v1.0/me/events", json=body, headers=headers)
    assert_graph_answer(made.status_code, made.text)
    view = client.get(
        "/v1.0/me/calendarView",
        headers=headers,
        params={"startDateTime": window[0], "endDateTime": window[1], "$top": "3"},
    )
    assert_graph_answer(view.status_code, view.text)
    if made.status_code == 201:
        client.request("DELETE", f"/v1.0/me/events/{made.json()['id']}", headers=headers)
