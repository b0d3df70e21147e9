"""The OData query options the event routes understand (concepts/query-parameters.md):
`$select`, `$top`, `$skip`, `$orderby`, `$expand=singleValueExtendedProperties($filter=id eq
'…')` and a `$filter` subset.

`$filter` grammar (enough for what calendar clients send, including
singlevaluelegacyextendedproperty-get.md's lambda):
    expr   := term ('or' term)*          term := factor ('and' factor)*
    factor := 'not' factor | '(' expr ')' | call | lambda | path op literal
    call   := (contains|startswith|endswith) '(' path ',' string ')'
            | 'cast' '(' var '/value' ',' edmtype ')' op literal
    lambda := (singleValueExtendedProperties|categories) '/' (any|Any) '(' var ':' expr ')'
Paths: subject, type, isAllDay, showAs, importance, sensitivity, isReminderOn, iCalUId,
transactionId, seriesMasterId, start/dateTime, end/dateTime, createdDateTime,
lastModifiedDateTime, and `ep/id`, `ep/value`, `c` inside lambdas. Extended property
values compare case-insensitively, names case-sensitively (graph.md §4).

The extended-property forms singlevaluelegacyextendedproperty-get.md documents all work
(issue 24 item 8): `ep/value eq '…'`, `contains(ep/value, '…')`, `startswith(ep/value, '…')`
and `cast(ep/value, Edm.Int32) eq 12` / `cast(ep/value, Edm.Guid) eq (b9cf8971-…)`. A cast
also takes Edm.Int64, Edm.Double and Edm.Boolean; a value the cast cannot convert matches
nothing (Microsoft documents no answer for it). Anything else is 400 `BadRequest` "Invalid
filter clause", never a 500.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from m365emu.graph.common.errors import GraphError, bad_request
from m365emu.graph.events import timezones
from m365emu.graph.events.models import StoredEvent
from m365emu.graph.events.payload import extended_key
from m365emu.graph.events.render import EVENT_PROPERTIES

Predicate = Callable[[StoredEvent, dict[str, Any]], bool]
_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|"
    r"(?P<guid>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?![\w-]))|"
    r"(?P<num>-?\d+(?:\.\d+)?(?![\w:-]))|"
    r"(?P<dt>\d{4}-\d{2}-\d{2}T[\d:.]+(?:Z|[+-]\d{2}:\d{2})?)|(?P<sym>[(),:/])|"
    r"(?P<word>[A-Za-z_][\w.]*))"
)
_OPS = {"eq", "ne", "gt", "ge", "lt", "le"}


def invalid_filter(detail: str = "") -> GraphError:
    return bad_request("Invalid filter clause" + (f": {detail}" if detail else ""))


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise invalid_filter(f"unexpected '{text[pos : pos + 10]}'")
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind)))
        pos = match.end()
    return out


def _either(a: Predicate, b: Predicate) -> Predicate:
    return lambda e, v: a(e, v) or b(e, v)


def _both(a: Predicate, b: Predicate) -> Predicate:
    return lambda e, v: a(e, v) and b(e, v)


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.pos = 0
        self.variables: set[str] = set()

    def peek(self, ahead: int = 0) -> tuple[str, str]:
        index = self.pos + ahead
        return self.tokens[index] if index < len(self.tokens) else ("end", "")

    def take(self, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token[0] == "end" or (value is not None and token[1].lower() != value.lower()):
            raise invalid_filter(f"expected '{value or 'more'}'")
        self.pos += 1
        return token

    def parse(self) -> Predicate:
        predicate = self.expr()
        if self.peek()[0] != "end":
            raise invalid_filter(f"unexpected '{self.peek()[1]}'")
        return predicate

    def expr(self) -> Predicate:
        left = self.term()
        while self.peek()[1].lower() == "or":
            self.take()
            left = _either(left, self.term())
        return left

    def term(self) -> Predicate:
        left = self.factor()
        while self.peek()[1].lower() == "and":
            self.take()
            left = _both(left, self.factor())
        return left

    def factor(self) -> Predicate:
        kind, value = self.peek()
        if value.lower() == "not":
            self.take()
            inner = self.factor()
            return lambda e, v: not inner(e, v)
        if value == "(":
            self.take()
            inner = self.expr()
            self.take(")")
            return inner
        if kind != "word":
            raise invalid_filter(f"unexpected '{value}'")
        if value.lower() in ("contains", "startswith", "endswith") and self.peek(1)[1] == "(":
            return self.call()
        if value.lower() == "cast" and self.peek(1)[1] == "(":
            return self.cast()
        path = self.path()
        if self.peek()[1] == "/" and self.peek(1)[1].lower() == "any":
            return self.lambda_(path)
        op = self.take()[1].lower()
        if op not in _OPS:
            raise invalid_filter(f"unknown operator '{op}'")
        literal = self.literal()
        return lambda e, v: _compare(_value(path, e, v), op, literal)

    def path(self) -> str:
        path = self._raw_path()
        head, _, rest = path.partition("/")
        if head in self.variables:
            if rest.lower() not in ("", "id", "value"):
                raise invalid_filter(f"unknown path '{path}'")
        elif path.lower() not in _EVENT_PATHS and path.lower() not in _COLLECTIONS:
            raise invalid_filter(f"unknown property '{path}'")
        return path

    def _raw_path(self) -> str:
        parts = [self.take()[1]]
        while (
            self.peek()[1] == "/" and self.peek(1)[0] == "word" and self.peek(1)[1].lower() != "any"
        ):
            self.take("/")
            parts.append(self.take()[1])
        return "/".join(parts)

    def call(self) -> Predicate:
        name = self.take()[1].lower()
        self.take("(")
        path = self.path()
        self.take(",")
        kind, raw = self.take()
        if kind != "str":
            raise invalid_filter(f"{name} needs a string")
        self.take(")")
        needle = raw[1:-1].replace("''", "'").lower()

        def check(e: StoredEvent, v: dict[str, Any]) -> bool:
            hay = _value(path, e, v)
            if isinstance(hay, tuple) and hay[0] == "extended-value":
                hay = hay[1]
            if not isinstance(hay, str):
                return False
            hay = hay.lower()
            return {
                "contains": needle in hay,
                "startswith": hay.startswith(needle),
                "endswith": hay.endswith(needle),
            }[name]

        return check

    def cast(self) -> Predicate:
        self.take("cast")
        self.take("(")
        path = self.path()
        head, _, rest = path.partition("/")
        if head not in self.variables or rest.lower() != "value":
            raise invalid_filter("cast() applies to an extended property's value")
        self.take(",")
        type_name = self.take()[1]
        convert = _CASTS.get(type_name.lower())
        if convert is None:
            raise invalid_filter(f"cannot cast to '{type_name}'")
        self.take(")")
        op = self.take()[1].lower()
        if op not in _OPS:
            raise invalid_filter(f"unknown operator '{op}'")
        literal = self.cast_literal(type_name.lower(), convert)

        def check(e: StoredEvent, v: dict[str, Any]) -> bool:
            value = _value(path, e, v)
            try:
                left = convert(value[1])
            except (ValueError, TypeError):
                return False
            return _compare(left, op, literal)

        return check

    def cast_literal(self, type_name: str, convert: Callable[[str], Any]) -> Any:
        kind, raw = self.peek()
        if type_name == "edm.guid":
            wrapped = raw == "("
            if wrapped:
                self.take("(")
            kind, raw = self.take()
            if wrapped:
                self.take(")")
            if kind != "guid":
                raise invalid_filter(f"'{raw}' is not a Guid")
            return convert(raw)
        literal = self.literal()
        if type_name == "edm.boolean":
            if not isinstance(literal, bool):
                raise invalid_filter(f"'{raw}' is not a Boolean")
            return literal
        if not isinstance(literal, float) or isinstance(literal, bool):
            raise invalid_filter(f"'{raw}' is not a number")
        return literal

    def lambda_(self, collection: str) -> Predicate:
        self.take("/")
        self.take("any")
        self.take("(")
        var = self.take()[1]
        self.take(":")
        self.variables.add(var)
        body = self.expr()
        self.variables.discard(var)
        self.take(")")
        if collection.lower() == "singlevalueextendedproperties":

            def any_extended(e: StoredEvent, v: dict[str, Any]) -> bool:
                return any(
                    body(e, {**v, var: ("ep", key, prop)}) for key, prop in e.extended.items()
                )

            return any_extended
        if collection.lower() == "categories":

            def any_category(e: StoredEvent, v: dict[str, Any]) -> bool:
                return any(body(e, {**v, var: ("c", c, None)}) for c in e.categories)

            return any_category
        raise invalid_filter(f"cannot use any() on '{collection}'")

    def literal(self) -> Any:
        kind, raw = self.take()
        if kind == "str":
            return raw[1:-1].replace("''", "'")
        if kind == "num":
            return float(raw)
        if kind == "dt":
            return timezones.query_instant(raw, "$filter")
        if kind == "word" and raw.lower() in ("true", "false"):
            return raw.lower() == "true"
        if kind == "word" and raw.lower() == "null":
            return None
        raise invalid_filter(f"'{raw}' is not a value")


def _int32(text: str) -> int:
    number = int(text.strip())
    if not -(2**31) <= number < 2**31:
        raise ValueError(text)
    return number


def _int64(text: str) -> int:
    number = int(text.strip())
    if not -(2**63) <= number < 2**63:
        raise ValueError(text)
    return number


def _boolean(text: str) -> bool:
    if text.strip().lower() not in ("true", "false"):
        raise ValueError(text)
    return text.strip().lower() == "true"


_CASTS: dict[str, Callable[[str], Any]] = {
    "edm.int32": _int32,
    "edm.int64": _int64,
    "edm.double": float,
    "edm.boolean": _boolean,
    "edm.guid": lambda text: str(uuid.UUID(text.strip())),
}
_COLLECTIONS = {"singlevalueextendedproperties", "categories"}
_EVENT_PATHS: dict[str, Callable[[StoredEvent], Any]] = {
    "subject": lambda e: e.subject,
    "type": lambda e: e.kind,
    "isallday": lambda e: e.is_all_day,
    "showas": lambda e: e.show_as,
    "importance": lambda e: e.importance,
    "sensitivity": lambda e: e.sensitivity,
    "isreminderon": lambda e: e.is_reminder_on,
    "icaluid": lambda e: e.ical_uid,
    "transactionid": lambda e: e.transaction_id,
    "seriesmasterid": lambda e: e.series_master_id,
    "start/datetime": lambda e: e.start,
    "end/datetime": lambda e: e.end,
    "createddatetime": lambda e: e.created,
    "lastmodifieddatetime": lambda e: e.last_modified,
    "id": lambda e: e.id,
}


def _value(path: str, event: StoredEvent, variables: dict[str, Any]) -> Any:
    head, _, rest = path.partition("/")
    if head in variables:
        kind, key, prop = variables[head]
        if kind == "c" and not rest:
            return key
        if kind == "ep" and rest.lower() == "id":
            return ("extended-id", key)
        if kind == "ep" and rest.lower() == "value":
            return ("extended-value", prop[1])
        raise invalid_filter(f"unknown path '{path}'")
    getter = _EVENT_PATHS.get(path.lower())
    if getter is None:
        raise invalid_filter(f"unknown property '{path}'")
    return getter(event)


def _compare(left: Any, op: str, right: Any) -> bool:
    if isinstance(left, tuple) and left[0] == "extended-id":
        if not isinstance(right, str):
            return False
        matches = left[1] == extended_key(right)
        return matches if op == "eq" else (not matches if op == "ne" else False)
    if isinstance(left, tuple) and left[0] == "extended-value":
        left, right = left[1].lower(), right.lower() if isinstance(right, str) else right
    if isinstance(left, str) and isinstance(right, str) and not isinstance(left, tuple):
        left, right = left.lower(), right.lower()
    if isinstance(left, datetime) and isinstance(right, str):
        right = timezones.query_instant(right, "$filter")
    if op == "eq":
        return bool(left == right)
    if op == "ne":
        return bool(left != right)
    try:
        return bool(
            {"gt": left > right, "ge": left >= right, "lt": left < right, "le": left <= right}[op]
        )
    except TypeError:
        return False


def parse_filter(text: str | None) -> Predicate | None:
    if text is None:
        return None
    if not text.strip():
        raise invalid_filter()
    try:
        return _Parser(text).parse()
    except RecursionError:
        raise invalid_filter("too deeply nested") from None


def parse_select(text: str | None) -> frozenset[str] | None:
    if text is None:
        return None
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise bad_request("Invalid $select clause.")
    for name in names:
        if name not in EVENT_PROPERTIES:
            raise bad_request(
                f"Could not find a property named '{name}' on type 'microsoft.graph.event'."
            )
    return frozenset(names)


_EXPAND = re.compile(
    r"^singleValueExtendedProperties(?:\(\s*\$filter\s*=\s*(?P<filter>.+)\))?$", re.IGNORECASE
)
_EXPAND_ID = re.compile(r"^\s*id\s+eq\s+'(?P<id>(?:[^']|'')+)'\s*$", re.IGNORECASE)


def parse_expand(text: str | None) -> frozenset[str] | None:
    """Extended-property keys to include (empty set: all of them), or None."""
    if text is None:
        return None
    match = _EXPAND.match(text.strip())
    if match is None:
        raise bad_request(f"Parsing OData Select and Expand failed: could not expand '{text}'.")
    if match.group("filter") is None:
        return frozenset()
    keys = set()
    for clause in re.split(r"\s+or\s+", match.group("filter"), flags=re.IGNORECASE):
        one = _EXPAND_ID.match(clause)
        if one is None:
            raise invalid_filter("$expand supports only id eq '…'")
        keys.add(extended_key(one.group("id").replace("''", "'")))
    return frozenset(keys)


_ORDER_KEYS: dict[str, Callable[[StoredEvent], Any]] = {
    "start/datetime": lambda e: e.start,
    "end/datetime": lambda e: e.end,
    "subject": lambda e: e.subject.lower(),
    "createddatetime": lambda e: e.created,
    "lastmodifieddatetime": lambda e: e.last_modified,
}


def apply_orderby(events: list[StoredEvent], text: str | None) -> list[StoredEvent]:
    if text is None:
        return events
    ordered = list(events)
    for clause in reversed([c.strip() for c in text.split(",")]):
        name, _, direction = clause.partition(" ")
        key = _ORDER_KEYS.get(name.strip().lower())
        if key is None or direction.strip().lower() not in ("", "asc", "desc"):
            raise bad_request(f"Invalid $orderby clause '{clause}'.")
        ordered.sort(key=key, reverse=direction.strip().lower() == "desc")
    return ordered
