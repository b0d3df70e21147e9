"""Graph-shaped errors (learn.microsoft.com/graph/errors, concepts/errors.md).

Every failure leaves the emulator as
`{"error": {"code", "message", "innerError": {"date", "request-id", "client-request-id"}}}`
with a `request-id` header; a 429's `innerError` also carries `code` and `status` "429" and
`message` "Please retry after", as throttling.md's sample response does (issue 24 item 7).
Codes follow what Outlook-backed resources really return
(graph.md §6): `ErrorItemNotFound`, `ErrorInvalidIdMalformed`, `InvalidAuthenticationToken`,
`ErrorAccessDenied`, `ErrorIrresolvableConflict`, `ApplicationThrottled`…

Exception tree: `GraphError` (any answer that is not a success) is the only one; each
resource's `errors.py` holds named constructors for its own codes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from m365emu.faults import retry_after_header


class GraphError(Exception):
    """An error answer: HTTP status, Graph error code, message and extra headers."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


def error_body(
    error: GraphError, request_id: str, client_request_id: str | None, now: datetime
) -> dict[str, Any]:
    """The JSON body Graph sends with an error (innerError date has no offset, as in the docs)."""
    inner: dict[str, str] = {}
    if error.status == 429:  # throttling.md's sample
        inner = {"code": "429", "message": "Please retry after", "status": "429"}
    inner.update(
        {
            "date": now.strftime("%Y-%m-%dT%H:%M:%S"),
            "request-id": request_id,
            "client-request-id": client_request_id or request_id,
        }
    )
    return {"error": {"code": error.code, "message": error.message, "innerError": inner}}


def bad_request(message: str, code: str = "BadRequest") -> GraphError:
    return GraphError(400, code, message)


def invalid_json() -> GraphError:
    # The message real Graph sends for an unparseable body.
    return bad_request(
        "Unable to read JSON request payload. Please ensure Content-Type header is set "
        "and payload is of valid JSON format."
    )


def unknown_property(name: str, type_name: str) -> GraphError:
    return bad_request(
        f"The property '{name}' does not exist on type '{type_name}'. Make sure to only use "
        "property names that are defined by the type or mark the type as open type."
    )


def wrong_type(name: str, expected: str) -> GraphError:
    return bad_request(f"Cannot convert the literal value of property '{name}' to '{expected}'.")


def not_found() -> GraphError:
    return GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")


def malformed_id() -> GraphError:
    return GraphError(400, "ErrorInvalidIdMalformed", "Id is malformed.")


def no_such_segment(path: str) -> GraphError:
    # Graph's answer for a path it has no resource for.
    segment = path.strip("/").split("/")[-1] or path
    return bad_request(f"Resource not found for the segment '{segment}'.")


def method_not_allowed(method: str) -> GraphError:
    # The code and message json-batching.md's example shows for a method the target lacks.
    del method
    return GraphError(
        405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target."
    )


def unauthenticated(message: str) -> GraphError:
    return GraphError(
        401,
        "InvalidAuthenticationToken",
        message,
        {
            # What real 401s carry (graph.md §6).
            "WWW-Authenticate": 'Bearer realm="", authorization_uri="https://login.'
            'microsoftonline.com/common/oauth2/authorize", '
            'client_id="00000003-0000-0000-c000-000000000000"'
        },
    )


def access_denied() -> GraphError:
    return GraphError(
        403, "ErrorAccessDenied", "Access is denied. Check credentials and try again."
    )


def throttled(message: str, retry_after: float) -> GraphError:
    headers = {"Retry-After": retry_after_header(retry_after)}
    return GraphError(429, "ApplicationThrottled", message, headers)


def fault_error(status: int, retry_after: float | None) -> GraphError:
    """The answer of an injected fault, with the code Graph uses for that status."""
    codes = {
        429: ("TooManyRequests", "Please retry again later."),
        500: ("generalException", "General exception while processing."),
        502: ("serviceNotAvailable", "The service is temporarily unavailable."),
        503: ("serviceNotAvailable", "The service is temporarily unavailable."),
        504: ("UnknownError", ""),
    }
    code, message = codes.get(status, ("generalException", "Injected failure."))
    headers = {"Retry-After": retry_after_header(retry_after)} if retry_after is not None else {}
    return GraphError(status, code, message, headers)
