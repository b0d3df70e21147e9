"""A mailbox's master list of categories (resources/outlookcategory.md).

Names are unique in a list, compared case-insensitively (Outlook treats "Sync" and "sync"
as the same category); colours are `none` or `preset0`…`preset24` and need not be unique.
Only `color` changes after creation. Written through `Persistence`.
Not emulated: the default categories a new Outlook mailbox is seeded with (a new mailbox
here starts with an empty list, so tests see exactly what they create).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from m365emu.graph.common.errors import not_found
from m365emu.graph.master_categories.errors import duplicate_name, invalid_color, name_required
from m365emu.persistence import Persistence

CATEGORY_DOC = "graph.category"
COLORS = frozenset(["none"] + [f"preset{n}" for n in range(25)])
# Desktop Outlook's colours for preset0…preset24 (outlookcategory.md names; hex chosen here,
# Graph publishes none): used by the Outlook page.
PRESET_HEX = [
    "#e7515a",
    "#f28c3a",
    "#ab7b4c",
    "#f7d046",
    "#4cb050",
    "#35b0a6",
    "#8bb14a",
    "#3f8ae0",
    "#a05ac8",
    "#d8487a",
    "#7d8ca3",
    "#56606e",
    "#a0a0a0",
    "#6b6b6b",
    "#2b2b2b",
    "#a4262c",
    "#ca5010",
    "#8e562e",
    "#c19c00",
    "#0b6a0b",
    "#038387",
    "#5c7e10",
    "#004e8c",
    "#5c2e91",
    "#8b1a48",
]


def color_hex(color: str) -> str:
    if color.startswith("preset") and color[6:].isdigit() and int(color[6:]) < 25:
        return PRESET_HEX[int(color[6:])]
    return "#c8c6c4"


@dataclass
class Category:
    id: str
    display_name: str
    color: str

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "displayName": self.display_name, "color": self.color}


class CategoryStore:
    def __init__(self, mailbox_key: str, persistence: Persistence) -> None:
        self.mailbox_key = mailbox_key
        self._persistence = persistence
        self.categories: dict[str, Category] = {}

    def load(self, doc: dict[str, Any]) -> None:
        self.categories[doc["id"]] = Category(doc["id"], doc["displayName"], doc["color"])

    def _save(self, category: Category) -> None:
        self._persistence.save(
            CATEGORY_DOC, f"{self.mailbox_key}|{category.id}", category.to_json()
        )

    def listed(self) -> list[Category]:
        return list(self.categories.values())

    def by_name(self, name: str) -> Category | None:
        for category in self.categories.values():
            if category.display_name.lower() == name.lower():
                return category
        return None

    def get(self, category_id: str) -> Category:
        found = self.categories.get(category_id)
        if found is None:
            raise not_found()
        return found

    def create(self, name: str, color: str) -> Category:
        if not name.strip():
            raise name_required()
        if color not in COLORS:
            raise invalid_color(color)
        if self.by_name(name) is not None:
            raise duplicate_name(name)
        category = Category(str(uuid.uuid4()), name, color)
        self.categories[category.id] = category
        self._save(category)
        return category

    def recolor(self, category_id: str, color: str) -> Category:
        category = self.get(category_id)
        if color not in COLORS:
            raise invalid_color(color)
        category.color = color
        self._save(category)
        return category

    def delete(self, category_id: str) -> None:
        self.get(category_id)
        del self.categories[category_id]
        self._persistence.delete(CATEGORY_DOC, f"{self.mailbox_key}|{category_id}")
