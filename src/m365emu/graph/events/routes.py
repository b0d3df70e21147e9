"""Event routes (user-post-events.md, event-get.md, event-update.md, event-delete.md,
user-list-event.md, user-list-calendarview.md, event-delta.md).

Each handler parses its query and body, calls the mailbox's `EventStore`, and renders with
the Prefer headers honoured and echoed in `Preference-Applied`. Reads accept
`Calendars.Read` or `Calendars.ReadWrite` (as Microsoft's permission tables do); writes need
`Calendars.ReadWrite`. Collections are paged 10 at a time by default with an
`@odata.nextLink` carrying `$skip`, as the docs' calendarView sample does; `$top` may ask
for up to 1000 (Graph's maximum is undocumented; 1000 chosen).
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from m365emu.clock import EmulatorClock
from m365emu.graph.common.dispatch import Route
from m365emu.graph.common.errors import GraphError, bad_request
from m365emu.graph.common.http import Call, GraphResponse, require_int
from m365emu.graph.events import timezones
from m365emu.graph.events.delta import DeltaExpiry
from m365emu.graph.events.errors import (
    resync_required,
    select_not_supported_on_delta,
    sync_state_not_found,
)
from m365emu.graph.events.models import StoredEvent
from m365emu.graph.events.payload import read_event_body
from m365emu.graph.events.query import (
    apply_orderby,
    parse_expand,
    parse_filter,
    parse_select,
)
from m365emu.graph.events.render import RenderOptions, render_event
from m365emu.graph.state import Mailbox

READ = frozenset(
    {"Calendars.Read", "Calendars.ReadWrite", "Calendars.Read.Shared", "Calendars.ReadWrite.Shared"}
)
WRITE = frozenset({"Calendars.ReadWrite", "Calendars.ReadWrite.Shared"})
PAGE_SIZE = 10
MAX_TOP = 1000
_LIST_OPTIONS = {"$select", "$filter", "$top", "$skip", "$orderby", "$expand", "$count"}
_ONE_OPTIONS = {"$select", "$expand"}
_DELTA_REFUSED = {"$select", "$filter", "$expand", "$orderby", "$search"}


def _only_options(call: Call, allowed: set[str]) -> None:
    for name in call.request.query_names():
        if name.startswith("$") and name not in allowed:
            raise bad_request(f"Query option '{name}' is not allowed on this resource.")


def render_options(call: Call, box: Mailbox, *, select: bool = True) -> RenderOptions:
    zone = "UTC"
    wanted_zone = call.prefer("outlook.timezone")
    if wanted_zone and timezones.known_zone(wanted_zone):
        zone = wanted_zone
        call.applied.append(f'outlook.timezone="{wanted_zone}"')
    body_type = (call.prefer("outlook.body-content-type") or "").lower() or None
    if body_type in ("text", "html"):
        call.applied.append(f'outlook.body-content-type="{body_type}"')
    else:
        body_type = None
    # outlook-immutable-id.md: "This header only applies to the request it is included with."
    immutable = (call.prefer("idtype") or "").lower() == "immutableid"
    if immutable:
        call.applied.append('IdType="ImmutableId"')
    return RenderOptions(
        zone=zone,
        body_type=body_type,
        select=parse_select(call.request.q("$select")) if select else None,
        expand_extended=parse_expand(call.request.q("$expand")) if select else None,
        owner_name=box.name,
        owner_email=box.email,
        public_id=lambda key: box.events.public_id(key, immutable),
    )


def _page(
    call: Call, items: list[StoredEvent], options: RenderOptions, context: str
) -> GraphResponse:
    top = require_int(call.request.q("$top"), "$top", 1, MAX_TOP) or PAGE_SIZE
    skip = require_int(call.request.q("$skip"), "$skip", 0, 10**9) or 0
    body: dict[str, Any] = {"@odata.context": call.context_url(context)}
    body["value"] = [render_event(e, options) for e in items[skip : skip + top]]
    if skip + top < len(items):
        query = {k: v for k, v in call.request.query.items() if k.lower() != "$skip"}
        query["$skip"] = str(skip + top)
        body["@odata.nextLink"] = (
            f"{call.base_url.rstrip('/')}{call.request.path}?{urlencode(query, safe='$:')}"
        )
    return call.ok(body)


def _filtered(call: Call, events: list[StoredEvent]) -> list[StoredEvent]:
    predicate = parse_filter(call.request.q("$filter"))
    if predicate is not None:
        events = [e for e in events if predicate(e, {})]
    return apply_orderby(events, call.request.q("$orderby"))


def make_routes(clock: EmulatorClock) -> list[Route]:
    def create(call: Call, box: Mailbox) -> GraphResponse:
        _only_options(call, set())
        changes = read_event_body(call.request.json_object())
        options = render_options(call, box, select=False)
        event, _made = box.events.create(changes, clock.now(), (box.name, box.email))
        return call.ok(
            {"@odata.context": call.context_url("events/$entity"), **render_event(event, options)},
            201,
        )

    def list_events(call: Call, box: Mailbox) -> GraphResponse:
        _only_options(call, _LIST_OPTIONS)
        options = render_options(call, box)
        events = sorted(box.events.listed(), key=lambda e: e.created, reverse=True)
        return _page(call, _filtered(call, events), options, "events")

    def get_event(call: Call, box: Mailbox) -> GraphResponse:
        _only_options(call, _ONE_OPTIONS)
        options = render_options(call, box)
        event = box.events.get(call.params["id"])
        # event-get.md: the context names the selected properties, and the answer links
        # the event's calendar.
        selected = f"({call.request.q('$select')})" if options.select is not None else ""
        calendar = (
            f"{call.base_url.rstrip('/')}/users('{box.oid}')/calendars('{_calendar_id(box)}')"
        )
        return call.ok(
            {
                "@odata.context": call.context_url(f"events{selected}/$entity"),
                **render_event(event, options),
                "calendar@odata.associationLink": f"{calendar}/$ref",
                "calendar@odata.navigationLink": calendar,
            }
        )

    def update(call: Call, box: Mailbox) -> GraphResponse:
        _only_options(call, set())
        changes = read_event_body(call.request.json_object())
        options = render_options(call, box, select=False)
        event = box.events.update(
            call.params["id"], changes, clock.now(), call.request.headers.get("if-match")
        )
        return call.ok(
            {"@odata.context": call.context_url("events/$entity"), **render_event(event, options)}
        )

    def delete(call: Call, box: Mailbox) -> GraphResponse:
        box.events.delete(call.params["id"], clock.now(), call.request.headers.get("if-match"))
        return GraphResponse(204)

    def calendar_view(call: Call, box: Mailbox) -> GraphResponse:
        _only_options(call, _LIST_OPTIONS)
        start, end = _window(call)
        options = render_options(call, box)
        return _page(
            call, _filtered(call, box.events.instances(start, end)), options, "calendarView"
        )

    def instances(call: Call, box: Mailbox) -> GraphResponse:
        _only_options(call, _LIST_OPTIONS)
        start, end = _window(call)
        options = render_options(call, box)
        found = box.events.series_instances(call.params["id"], start, end)
        return _page(
            call, _filtered(call, found), options, f"events('{call.params['id']}')/instances"
        )

    def delta(call: Call, box: Mailbox) -> GraphResponse:
        request = call.request
        if request.query_names() & _DELTA_REFUSED:
            raise select_not_supported_on_delta()
        skip, token = request.q("$skiptoken"), request.q("$deltatoken")
        book = box.delta
        if (skip or token) and book.armed is not None:
            _expire(call, box, skip or token or "")
        if skip:
            state = book.find(skip, skip=True)
        elif token:
            previous = book.find(token, skip=False)
            state = book.start_round(
                box.events, previous.window_start, previous.window_end, previous
            )
        else:
            start, end = _window(call)
            state = book.start_round(box.events, start, end, None)
        size = PAGE_SIZE
        wanted = call.prefer("odata.maxpagesize")
        if wanted is not None and wanted.isdigit() and 1 <= int(wanted) <= MAX_TOP:
            size = int(wanted)
            call.applied.append(f"odata.maxpagesize={size}")
        options = render_options(call, box, select=False)
        page = book.page(state, size)
        value = []
        for event_id, removed in page.entries:
            event = None if removed else _current(box, event_id)
            if event is None:
                value.append(
                    {
                        "@odata.type": "#microsoft.graph.event",
                        "id": options.public_id(event_id),
                        "@removed": {"reason": "deleted"},
                    }
                )
            else:
                value.append(
                    {"@odata.type": "#microsoft.graph.event", **render_event(event, options)}
                )
        link = "@odata.deltaLink" if page.is_final else "@odata.nextLink"
        name = "$deltatoken" if page.is_final else "$skiptoken"
        return call.ok(
            {
                "@odata.context": f"{call.base_url.rstrip('/')}/$metadata#Collection(event)",
                link: f"{call.base_url.rstrip('/')}/me/calendarView/delta?{name}={page.token}",
                "value": value,
            }
        )

    routes = []
    for prefix in ("/me", "/me/calendar"):
        routes += [
            Route("POST", f"{prefix}/events", create, WRITE),
            Route("GET", f"{prefix}/events", list_events, READ),
            Route("GET", f"{prefix}/events/{{id}}", get_event, READ),
            Route("PATCH", f"{prefix}/events/{{id}}", update, WRITE),
            Route("DELETE", f"{prefix}/events/{{id}}", delete, WRITE),
            Route("GET", f"{prefix}/events/{{id}}/instances", instances, READ),
            Route("GET", f"{prefix}/calendarView/delta", delta, READ),
            # The SDKs call the function with OData's parentheses: /calendarView/delta().
            Route("GET", f"{prefix}/calendarView/delta()", delta, READ),
            Route("GET", f"{prefix}/calendarView", calendar_view, READ),
        ]
    return routes


def _calendar_id(box: Mailbox) -> str:
    """The id of the mailbox's one calendar, stable per mailbox."""
    return "AAMkAGCal" + base64.urlsafe_b64encode(box.oid.encode()).decode()


def _window(call: Call) -> tuple[datetime, datetime]:
    start = timezones.query_instant(call.request.q("startDateTime"), "startDateTime")
    end = timezones.query_instant(call.request.q("endDateTime"), "endDateTime")
    if end < start:
        raise bad_request(
            "The end of the time window must not be before its start.",
            code="ErrorInvalidParameter",
        )
    return start, end


def _current(box: Mailbox, event_id: str) -> StoredEvent | None:
    try:
        return box.events.get(event_id)
    except GraphError:  # gone since the round began: report it removed
        return None


def _expire(call: Call, box: Mailbox, token: str) -> None:
    kind, box.delta.armed = box.delta.armed, None
    state = box.delta.states.get(token)
    box.delta.drop_all()
    if kind == DeltaExpiry.GONE_410:
        query = ""
        if state is not None:
            query = (
                urlencode(
                    {
                        "startDateTime": timezones.offset_datetime(state.window_start),
                        "endDateTime": timezones.offset_datetime(state.window_end),
                    }
                )
                + "&"
            )
        location = f"{call.base_url.rstrip('/')}/me/calendarView/delta?{query}$deltatoken="
        raise resync_required(location)
    if kind == DeltaExpiry.SYNC_STATE_NOT_FOUND:
        raise sync_state_not_found()
    raise resync_required()
