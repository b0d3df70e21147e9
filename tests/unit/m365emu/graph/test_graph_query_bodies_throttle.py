"""$filter parsing, body sanitising and throttling of the emulator (issue 5 items 2 and 6;
graph.md §1, §4, §6)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from m365emu.clock import EmulatorClock
from m365emu.graph.common.errors import GraphError
from m365emu.graph.common.http import parse_prefer
from m365emu.graph.common.throttle import Throttle
from m365emu.graph.events import bodies
from m365emu.graph.events.payload import extended_key
from m365emu.graph.events.query import parse_filter
from m365emu.graph.events.records import StoredEvent

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ERP = "String {66F5A359-4659-4830-9070-00040EC6AC6E} Name ErpId"


def stored(**values: object) -> StoredEvent:
    base: dict[str, object] = dict(
        id="AAMkAGx",
        kind="singleInstance",
        start=NOW,
        end=NOW + timedelta(hours=1),
        start_zone="UTC",
        end_zone="UTC",
        created=NOW,
        last_modified=NOW,
        change_key="ck",
        ical_uid="0400",
        subject="Fitting [sync]",
        categories=["Sync"],
    )
    base.update(values)
    return StoredEvent(**base)  # type: ignore[arg-type]


def test_extended_property_filter_ignores_guid_case_but_not_name_case() -> None:
    event = stored(extended={extended_key(ERP): [ERP, "A-123"]})
    lower_guid = ERP.replace("66F5A359", "66f5a359")
    other = ERP.replace("ErpId", "erpid")
    any_ep = "singleValueExtendedProperties/Any(ep: ep/id eq '{}' and ep/value eq '{}')"
    match = parse_filter(any_ep.format(lower_guid, "a-123"))
    other_name = parse_filter(any_ep.format(other, "A-123"))
    assert match is not None
    assert match(event, {})
    assert other_name is not None
    assert not other_name(event, {})


def test_filter_on_subject_categories_and_start() -> None:
    event = stored()
    expr = parse_filter(
        "contains(subject, '[SYNC]') and categories/any(c: c eq 'sync') "
        "and start/dateTime ge '2026-12-01T00:00:00Z' and not (isAllDay eq true)"
    )
    assert expr is not None
    assert expr(event, {})


@pytest.mark.parametrize("broken", ["subject eq", "((", "subject like 'x'", "nope eq 1", ""])
def test_broken_filters_are_400_invalid_filter_clause(broken: str) -> None:
    with pytest.raises(GraphError) as refused:
        parse_filter(broken)
    assert refused.value.status == 400


def test_html_body_is_sanitised_and_wrapped_and_renders_as_text() -> None:
    stored_html = bodies.store_html(
        '<p onclick="x()">Hi <a href="https://a.test">there</a></p><script>1</script>'
    )
    assert stored_html.startswith("<html>\r\n<head>")
    assert "onclick" not in stored_html
    assert "<script>" not in stored_html
    assert 'href="https://a.test"' in stored_html
    assert bodies.render("html", stored_html, "text") == ("text", "Hi\r\nthere")
    assert bodies.preview("html", stored_html) == "Hi there"


def test_prefer_header_splits_preferences_outside_quotes() -> None:
    prefs = parse_prefer(['odata.maxpagesize=2, outlook.timezone="Eastern Standard Time, x"'])
    assert prefs == {"odata.maxpagesize": "2", "outlook.timezone": "Eastern Standard Time, x"}


def test_throttle_limits_per_app_and_mailbox_with_sliding_window() -> None:
    clock = EmulatorClock()
    clock.set(NOW)
    throttle = Throttle(clock, concurrent=4, per_window=3)
    for _ in range(3):
        with throttle.slot("app", "box"):
            pass
    with pytest.raises(GraphError) as refused, throttle.slot("app", "box"):
        pass
    assert refused.value.status == 429
    assert refused.value.headers["Retry-After"] == "600"
    with throttle.slot("other-app", "box"):
        pass  # limits are per app and mailbox
    clock.set(NOW + timedelta(minutes=10))
    with throttle.slot("app", "box"):
        pass


def test_a_rate_refusal_says_when_to_retry_to_the_millisecond() -> None:
    # throttling.md's sample: "Retry-After: 2.128" (issue 24 item 5).
    clock = EmulatorClock()
    clock.set(NOW)
    throttle = Throttle(clock, concurrent=4, per_window=1)
    with throttle.slot("app", "box"):
        pass
    clock.set(NOW + timedelta(minutes=9, seconds=57, microseconds=872000))
    with pytest.raises(GraphError) as refused, throttle.slot("app", "box"):
        pass
    assert refused.value.headers["Retry-After"] == "2.128"
