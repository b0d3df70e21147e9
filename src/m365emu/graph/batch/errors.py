"""Errors of /$batch (concepts/json-batching.md): a malformed batch is refused whole with
400; a dependant of a failed request gets 424 inside the 200."""

from __future__ import annotations

from m365emu.graph.common.errors import GraphError, bad_request

MAX_REQUESTS = 20


def malformed(message: str) -> GraphError:
    return bad_request(f"Invalid batch payload: {message}")


def too_many() -> GraphError:
    return bad_request(f"The number of requests in a batch cannot exceed {MAX_REQUESTS}.")


def invalid_dependency(item_id: str) -> GraphError:
    # A dependency on a later or unknown request (observed: msgraph-sdk-dotnet-core#891).
    return bad_request(f"Invalid dependency for request Id {item_id}.")


def failed_dependency() -> GraphError:
    return GraphError(424, "FailedDependency", "The request depends on a request that failed.")
