"""Graph event JSON → our snapshots, in one place (R23): documented payloads parse,
partial items stay partial, malformed fields are reported and dropped, never a crash."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from s5sync.core.snapshots import EventType
from s5sync.outlook.wire import (
    TASK_PROPERTY_ID,
    Malformed,
    event_body,
    event_fields,
    parse_event,
    read_snapshot,
    task_filter,
)
from s5sync.sync.ports import EventWrite

# Trimmed from user-post-events.md (docs-contrib), the documented response shape.
DOCUMENTED = {
    "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users('x')/events/$entity",
    "@odata.etag": 'W/"ZlnW4RIAV06KYYwlrfNZvQAALfZeRQ=="',
    "id": "AAMkAGI1AAAt9AHjAAA=",
    "createdDateTime": "2017-04-15T03:00:50.7579581Z",
    "lastModifiedDateTime": "2017-04-15T03:00:51.245372Z",
    "changeKey": "ZlnW4RIAV06KYYwlrfNZvQAALfZeRQ==",
    "categories": ["Received From System5", "Mine"],
    "transactionId": "7E163156-7762-4BEB-A1C6-729EA81755A7",
    "originalStartTimeZone": "Pacific Standard Time",
    "reminderMinutesBeforeStart": 15,
    "isReminderOn": True,
    "hasAttachments": False,
    "subject": "Let's go for lunch [sync]",
    "bodyPreview": "Does noon work for you?",
    "importance": "normal",
    "isAllDay": False,
    "isCancelled": False,
    "type": "singleInstance",
    "seriesMasterId": None,
    "showAs": "busy",
    "body": {"contentType": "text", "content": "Does noon work for you?\r\n"},
    "start": {"dateTime": "2017-04-15T12:00:00.0000000", "timeZone": "UTC"},
    "end": {"dateTime": "2017-04-15T14:00:00.0000000", "timeZone": "UTC"},
    "location": {"displayName": "Harry's Bar", "locationType": "default"},
    "attendees": [],
    "organizer": {"emailAddress": {"name": "Megan", "address": "megan@contoso.com"}},
    "singleValueExtendedProperties": [{"id": TASK_PROPERTY_ID, "value": "task:7"}],
}


def test_documented_event_reads_into_a_snapshot() -> None:
    snap, problems = read_snapshot(DOCUMENTED)
    assert problems == ()
    assert snap.id == "AAMkAGI1AAAt9AHjAAA="
    assert snap.subject == "Let's go for lunch [sync]"
    assert snap.body == "Does noon work for you?\r\n"
    assert not snap.body_is_html
    assert snap.start == datetime(2017, 4, 15, 12, tzinfo=UTC)
    assert snap.end == datetime(2017, 4, 15, 14, tzinfo=UTC)
    assert snap.reminder_minutes == 15
    assert snap.categories == ("Received From System5", "Mine")
    assert snap.type is EventType.SINGLE_INSTANCE
    assert snap.change_key == "ZlnW4RIAV06KYYwlrfNZvQAALfZeRQ=="
    assert snap.task_ref == "task:7"
    assert snap.transaction_id == "7E163156-7762-4BEB-A1C6-729EA81755A7"


def test_seven_fractional_digits_and_windows_zones_are_read_as_utc() -> None:
    raw = {
        "id": "a",
        "start": {"dateTime": "2026-07-01T09:30:00.1234567", "timeZone": "Pacific Standard Time"},
        "end": {"dateTime": "2026-07-01T10:00:00", "timeZone": "Europe/Berlin"},
    }
    change = event_fields(*parse_event(raw))
    assert change.fields["start"] == datetime(2026, 7, 1, 16, 30, 0, 123456, tzinfo=UTC)
    assert change.fields["end"] == datetime(2026, 7, 1, 8, 0, tzinfo=UTC)


def test_a_partial_delta_item_carries_only_its_fields() -> None:
    change = event_fields(*parse_event({"id": "a", "subject": "Renamed", "changeKey": "k2"}))
    assert change.fields == {"subject": "Renamed", "change_key": "k2"}


def test_reminder_off_reads_as_none() -> None:
    change = event_fields(
        *parse_event({"id": "a", "isReminderOn": False, "reminderMinutesBeforeStart": 15})
    )
    assert change.fields["reminder_minutes"] is None


def test_malformed_fields_are_reported_and_dropped_not_fatal_R23() -> None:
    raw = {
        "id": "a",
        "subject": "Fine",
        "start": {"dateTime": "not a time", "timeZone": "UTC"},
        "end": {"dateTime": "2026-07-01T10:00:00", "timeZone": "Mars/Olympus"},
        "categories": "not-a-list",
        "type": "somethingNew",
        "reminderMinutesBeforeStart": "soon",
    }
    change = event_fields(*parse_event(raw))
    assert change.fields["subject"] == "Fine"
    assert change.fields["start"] is None
    assert change.fields["end"] is None
    assert "categories" not in change.fields
    assert "type" not in change.fields
    assert len(change.problems) == 5
    assert any("Mars/Olympus" in p for p in change.problems)


@pytest.mark.parametrize("raw", [None, [], {"subject": "no id"}, {"id": ""}, {"id": 7}])
def test_an_item_without_an_id_is_malformed(raw: object) -> None:
    with pytest.raises(Malformed):
        parse_event(raw)


@given(
    st.dictionaries(
        st.sampled_from(
            [
                "subject",
                "body",
                "start",
                "end",
                "isAllDay",
                "categories",
                "type",
                "changeKey",
                "isReminderOn",
                "reminderMinutesBeforeStart",
                "singleValueExtendedProperties",
                "transactionId",
                "isCancelled",
                "@removed",
                "unknownField",
            ]
        ),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=12),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(
                    st.sampled_from(
                        ["dateTime", "timeZone", "content", "contentType", "id", "value"]
                    ),
                    inner,
                    max_size=3,
                )
            ),
            max_leaves=6,
        ),
    )
)
def test_any_json_under_an_id_parses_without_crashing_R23(fields: dict[str, object]) -> None:
    snap, problems = read_snapshot({"id": "x", **fields})
    assert snap.id == "x"
    assert all(isinstance(p, str) for p in problems)


def test_a_create_carries_transaction_id_and_task_identity_and_a_patch_only_owned_fields_R5() -> (
    None
):
    start = datetime(2026, 12, 1, 15, tzinfo=UTC)
    write = EventWrite(
        "Delivery",
        "<p>x</p>",
        start,
        start.replace(hour=16),
        None,
        ("Received From System5",),
        task_ref="task:7",
        transaction_id="tx-7",
    )
    created = event_body(write, create=True)
    assert created["transactionId"] == "tx-7"
    assert created["singleValueExtendedProperties"] == [{"id": TASK_PROPERTY_ID, "value": "task:7"}]
    assert created["start"] == {"dateTime": "2026-12-01T15:00:00", "timeZone": "UTC"}
    assert created["isReminderOn"] is False
    patched = event_body(write, create=False)
    owned = {"subject", "body", "start", "end", "isAllDay", "isReminderOn", "categories"}
    assert set(patched) == owned | {"singleValueExtendedProperties"}
    assert "transactionId" not in patched


def test_task_filter_quotes_values() -> None:
    assert "ep/value eq 'O''Brien'" in task_filter("O'Brien")
