"""Errors of the event routes, with the codes Outlook-backed Graph returns (graph.md §2, §6).

Where Microsoft documents no code, the choice is marked here.
"""

from __future__ import annotations

from m365emu.graph.common.errors import GraphError, bad_request


def stale_change_key() -> GraphError:
    # Observed for events (graph.md §2 PATCH): 412 on a stale If-Match.
    return GraphError(
        412,
        "ErrorIrresolvableConflict",
        "The send or update operation could not be performed because the change key passed "
        "in the request does not match the current change key for the item.",
    )


def invalid_times(message: str) -> GraphError:
    # Chosen: Graph's code for a bad time range is undocumented; ErrorInvalidRequest is the
    # generic Exchange validation code.
    return bad_request(message, code="ErrorInvalidRequest")


def property_validation_failure() -> GraphError:
    # Observed on Graph for an all-day event whose end is before its start (issue 24 item 7;
    # microsoftgraph/microsoft-graph-docs#7919 quotes the whole answer). A timed event ending
    # before it starts keeps `invalid_times`: Microsoft documents no answer for it.
    return bad_request(
        "At least one property failed validation.", code="ErrorPropertyValidationFailure"
    )


def all_day_not_midnight() -> GraphError:
    return invalid_times(
        "Your request can't be completed. If the event is an all-day event, its start and "
        "end times must be set to midnight and be in the same time zone."
    )


def all_day_too_short() -> GraphError:
    return invalid_times("The duration of an event marked as All day must be at least 24 hours.")


def invalid_extended_property(message: str) -> GraphError:
    return bad_request(message, code="ErrorInvalidProperty")


def transaction_id_immutable() -> GraphError:
    # event.md: "you cannot change transactionId in a subsequent update".
    return bad_request(
        "The transactionId of an event cannot be changed once set.", code="ErrorInvalidRequest"
    )


def select_not_supported_on_delta() -> GraphError:
    # event-delta.md: $select, $expand, $filter, $orderby and $search are not supported.
    return bad_request(
        "The query parameters $select, $expand, $filter, $orderby and $search are not "
        "supported by calendarView delta.",
        code="ErrorInvalidUrlQuery",
    )


def sync_state_not_found() -> GraphError:
    # concepts/errors.md: syncStateNotFound.
    return bad_request(
        "The sync state generation is not found. The delta token is expired and data must "
        "be synchronized again.",
        code="syncStateNotFound",
    )


def resync_required(location: str | None = None) -> GraphError:
    # concepts/errors.md: resyncRequired; 410 with Location when a reset URL is given
    # (delta-query-overview.md).
    message = "The delta token is no longer valid, and the app must reset the sync state."
    if location is None:
        return bad_request(message, code="resyncRequired")
    return GraphError(410, "resyncRequired", message, {"Location": location})
