"""Immutable and default ids are distinct (learn.microsoft.com/graph/outlook-immutable-id),
`Prefer: IdType="ImmutableId"` applies to its own request only — a `$batch` item and a
delta page included — and malformed ids answer 400 `ErrorInvalidIdMalformed` (issue 24
items 1 and 3; graph.md §1)."""

from __future__ import annotations

import pytest

from support.graph_harness import MISSING_ID, GraphHarness

IMMUTABLE = {"Prefer": 'IdType="ImmutableId"'}
JSON = {"Content-Type": "application/json"}
EVENT = {
    "subject": "Ids",
    "start": {"dateTime": "2026-12-01T09:00:00", "timeZone": "UTC"},
    "end": {"dateTime": "2026-12-01T10:00:00", "timeZone": "UTC"},
}
WINDOW = {"startDateTime": "2026-11-30T00:00:00Z", "endDateTime": "2026-12-03T00:00:00Z"}


async def _create(graph: GraphHarness, **headers: str) -> str:
    answer = await graph.client.post("/me/events", json=EVENT, headers=graph.headers(**headers))
    assert answer.status_code == 201
    return str(answer.json()["id"])


async def test_default_and_immutable_ids_differ_and_both_find_the_event(
    graph: GraphHarness,
) -> None:
    default = await _create(graph)
    immutable = (
        await graph.client.get(f"/me/events/{default}", headers=graph.headers(**IMMUTABLE))
    ).json()["id"]
    assert default != immutable
    assert default.startswith("AAMk")
    assert immutable.startswith("AAkA")
    again = await graph.client.get(f"/me/events/{immutable}", headers=graph.headers())
    assert again.json()["id"] == default  # the request without the header sees the default id
    assert "preference-applied" not in again.headers


async def test_a_move_changes_the_default_id_and_keeps_the_immutable_one(
    graph: GraphHarness,
) -> None:
    immutable = await _create(graph, **IMMUTABLE)
    before = (await graph.client.get(f"/me/events/{immutable}", headers=graph.headers())).json()
    box = graph.state.mailboxes()[0]
    box.events.move(immutable, graph.clock.now())
    after = (await graph.client.get(f"/me/events/{immutable}", headers=graph.headers())).json()
    assert after["id"] != before["id"]
    stale = await graph.client.get(f"/me/events/{before['id']}", headers=graph.headers())
    assert stale.status_code == 404
    kept = await graph.client.get(f"/me/events/{immutable}", headers=graph.headers(**IMMUTABLE))
    assert kept.json()["id"] == immutable


async def test_each_batch_item_gets_the_id_form_its_own_headers_ask_for(
    graph: GraphHarness,
) -> None:
    default = await _create(graph)
    batch = {
        "requests": [
            {"id": "1", "method": "GET", "url": f"/me/events/{default}", "headers": IMMUTABLE},
            {"id": "2", "method": "GET", "url": f"/me/events/{default}"},
        ]
    }
    # The outer request's Prefer is not an item's (json-batching.md: headers per request).
    answer = await graph.client.post("/$batch", json=batch, headers=graph.headers(**IMMUTABLE))
    items = {r["id"]: r for r in answer.json()["responses"]}
    assert items["1"]["body"]["id"].startswith("AAkA")
    assert items["1"]["headers"]["Preference-Applied"] == 'IdType="ImmutableId"'
    assert items["2"]["body"]["id"] == default


async def test_delta_pages_carry_the_id_form_of_their_own_request(graph: GraphHarness) -> None:
    default = await _create(graph)
    plain = await graph.client.get("/me/calendarView/delta", params=WINDOW, headers=graph.headers())
    assert [e["id"] for e in plain.json()["value"]] == [default]
    first = await graph.client.get(
        "/me/calendarView/delta", params=WINDOW, headers=graph.headers(**IMMUTABLE)
    )
    (immutable,) = [e["id"] for e in first.json()["value"]]
    assert immutable != default
    assert immutable.startswith("AAkA")
    await graph.client.delete(f"/me/events/{immutable}", headers=graph.headers())
    link = first.json()["@odata.deltaLink"]
    removed = await graph.client.get(link, headers=graph.headers(**IMMUTABLE))
    assert removed.json()["value"][0]["id"] == immutable
    assert removed.json()["value"][0]["@removed"] == {"reason": "deleted"}


@pytest.mark.parametrize(
    "bad_id", ["abc", "285", "AAMkAGI1AAAt9AHjAAA=", "AAkALg" + "A" * 20, "AAMkOcnonsense"]
)
async def test_a_malformed_id_answers_400_id_is_malformed_never_404(
    graph: GraphHarness, bad_id: str
) -> None:
    real = await _create(graph)
    truncated = real[:-5]
    for event_id in (bad_id, truncated):
        for method in ("GET", "PATCH", "DELETE"):
            answer = await graph.client.request(
                method,
                f"/me/events/{event_id}",
                json={"subject": "x"} if method == "PATCH" else None,
                headers=graph.headers(**JSON),
            )
            assert answer.status_code == 400, (method, event_id)
            assert answer.json()["error"]["code"] == "ErrorInvalidIdMalformed"
            assert answer.json()["error"]["message"] == "Id is malformed."
    unknown = await graph.client.get(f"/me/events/{MISSING_ID}", headers=graph.headers())
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "ErrorItemNotFound"


async def test_occurrences_and_their_master_use_the_requested_id_form(
    graph: GraphHarness,
) -> None:
    series = {
        **EVENT,
        "recurrence": {
            "pattern": {"type": "daily", "interval": 1},
            "range": {"type": "numbered", "startDate": "2026-12-01", "numberOfOccurrences": 2},
        },
    }
    made = await graph.client.post("/me/events", json=series, headers=graph.headers(**IMMUTABLE))
    master = made.json()["id"]
    for headers, prefix in ((IMMUTABLE, "AAkA"), ({}, "AAMk")):
        view = await graph.client.get(
            "/me/calendarView", params=WINDOW, headers=graph.headers(**headers)
        )
        occurrences = view.json()["value"]
        assert len(occurrences) == 2
        assert all(o["seriesMasterId"].startswith(prefix) for o in occurrences)
        one = await graph.client.get(
            f"/me/events/{occurrences[0]['id']}", headers=graph.headers(**headers)
        )
        assert one.status_code == 200
        assert one.json()["seriesMasterId"] == (master if headers else one.json()["seriesMasterId"])


async def test_prefer_id_type_is_honoured_per_request_never_sticky(graph: GraphHarness) -> None:
    """outlook-immutable-id.md: the header applies to the request that carries it. The same
    client, token and connection alternate with and without it, on every kind of call: each
    answer has the form its own request asked for, whatever the requests before it asked."""
    immutable = await _create(graph, **IMMUTABLE)
    default = await _create(graph)  # right after an immutable request: still a default id
    assert immutable.startswith("AAkA")
    assert default.startswith("AAMk")
    other = await graph.client.get(f"/me/events/{default}", headers=graph.headers(**IMMUTABLE))
    again = await graph.client.get(f"/me/events/{immutable}", headers=graph.headers())
    ids = {  # both events, in each id form
        "AAkA": {immutable, other.json()["id"]},
        "AAMk": {default, again.json()["id"]},
    }
    for form, with_header in (("AAkA", True), ("AAMk", False)) * 3:
        headers = graph.headers(**(IMMUTABLE if with_header else {}))
        listed = await graph.client.get("/me/events", headers=headers)
        view = await graph.client.get("/me/calendarView", params=WINDOW, headers=headers)
        delta = await graph.client.get("/me/calendarView/delta", params=WINDOW, headers=headers)
        patched = await graph.client.patch(
            f"/me/events/{immutable}", json={"subject": form}, headers={**headers, **JSON}
        )
        for answer in (listed, view, delta):
            assert {e["id"] for e in answer.json()["value"]} == ids[form], (form, answer.url)
        assert patched.json()["id"] in ids[form]
        applied = patched.headers.get("preference-applied")
        assert applied == ('IdType="ImmutableId"' if with_header else None)
