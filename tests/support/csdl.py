"""JSON bodies checked against Graph's own v1.0 schema (issue 24, fidelity suite).

The schema is the subset of microsoftgraph/msgraph-metadata's `cleanMetadata.xml` in
`integration/m365emu_graph/csdl/graph-v1.0-subset.xml` (its first comment names the
commit). `Schema.problems(value, "event")` lists every way a body differs from the type:
a property the type does not have (open entity types included: Graph's own answers carry
only declared properties, so an emulator inventing one is a difference; an open complex
type without declared properties, `resourceData`, takes any), a JSON type that is not
the property's (a string for a Boolean, a number for a string, an enum member that does
not exist, a DateTimeOffset that is not ISO 8601), a null where the property is not
nullable, a navigation property that is not expanded. Instance and property annotations
(`@odata.etag`, `@removed`, `attendees@odata.type`) are OData's, not the type's, and pass.
`error_problems` checks the error body every failure carries (concepts/errors.md), which
the CSDL does not describe.

Where Microsoft's references disagree, the documented example wins and the difference is
listed in BEYOND_SCHEMA with where it is documented.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SUBSET = (
    Path(__file__).parent.parent
    / "integration"
    / "m365emu_graph"
    / "csdl"
    / "graph-v1.0-subset.xml"
)
_EDM = "{http://docs.oasis-open.org/odata/ns/edm}"
_PATTERNS = {
    "Edm.DateTimeOffset": re.compile(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d{1,7})?)?(Z|[+-]\d\d:\d\d)"
    ),
    "Edm.Date": re.compile(r"\d{4}-\d\d-\d\d"),
    "Edm.TimeOfDay": re.compile(r"\d\d:\d\d(:\d\d(\.\d{1,7})?)?"),
    "Edm.Duration": re.compile(r"-?P(\d+D)?(T(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?"),
    "Edm.Guid": re.compile(r"[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}"),
    "Edm.Binary": re.compile(r"[A-Za-z0-9+/_=-]*"),
}

# (type, property): documented in v1.0 answers, absent from the v1.0 CSDL.
BEYOND_SCHEMA = frozenset(
    {
        # api-reference/v1.0/api/subscription-get.md and subscription-list.md responses.
        ("subscription", "notificationContentType"),
    }
)


@dataclass(frozen=True)
class Member:
    type: str
    nullable: bool
    navigation: bool


@dataclass
class TypeDef:
    name: str
    kind: str  # EntityType, ComplexType, EnumType
    base: str | None = None
    members: dict[str, Member] = field(default_factory=dict)
    enum_values: frozenset[str] = frozenset()
    flags: bool = False
    open: bool = False


class Schema:
    def __init__(self, path: Path = SUBSET) -> None:
        self.types: dict[str, TypeDef] = {}
        for element in ET.parse(path).getroot():  # noqa: S314 - the committed schema
            kind = element.tag.removeprefix(_EDM)
            name = element.get("Name", "")
            base = element.get("BaseType")
            found = TypeDef(name, kind, base.removeprefix("graph.") if base else None)
            for child in element:
                tag = child.tag.removeprefix(_EDM)
                if tag == "Member":
                    found.enum_values |= {child.get("Name", "")}
                else:
                    found.members[child.get("Name", "")] = Member(
                        child.get("Type", ""),
                        child.get("Nullable") != "false",
                        tag == "NavigationProperty",
                    )
            found.flags = element.get("IsFlags") == "true"
            found.open = element.get("OpenType") == "true"
            self.types[name] = found

    def members(self, type_name: str) -> dict[str, Member]:
        found = self.types[type_name]
        inherited = self.members(found.base) if found.base else {}
        return {**inherited, **found.members}

    def derives(self, type_name: str, base: str) -> bool:
        while type_name:
            if type_name == base:
                return True
            type_name = self.types[type_name].base or ""
        return False

    def problems(self, value: Any, type_name: str, where: str = "$") -> list[str]:
        """Every difference between `value` and the type (`event`, `Collection(event)`,
        `Edm.String`, `graph.location`)."""
        type_name = type_name.removeprefix("graph.")
        if type_name.startswith("Collection("):
            if not isinstance(value, list):
                return [f"{where}: expected an array, got {_json(value)}"]
            inner = type_name.removeprefix("Collection(").removesuffix(")")
            return [
                p
                for i, item in enumerate(value)
                for p in self.problems(item, inner, f"{where}[{i}]")
            ]
        if type_name.startswith("Edm."):
            return _primitive(value, type_name, where)
        if type_name not in self.types:
            return [f"{where}: type {type_name} is not in the schema subset"]
        found = self.types[type_name]
        if found.kind == "EnumType":
            if not isinstance(value, str):
                return [f"{where}: expected a {type_name} member, got {_json(value)}"]
            names = [v.strip() for v in value.split(",")] if found.flags else [value]
            wrong = [n for n in names if n not in found.enum_values]
            return [f"{where}: {n!r} is no member of {type_name}" for n in wrong]
        if not isinstance(value, dict):
            return [f"{where}: expected a {type_name} object, got {_json(value)}"]
        if found.kind == "ComplexType" and found.open and not found.members:
            return []  # resourceData: whatever the resource's properties are
        declared = value.get("@odata.type")
        if isinstance(declared, str):
            actual = declared.removeprefix("#").removeprefix("microsoft.graph.")
            if actual not in self.types or not self.derives(actual, type_name):
                return [f"{where}: @odata.type {declared} is not a {type_name}"]
            type_name = actual
        members = self.members(type_name)
        out: list[str] = []
        for name, item in value.items():
            if name.startswith("@") or "@odata." in name:
                continue  # OData annotations
            member = members.get(name)
            if member is None and (type_name, name) in BEYOND_SCHEMA:
                continue
            if member is None:
                out.append(f"{where}.{name}: {type_name} has no such property")
            elif (
                member.navigation
                and member.type.removeprefix("Collection(").removesuffix(")").removeprefix("graph.")
                not in self.types
            ):
                out.append(f"{where}.{name}: navigation property answered without $expand")
            elif item is None:
                if not member.nullable:
                    out.append(f"{where}.{name}: null, but {type_name}.{name} is not nullable")
            else:
                out.extend(self.problems(item, member.type, f"{where}.{name}"))
        return out


def _json(value: Any) -> str:
    return f"{type(value).__name__} {value!r}"[:80]


def _primitive(value: Any, type_name: str, where: str) -> list[str]:
    if value is None:
        return []
    if type_name == "Edm.Boolean":
        ok = isinstance(value, bool)
    elif type_name in ("Edm.Int16", "Edm.Int32", "Edm.Int64", "Edm.Byte"):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif type_name in ("Edm.Double", "Edm.Single", "Edm.Decimal"):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif type_name in _PATTERNS:
        ok = isinstance(value, str) and _PATTERNS[type_name].fullmatch(value) is not None
    else:  # Edm.String, Edm.Stream and the like
        ok = isinstance(value, str)
    return [] if ok else [f"{where}: {_json(value)} is not an {type_name}"]


def error_problems(body: Any) -> list[str]:
    """The error body every Graph failure carries (concepts/errors.md)."""
    if not isinstance(body, dict) or set(body) != {"error"} or not isinstance(body["error"], dict):
        return [f"$: not a Graph error body: {_json(body)}"]
    error = body["error"]
    out = [
        f"$.error.{name}: missing or not a string"
        for name in ("code", "message")
        if not isinstance(error.get(name), str)
    ]
    inner = error.get("innerError")
    if not isinstance(inner, dict):
        out.append("$.error.innerError: missing")
    else:
        out.extend(
            f"$.error.innerError.{k}: not a string"
            for k, v in inner.items()
            if not isinstance(v, str)
        )
        for name in ("date", "request-id", "client-request-id"):
            if name not in inner:
                out.append(f"$.error.innerError.{name}: missing")
    unknown = set(error) - {"code", "message", "innerError", "details", "target"}
    out.extend(f"$.error.{name}: not a property of Graph's error" for name in sorted(unknown))
    return out


_ROUTES: list[tuple[re.Pattern[str], str, str]] = [
    # (path, the type of a single answer, the type of a listed one)
    (re.compile(r"/me"), "user", ""),
    (re.compile(r"/me/mailboxSettings"), "mailboxSettings", ""),
    (re.compile(r"/me/outlook/masterCategories"), "outlookCategory", "outlookCategory"),
    (re.compile(r"/me/outlook/masterCategories/[^/]+"), "outlookCategory", ""),
    (re.compile(r"/me(/calendar)?/events"), "event", "event"),
    (re.compile(r"/me(/calendar)?/events/[^/]+"), "event", ""),
    (re.compile(r"/me(/calendar)?/events/[^/]+/instances"), "", "event"),
    (re.compile(r"/me(/calendar)?/calendarView(/delta(\(\))?)?"), "", "event"),
    (re.compile(r"/subscriptions"), "subscription", "subscription"),
    (re.compile(r"/subscriptions/[^/]+(/reauthorize)?"), "subscription", ""),
]


def answer_problems(
    schema: Schema, method: str, path: str, status: int, body: Any, request_body: Any = None
) -> list[str]:
    """Every difference of one answer from the schema: errors against Graph's error body,
    lists against the collection of their type, `$batch` item by item."""
    path = "/" + path.split("/v1.0/", 1)[-1].lstrip("/") if "/v1.0" in path else path
    path = path.split("?", 1)[0].rstrip("/") or "/"
    if body is None:
        return []
    if status >= 400:
        return error_problems(body)
    if path == "/$batch":
        return _batch_problems(schema, body, request_body)
    for pattern, single, listed in _ROUTES:
        if pattern.fullmatch(path):
            if listed and method == "GET" and isinstance(body, dict) and "value" in body:
                extra = [
                    f"$.{k}: not a collection annotation"
                    for k in body
                    if k != "value" and not k.startswith("@")
                ]
                return extra + schema.problems(body["value"], f"Collection({listed})", "$.value")
            if single:
                return schema.problems(body, single)
    return [f"{method} {path}: no schema type is known for this answer"]


def _batch_problems(schema: Schema, body: Any, request_body: Any) -> list[str]:
    requests = {
        str(r.get("id")).lower(): r
        for r in (request_body or {}).get("requests", [])
        if isinstance(r, dict)
    }
    if not isinstance(body, dict) or not isinstance(body.get("responses"), list):
        return ["$: a $batch answer needs 'responses'"]
    out: list[str] = []
    for item in body["responses"]:
        request = requests.get(str(item.get("id")).lower(), {})
        url = "/" + str(request.get("url", "")).lstrip("/")
        for problem in answer_problems(
            schema,
            str(request.get("method", "GET")).upper(),
            url,
            int(item.get("status", 0)),
            item.get("body"),
        ):
            out.append(f"$batch[{item.get('id')}] {problem}")
    return out
