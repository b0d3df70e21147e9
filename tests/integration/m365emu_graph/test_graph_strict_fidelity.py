"""The emulator writes and refuses as Microsoft's own references show (issue 24 items 5-8):
trimmed DateTimeOffset values, fractional `Retry-After`, `transactionId` only when set, the
throttling error's `innerError`, all-day validation, `locations[].uniqueId`, and the
documented extended-property filter forms. Each test fails on the emulator before issue 24."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from m365emu.faults import Fault, FaultKind
from support.graph_harness import GraphHarness

EVENT = {
    "subject": "Strict",
    "start": {"dateTime": "2026-12-01T09:00:00", "timeZone": "UTC"},
    "end": {"dateTime": "2026-12-01T10:00:00", "timeZone": "UTC"},
}
# singlevaluelegacyextendedproperty-get.md's example ids (Integer and CLSID/Guid typed).
PALLETE = "Integer {66f5a359-4659-4830-9070-00047ec6ac6e} Name Pallete"
SENDER = "CLSID {00062008-0000-0000-C000-000000000046} Name ConnectorSenderGuid"
ERP = "String {8e3c4c62-5a5b-4c1e-9b2f-6f1d2e7a5c31} Name s5sync.task"


async def _create(graph: GraphHarness, **extra: object) -> dict[str, object]:
    answer = await graph.client.post("/me/events", json={**EVENT, **extra}, headers=graph.headers())
    assert answer.status_code == 201, answer.text
    body: dict[str, object] = answer.json()
    return body


# -- item 5: timestamps and Retry-After -------------------------------------------------------


@pytest.mark.parametrize(
    ("instant", "written"),
    [
        # user-post-events.md writes lastModifiedDateTime "2017-04-15T03:00:51.245372Z".
        (datetime(2017, 4, 15, 3, 0, 51, 245372, tzinfo=UTC), "2017-04-15T03:00:51.245372Z"),
        (datetime(2017, 4, 15, 3, 0, 51, 200000, tzinfo=UTC), "2017-04-15T03:00:51.2Z"),
        # responseStatus.time "0001-01-01T00:00:00Z": no point when no digit is left.
        (datetime(2017, 4, 15, 3, 0, 51, tzinfo=UTC), "2017-04-15T03:00:51Z"),
    ],
)
async def test_datetimeoffsets_trim_trailing_zeros_as_graph_does(
    graph: GraphHarness, instant: datetime, written: str
) -> None:
    graph.clock.set(instant)
    graph.token = graph.verifier.issue(
        "11111111-1111-1111-1111-111111111111",
        "aaaaaaaa-0000-0000-0000-000000000001",
        "alice@contoso.test",
    )
    made = await _create(graph)
    assert made["createdDateTime"] == written
    assert made["lastModifiedDateTime"] == written
    # dateTimeTimeZone keeps its 7 digits (every documented example: "…T11:00:00.0000000").
    assert made["start"] == {"dateTime": "2026-12-01T09:00:00.0000000", "timeZone": "UTC"}


async def test_a_throttle_fault_can_say_a_fractional_retry_after(graph: GraphHarness) -> None:
    graph.faults.add(Fault("GET", "/me/events", FaultKind.THROTTLE, status=429, retry_after=2.128))
    answer = await graph.client.get("/me/events", headers=graph.headers())
    assert answer.status_code == 429
    assert answer.headers["Retry-After"] == "2.128"  # throttling.md's sample header
    graph.faults.add(Fault("GET", "/me/events", FaultKind.THROTTLE, status=429, retry_after=7))
    whole = await graph.client.get("/me/events", headers=graph.headers())
    assert whole.headers["Retry-After"] == "7"


# -- item 6: transactionId ------------------------------------------------------------------


async def test_transaction_id_is_returned_only_when_an_app_set_it(graph: GraphHarness) -> None:
    plain = await _create(graph)
    assert "transactionId" not in plain  # event.md: "only returned ... if an app has set it"
    tagged = await _create(graph, transactionId="tx-24")
    assert tagged["transactionId"] == "tx-24"
    listed = (await graph.client.get("/me/events", headers=graph.headers())).json()["value"]
    assert {e["id"]: e.get("transactionId", "absent") for e in listed} == {
        plain["id"]: "absent",
        tagged["id"]: "tx-24",
    }
    selected = await graph.client.get(
        f"/me/events/{plain['id']}",
        params={"$select": "subject,transactionId"},
        headers=graph.headers(),
    )
    assert "transactionId" not in selected.json()


# -- item 7: errors and locations -----------------------------------------------------------


async def test_a_429_carries_the_inner_error_of_microsofts_sample(graph: GraphHarness) -> None:
    graph.faults.add(Fault("GET", "/me/events", FaultKind.THROTTLE, status=429, retry_after=1))
    answer = await graph.client.get("/me/events", headers=graph.headers())
    error = answer.json()["error"]
    assert error["code"] == "TooManyRequests"
    assert error["message"] == "Please retry again later."
    inner = error["innerError"]
    assert (inner["code"], inner["status"], inner["message"]) == (
        "429",
        "429",
        "Please retry after",
    )
    assert set(inner) >= {"date", "request-id"}
    missing = await graph.client.get("/me/events/AAkALg" + "A" * 24, headers=graph.headers())
    assert "status" not in missing.json()["error"]["innerError"]  # only the 429 has them


async def test_an_all_day_event_ending_before_it_starts_fails_property_validation(
    graph: GraphHarness,
) -> None:
    # microsoftgraph/microsoft-graph-docs#7919: Graph's whole answer to this body.
    backwards = {
        "subject": "Urlaub",
        "isAllDay": True,
        "start": {"dateTime": "2020-04-27T00:00:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": "2017-04-30T00:00:00", "timeZone": "Europe/Berlin"},
    }
    answer = await graph.client.post("/me/events", json=backwards, headers=graph.headers())
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "ErrorPropertyValidationFailure"
    assert answer.json()["error"]["message"] == "At least one property failed validation."
    assert all(not box.events.events for box in graph.state.mailboxes())


async def test_locations_with_an_address_carry_a_private_unique_id(graph: GraphHarness) -> None:
    # user-post-events.md "Create an event with multiple locations", request and response.
    address = {
        "street": "4567 Main St",
        "city": "Redmond",
        "state": "WA",
        "countryOrRegion": "US",
        "postalCode": "32008",
    }
    made = await _create(
        graph,
        location={"displayName": "Conf Room 3; Fourth Coffee; Home Office"},
        locations=[
            {"displayName": "Conf Room 3"},
            {"displayName": "Fourth Coffee", "address": address},
            {"displayName": "Home Office"},
        ],
    )
    location = made["location"]
    assert isinstance(location, dict)
    assert location["uniqueId"] == "Conf Room 3; Fourth Coffee; Home Office"
    assert location["uniqueIdType"] == "private"
    locations = made["locations"]
    assert isinstance(locations, list)
    room, coffee, home = locations
    assert "uniqueId" not in room
    assert room["uniqueIdType"] == "unknown"
    assert coffee["uniqueId"] == "Fourth Coffee"
    assert coffee["uniqueIdType"] == "private"
    assert coffee["address"] == address
    assert "uniqueId" not in home
    assert home["uniqueIdType"] == "unknown"


# -- item 8: extended-property filters ------------------------------------------------------


async def _filtered(graph: GraphHarness, flt: str) -> list[str]:
    answer = await graph.client.get("/me/events", params={"$filter": flt}, headers=graph.headers())
    assert answer.status_code == 200, answer.text
    return [str(e["subject"]) for e in answer.json()["value"]]


async def test_contains_and_startswith_on_an_extended_value_match_as_documented(
    graph: GraphHarness,
) -> None:
    for subject, value in (("one", "tenant-a task-123"), ("two", "tenant-b task-456")):
        await _create(
            graph, subject=subject, singleValueExtendedProperties=[{"id": ERP, "value": value}]
        )
    await _create(graph, subject="none")

    def any_ep(clause: str) -> str:
        return f"singleValueExtendedProperties/Any(ep: ep/id eq '{ERP}' and {clause})"

    assert await _filtered(graph, any_ep("contains(ep/value, 'task-4')")) == ["two"]
    assert await _filtered(graph, any_ep("startswith(ep/value, 'TENANT-A')")) == ["one"]
    assert sorted(await _filtered(graph, any_ep("startswith(ep/value, 'tenant')"))) == [
        "one",
        "two",
    ]
    assert await _filtered(graph, any_ep("contains(ep/value, 'nowhere')")) == []


async def test_cast_of_an_extended_value_compares_as_the_documented_type(
    graph: GraphHarness,
) -> None:
    guid = "b9cf8971-7d55-4b73-9ffa-a584611b600b"
    await _create(
        graph, subject="twelve", singleValueExtendedProperties=[{"id": PALLETE, "value": "12"}]
    )
    await _create(
        graph, subject="forty", singleValueExtendedProperties=[{"id": PALLETE, "value": "40"}]
    )
    await _create(
        graph, subject="guid", singleValueExtendedProperties=[{"id": SENDER, "value": guid}]
    )

    def pallete(clause: str) -> str:
        return f"singleValueExtendedProperties/any(ep: ep/id eq '{PALLETE}' and {clause})"

    assert await _filtered(graph, pallete("cast(ep/value, Edm.Int32) eq 12")) == ["twelve"]
    assert await _filtered(graph, pallete("cast(ep/value, Edm.Int32) gt 12")) == ["forty"]
    # Numbers, not strings: "40" > "12" either way, but "9" < "12" only as numbers.
    await _create(
        graph, subject="nine", singleValueExtendedProperties=[{"id": PALLETE, "value": "9"}]
    )
    assert await _filtered(graph, pallete("cast(ep/value, Edm.Int32) lt 12")) == ["nine"]
    documented = (
        f"singleValueExtendedProperties/any(ep:ep/id eq '{SENDER}' and "
        f"cast(ep/value, Edm.Guid) eq ({guid}))"
    )
    assert await _filtered(graph, documented) == ["guid"]


@pytest.mark.parametrize(
    "flt",
    [
        "cast(subject, Edm.Int32) eq 1",
        "singleValueExtendedProperties/any(ep: cast(ep/value, Edm.Nothing) eq 1)",
        "singleValueExtendedProperties/any(ep: cast(ep/value, Edm.Int32) eq 'x')",
        "singleValueExtendedProperties/any(ep: cast(ep/value, Edm.Guid) eq 12)",
    ],
)
async def test_a_cast_graph_cannot_read_is_an_invalid_filter_not_a_500(
    graph: GraphHarness, flt: str
) -> None:
    answer = await graph.client.get("/me/events", params={"$filter": flt}, headers=graph.headers())
    assert answer.status_code == 400
    assert answer.json()["error"]["message"].startswith("Invalid filter clause")
