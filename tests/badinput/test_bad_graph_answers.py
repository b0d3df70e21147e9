"""Graph answering with what the emulator never sends: items without a start, ending
before they start, in unknown zones, with extra, missing or mistyped fields; whole answers
that are not JSON, not JSON objects, or of the wrong content type (R17b, R23).

A transport in front of the real TLS one rewrites the calendar delta answers on their way
to s5sync (badinput_world.RewritingTransport); everything else is the real stack.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from support.badinput_world import World, messages, on_subject

Change = Callable[[dict[str, Any]], None]


def drop(*names: str) -> Change:
    def change(item: dict[str, Any]) -> None:
        for name in names:
            item.pop(name, None)

    return change


def put(**values: Any) -> Change:
    def change(item: dict[str, Any]) -> None:
        item.update(values)

    return change


def zone(name: str, start: str, end: str) -> Change:
    return put(start={"dateTime": start, "timeZone": name}, end={"dateTime": end, "timeZone": name})


def nested_extras(item: dict[str, Any]) -> None:
    item["futureField@odata.type"] = "#microsoft.graph.future"
    item["futureField"] = {"deep": [1, {"x": None}]}
    item["start"]["futureOffset"] = "+00:00"
    item.setdefault("body", {})["futureFormat"] = "markdown"
    item["@odata.context"] = "https://graph.microsoft.com/v1.0/$metadata#Collection(event)"


def only_the_essentials(item: dict[str, Any]) -> None:
    keep = {"id", "subject", "start", "end"}
    for key in list(item):
        if key not in keep:
            del item[key]


# (event subject, rewrite of its delta item, activity text, imported title or None)
ITEM_CASES: dict[str, tuple[str, Change, str, str | None]] = {
    "event_without_a_start_is_skipped_as_bad_time_R23": (
        "No start [sync]",
        drop("start"),
        "Skipped 'No start [sync]': its times cannot be used (no start or end time)",
        None,
    ),
    "event_without_an_end_is_skipped_as_bad_time_R23": (
        "No end [sync]",
        drop("end"),
        "Skipped 'No end [sync]': its times cannot be used (no start or end time)",
        None,
    ),
    "event_ending_before_it_starts_is_skipped_R23": (
        "Backwards [sync]",
        put(
            start={"dateTime": "2026-11-28T16:00:00.0000000", "timeZone": "UTC"},
            end={"dateTime": "2026-11-28T15:00:00.0000000", "timeZone": "UTC"},
        ),
        "Skipped 'Backwards [sync]': its times cannot be used (ends before it starts)",
        None,
    ),
    "unknown_time_zone_name_is_skipped_as_bad_time_R23": (
        "Mars time [sync]",
        zone("Mars/Olympus_Mons", "2026-11-28T10:00:00", "2026-11-28T11:00:00"),
        "Skipped 'Mars time [sync]': its times cannot be used",
        None,
    ),
    "windows_customized_time_zone_is_skipped_as_bad_time_R23": (
        "Custom zone [sync]",
        zone("Customized Time Zone", "2026-11-28T10:00:00", "2026-11-28T11:00:00"),
        "Skipped 'Custom zone [sync]': its times cannot be used",
        None,
    ),
    "windows_zone_name_in_the_answer_is_converted_R9_R23": (
        "Tokyo zone [sync]",
        zone("Tokyo Standard Time", "2026-11-29T00:00:00", "2026-11-29T01:00:00"),
        "Imported 'Tokyo zone [sync]'",
        "Tokyo zone",
    ),
    "malformed_date_time_is_skipped_as_bad_time_R23": (
        "Month 13 [sync]",
        zone("UTC", "2026-13-45T99:99:99", "2026-11-28T11:00:00"),
        "Skipped 'Month 13 [sync]': its times cannot be used",
        None,
    ),
    "date_time_of_the_wrong_type_is_skipped_as_bad_time_R23": (
        "Numeric time [sync]",
        put(start=1764342000, end={"dateTime": None, "timeZone": 7}),
        "Skipped 'Numeric time [sync]': its times cannot be used",
        None,
    ),
    "unexpected_extra_fields_are_ignored_R23": (
        "Extras [sync]",
        nested_extras,
        "Imported 'Extras [sync]'",
        "Extras",
    ),
    "missing_optional_fields_are_defaulted_R23": (
        "Bare item [sync]",
        only_the_essentials,
        "Imported 'Bare item [sync]'",
        "Bare item",
    ),
    "mistyped_optional_fields_are_dropped_R23": (
        "Mistyped [sync]",
        put(isAllDay="yes", reminderMinutesBeforeStart="soon", categories="red", changeKey=5),
        "Imported 'Mistyped [sync]'",
        "Mistyped",
    ),
    "cancelled_tagged_event_is_skipped_R12c": (
        "Called off [sync]",
        put(isCancelled=True),
        "Skipped 'Called off [sync]': cancelled event",
        None,
    ),
    "occurrence_type_is_skipped_as_recurring_R8": (
        "One of many [sync]",
        put(type="occurrence"),
        "Skipped 'One of many [sync]': it repeats, and only single events become System Five tasks",
        None,
    ),
    "negative_reminder_imports_with_no_alarm_R23": (
        "Negative alarm [sync]",
        put(isReminderOn=True, reminderMinutesBeforeStart=-5),
        "carries the sync tag; a negative reminder cannot be an alarm: no alarm",
        "Negative alarm",
    ),
    "lone_surrogate_in_the_subject_is_replaced_R23": (
        "Surrogate \ud800 [sync]",
        lambda item: None,
        "Imported 'Surrogate \ufffd [sync]'",
        "Surrogate \ufffd",
    ),
}


@pytest.mark.parametrize("name", list(ITEM_CASES))
async def test_bad_graph_item_is_adapted_or_skipped_and_the_cycle_goes_on_R23(
    world: World, name: str
) -> None:
    subject, change, says, title = ITEM_CASES[name]
    world.graph_answers().items.append(on_subject(subject.split(" [")[0], change))
    world.with_good_items()
    if "\ud800" in subject:
        # Graph's JSON may escape a lone surrogate; the emulator stores what it is given.
        world.event("Surrogate placeholder [sync]")
        world.transport.items.insert(  # type: ignore[union-attr]
            0, on_subject("Surrogate placeholder", put(subject=subject))
        )
    else:
        world.event(subject)
    result = await world.cycle()
    assert result.outcome == "ok", result.error
    text = messages(result)
    assert says in text, text
    world.assert_good_items_synced(result)
    imported = world.imported()
    if title is None:
        assert set(imported) == {"Good visit"}
    else:
        assert title in imported, sorted(imported)
        if name.startswith("negative_reminder"):
            assert imported[title].alarm_minutes is None


async def test_malformed_subject_is_reported_in_the_activity_log_R18_R23(world: World) -> None:
    world.graph_answers().items.append(on_subject("Numbered", put(subject=12345)))
    world.with_good_items()
    world.event("Numbered [sync]")
    result = await world.cycle()
    world.assert_good_items_synced(result)
    assert "'subject' is malformed" in messages(result)


async def test_item_without_an_id_is_reported_in_the_activity_log_R18_R23(world: World) -> None:
    world.graph_answers().items.append(on_subject("Anonymous", drop("id")))
    world.with_good_items()
    world.event("Anonymous [sync]")
    result = await world.cycle()
    world.assert_good_items_synced(result)
    assert "without an id" in messages(result)


def html_page(response: httpx.Response) -> httpx.Response:
    return httpx.Response(
        200,
        headers={"content-type": "text/html"},
        text="<html><body>Service temporarily unavailable</body></html>",
        request=response.request,
    )


def malformed_json(response: httpx.Response) -> httpx.Response:
    return httpx.Response(
        200,
        headers={"content-type": "application/json"},
        content=response.content[: len(response.content) // 2],
        request=response.request,
    )


def json_array(response: httpx.Response) -> httpx.Response:
    return httpx.Response(200, json=[response.json()], request=response.request)


def value_not_a_list(response: httpx.Response) -> httpx.Response:
    body = response.json()
    body["value"] = 7
    return httpx.Response(200, json=body, request=response.request)


def empty_body(response: httpx.Response) -> httpx.Response:
    return httpx.Response(200, content=b"", request=response.request)


def no_links(response: httpx.Response) -> httpx.Response:
    body = response.json()
    body.pop("@odata.deltaLink", None)
    body.pop("@odata.nextLink", None)
    return httpx.Response(200, json=body, request=response.request)


def foreign_next_link(response: httpx.Response) -> httpx.Response:
    body = response.json()
    body.pop("@odata.deltaLink", None)
    body["@odata.nextLink"] = "https://graph.evil.example/v1.0/me/calendarView/delta?x=1"
    return httpx.Response(200, json=body, request=response.request)


ANSWER_CASES: dict[str, tuple[Callable[[httpx.Response], httpx.Response], str]] = {
    "wrong_content_type_stops_only_the_import_R17b_R23": (html_page, "calendar delta"),
    "malformed_json_stops_only_the_import_R17b_R23": (malformed_json, "calendar delta"),
    "json_array_instead_of_an_object_stops_only_the_import_R17b_R23": (
        json_array,
        "calendar delta",
    ),
    "value_that_is_not_a_list_stops_only_the_import_R17b_R23": (
        value_not_a_list,
        "Outlook could not be read",
    ),
    "empty_answer_stops_only_the_import_R17b_R23": (empty_body, "calendar delta"),
    "answer_without_next_or_delta_link_stops_only_the_import_R17b_R23": (
        no_links,
        "neither a next nor a delta link",
    ),
    "next_link_to_another_host_never_gets_the_token_R22_R17b": (
        foreign_next_link,
        "outside the configured Graph URL",
    ),
}


@pytest.mark.parametrize("name", list(ANSWER_CASES))
async def test_bad_graph_answer_stops_the_import_only_and_pushes_go_on_R17b_R23(
    world: World, name: str
) -> None:
    rewrite, says = ANSWER_CASES[name]
    world.graph_answers().answers.append(rewrite)
    world.with_good_items()
    result = await world.cycle()
    assert result.outcome == "partial", (result.outcome, result.error)
    text = messages(result)
    assert "this sync did not finish everything; s5sync tries again" in text, text
    assert "(details: Outlook could not be read" in text, text
    assert says in text, text
    # R17b: the push of an untagged task does not need Outlook's side; it goes on.
    world.assert_good_items_synced(result, imported=False)
    assert world.imported() == {}
