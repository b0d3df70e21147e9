"""A store's options as the administrator posts them (R6b, R14b, R21, R21b, R21d): the form
checked field by field, with Outlook's category colours it offers (graph.md §3)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from s5sync.core.records import TenantRecord
from s5sync.core.timezones import UnknownTimeZone, zone

# graph.md §3: Outlook's category colours and the names desktop Outlook gives them.
COLOUR_WORDS = [
    "Red", "Orange", "Brown", "Yellow", "Green", "Teal", "Olive", "Blue", "Purple",
    "Cranberry", "Steel", "DarkSteel", "Gray", "DarkGray", "Black", "DarkRed",
    "DarkOrange", "DarkBrown", "DarkYellow", "DarkGreen", "DarkTeal", "DarkOlive",
    "DarkBlue", "DarkPurple", "DarkCranberry",
]  # fmt: skip
CATEGORY_COLOURS: tuple[tuple[str, str], ...] = tuple(
    (f"preset{i}", name) for i, name in enumerate(COLOUR_WORDS)
)
COLOUR_NAMES = dict(CATEGORY_COLOURS)


@dataclass(frozen=True)
class OptionsResult:
    """What saving the options form came to."""

    tenant: TenantRecord
    saved: bool = False
    confirm_time_zone: bool = False  # R21b: the page warns before a zone change
    errors: dict[str, str] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)


class _Checked:
    """A posted form's values as they are checked, and what is wrong, by field."""

    def __init__(self, form: Mapping[str, str]) -> None:
        self.form = form
        self.values: dict[str, Any] = {}
        self.errors: dict[str, str] = {}

    def text(self, name: str, label: str, longest: int) -> None:
        value = " ".join(self.form.get(name, "").split())
        if not value:
            self.errors[name] = f"{label} cannot be empty."
        elif len(value) > longest:
            self.errors[name] = f"{label} can be at most {longest} characters."
        self.values[name] = value

    def number(self, name: str, label: str, low: int, high: int) -> None:
        raw = self.form.get(name, "").strip()
        try:
            value = int(raw)
        except ValueError:
            self.errors[name] = f"{label} must be a whole number."
            self.values[name] = raw
            return
        if not low <= value <= high:
            self.errors[name] = f"{label} must be between {low} and {high}."
        self.values[name] = value

    def colour(self, name: str) -> None:
        colour = self.form.get(name, "")
        if colour not in COLOUR_NAMES:
            self.errors[name] = "Pick one of Outlook's category colours."
        self.values[name] = colour

    def ticked(self, name: str) -> None:
        self.values[name] = self.form.get(name) in ("on", "true", "1")

    def categories(self) -> None:
        """The synced events' category and, R6b, the one an event gets when its task is
        deleted in System Five: named, without a comma, and not the same."""
        self.text("category_name", "The category name", 255)
        if "," in self.values["category_name"]:
            self.errors["category_name"] = "The category name cannot contain a comma."
        self.colour("category_color")
        self.ticked("removed_category")
        self.text("removed_category_name", "The removed category name", 255)
        removed = self.values["removed_category_name"]
        if "," in removed:
            self.errors["removed_category_name"] = (
                "The removed category name cannot contain a comma."
            )
        elif removed.casefold() == self.values["category_name"].casefold():
            self.errors["removed_category_name"] = (
                "The removed category must have another name than the category of synced events."
            )
        self.colour("removed_category_color")

    def time_zone(self) -> None:
        time_zone = self.form.get("time_zone", "").strip()
        try:
            zone(time_zone)
        except UnknownTimeZone:
            self.errors["time_zone"] = f"{time_zone!r} is not a time zone name (like Europe/Paris)."
        self.values["time_zone"] = time_zone


def parse_options(form: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The store options of a posted form (R21), checked; (values, errors by field)."""
    checked = _Checked(form)
    checked.categories()
    checked.text("sync_tag", "The sync tag", 40)
    checked.number("import_window_days", "The import window", 1, 90)
    checked.number("interval_minutes", "The interval", 2, 24 * 60)
    checked.number("retention_days", "The record retention", 1, 3650)
    # R14b: how often System Five is watched, and the safety-net cycle while push is live
    # (read when posted: a form without them leaves them as they are).
    if "s5_poll_seconds" in form:
        checked.number("s5_poll_seconds", "How often System Five is watched", 1, 3600)
    if "safety_minutes" in form:
        checked.number("safety_minutes", "The safety-net interval", 1, 24 * 60)
    checked.ticked("background_sync")
    checked.ticked("alert_digest")  # R21d
    checked.time_zone()
    return checked.values, checked.errors
