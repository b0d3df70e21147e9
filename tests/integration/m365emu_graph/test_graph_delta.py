"""calendarView and its delta (issue 5 item 3; event-delta.md): paging, idle rounds,
updates, deletes, events moving out of the window, recurring series, expiry faults."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from m365emu.graph import DeltaExpiry
from support.graph_harness import GraphHarness

WINDOW = {"startDateTime": "2026-12-01T00:00:00Z", "endDateTime": "2026-12-08T00:00:00Z"}


def event(subject: str, day: int, hour: int = 9) -> dict[str, object]:
    return {
        "subject": subject,
        "start": {"dateTime": f"2026-12-{day:02d}T{hour:02d}:00:00", "timeZone": "UTC"},
        "end": {"dateTime": f"2026-12-{day:02d}T{hour:02d}:30:00", "timeZone": "UTC"},
    }


async def follow(graph: GraphHarness, link: str, **headers: str) -> dict[str, Any]:
    parts = urlsplit(link)
    answer = await graph.client.get(
        parts.path.removeprefix("/v1.0") + "?" + parts.query, headers=graph.headers(**headers)
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def full_sync(
    graph: GraphHarness, page_size: int = 2
) -> tuple[list[dict[str, Any]], str, int]:
    prefer = {"Prefer": f"odata.maxpagesize={page_size}"}
    first = await graph.client.get(
        "/me/calendarView/delta", params=WINDOW, headers=graph.headers(**prefer)
    )
    assert first.status_code == 200, first.text
    assert first.headers["Preference-Applied"] == f"odata.maxpagesize={page_size}"
    body, items, pages = first.json(), [], 1
    items += body["value"]
    while "@odata.nextLink" in body:
        body = await follow(graph, str(body["@odata.nextLink"]), **prefer)
        items += body["value"]
        pages += 1
    return items, str(body["@odata.deltaLink"]), pages


async def test_first_sync_comes_over_several_pages_then_idle_delta_is_empty(
    graph: GraphHarness,
) -> None:
    for n in range(5):
        await graph.client.post("/me/events", json=event(f"E{n}", 2 + n), headers=graph.headers())
    await graph.client.post("/me/events", json=event("far", 20), headers=graph.headers())
    items, delta_link, pages = await full_sync(graph)
    assert pages == 3
    assert sorted(i["subject"] for i in items) == ["E0", "E1", "E2", "E3", "E4"]
    assert all(i["@odata.type"] == "#microsoft.graph.event" for i in items)
    idle = await follow(graph, delta_link)
    assert idle["value"] == []
    assert "@odata.deltaLink" in idle


async def test_update_delete_and_move_out_of_window_are_reported(graph: GraphHarness) -> None:
    ids = []
    for n in range(3):
        made = await graph.client.post(
            "/me/events", json=event(f"E{n}", 2 + n), headers=graph.headers()
        )
        ids.append(made.json()["id"])
    _, delta_link, _ = await full_sync(graph)
    await graph.client.patch(
        f"/me/events/{ids[0]}", json={"subject": "E0 [sync]"}, headers=graph.headers()
    )
    await graph.client.delete(f"/me/events/{ids[1]}", headers=graph.headers())
    moved = event("E2", 25)
    await graph.client.patch(
        f"/me/events/{ids[2]}",
        json={"start": moved["start"], "end": moved["end"]},
        headers=graph.headers(),
    )
    changes = await follow(graph, delta_link)
    by_id = {i["id"]: i for i in changes["value"]}
    assert by_id[ids[0]]["subject"] == "E0 [sync]"
    assert by_id[ids[1]]["@removed"] == {"reason": "deleted"}
    assert by_id[ids[2]]["@removed"] == {"reason": "deleted"}
    again = await follow(graph, str(changes["@odata.deltaLink"]))
    assert again["value"] == []


async def test_calendar_view_pages_ten_by_default_and_expands_series(graph: GraphHarness) -> None:
    series = {
        **event("Daily stand-up", 1),
        "recurrence": {
            "pattern": {"type": "daily", "interval": 1},
            "range": {"type": "numbered", "startDate": "2026-12-01", "numberOfOccurrences": 12},
        },
    }
    master = (await graph.client.post("/me/events", json=series, headers=graph.headers())).json()
    assert master["type"] == "seriesMaster"
    window = {"startDateTime": "2026-12-01T00:00:00Z", "endDateTime": "2026-12-31T00:00:00Z"}
    first = (
        await graph.client.get("/me/calendarView", params=window, headers=graph.headers())
    ).json()
    assert len(first["value"]) == 10
    assert {i["type"] for i in first["value"]} == {"occurrence"}
    assert {i["seriesMasterId"] for i in first["value"]} == {master["id"]}
    rest = await follow(graph, first["@odata.nextLink"])
    assert len(rest["value"]) == 2
    assert "@odata.nextLink" not in rest
    third = first["value"][2]
    changed = await graph.client.patch(
        f"/me/events/{third['id']}", json={"subject": "Moved"}, headers=graph.headers()
    )
    assert changed.json()["type"] == "exception"
    assert changed.json()["id"] == third["id"]  # an occurrence keeps its id as an exception
    await graph.client.delete(f"/me/events/{first['value'][3]['id']}", headers=graph.headers())
    top = (
        await graph.client.get(
            "/me/calendarView", params={**window, "$top": "50"}, headers=graph.headers()
        )
    ).json()
    assert len(top["value"]) == 11
    assert [i["type"] for i in top["value"]].count("exception") == 1


async def test_calendar_view_needs_both_bounds(graph: GraphHarness) -> None:
    answer = await graph.client.get(
        "/me/calendarView",
        params={"startDateTime": "2026-12-01T00:00:00Z"},
        headers=graph.headers(),
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "ErrorInvalidParameter"
    delta = await graph.client.get("/me/calendarView/delta", headers=graph.headers())
    assert delta.status_code == 400


@pytest.mark.parametrize("option", ["$select", "$filter", "$expand"])
async def test_delta_refuses_select_filter_expand(graph: GraphHarness, option: str) -> None:
    answer = await graph.client.get(
        "/me/calendarView/delta", params={**WINDOW, option: "subject"}, headers=graph.headers()
    )
    assert answer.status_code == 400
    assert "innerError" in answer.json()["error"]


async def test_gone410_fault_answers_410_with_a_location_that_resyncs(graph: GraphHarness) -> None:
    await graph.client.post("/me/events", json=event("E", 2), headers=graph.headers())
    _, delta_link, _ = await full_sync(graph)
    graph.state.expire_delta(graph.alice_key, DeltaExpiry.GONE_410)
    parts = urlsplit(delta_link)
    gone = await graph.client.get(
        parts.path.removeprefix("/v1.0") + "?" + parts.query, headers=graph.headers()
    )
    assert gone.status_code == 410
    assert gone.json()["error"]["code"] == "resyncRequired"
    restart = await follow(graph, gone.headers["Location"])
    assert [i["subject"] for i in restart["value"]] == ["E"]
    stale = await graph.client.get(
        parts.path.removeprefix("/v1.0") + "?" + parts.query, headers=graph.headers()
    )
    assert stale.json()["error"]["code"] == "syncStateNotFound"


@pytest.mark.parametrize(
    ("kind", "code"),
    [
        (DeltaExpiry.SYNC_STATE_NOT_FOUND, "syncStateNotFound"),
        (DeltaExpiry.RESYNC_REQUIRED, "resyncRequired"),
    ],
)
async def test_expiry_faults_answer_their_codes(
    graph: GraphHarness, kind: DeltaExpiry, code: str
) -> None:
    _, delta_link, _ = await full_sync(graph)
    box = graph.state.find_by_email("ALICE@contoso.test")
    assert box is not None
    graph.state.expire_delta(box.key, kind)
    parts = urlsplit(delta_link)
    answer = await graph.client.get(
        parts.path.removeprefix("/v1.0") + "?" + parts.query, headers=graph.headers()
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == code


async def test_instances_of_a_series_list_its_occurrences_and_exceptions(
    graph: GraphHarness,
) -> None:
    series = {
        **event("Weekly review", 1),
        "recurrence": {
            "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["tuesday", "friday"]},
            "range": {"type": "endDate", "startDate": "2026-12-01", "endDate": "2026-12-31"},
        },
    }
    master = (await graph.client.post("/me/events", json=series, headers=graph.headers())).json()
    await graph.client.post("/me/events", json=event("Single", 2), headers=graph.headers())
    window = {"startDateTime": "2026-12-01T00:00:00Z", "endDateTime": "2026-12-15T00:00:00Z"}
    answer = await graph.client.get(
        f"/me/events/{master['id']}/instances", params=window, headers=graph.headers()
    )
    days = [i["start"]["dateTime"][:10] for i in answer.json()["value"]]
    assert days == ["2026-12-01", "2026-12-04", "2026-12-08", "2026-12-11"]


async def test_delta_reports_series_occurrences_exceptions_and_cancellations(
    graph: GraphHarness,
) -> None:
    series = {
        **event("Daily", 1),
        "recurrence": {
            "pattern": {"type": "daily", "interval": 1},
            "range": {"type": "numbered", "startDate": "2026-12-01", "numberOfOccurrences": 3},
        },
    }
    await graph.client.post("/me/events", json=series, headers=graph.headers())
    items, delta_link, _ = await full_sync(graph, page_size=10)
    assert [i["type"] for i in items] == ["occurrence"] * 3
    first, second = items[0]["id"], items[1]["id"]
    await graph.client.patch(
        f"/me/events/{first}", json={"subject": "Moved"}, headers=graph.headers()
    )
    await graph.client.delete(f"/me/events/{second}", headers=graph.headers())
    changes = await follow(graph, delta_link)
    by_id = {i["id"]: i for i in changes["value"]}
    assert by_id[first]["type"] == "exception"
    assert by_id[first]["subject"] == "Moved"
    assert by_id[second]["@removed"] == {"reason": "deleted"}
