"""Events over HTTP: create, read, update, delete, Prefer headers, If-Match,
transactionId and extended properties (issue 5 item 2; graph.md §1, §2, §4)."""

from __future__ import annotations

import re

from support.graph_harness import GraphHarness

LUNCH = {
    "subject": "Lunch",
    "body": {
        "contentType": "HTML",
        "content": "<p>Hi <a href='https://x.test'>link</a><script>alert(1)</script></p>",
    },
    "start": {"dateTime": "2026-12-01T12:00:00", "timeZone": "W. Europe Standard Time"},
    "end": {"dateTime": "2026-12-01T13:00:00", "timeZone": "W. Europe Standard Time"},
}
ERP = "String {66f5a359-4659-4830-9070-00040ec6ac6e} Name ErpId"


async def test_create_returns_201_with_graph_fields_and_utc_times(graph: GraphHarness) -> None:
    answer = await graph.client.post("/me/events", json=LUNCH, headers=graph.headers())
    assert answer.status_code == 201, answer.text
    event = answer.json()
    assert event["@odata.etag"] == f'W/"{event["changeKey"]}"'
    assert event["start"] == {"dateTime": "2026-12-01T11:00:00.0000000", "timeZone": "UTC"}
    assert event["originalStartTimeZone"] == "W. Europe Standard Time"
    assert event["type"] == "singleInstance"
    assert event["seriesMasterId"] is None
    assert event["body"]["contentType"] == "html"
    assert event["body"]["content"].startswith("<html>")
    assert "<script>" not in event["body"]["content"]
    assert "https://x.test" in event["body"]["content"]
    assert event["bodyPreview"] == "Hi link"
    assert "transactionId" not in event  # event.md: returned only if an app set it
    # DateTimeOffset trims trailing zeros (user-post-events.md: "…51.245372Z"; issue 24 item 5)
    trimmed = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{0,6}[1-9])?Z"
    assert re.fullmatch(trimmed, event["createdDateTime"])
    assert answer.headers["request-id"]


async def test_prefer_timezone_and_text_body_are_applied_and_echoed(graph: GraphHarness) -> None:
    made = (await graph.client.post("/me/events", json=LUNCH, headers=graph.headers())).json()
    prefer = 'outlook.timezone="Pacific Standard Time", outlook.body-content-type="text"'
    answer = await graph.client.get(
        f"/me/events/{made['id']}", headers=graph.headers(Prefer=prefer)
    )
    event = answer.json()
    assert event["start"] == {
        "dateTime": "2026-12-01T03:00:00.0000000",
        "timeZone": "Pacific Standard Time",
    }
    assert event["body"] == {"contentType": "text", "content": "Hi\r\nlink"}
    assert 'outlook.timezone="Pacific Standard Time"' in answer.headers["Preference-Applied"]
    iana = await graph.client.get(
        f"/me/events/{made['id']}", headers=graph.headers(Prefer='outlook.timezone="Europe/Berlin"')
    )
    assert iana.json()["start"]["dateTime"] == "2026-12-01T12:00:00.0000000"


async def test_patch_with_stale_etag_is_412_and_fresh_etag_updates(graph: GraphHarness) -> None:
    made = (await graph.client.post("/me/events", json=LUNCH, headers=graph.headers())).json()
    url = f"/me/events/{made['id']}"
    first = await graph.client.patch(
        url,
        json={"subject": "Lunch [sync]"},
        headers=graph.headers(**{"If-Match": made["@odata.etag"]}),
    )
    assert first.status_code == 200
    assert first.json()["subject"] == "Lunch [sync]"
    assert first.json()["changeKey"] != made["changeKey"]
    stale = await graph.client.patch(
        url, json={"subject": "x"}, headers=graph.headers(**{"If-Match": made["@odata.etag"]})
    )
    assert stale.status_code == 412
    assert stale.json()["error"]["code"] == "ErrorIrresolvableConflict"


async def test_delete_then_get_is_404_item_not_found(graph: GraphHarness) -> None:
    made = (await graph.client.post("/me/events", json=LUNCH, headers=graph.headers())).json()
    gone = await graph.client.delete(f"/me/events/{made['id']}", headers=graph.headers())
    assert gone.status_code == 204
    again = await graph.client.get(f"/me/events/{made['id']}", headers=graph.headers())
    assert again.status_code == 404
    error = again.json()["error"]
    assert error["code"] == "ErrorItemNotFound"
    assert set(error["innerError"]) == {"date", "request-id", "client-request-id"}


async def test_same_transaction_id_creates_once_and_answers_the_first_event(
    graph: GraphHarness,
) -> None:
    body = {**LUNCH, "transactionId": "tx-42"}
    first = await graph.client.post("/me/events", json=body, headers=graph.headers())
    second = await graph.client.post(
        "/me/events", json={**body, "subject": "Other"}, headers=graph.headers()
    )
    assert first.status_code == second.status_code == 201
    assert second.json()["id"] == first.json()["id"]
    assert second.json()["subject"] == "Lunch"
    assert first.json()["transactionId"] == "tx-42"
    listed = (await graph.client.get("/me/events", headers=graph.headers())).json()["value"]
    assert len(listed) == 1


async def test_extended_property_filter_and_expand(graph: GraphHarness) -> None:
    body = {**LUNCH, "singleValueExtendedProperties": [{"id": ERP, "value": "A-123"}]}
    made = (await graph.client.post("/me/events", json=body, headers=graph.headers())).json()
    await graph.client.post("/me/events", json=LUNCH, headers=graph.headers())
    assert "singleValueExtendedProperties" not in made
    flt = f"singleValueExtendedProperties/Any(ep: ep/id eq '{ERP}' and ep/value eq 'a-123')"
    found = await graph.client.get("/me/events", params={"$filter": flt}, headers=graph.headers())
    assert [e["id"] for e in found.json()["value"]] == [made["id"]]
    expand = f"singleValueExtendedProperties($filter=id eq '{ERP}')"
    one = await graph.client.get(
        f"/me/events/{made['id']}", params={"$expand": expand}, headers=graph.headers()
    )
    assert one.json()["singleValueExtendedProperties"] == [{"id": ERP, "value": "A-123"}]


async def test_all_day_event_must_start_and_end_at_midnight(graph: GraphHarness) -> None:
    bad = {**LUNCH, "isAllDay": True}
    answer = await graph.client.post("/me/events", json=bad, headers=graph.headers())
    assert answer.status_code == 400
    good = {
        "subject": "Holiday",
        "isAllDay": True,
        "start": {"dateTime": "2026-12-24T00:00:00", "timeZone": "W. Europe Standard Time"},
        "end": {"dateTime": "2026-12-25T00:00:00", "timeZone": "W. Europe Standard Time"},
    }
    made = await graph.client.post("/me/events", json=good, headers=graph.headers())
    assert made.status_code == 201
    assert made.json()["isAllDay"] is True


async def test_missing_foreign_and_expired_tokens_are_401(graph: GraphHarness) -> None:
    none = await graph.client.get("/me/events")
    assert none.status_code == 401
    assert none.json()["error"]["code"] == "InvalidAuthenticationToken"
    foreign = await graph.client.get("/me/events", headers=graph.headers("not-ours"))
    assert foreign.status_code == 401
    from datetime import timedelta

    graph.clock.set(graph.clock.now() + timedelta(hours=2))
    expired = await graph.client.get("/me/events", headers=graph.headers())
    assert expired.status_code == 401


async def test_missing_scopes_are_403_access_denied(graph: GraphHarness) -> None:
    from support.graph_harness import ALICE, TENANT

    weak = graph.verifier.issue(
        TENANT, ALICE, "alice@contoso.test", scopes=frozenset({"User.Read"})
    )
    events = await graph.client.get("/me/events", headers=graph.headers(weak))
    assert events.status_code == 403
    assert events.json()["error"]["code"] == "ErrorAccessDenied"
    cats = await graph.client.get("/me/outlook/masterCategories", headers=graph.headers(weak))
    assert cats.status_code == 403
    read_only = graph.verifier.issue(
        TENANT, ALICE, "alice@contoso.test", scopes=frozenset({"MailboxSettings.Read"})
    )
    listed = await graph.client.get(
        "/me/outlook/masterCategories", headers=graph.headers(read_only)
    )
    assert listed.status_code == 200
    post = await graph.client.post(
        "/me/outlook/masterCategories", json={"displayName": "x"}, headers=graph.headers(read_only)
    )
    assert post.status_code == 403


async def test_select_top_immutable_id_and_unknown_paths(graph: GraphHarness) -> None:
    await graph.client.post("/me/events", json=LUNCH, headers=graph.headers())
    window = {"startDateTime": "2026-12-01T00:00:00Z", "endDateTime": "2026-12-02T00:00:00Z"}
    picked = await graph.client.get(
        "/me/calendarView",
        params={**window, "$select": "subject,start"},
        headers=graph.headers(Prefer='IdType="ImmutableId"'),
    )
    [item] = picked.json()["value"]
    assert set(item) == {"@odata.etag", "id", "subject", "start"}
    assert picked.headers["Preference-Applied"] == 'IdType="ImmutableId"'
    too_many = await graph.client.get(
        "/me/calendarView", params={**window, "$top": "1001"}, headers=graph.headers()
    )
    assert too_many.status_code == 400
    unknown = await graph.client.get("/me/mailFolders", headers=graph.headers())
    assert unknown.status_code == 400
    assert unknown.json()["error"]["code"] == "BadRequest"
    bad_property = await graph.client.post(
        "/me/events", json={**LUNCH, "colour": "red"}, headers=graph.headers()
    )
    assert bad_property.status_code == 400
    assert "colour" in bad_property.json()["error"]["message"]


async def test_timeout_faults_hold_then_answer_504_and_applied_then_timeout_applies(
    graph: GraphHarness,
) -> None:
    from m365emu.faults import Fault, FaultKind

    graph.faults.add(Fault("POST", "/me/events", FaultKind.TIMEOUT, timeout_seconds=0.05))
    held = await graph.client.post("/me/events", json=LUNCH, headers=graph.headers())
    assert held.status_code == 504
    graph.faults.add(
        Fault("POST", "/me/events", FaultKind.APPLIED_THEN_TIMEOUT, timeout_seconds=0.05)
    )
    lost = await graph.client.post("/me/events", json=LUNCH, headers=graph.headers())
    assert lost.status_code == 504
    listed = (await graph.client.get("/me/events", headers=graph.headers())).json()["value"]
    assert len(listed) == 1  # only the applied one exists


async def test_latency_is_added_to_every_answer(graph: GraphHarness) -> None:
    import time

    graph.runtime.latency_ms = 120
    began = time.monotonic()
    await graph.client.get("/me", headers=graph.headers())
    assert time.monotonic() - began >= 0.12
