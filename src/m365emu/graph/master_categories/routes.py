"""/me/outlook/masterCategories (outlookuser-list-mastercategories.md,
outlookuser-post-mastercategories.md, outlookcategory-get/update/delete).

Reading needs MailboxSettings.Read or MailboxSettings.ReadWrite; writing needs
MailboxSettings.ReadWrite. Colour names are accepted in any case ("Preset9", as the docs'
table writes them) and answered lower-case.
"""

from __future__ import annotations

from typing import Any

from m365emu.graph.common.dispatch import Route
from m365emu.graph.common.errors import unknown_property, wrong_type
from m365emu.graph.common.http import Call, GraphResponse
from m365emu.graph.master_categories.errors import name_read_only
from m365emu.graph.state import Mailbox

READ = frozenset({"MailboxSettings.Read", "MailboxSettings.ReadWrite"})
WRITE = frozenset({"MailboxSettings.ReadWrite"})
_FIELDS = {"id", "displayName", "color"}


def _fields(body: dict[str, Any]) -> dict[str, Any]:
    fields = {}
    for name, value in body.items():
        if name.startswith("@"):
            continue
        if name not in _FIELDS:
            raise unknown_property(name, "microsoft.graph.outlookCategory")
        if value is not None and not isinstance(value, str):
            raise wrong_type(name, "Edm.String")
        fields[name] = value
    return fields


def list_categories(call: Call, box: Mailbox) -> GraphResponse:
    return call.ok(
        {
            "@odata.context": call.context_url("outlook/masterCategories"),
            "value": [c.to_json() for c in box.categories.listed()],
        }
    )


def create_category(call: Call, box: Mailbox) -> GraphResponse:
    fields = _fields(call.request.json_object())
    color = (fields.get("color") or "none").lower()
    category = box.categories.create(fields.get("displayName") or "", color)
    return call.ok(
        {
            "@odata.context": call.context_url("outlook/masterCategories/$entity"),
            **category.to_json(),
        },
        201,
    )


def get_category(call: Call, box: Mailbox) -> GraphResponse:
    category = box.categories.get(call.params["id"])
    return call.ok(
        {
            "@odata.context": call.context_url("outlook/masterCategories/$entity"),
            **category.to_json(),
        }
    )


def update_category(call: Call, box: Mailbox) -> GraphResponse:
    fields = _fields(call.request.json_object())
    category = box.categories.get(call.params["id"])
    if "displayName" in fields and fields["displayName"] != category.display_name:
        raise name_read_only()
    if "color" in fields:
        category = box.categories.recolor(category.id, (fields["color"] or "none").lower())
    return call.ok(
        {
            "@odata.context": call.context_url("outlook/masterCategories/$entity"),
            **category.to_json(),
        }
    )


def delete_category(call: Call, box: Mailbox) -> GraphResponse:
    box.categories.delete(call.params["id"])
    return GraphResponse(204)


ROUTES = [
    Route("GET", "/me/outlook/masterCategories", list_categories, READ),
    Route("POST", "/me/outlook/masterCategories", create_category, WRITE),
    Route("GET", "/me/outlook/masterCategories/{id}", get_category, READ),
    Route("PATCH", "/me/outlook/masterCategories/{id}", update_category, WRITE),
    Route("DELETE", "/me/outlook/masterCategories/{id}", delete_category, WRITE),
]
