"""A `$batch` request body read into items (concepts/json-batching.md; graph.md §5).

Rules (json-batching.md): 1 to 20 requests; `id` a string unique in the batch (compared
case-insensitively: "Not case sensitive. Must be unique within the batch, otherwise the
batch request fails with a 400 error code"); `method` one of GET/POST/PATCH/PUT/DELETE;
`url` relative (with or without the leading slash; query strings kept); `headers` an
object of strings, required with a `Content-Type` when there is a `body`; `dependsOn`
naming only EARLIER items of the batch — Graph refuses a dependency on a later or unknown
request with 400 "Invalid dependency for request Id …" (observed:
msgraph-sdk-dotnet-core#891), which also rules out cycles. Any breach refuses the whole
batch with 400. Not enforced: Graph's observed refusal of a batch that is neither fully
sequential nor fully parallel (microsoft-graph-docs-contrib#2339; the docs only advise
it), so mixed batches run as before.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from m365emu.graph.batch.errors import MAX_REQUESTS, invalid_dependency, malformed, too_many

_METHODS = {"GET", "POST", "PATCH", "PUT", "DELETE"}


@dataclass(frozen=True)
class BatchItem:
    id: str
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    depends_on: tuple[str, ...]


def read_batch(payload: dict[str, Any]) -> list[BatchItem]:
    requests = payload.get("requests")
    if not isinstance(requests, list) or not requests:
        raise malformed("'requests' must be a non-empty array.")
    if len(requests) > MAX_REQUESTS:
        raise too_many()
    items = [_read_item(raw) for raw in requests]
    ids = [item.id.lower() for item in items]
    if len(set(ids)) != len(ids):
        raise malformed("request ids must be unique.")
    for index, item in enumerate(items):
        earlier = set(ids[:index])
        for dependency in item.depends_on:
            if dependency.lower() not in earlier:
                raise invalid_dependency(item.id)
    return items


def _read_item(raw: Any) -> BatchItem:
    if not isinstance(raw, dict):
        raise malformed("each request must be an object.")
    item_id, method, url = raw.get("id"), raw.get("method"), raw.get("url")
    if not isinstance(item_id, str) or not item_id:
        raise malformed("each request needs a string id.")
    if not isinstance(method, str) or method.upper() not in _METHODS:
        raise malformed(f"request '{item_id}' has an invalid method.")
    if not isinstance(url, str) or not url or "://" in url:
        raise malformed(f"request '{item_id}' needs a relative url.")
    headers = raw.get("headers") or {}
    if not isinstance(headers, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        raise malformed(f"request '{item_id}' has invalid headers.")
    depends = raw.get("dependsOn") or []
    if not isinstance(depends, list) or not all(isinstance(d, str) for d in depends):
        raise malformed(f"request '{item_id}' has an invalid dependsOn.")
    body = b""
    if "body" in raw and raw["body"] is not None:
        if "content-type" not in {k.lower() for k in headers}:
            raise malformed(f"request '{item_id}' has a body but no Content-Type header.")
        body = json.dumps(raw["body"]).encode()
    split = urlsplit(url if url.startswith("/") else "/" + url)
    query = dict(parse_qsl(split.query, keep_blank_values=True))
    return BatchItem(item_id, method.upper(), split.path, query, headers, body, tuple(depends))
