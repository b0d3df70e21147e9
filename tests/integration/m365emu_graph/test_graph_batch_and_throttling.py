"""$batch (issue 5 item 5; json-batching.md) and Outlook throttling (item 6;
throttling-limits.md): 4 concurrent requests and 10,000 per 10 minutes per app and
mailbox, batch items counted one by one, stats with the in-flight high-water mark."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from m365emu.faults import Fault, FaultKind
from m365emu.graph.common.http import GRAPH_JSON
from support.graph_harness import ALICE, MISSING_ID, TENANT, GraphHarness

EVENT = {
    "subject": "Batch",
    "start": {"dateTime": "2026-12-01T09:00:00", "timeZone": "UTC"},
    "end": {"dateTime": "2026-12-01T10:00:00", "timeZone": "UTC"},
}
JSON = {"Content-Type": "application/json"}


async def test_batch_answers_each_item_and_424s_dependants_of_a_failure(
    graph: GraphHarness,
) -> None:
    batch = {
        "requests": [
            {"id": "1", "method": "POST", "url": "/me/events", "headers": JSON, "body": EVENT},
            {"id": "2", "method": "GET", "url": "me/events?$top=5", "dependsOn": ["1"]},
            {"id": "3", "method": "GET", "url": f"/me/events/{MISSING_ID}"},
            {"id": "4", "method": "DELETE", "url": f"/me/events/{MISSING_ID}", "dependsOn": ["3"]},
        ]
    }
    answer = await graph.client.post("/$batch", json=batch, headers=graph.headers())
    assert answer.status_code == 200
    items = {r["id"]: r for r in answer.json()["responses"]}
    assert items["1"]["status"] == 201
    assert items["1"]["body"]["subject"] == "Batch"
    assert items["2"]["status"] == 200
    assert len(items["2"]["body"]["value"]) == 1
    assert items["3"]["status"] == 404
    assert items["3"]["body"]["error"]["code"] == "ErrorItemNotFound"
    assert items["4"]["status"] == 424
    assert items["1"]["headers"]["Content-Type"] == GRAPH_JSON


async def test_batch_of_more_than_twenty_is_refused_whole(graph: GraphHarness) -> None:
    batch = {"requests": [{"id": str(n), "method": "GET", "url": "/me"} for n in range(21)]}
    answer = await graph.client.post("/$batch", json=batch, headers=graph.headers())
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "BadRequest"


async def test_fifth_concurrent_request_is_throttled_with_retry_after(graph: GraphHarness) -> None:
    graph.runtime.latency_ms = 300
    answers = await asyncio.gather(
        *(graph.client.get("/me/events", headers=graph.headers()) for _ in range(5))
    )
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200, 200, 200, 200, 429]
    [throttled] = [a for a in answers if a.status_code == 429]
    assert throttled.json()["error"]["code"] == "ApplicationThrottled"
    assert int(throttled.headers["Retry-After"]) >= 1
    assert graph.stats.as_json()["max_in_flight"][graph.alice_key] == 4


async def test_batch_items_run_four_at_a_time_and_never_exceed_the_limit(
    graph: GraphHarness,
) -> None:
    graph.runtime.latency_ms = 50
    batch = {"requests": [{"id": str(n), "method": "GET", "url": "/me"} for n in range(20)]}
    answer = await graph.client.post("/$batch", json=batch, headers=graph.headers())
    assert {r["status"] for r in answer.json()["responses"]} == {200}
    assert graph.stats.as_json()["max_in_flight"][graph.alice_key] == 4
    routes = graph.stats.as_json()["requests"][graph.alice_key]
    assert routes["GET /me"] == 20
    assert routes["POST /$batch"] == 1


async def test_request_10001_in_ten_minutes_is_throttled_and_batch_items_count(
    graph: GraphHarness,
) -> None:
    graph.clock.set(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    graph.token = graph.verifier.issue(TENANT, ALICE, "alice@contoso.test")
    batch = {"requests": [{"id": str(n), "method": "GET", "url": "/me"} for n in range(20)]}
    for _ in range(500):  # 10,000 requests, all as batch items
        answer = await graph.client.post("/$batch", json=batch, headers=graph.headers())
        assert answer.status_code == 200
    assert {r["status"] for r in answer.json()["responses"]} == {200}
    over = await graph.client.post("/$batch", json=batch, headers=graph.headers())
    assert over.status_code == 200  # 429s inside an outer 200
    item = over.json()["responses"][0]
    assert item["status"] == 429
    assert item["body"]["error"]["code"] == "ApplicationThrottled"
    assert item["headers"]["Retry-After"] == "600"
    direct = await graph.client.get("/me", headers=graph.headers())
    assert direct.status_code == 429
    graph.state.reset()  # the control plane's reset also empties the throttling windows
    assert (await graph.client.get("/me", headers=graph.headers())).status_code == 200
    graph.clock.set(datetime(2026, 12, 1, 9, 0, tzinfo=UTC) + timedelta(minutes=10, seconds=1))
    assert (await graph.client.get("/me", headers=graph.headers())).status_code == 200


async def test_faults_apply_to_graph_routes_and_batch_items(graph: GraphHarness) -> None:
    graph.faults.add(
        Fault("GET", "/me/events", FaultKind.THROTTLE, status=429, retry_after=7, count=1)
    )
    hit = await graph.client.get("/me/events", headers=graph.headers())
    assert hit.status_code == 429
    assert hit.headers["Retry-After"] == "7"
    assert (await graph.client.get("/me/events", headers=graph.headers())).status_code == 200
    graph.faults.add(Fault("POST", "/me/events", FaultKind.ERROR, status=503, count=1))
    batch = {
        "requests": [
            {"id": "a", "method": "POST", "url": "/me/events", "headers": JSON, "body": EVENT}
        ]
    }
    answer = await graph.client.post("/$batch", json=batch, headers=graph.headers())
    assert answer.json()["responses"][0]["status"] == 503


async def test_master_categories_list_create_and_refuse_duplicates(graph: GraphHarness) -> None:
    made = await graph.client.post(
        "/me/outlook/masterCategories",
        json={"displayName": "Sync", "color": "preset4"},
        headers=graph.headers(),
    )
    assert made.status_code == 201
    assert made.json()["color"] == "preset4"
    again = await graph.client.post(
        "/me/outlook/masterCategories",
        json={"displayName": "sync", "color": "preset1"},
        headers=graph.headers(),
    )
    assert again.status_code == 409
    bad = await graph.client.post(
        "/me/outlook/masterCategories",
        json={"displayName": "X", "color": "preset25"},
        headers=graph.headers(),
    )
    assert bad.status_code == 400
    listed = (
        await graph.client.get("/me/outlook/masterCategories", headers=graph.headers())
    ).json()
    assert [c["displayName"] for c in listed["value"]] == ["Sync"]
