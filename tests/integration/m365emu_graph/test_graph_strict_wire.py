"""The emulator is as strict as Graph on the wire (issue 24): a write needs a JSON
Content-Type (microsoft-graph-docs-contrib#6337), JSON answers carry Graph's full media
type (json-batching.md response example)."""

from __future__ import annotations

import json

import pytest

from m365emu.graph.common.http import GRAPH_JSON
from support.graph_harness import GraphHarness

EVENT = {
    "subject": "Strict",
    "start": {"dateTime": "2026-12-01T09:00:00", "timeZone": "UTC"},
    "end": {"dateTime": "2026-12-01T10:00:00", "timeZone": "UTC"},
}
UNREADABLE = (
    "Unable to read JSON request payload. Please ensure Content-Type header is set "
    "and payload is of valid JSON format."
)


async def test_a_create_without_content_type_is_refused_as_graph_does(
    graph: GraphHarness,
) -> None:
    answer = await graph.client.post(
        "/me/events", content=json.dumps(EVENT).encode(), headers=graph.headers()
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "BadRequest"
    assert answer.json()["error"]["message"] == UNREADABLE
    assert all(not box.events.events for box in graph.state.mailboxes())


async def test_a_patch_with_a_text_content_type_is_refused_as_graph_does(
    graph: GraphHarness,
) -> None:
    made = await graph.client.post("/me/events", json=EVENT, headers=graph.headers())
    event_id = made.json()["id"]
    answer = await graph.client.patch(
        f"/me/events/{event_id}",
        content=b'{"subject": "changed"}',
        headers=graph.headers(**{"Content-Type": "text/plain"}),
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["message"] == UNREADABLE
    again = await graph.client.get(f"/me/events/{event_id}", headers=graph.headers())
    assert again.json()["subject"] == "Strict"


async def test_json_answers_and_errors_carry_graphs_full_media_type(graph: GraphHarness) -> None:
    made = await graph.client.post(
        "/me/events", json=EVENT, headers=graph.headers(**{"Content-Type": "application/json"})
    )
    assert made.headers["content-type"] == GRAPH_JSON
    missing = await graph.client.get("/me/nothing", headers=graph.headers())
    assert missing.headers["content-type"] == GRAPH_JSON


def _get(item_id: str, **extra: object) -> dict[str, object]:
    return {"id": item_id, "method": "GET", "url": "/me/events", **extra}


@pytest.mark.parametrize(
    ("requests", "message"),
    [
        # json-batching.md: dependsOn sequences after an EARLIER request.
        ([_get("1", dependsOn=["2"]), _get("2")], "Invalid dependency for request Id 1."),
        ([_get("1"), _get("2", dependsOn=["7"])], "Invalid dependency for request Id 2."),
        ([_get("1", dependsOn=["1"])], "Invalid dependency for request Id 1."),
        ([_get("a"), _get("A")], "Invalid batch payload: request ids must be unique."),
        (
            [_get(str(i)) for i in range(21)],
            "The number of requests in a batch cannot exceed 20.",
        ),
    ],
)
async def test_a_batch_graph_refuses_is_refused_whole_with_400_and_nothing_runs(
    graph: GraphHarness, requests: list[dict[str, object]], message: str
) -> None:
    answer = await graph.client.post(
        "/$batch", json={"requests": requests}, headers=graph.headers()
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "BadRequest"
    assert answer.json()["error"]["message"] == message
    assert graph.stats.as_json()["requests"][graph.alice_key] == {"POST /$batch": 1}


async def test_a_batch_depending_on_earlier_requests_runs_in_order(graph: GraphHarness) -> None:
    made = {
        "id": "1",
        "method": "POST",
        "url": "/me/events",
        "headers": {"Content-Type": "application/json"},
        "body": EVENT,
    }
    answer = await graph.client.post(
        "/$batch",
        json={"requests": [made, _get("2", dependsOn=["1"]), _get("3", dependsOn=["1", "2"])]},
        headers=graph.headers(),
    )
    assert [r["status"] for r in answer.json()["responses"]] == [201, 200, 200]
