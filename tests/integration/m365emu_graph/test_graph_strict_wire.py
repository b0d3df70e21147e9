"""The emulator is as strict as Graph on the wire (issue 24): a write needs a JSON
Content-Type (microsoft-graph-docs-contrib#6337), JSON answers carry Graph's full media
type (json-batching.md response example)."""

from __future__ import annotations

import json

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
