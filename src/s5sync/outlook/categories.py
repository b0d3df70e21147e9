"""The store's categories in the user's master category list (R3, R6b, R21b;
learn.microsoft.com/graph/api/outlookuser-post-mastercategories, outlookcategory-update).

`MasterCategories.apply` makes a category exist with the store's colour: with the id
remembered from an earlier answer, a colour change is one PATCH (R21b: "at the cost of
one request"); without it (or when that id is gone, 404) it lists the categories, creates
the missing one, and recolours one whose colour differs. On a refused create (the
duplicate-name answer is undocumented, graph.md §3) it re-lists and matches the name in
any letter case.

`CategoryMemo` is what a user's row remembers of it between cycles
(`CycleStore.mark_category_ready`: name → colour and id, as JSON text), so a cycle asks
Graph only when a name or colour of the store's options is new to that mailbox: an idle
cycle costs nothing here. A plain name (written before the memo held colours) reads as
"ensured, in the store's current colour, id unknown".
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import quote

from s5sync.outlook.errors import GraphRejected
from s5sync.outlook.session import Answer, GraphSession
from s5sync.sync.ports import CalendarGateway, MasterCategory

CATEGORIES_PATH = "/me/outlook/masterCategories"


def _refused(what: str, answer: Answer) -> GraphRejected:
    return GraphRejected(
        f"Microsoft Graph refused to {what} ({answer.status} {answer.error_code})",
        status=answer.status,
        code=answer.error_code,
    )


class MasterCategories:
    def __init__(self, session: GraphSession) -> None:
        self.session = session
        self._ok: dict[str, MasterCategory] = {}

    async def ensure(self, name: str, color: str) -> bool:
        """True if the category had to be created (its colour is left as it is)."""
        if name.casefold() in self._ok:
            return False
        found = await self._find(name)
        if found is not None:
            self._ok[name.casefold()] = found
            return False
        return (await self._create(name, color)).created

    async def apply(self, name: str, color: str, known_id: str | None) -> MasterCategory:
        """The category with `color` (R21b); one PATCH when `known_id` still exists."""
        if known_id is not None:
            patched = await self._recolour(known_id, color)
            if patched is not None:
                return patched
        found = await self._find(name)
        if found is None:
            return (await self._create(name, color)).category
        if found.color != color:
            patched = await self._recolour(found.id, color)
            if patched is not None:
                return patched
        return found

    async def _recolour(self, category_id: str, color: str) -> MasterCategory | None:
        answer = await self.session.request(
            "PATCH", f"{CATEGORIES_PATH}/{quote(category_id, safe='')}", body={"color": color}
        )
        if answer.status == 404:
            return None  # deleted by the user: found or created again by name
        if answer.status != 200:
            raise _refused("change the category's colour", answer)
        return _category(answer.body) or MasterCategory(category_id, "", color)

    async def _create(self, name: str, color: str) -> _Created:
        answer = await self.session.request(
            "POST", CATEGORIES_PATH, body={"displayName": name, "color": color}
        )
        if answer.status in (200, 201):
            made = _category(answer.body) or MasterCategory("", name, color)
            self._ok[name.casefold()] = made
            return _Created(made, True)
        if 400 <= answer.status < 500:
            found = await self._find(name)
            if found is not None:
                self._ok[name.casefold()] = found
                return _Created(found, False)
        raise _refused("create the category", answer)

    async def _find(self, name: str) -> MasterCategory | None:
        answer = await self.session.request("GET", CATEGORIES_PATH)
        if answer.status != 200 or not isinstance(answer.body, dict):
            raise _refused("list categories", answer)
        for raw in answer.body.get("value") or ():
            category = _category(raw)
            if category is not None and category.name.casefold() == name.casefold():
                return category
        return None


@dataclass(frozen=True)
class _Created:
    category: MasterCategory
    created: bool


def _category(raw: object) -> MasterCategory | None:
    if not isinstance(raw, dict):
        return None
    name, color, category_id = raw.get("displayName"), raw.get("color"), raw.get("id")
    if not isinstance(name, str):
        return None
    return MasterCategory(
        category_id if isinstance(category_id, str) else "",
        name,
        color if isinstance(color, str) else "none",
    )


@dataclass(frozen=True)
class CategoryMemo:
    """The categories ensured in one mailbox: casefolded name → (colour, id or None)."""

    known: Mapping[str, tuple[str, str | None]] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str | None, current_color: str) -> CategoryMemo:
        if not text:
            return cls()
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            # Before the memo held colours it held the one name ensured (R3).
            return cls({text.casefold(): (current_color, None)})
        known: dict[str, tuple[str, str | None]] = {}
        for name, value in data.items():
            if isinstance(value, list) and len(value) == 2 and isinstance(value[0], str):
                known[name] = (value[0], value[1] if isinstance(value[1], str) else None)
        return cls(known)

    def needs(self, name: str, color: str) -> bool:
        """Whether Graph must be asked: the name is new here, or its colour changed."""
        held = self.known.get(name.casefold())
        return held is None or held[0] != color

    def known_id(self, name: str) -> str | None:
        held = self.known.get(name.casefold())
        return None if held is None else held[1]

    def with_category(self, name: str, color: str, category_id: str | None) -> CategoryMemo:
        return CategoryMemo({**self.known, name.casefold(): (color, category_id or None)})

    def only(self, names: tuple[str, ...]) -> CategoryMemo:
        """The memo of the store's current names alone (an old name's row is dropped)."""
        wanted = {n.casefold() for n in names}
        return CategoryMemo({k: v for k, v in self.known.items() if k in wanted})

    def dump(self) -> str:
        return json.dumps({k: list(v) for k, v in sorted(self.known.items())}, ensure_ascii=False)


async def ensure_category_once(
    gateway: CalendarGateway, remembered: str | None, name: str, color: str
) -> str:
    """R3 at no cost after the first cycle; a renamed category (R21b) is ensured again."""
    if remembered != name:
        await gateway.ensure_category(name, color)
    return name
