"""The request and response shapes every Graph route handles, whether it arrived over HTTP
or as an item of a `$batch` (concepts/json-batching.md): a route never sees Starlette.

Query option names are matched case-insensitively, as Graph does (the event-delta.md
example sends `startdatetime`). `Prefer` is parsed into its preferences (several may be
comma-separated in one header, or sent as several headers).

Bodies: a POST, PATCH or PUT body is read only with a JSON `Content-Type`; without one
Graph answers 400 BadRequest "Unable to read JSON request payload. Please ensure
Content-Type header is set…" (observed: microsoft-graph-docs-contrib#6337). JSON answers
carry Graph's full media type, `GRAPH_JSON` (the json-batching.md response example).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from m365emu.graph.common.errors import GraphError, bad_request, invalid_json
from m365emu.tokens import AccessClaims

# The Content-Type of every JSON answer Graph sends (json-batching.md, response example).
GRAPH_JSON = (
    "application/json;odata.metadata=minimal;odata.streaming=true;"
    "IEEE754Compatible=false;charset=utf-8"
)


def parse_prefer(values: list[str]) -> dict[str, str]:
    """`outlook.timezone="Pacific Standard Time", odata.maxpagesize=2` → lower-cased names."""
    prefs: dict[str, str] = {}
    for value in values:
        for part in _split_outside_quotes(value):
            name, _, raw = part.partition("=")
            name = name.strip().lower()
            if name:
                prefs[name] = raw.strip().strip('"')
    return prefs


def _split_outside_quotes(value: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for char in value:
        if char == '"':
            quoted = not quoted
        if char == "," and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


@dataclass
class GraphRequest:
    method: str
    path: str  # relative to the Graph base URL, e.g. "/me/events/AAMk…"
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    body: bytes = b""
    prefer_values: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.method = self.method.upper()
        self.headers = {k.lower(): v for k, v in self.headers.items()}
        self._query_ci = {k.lower(): v for k, v in self.query.items()}
        if not self.prefer_values and "prefer" in self.headers:
            self.prefer_values = [self.headers["prefer"]]
        self.prefer = parse_prefer(self.prefer_values)

    def q(self, name: str) -> str | None:
        return self._query_ci.get(name.lower())

    def query_names(self) -> set[str]:
        return set(self._query_ci)

    def json_object(self) -> dict[str, Any]:
        """The body as a JSON object, or Graph's 400 for anything else (a missing or
        non-JSON Content-Type included)."""
        media = self.headers.get("content-type", "").split(";")[0].strip().lower()
        if media != "application/json":
            raise invalid_json()
        if not self.body.strip():
            raise bad_request("Empty Payload. JSON content expected.")
        try:
            value = json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            raise invalid_json() from None
        if not isinstance(value, dict):
            raise invalid_json()
        return value


@dataclass
class GraphResponse:
    status: int
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Call:
    """One authenticated request on its way to a route handler."""

    request: GraphRequest
    claims: AccessClaims
    params: dict[str, str]
    base_url: str  # absolute, ending in "/v1.0", for @odata.nextLink and context URLs
    applied: list[str] = field(default_factory=list)  # Preference-Applied values

    @property
    def mailbox_key(self) -> str:
        return mailbox_key(self.claims.tid, self.claims.oid)

    def prefer(self, name: str) -> str | None:
        return self.request.prefer.get(name.lower())

    def context_url(self, suffix: str) -> str:
        root = self.base_url.rstrip("/")
        return f"{root}/$metadata#users('{self.claims.oid}')/{suffix}"

    def ok(self, body: dict[str, Any], status: int = 200) -> GraphResponse:
        headers = {}
        if self.applied:
            headers["Preference-Applied"] = ", ".join(self.applied)
        return GraphResponse(status, body, headers)


def mailbox_key(tid: str, oid: str) -> str:
    """How a mailbox is named in state, stats and `expire_delta`: "<tenant id>/<object id>"."""
    return f"{tid}/{oid}"


def require_int(value: str | None, name: str, minimum: int, maximum: int) -> int | None:
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        raise bad_request(f"Invalid value '{value}' for query option '{name}'.") from None
    if not minimum <= number <= maximum:
        raise bad_request(f"Invalid value '{value}' for query option '{name}'.")
    return number


__all__ = [
    "GRAPH_JSON",
    "Call",
    "GraphError",
    "GraphRequest",
    "GraphResponse",
    "mailbox_key",
    "parse_prefer",
    "require_int",
]
